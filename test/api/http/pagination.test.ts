// GET /v1/devices with many devices: pages (?limit=&after=, a Link header to
// the next page) that put together are the full list, the full list still the
// default, and the memory of deleted devices given back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDevice, deleteDevice } from '../../../src/stack/index.ts';
import { assertProblem, startServer } from './server.ts';

interface Dev {
  ifindex: number;
  ifname: string;
  stats64?: unknown;
}

test('pages in ifindex order, by ifindex or by name, add up to the full list', async (t) => {
  const server = await startServer({ stackOptions: { limits: { maxDevices: 1000 } } });
  t.after(() => server.close());
  for (let i = 0; i < 250; i++) await createDevice(server.stack, { kind: 'dummy', name: `pg${i}` });
  const full = (await server.request('GET', '/v1/devices')).json as Dev[];
  assert.equal(full.length, 251, 'the default is still every device');
  assert.deepEqual(full.map((d) => d.ifindex), [...full.map((d) => d.ifindex)].sort((a, b) => a - b));

  const pages: Dev[][] = [];
  let next: string | null = '/v1/devices?limit=100&stats=0';
  while (next !== null) {
    const r = await server.request('GET', next);
    assert.equal(r.status, 200, r.text);
    pages.push(r.json as Dev[]);
    const link = r.headers.get('link');
    next = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
  }
  assert.deepEqual(pages.map((p) => p.length), [100, 100, 51]);
  assert.deepEqual(pages.flat().map((d) => d.ifname), full.map((d) => d.ifname));
  assert.ok(pages.flat().every((d) => d.stats64 === undefined), 'stats=0 carries over to the next pages');

  // By name, and by the ifindex of a device deleted since.
  const byName = (await server.request('GET', '/v1/devices?after=pg9&limit=2')).json as Dev[];
  assert.deepEqual(byName.map((d) => d.ifname), ['pg10', 'pg11']);
  const gone = server.stack.devices.get('pg20')!.ifindex;
  deleteDevice(server.stack, 'pg20');
  const afterGone = (await server.request('GET', `/v1/devices?after=${gone}&limit=1`)).json as Dev[];
  assert.deepEqual(afterGone.map((d) => d.ifname), ['pg21']);
  assert.deepEqual((await server.request('GET', '/v1/devices?after=999999')).json, []);
  const last = (await server.request('GET', '/v1/devices?limit=1000'));
  assert.equal(last.headers.get('link'), null);

  assertProblem(await server.request('GET', '/v1/devices?after=nosuchdev'), 404, 'ENODEV');
  for (const bad of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1000001', 'after=', 'limit=1.5']) {
    assertProblem(await server.request('GET', `/v1/devices?${bad}`), 400, 'EINVAL');
  }
});

test('the memory of 3,000 deleted devices is given back', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };
  const server = await startServer({ stackOptions: { limits: { maxDevices: 10_000 } } });
  t.after(() => server.close());
  // Warm every path once, so that what stays is not first-use caches.
  await createDevice(server.stack, { kind: 'veth', name: 'warm0', peer: 'warm1', up: true });
  await server.request('GET', '/v1/devices?limit=10');
  deleteDevice(server.stack, 'warm0');
  const before = await heap();
  for (let i = 0; i < 1500; i++) await createDevice(server.stack, { kind: 'veth', name: `m${i}`, peer: `n${i}`, up: true });
  assert.equal((await server.request('GET', '/v1/devices?stats=1')).status, 200);
  const full = await heap();
  for (let i = 0; i < 1500; i++) deleteDevice(server.stack, `m${i}`);
  const after = await heap();
  const grew = full - before;
  const kept = after - before;
  assert.ok(grew > 0);
  assert.ok(kept < grew * 0.25, `kept ${Math.round(kept / 1024)} KiB of ${Math.round(grew / 1024)} KiB after deleting every device`);
  assert.equal(server.stack.devices.size, 1);
});
