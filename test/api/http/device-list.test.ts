// GET /v1/devices at scale: the list is written without the zod response
// serializer (so it must still be what the schema says, for every kind), long
// lists are streamed chunk by chunk, and the work per device stays the same
// from a few hundred devices to a few thousand (counted, never timed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDevice, deleteDevice, type NetStack } from '../../../src/stack/index.ts';
import type { NetDevice } from '../../../src/dev/netdevice.ts';
import { LIST_CHUNK, deviceListChunks } from '../../../src/api/http/routes/devices.ts';
import { DeviceList } from '../../../src/api/http/schemas/index.ts';
import { startServer } from './server.ts';

interface Dev {
  ifindex: number;
  ifname: string;
}

test('a list of every kind, with netem, multicast, a speed and a master, is what the Device schema says', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { stack } = server;
  await createDevice(stack, { kind: 'dummy', name: 'd0', up: true, speed_mbps: 100, multicast: { add: ['01:00:5e:00:00:fb'] } });
  await createDevice(stack, { kind: 'veth', name: 'v0', peer: 'v1', up: true, netem: { delayMs: 5, loss: 1, seed: 7 } });
  await createDevice(stack, { kind: 'vlan', name: 'v0.7', link: 'v0', id: 7 });
  await createDevice(stack, { kind: 'vxlan', name: 'vx0', vni: 42, local: '127.0.0.1:0', remote: '127.0.0.1:47999' });
  await createDevice(stack, { kind: 'bridge', name: 'br0', up: true });
  assert.equal((await server.request('PATCH', '/v1/devices/v1', { body: { master: 'br0' } })).status, 200);

  for (const query of ['', '?stats=0', '?limit=3', '?after=2&limit=100']) {
    const r = await server.request('GET', `/v1/devices${query}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    const parsed = DeviceList.safeParse(r.json);
    assert.ok(parsed.success, `${query}: ${parsed.error?.message}`);
    // The schema's objects strip unknown keys: equal after parsing means none were there.
    assert.deepEqual(parsed.data, r.json, `${query}: only the schema's fields`);
  }
  const all = (await server.request('GET', '/v1/devices')).json as Dev[];
  assert.deepEqual(new Set(all.map((d) => d.ifname)), new Set(['lo', 'd0', 'v0', 'v1', 'v0.7', 'vx0', 'br0']));
});

test('a list longer than a chunk is streamed, and is the same as its pages put together', async (t) => {
  const server = await startServer({ stackOptions: { limits: { maxDevices: 1000 } } });
  t.after(() => server.close());
  const n = LIST_CHUNK * 3 + 5;
  for (let i = 0; i < n; i++) await createDevice(server.stack, { kind: 'dummy', name: `s${i}` });
  const full = await server.request('GET', '/v1/devices');
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-length'), null, 'streamed: no length known up front');
  assert.equal(full.headers.get('transfer-encoding'), 'chunked');
  const short = await server.request('GET', `/v1/devices?limit=${LIST_CHUNK}`);
  assert.equal(Number(short.headers.get('content-length')), Buffer.byteLength(short.text), 'a page of one chunk is one string');

  const pages: Dev[] = [];
  for (let after = 0; ; ) {
    const page = (await server.request('GET', `/v1/devices?limit=50&after=${after}`)).json as Dev[];
    if (page.length === 0) break;
    pages.push(...page);
    after = page.at(-1)!.ifindex;
  }
  assert.equal((full.json as Dev[]).length, n + 1);
  assert.deepEqual(pages, full.json);
});

test('a device deleted while its list is being written is left out, and the text stays JSON', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { stack } = server;
  for (let i = 0; i < LIST_CHUNK * 2; i++) await createDevice(stack, { kind: 'dummy', name: `c${i}` });
  const devs = stack.devices.list();
  const chunks = deviceListChunks(devs, false);
  let text = chunks.next().value as string;
  // The first chunk is written; one device of it and one of the next go.
  deleteDevice(stack, 'c3');
  deleteDevice(stack, `c${LIST_CHUNK + 3}`);
  for (let c = chunks.next(); c.done !== true; c = chunks.next()) text += c.value;
  const names = (JSON.parse(text) as Dev[]).map((d) => d.ifname);
  assert.equal(names.length, devs.length - 1, 'the first chunk was already written with c3');
  assert.ok(names.includes('c3'));
  assert.ok(!names.includes(`c${LIST_CHUNK + 3}`));

  // Left out at the very start and at the very end: still no stray comma.
  const one = stack.devices.list().slice(-2);
  deleteDevice(stack, one[0]!.name);
  assert.deepEqual(JSON.parse([...deviceListChunks(one, false)].join('')).map((d: Dev) => d.ifname), [one[1]!.name]);
  deleteDevice(stack, one[1]!.name);
  assert.deepEqual(JSON.parse([...deviceListChunks(one, false)].join('')), []);
});

/**
 * Counts every read of a device's `ifindex` and `registered`: what ordering,
 * cursors and "which devices went with it" cost, whatever the machine's speed.
 */
function countReads(devs: readonly NetDevice[], counter: { reads: number }): void {
  for (const dev of devs) {
    for (const key of ['ifindex', 'registered'] as const) {
      let value = dev[key];
      Object.defineProperty(dev, key, {
        configurable: true,
        enumerable: true,
        get: () => {
          counter.reads++;
          return value;
        },
        set: (v: never) => {
          value = v;
        },
      });
    }
  }
}

/** Device reads per device to create `pairs` veth pairs, list them whole and by pages, and delete them. */
async function readsPerDevice(pairs: number): Promise<number> {
  const server = await startServer({ stackOptions: { limits: { maxDevices: pairs * 2 + 1 } } });
  try {
    const stack: NetStack = server.stack;
    const counter = { reads: 0 };
    for (let i = 0; i < pairs; i++) countReads(await createDevice(stack, { kind: 'veth', name: `a${i}`, peer: `b${i}` }), counter);
    const full = await server.app.inject({ method: 'GET', url: '/v1/devices?stats=0' });
    assert.equal((JSON.parse(full.body) as unknown[]).length, pairs * 2 + 1);
    let pages = 0;
    for (let next: string | undefined = '/v1/devices?limit=100&stats=0'; next !== undefined; pages++) {
      const r: { headers: Record<string, unknown> } = await server.app.inject({ method: "GET", url: next });
      next = /^<([^>]+)>; rel="next"$/.exec(String(r.headers.link ?? ''))?.[1];
    }
    assert.equal(pages, Math.ceil((pairs * 2 + 1) / 100));
    for (let i = 0; i < pairs; i++) assert.deepEqual(deleteDevice(stack, `a${i}`).map((d) => d.name), [`a${i}`, `b${i}`]);
    assert.equal(stack.devices.size, 1);
    return counter.reads / (pairs * 2);
  } finally {
    await server.close();
  }
}

test('creating, listing (whole and by pages) and deleting costs the same per device at 300 and at 2,400 devices', async () => {
  const small = await readsPerDevice(150);
  const large = await readsPerDevice(1200);
  // Linear work reads each device a fixed number of times; a pass over every
  // device per delete (or a search from the start per page) makes the large
  // figure grow with the count: ~8x here.
  assert.ok(large < small * 1.25 + 2, `reads per device: ${small.toFixed(1)} at 300 devices, ${large.toFixed(1)} at 2,400`);
  assert.ok(small > 0, 'the counter sees the reads');
});
