// Deleting devices gives back everything they held: after many devices were
// created, addressed, given neighbours and traffic, listed and scraped, and
// then deleted, no device object is reachable any more (every WeakRef to one
// is cleared by a full collection), no metric series names one, and the
// stack's own counts are back where they started.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NetDevice } from '../../../src/dev/netdevice.ts';
import { startServer } from './server.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    // Let timers and promise jobs that still hold a device run out first.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const PAIRS = 100;

test(`${PAIRS * 2} devices with addresses, neighbours, traffic, a list and a scrape leave nothing behind when deleted`, async (t) => {
  const server = await startServer({ stackOptions: { limits: { maxDevices: PAIRS * 2 + 16 } } });
  t.after(() => server.close());
  const { stack } = server;
  const ok = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const r = await server.request(method, path, body === undefined ? {} : { body });
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  const routesBefore = ((await ok('GET', '/v1/routes')) as unknown[]).length;
  const metricsBefore = (await server.request('GET', '/metrics')).text;
  assert.ok(!/device="a0"/.test(metricsBefore));

  const refs: WeakRef<NetDevice>[] = [];
  for (let i = 0; i < PAIRS; i++) {
    await ok('POST', '/v1/devices', { kind: 'veth', name: `a${i}`, peer: `b${i}`, up: true, ...(i % 10 === 0 ? { netem: { delay_ms: 1 } } : {}) });
    refs.push(new WeakRef(stack.devices.get(`a${i}`)!), new WeakRef(stack.devices.get(`b${i}`)!));
    // 198.51.100.0/24 cut into /30s: a0 .1, a1 .5, ...
    await ok('POST', `/v1/devices/a${i}/addresses`, { address: `198.51.100.${(i % 64) * 4 + 1}/30` });
    await ok('POST', '/v1/neighbours', { dst: `198.51.100.${(i % 64) * 4 + 2}`, dev: `a${i}`, lladdr: '02:00:00:00:00:02' });
    await ok('POST', `/v1/devices/a${i}/frames`, { frames: ['ffffffffffff0200000000010800' + '00'.repeat(46)] });
  }
  stack.drain();
  const listed = (await ok('GET', '/v1/devices')) as unknown[];
  assert.equal(listed.length, PAIRS * 2 + 1);
  const scraped = (await server.request('GET', '/metrics')).text;
  assert.match(scraped, /netstack_network_transmit_packets_total\{device="a1"\} [1-9]/);

  for (let i = 0; i < PAIRS; i++) await ok('DELETE', `/v1/devices/a${i}`);
  // netem's delayed frames are freed when the device goes; let its timers go too.
  await new Promise((resolve) => setTimeout(resolve, 20));
  stack.drain();

  assert.equal(stack.devices.size, 1);
  assert.equal(stack.devices.list().length, 1);
  assert.equal(stack.pool.stats.inUse, 0, 'no skb left in use');
  assert.equal(((await ok('GET', '/v1/routes')) as unknown[]).length, routesBefore, 'their routes went with them');
  assert.deepEqual(((await ok('GET', '/v1/addresses')) as { ifname: string }[]).map((a) => a.ifname), ['lo']);
  assert.deepEqual(await ok('GET', '/v1/neighbours'), []);
  const after = (await server.request('GET', '/metrics')).text;
  assert.ok(!/device="[ab][0-9]+"/.test(after), 'no series names a deleted device');

  await collect();
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of ${refs.length} deleted devices are still reachable`);
});
