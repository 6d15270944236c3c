// GET /v1/stack, PATCH /v1/stack/sysctl, GET /v1/sockets and GET /healthz
// over a listening server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS } from '../../../src/skb/drop-reason.ts';
import { SYSCTL_DEFAULTS } from '../../../src/sysctl.ts';
import { assertProblem, assertRejectedWithoutChange, startServer, testFrame, type TestServer } from './server.ts';

interface StackJson {
  skb: Record<string, number>;
  backlog: { length: number; max: number; processed: number; dropped: number; time_squeeze: number };
  drops: Record<string, number>;
  drops_total: number;
  sysctl: Record<string, number>;
  devices: number;
  sockets: number;
  uptime_s: number;
}

interface SocketJson {
  id: number;
  device: string | null;
  protocol: string;
  direction: string;
  promisc: boolean;
  owner: string;
  rcvbuf: number;
  rmem: number;
  sndbuf: number;
  wmem: number;
  queue: number;
  drops: number;
  received: number;
  sent: number;
}

describe('stack, sysctl, sockets, health', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
    assert.equal(server.stack.pool.stats.inUse, 0);
  });

  it('answers /healthz', async () => {
    const r = await server.request('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
  });

  it('reports skb, backlog, every drop reason, sysctls and counts', async () => {
    const r = await server.request('GET', '/v1/stack');
    assert.equal(r.status, 200, r.text);
    const s = r.json as StackJson;
    assert.deepEqual(Object.keys(s.skb).sort(), ['allocs', 'alloc_failures', 'bytes', 'clones', 'copies', 'double_frees', 'frees', 'in_use'].sort());
    assert.deepEqual(Object.keys(s.drops).sort(), DROP_REASONS.map((d) => d.toLowerCase()).sort());
    assert.deepEqual(s.sysctl, { ...SYSCTL_DEFAULTS });
    assert.equal(s.backlog.max, SYSCTL_DEFAULTS['net.core.netdev_max_backlog']);
    assert.equal(s.devices, 1);
    assert.equal(s.sockets, 0);
    assert.ok(s.uptime_s >= 0);
  });

  it('counts traffic and drops: a frame no protocol handles', async () => {
    for (const body of [{ kind: 'veth', name: 'sa', peer: 'sb', up: true }]) {
      assert.equal((await server.request('POST', '/v1/devices', { body })).status, 201);
    }
    const before = (await server.request('GET', '/v1/stack')).json as StackJson;
    const r = await server.request('POST', '/v1/devices/sa/frames', { raw: testFrame(), contentType: 'application/octet-stream' });
    assert.equal(r.status, 202, r.text);
    server.stack.drain();
    const after = (await server.request('GET', '/v1/stack')).json as StackJson;
    assert.equal(after.skb.allocs! - before.skb.allocs!, (after.skb.frees! - before.skb.frees!) + (after.skb.in_use! - before.skb.in_use!));
    assert.ok(after.skb.allocs! > before.skb.allocs!);
    assert.equal(after.drops_total, Object.values(after.drops).reduce((a, b) => a + b, 0));
    assert.ok(after.drops_total > before.drops_total, 'the frame nobody handles is dropped and counted');
    assert.equal(after.devices, 3);
    assert.equal(after.sockets, 1);
  });

  it('lists packet sockets like ss -0', async () => {
    const tap = server.stack.openPacketSocket({ dev: server.stack.devices.require('sb'), protocol: 0x0800, direction: 'in', promisc: true, owner: 'test' });
    const all = server.stack.openPacketSocket({ owner: 'test-all' });
    try {
      const r = await server.request('GET', '/v1/sockets');
      assert.equal(r.status, 200, r.text);
      const list = r.json as SocketJson[];
      assert.deepEqual(list.map((s) => s.id), [...list.map((s) => s.id)].sort((a, b) => a - b));
      const t = list.find((s) => s.id === tap.id);
      assert.deepEqual(
        { device: t?.device, protocol: t?.protocol, direction: t?.direction, promisc: t?.promisc, owner: t?.owner, rmem: t?.rmem, queue: t?.queue },
        { device: 'sb', protocol: '0x0800', direction: 'in', promisc: true, owner: 'test', rmem: 0, queue: 0 },
      );
      assert.equal(t?.rcvbuf, tap.sk.rcvbuf);
      const a = list.find((s) => s.id === all.id);
      assert.equal(a?.device, null);
      assert.equal(a?.protocol, 'all');
      const http = list.find((s) => s.owner === 'http');
      assert.equal(http?.device, 'sa');
      assert.equal(http?.sent, 1);
      for (const s of list) for (const k of ['rcvbuf', 'rmem', 'sndbuf', 'wmem', 'queue', 'drops', 'received', 'sent'] as const) assert.equal(typeof s[k], 'number');
      // The socket table's common fields (ss -a), the same for every family.
      const common = list.find((s) => s.id === tap.id) as unknown as Record<string, unknown>;
      assert.deepEqual(
        { family: common['family'], type: common['type'], state: common['state'], local: common['local'], peer: common['peer'], recv_q: common['recv_q'], send_q: common['send_q'] },
        { family: 'packet', type: 'raw', state: 'UNCONN', local: 'sb:0x0800', peer: '*', recv_q: 0, send_q: 0 },
      );
    } finally {
      tap.close();
      all.close();
    }
  });

  it('sets sysctls and answers the whole map', async () => {
    const r = await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 65536, 'net.core.netdev_max_backlog': 300 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ...SYSCTL_DEFAULTS, 'net.core.rmem_default': 65536, 'net.core.netdev_max_backlog': 300 });
    assert.equal(server.stack.sysctl.get('net.core.netdev_max_backlog'), 300);
    const s = (await server.request('GET', '/v1/stack')).json as StackJson;
    assert.equal(s.backlog.max, 300);
    assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: {} })).status, 200);
  });

  it('refuses unknown sysctls (404 ENOENT) and bad values (400 EINVAL), setting none of the batch', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const unknown = assertProblem(
        await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 4096, 'net.ipv4.ip_forward': 1 } }),
        404,
        'ENOENT',
      );
      assert.match(unknown.detail, /net\.ipv4\.ip_forward/);
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 4096, 'net.core.rmem_max': 1 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 1.5 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': '4096' } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 1e300 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: [1] }), 400, 'EINVAL');
    });
  });
});
