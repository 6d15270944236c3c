// The console in a real browser (Debian's chromium, playwright-core), against
// the real service under --token: the login form and no data before it;
// devices after it; a device created through the API appears without a
// reload; bringing a device up from the page changes it; a bad MTU shows the
// API's own message next to the field; frames sent through the API appear
// decoded; a frame's anatomy shows the headroom, tailroom and truesize the API
// reports for it; no errors in the browser console; axe finds no serious or
// critical accessibility violation.
//
// CONSOLE_SCREENSHOT=docs/console.png also saves the anatomy view there (the
// README's picture).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { until } from '../helpers/wait.ts';
import { readCapture, TSHARK_MISSING } from '../capture/tshark.ts';
import { arpRequestHex, cannotRun, collectErrors, launch, login, ROOT, startService, type Service } from './browser.ts';

const TOKEN = `console-test-${process.pid}`;
const skip = cannotRun();
if (skip !== null) console.log(`# skipping the console browser tests: ${skip}`);

async function axeSeriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}

describe('the console', { skip: skip ?? false, timeout: 180_000 }, () => {
  let service: Service;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  before(async () => {
    service = await startService(TOKEN);
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    errors = collectErrors(page);
  });
  after(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows a login form and no data without the token; a wrong token gets the API\'s answer', async () => {
    await page.goto(`${service.url}/console/`);
    await page.getByLabel('Token').waitFor();
    assert.equal(await page.getByRole('heading', { name: /Devices/ }).count(), 0);
    assert.equal(await page.getByText('lo', { exact: true }).count(), 0);
    await page.getByLabel('Token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('EACCES: wrong token').waitFor();
    assert.deepEqual(await axeSeriousViolations(page), []);
  });

  it('lists the devices after login, and shows a device created through the API without a reload', async () => {
    // The failed login above logged a 401 for its POST: that one is expected.
    errors.length = 0;
    await login(page, service);
    await page.getByRole('button', { name: 'lo', exact: true }).waitFor();
    const created = await service.api('POST', '/v1/devices', { kind: 'veth', name: 'cw0', peer: 'cw1' });
    assert.equal(created.status, 201);
    await page.getByRole('button', { name: 'cw0', exact: true }).waitFor();
    await page.getByRole('button', { name: 'cw1', exact: true }).waitFor();
  });

  it('brings a device up from the page', async () => {
    await page.getByRole('button', { name: 'cw1', exact: true }).click();
    await page.getByRole('heading', { name: /^cw1/ }).waitFor();
    await page.getByRole('button', { name: 'Bring up' }).click();
    let flags: string[] = [];
    for (let i = 0; i < 200 && !flags.includes('UP'); i++) {
      flags = (await service.api('GET', '/v1/devices/cw1')).body.flags as string[];
      if (!flags.includes('UP')) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(flags.includes('UP'), `cw1 flags ${flags.join(',')}`);
    // The page follows the change through the events stream.
    await page.getByRole('button', { name: 'Bring down' }).waitFor();
  });

  it('shows the API\'s message next to the MTU field for a bad MTU, and changes nothing', async () => {
    const expected = await service.api('PATCH', '/v1/devices/cw1', { mtu: 10 });
    assert.equal(expected.status >= 400 && expected.status < 500, true);
    await page.getByLabel('MTU', { exact: true }).fill('10');
    await page.locator('form.field', { has: page.getByLabel('MTU', { exact: true }) }).getByRole('button', { name: 'Apply' }).click();
    const alert = page.locator('#mtu-error');
    await alert.waitFor();
    assert.equal(await alert.textContent(), `${expected.body.errno}: ${expected.body.detail}`);
    assert.equal(await page.getByLabel('MTU', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal((await service.api('GET', '/v1/devices/cw1')).body.mtu, 1500);
    // netem: the message lands next to the field the service named (its problem's issues[].path).
    const netem = await service.api('PATCH', '/v1/devices/cw1', { netem: { loss: 150 } });
    await page.getByLabel('Loss (%)').fill('150');
    await page.getByRole('button', { name: 'Apply netem' }).click();
    await page.locator('#netem-loss-error').getByText(netem.body.issues[0].message).waitFor();
    assert.equal((await service.api('GET', '/v1/devices/cw1')).body.netem, null);
    assert.deepEqual(await axeSeriousViolations(page), []);
  });

  it('shows frames sent through the API decoded, and a frame\'s anatomy with the API\'s numbers', async () => {
    await service.api('PATCH', '/v1/devices/cw0', { up: true });
    await page.getByRole('button', { name: 'Watch frames' }).click();
    await page.getByTestId('frames-status').getByText(/^watching/).waitFor();
    // The API's own view of the same frame: a stream of cw1 with the sk_buff in each message.
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/v1/devices/cw1/stream?detail=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const seen: { info: string; skb: { headroom: number; tailroom: number; truesize: number } }[] = [];
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'frame') seen.push(m as never);
    });
    await new Promise((r) => ws.once('open', r));
    const sent = await service.api('POST', '/v1/devices/cw0/frames', { frames: [arpRequestHex(2), arpRequestHex(3)] });
    assert.equal(sent.status, 202);
    await until(() => seen.length >= 2, 'the API stream got both frames');
    ws.close();

    const row = page.locator('tr[data-frame]', { hasText: 'Request who-has 192.0.2.3 tell 192.0.2.1' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /ARP/);
    await row.getByRole('button').click();
    await page.getByRole('heading', { name: /its sk_buff/ }).waitFor();
    const api = seen.find((m) => m.info.includes('who-has 192.0.2.3'))!;
    assert.equal(Number(await page.getByTestId('anatomy-headroom').textContent()), api.skb.headroom);
    assert.equal(Number(await page.getByTestId('anatomy-tailroom').textContent()), api.skb.tailroom);
    assert.equal(Number(await page.getByTestId('anatomy-truesize').textContent()), api.skb.truesize);
    // With the trace: the layers the frame passed, eth_type_trans among them.
    await page.locator('tr[data-layer="eth_type_trans"]').waitFor();
    await page.locator('tr[data-layer="sock_queue_rcv_skb"]').waitFor();
    assert.deepEqual(await axeSeriousViolations(page), []);

    // The list downloads as pcapng, which tshark reads: the same two frames.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download pcapng' }).click()]);
    const bytes = await readFile((await download.path())!);
    if (TSHARK_MISSING) console.log(`# not checking the pcapng with tshark: ${TSHARK_MISSING}`);
    else {
      const { rows } = readCapture(bytes);
      assert.equal(rows.length, 2);
      assert.deepEqual(rows.map((r) => [r['frame.interface_name'], r['eth.type'], r['frame.len']]), [
        ['cw1', '0x0806', '42'],
        ['cw1', '0x0806', '42'],
      ]);
    }
    if (process.env['CONSOLE_SCREENSHOT']) await page.screenshot({ path: join(ROOT, process.env['CONSOLE_SCREENSHOT']), fullPage: true });
  });

  it('draws the topology and the queues without a serious accessibility violation', async () => {
    await page.getByRole('button', { name: 'Topology' }).click();
    await page.locator('svg[aria-label*="devices"]').waitFor();
    assert.deepEqual(await axeSeriousViolations(page), []);
    // TCP sockets are entries of the socket table too: the stats snapshots carry them, and their windows are drawn.
    const api = async (method: string, path: string, body?: unknown): Promise<{ id: number }> => {
      const r = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.ok(r.ok, `${method} ${path}: ${r.status}`);
      return (await r.json()) as { id: number };
    };
    const l = await api('POST', '/v1/sockets', { type: 'tcp', bind: '127.0.0.1:7272', listen: 4, service: 'discard' });
    const c = await api('POST', '/v1/sockets', { type: 'tcp', connect: '127.0.0.1:7272' });
    await page.getByRole('button', { name: 'Queues & memory' }).click();
    await page.getByRole('heading', { name: 'Softnet backlog' }).waitFor();
    await page.getByText('tcp LISTEN 127.0.0.1:7272 0.0.0.0:* (discard)').waitFor();
    await page.getByRole('heading', { name: `TCP socket ${c.id}`, exact: true }).waitFor();
    assert.deepEqual(await axeSeriousViolations(page), []);
    await api('DELETE', `/v1/sockets/${c.id}?abort=1`);
    await api('DELETE', `/v1/sockets/${l.id}`);
  });

  it('logs out: the session is gone and the login form is back', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Token').waitFor();
    const r = await page.evaluate(async () => (await fetch('/v1/devices')).status);
    assert.equal(r, 401);
    // Chromium logs every refused request as a console error; the ones this
    // test provoked (the bad MTU's 400, the 401 after logout) are expected, nothing else.
    const provoked = [/status of 400 .*\/v1\/devices\/cw1\)$/, /status of 401 .*\/v1\/devices\)$/];
    assert.deepEqual(errors.filter((e) => !provoked.some((re) => re.test(e))), []);
  });
});
