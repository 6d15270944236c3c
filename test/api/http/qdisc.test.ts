// /v1/devices/{name}/qdisc over a listening server (tc -s -j qdisc show and
// tc qdisc replace), and the link speed and TX ring of POST/PATCH
// /v1/devices: every refusal is problem+json and changes nothing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, startServer, type TestServer } from './server.ts';

describe('qdisc and link speed', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    const r = await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'q0', peer: 'q1', up: true, speed_mbps: 100, tx_ring: 64 } });
    assert.equal(r.status, 201, r.text);
  });
  after(async () => {
    await server.close();
    assert.equal(server.stack.pool.stats.inUse, 0);
  });

  it('GET shows the root qdisc in tc -s -j words; PUT replaces it', async () => {
    let r = await server.request('GET', '/v1/devices/q0/qdisc');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      kind: 'noqueue', handle: '0:', dev: 'q0', parent: 'root', root: true, refcnt: 2, options: {},
      bytes: 0, packets: 0, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0,
    });
    r = await server.request('PUT', '/v1/devices/q0/qdisc', { body: { kind: 'bfifo', limit: 30000 } });
    assert.equal(r.status, 200, r.text);
    const q = r.json as { kind: string; handle: string; options: { limit: number } };
    assert.equal(q.kind, 'bfifo');
    assert.match(q.handle, /^[0-9a-f]{4}:$/);
    assert.deepEqual(q.options, { limit: 30000 });
    assert.deepEqual((await server.request('GET', '/v1/devices/q0/qdisc')).json, r.json);
    // The device view speaks the same words.
    const d = (await server.request('GET', '/v1/devices/q0')).json as { queue: Record<string, unknown>; linkinfo: unknown };
    assert.deepEqual(Object.keys(d.queue).sort(), ['backlog', 'bytes', 'drops', 'overlimits', 'packets', 'qlen', 'requeues', 'stopped']);
    assert.deepEqual(d.linkinfo, { info_kind: 'veth', info_data: { speed_mbps: 100, tx_ring: 64 } });
  });

  it('refuses bad kinds, limits and devices with problem+json, changing nothing', async () => {
    const before = (await server.request('GET', '/v1/devices/q0/qdisc')).json;
    assertProblem(await server.request('PUT', '/v1/devices/q0/qdisc', { body: { kind: 'sfq' } }), 400, 'EINVAL');
    assertProblem(await server.request('PUT', '/v1/devices/q0/qdisc', { body: { kind: 'pfifo', limit: -1 } }), 400, 'EINVAL');
    assertProblem(await server.request('PUT', '/v1/devices/q0/qdisc', { body: { kind: 'pfifo_fast', limit: 10 } }), 400, 'EINVAL');
    assertProblem(await server.request('PUT', '/v1/devices/q0/qdisc', { body: { kind: 'pfifo', bands: 3 } }), 400, 'EINVAL');
    assertProblem(await server.request('PUT', '/v1/devices/nope0/qdisc', { body: { kind: 'pfifo' } }), 404, 'ENODEV');
    assertProblem(await server.request('GET', '/v1/devices/nope0/qdisc'), 404, 'ENODEV');
    assert.deepEqual((await server.request('GET', '/v1/devices/q0/qdisc')).json, before);
  });

  it('speed_mbps and tx_ring: set with PATCH, refused for kinds without a wire, bad values 400; netem below 8 bit/s is 400', async () => {
    let r = await server.request('PATCH', '/v1/devices/q1', { body: { speed_mbps: 0.5, tx_ring: 8 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(server.stack.devices.get('q1')!.ops.getLinkSettings!(server.stack.devices.get('q1')!), { speedMbps: 0.5, txRing: 8 });
    assertProblem(await server.request('PATCH', '/v1/devices/lo', { body: { speed_mbps: 10 } }), 501, 'EOPNOTSUPP');
    assertProblem(await server.request('PATCH', '/v1/devices/q1', { body: { mtu: 1400, tx_ring: 0 } }), 400, 'EINVAL');
    assertProblem(await server.request('PATCH', '/v1/devices/q1', { body: { mtu: 1400, speed_mbps: 1e-9 } }), 400, 'EINVAL');
    assertProblem(await server.request('PATCH', '/v1/devices/q1', { body: { mtu: 1400, netem: { rate_bps: 1e-300 } } }), 400, 'EINVAL');
    assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vlan', link: 'q0', id: 5, speed_mbps: 1 } }), 400, 'EINVAL');
    assert.equal(server.stack.devices.get('q1')!.mtu, 1500);
    r = await server.request('PATCH', '/v1/devices/q1', { body: { speed_mbps: 0 } });
    assert.equal(r.status, 200, r.text);
  });
});
