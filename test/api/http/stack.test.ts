// GET /v1/stack, PATCH /v1/stack/sysctl, GET /v1/sockets and GET /healthz
// over a listening server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS } from '../../../src/skb/drop-reason.ts';
import { Sysctl, type SysctlValue } from '../../../src/sysctl.ts';
import { registerTcpSysctls } from '../../../src/inet/tcp/sysctl.ts';

/** net.core, and net.ipv4 and net.ipv4.tcp_* which the app's IPv4 and TCP register. */
const SYSCTL_DEFAULTS: Record<string, SysctlValue> = (() => {
  const t = new Sysctl();
  registerTcpSysctls(t);
  return t.snapshot();
})();
import { assertProblem, assertRejectedWithoutChange, startServer, testFrame, type TestServer } from './server.ts';
import { defaultProtocols, type NetProtocol } from '../../../src/stack/index.ts';

interface StackJson {
  skb: Record<string, number>;
  backlog: { length: number; max: number; processed: number; dropped: number; time_squeeze: number };
  drops: Record<string, number>;
  drops_total: number;
  sysctl: Record<string, SysctlValue>;
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
        await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 4096, 'net.ipv4.no_such_knob': 1 } }),
        404,
        'ENOENT',
      );
      assert.match(unknown.detail, /net\.ipv4\.no_such_knob/);
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 4096, 'net.core.rmem_max': 1 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 1.5 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': '4096' } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 1e300 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: [1] }), 400, 'EINVAL');
    });
  });

  it('TCP\'s sysctls round-trip with Linux\'s syntax: a vector as an array or as sysctl prints it, a congestion control by name', async () => {
    const body = {
      'net.ipv4.tcp_rmem': '4096\t87380\t6291456',
      'net.ipv4.tcp_wmem': [8192, 32768, 4194304],
      'net.ipv4.tcp_congestion_control': 'reno',
      'net.ipv4.ip_local_port_range': '40000 50000',
      'net.ipv4.tcp_syncookies': 2,
      'net.ipv4.tcp_fin_timeout': 30,
      'net.ipv4.tcp_keepalive_time': 600,
      'net.ipv4.tcp_sack': 0,
      'net.ipv4.tcp_max_syn_backlog': 256,
    };
    const r = await server.request('PATCH', '/v1/stack/sysctl', { body });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as Record<string, unknown>)['net.ipv4.tcp_available_congestion_control'], 'reno cubic', 'what tcp_congestion_control takes, read-only');
    const want = {
      ...body,
      'net.ipv4.tcp_rmem': [4096, 87380, 6291456],
      'net.ipv4.ip_local_port_range': [40000, 50000],
    };
    const got = r.json as Record<string, unknown>;
    for (const [name, value] of Object.entries(want)) assert.deepEqual(got[name], value, name);
    const s = (await server.request('GET', '/v1/stack')).json as StackJson;
    for (const [name, value] of Object.entries(want)) assert.deepEqual(s.sysctl[name], value, name);
    // Back to the defaults, in the shape GET answers.
    const back = Object.fromEntries(Object.keys(body).map((name) => [name, SYSCTL_DEFAULTS[name]]));
    assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: back })).status, 200);
    const now = ((await server.request('GET', '/v1/stack')).json as StackJson).sysctl;
    for (const name of Object.keys(body)) assert.deepEqual(now[name], SYSCTL_DEFAULTS[name], name);
  });

  it('refuses an unknown congestion control (404 ENOENT) and bad vectors (400 EINVAL), setting none of the batch', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const patch = async (body: unknown, status: number, errno: string): Promise<string> =>
        assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body }), status, errno).detail;
      assert.match(await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_congestion_control': 'bbr' }, 404, 'ENOENT'), /bbr.*reno, cubic/);
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_congestion_control': 1 }, 400, 'EINVAL');
      assert.match(await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_rmem': '4096 131072' }, 400, 'EINVAL'), /tcp_rmem takes 3 integers/);
      assert.match(await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_rmem': [4096, 8388608, 6291456] }, 400, 'EINVAL'), /decreases/);
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_wmem': [0, 16384, 4194304] }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_wmem': 16384 }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_wmem': [4096, 'x', 4194304] }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.ip_local_port_range': '60999 32768' }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.ip_local_port_range': [0, 100] }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.ip_local_port_range_min': 65000 }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_syn_retries': 0 }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_syncookies': '1' }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_window_scaling': 2 }, 400, 'EINVAL');
      await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_rmem': null }, 400, 'EINVAL');
      assert.match(await patch({ 'net.ipv4.tcp_sack': 0, 'net.ipv4.tcp_available_congestion_control': 'reno' }, 403, 'EACCES'), /read-only/);
    });
  });

  it('a congestion control change is seen in tcp_info of connections made after it', async () => {
    const post = async (body: unknown): Promise<{ id: number }> => {
      const r = await server.request('POST', '/v1/sockets', { body });
      assert.equal(r.status, 201, r.text);
      return r.json as { id: number };
    };
    const ccOf = async (id: number): Promise<string | undefined> => {
      const list = (await server.request('GET', '/v1/sockets')).json as { id: number; tcp_info?: { congestion_control: string } }[];
      return list.find((x) => x.id === id)?.tcp_info?.congestion_control;
    };
    const l = await post({ type: 'tcp', bind: '127.0.0.1:9', listen: 8, service: 'discard' });
    const before = await post({ type: 'tcp', connect: '127.0.0.1:9' });
    assert.equal(await ccOf(before.id), 'cubic');
    assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.ipv4.tcp_congestion_control': 'reno' } })).status, 200);
    const after = await post({ type: 'tcp', connect: '127.0.0.1:9' });
    assert.equal(await ccOf(after.id), 'reno');
    assert.equal(await ccOf(before.id), 'cubic');
    assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.ipv4.tcp_congestion_control': 'cubic' } })).status, 200);
    for (const s of [before, after, l]) assert.ok((await server.request('DELETE', `/v1/sockets/${s.id}?abort=1`)).status < 300);
  });
});

describe('sysctls a protocol registers', () => {
  it('are shown by GET /v1/stack and set by PATCH /v1/stack/sysctl, within their bounds', async () => {
    const knob: NetProtocol = {
      name: 'knob',
      attach: (stack) => stack.sysctl.register({ 'net.knob.level': { default: 3, min: 1, max: 9 } }),
    };
    const server = await startServer({ stackOptions: { protocols: [...defaultProtocols(), knob] } });
    try {
      const s = (await server.request('GET', '/v1/stack')).json as StackJson & { sysctl: Record<string, number> };
      assert.equal(s.sysctl['net.knob.level'], 3);
      const r = await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.knob.level': 7 } });
      assert.equal(r.status, 200, r.text);
      assert.equal((r.json as Record<string, number>)['net.knob.level'], 7);
      assertProblem(await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.knob.level': 10 } }), 400, 'EINVAL');
      const after = (await server.request('GET', '/v1/stack')).json as { sysctl: Record<string, number> };
      assert.equal(after.sysctl['net.knob.level'], 7);
    } finally {
      await server.close();
    }
  });
});
