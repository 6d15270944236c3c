// The internet layer over HTTP against a listening server and the real
// stack (DESIGN §3.1): ip addr / route / neigh with rtnetlink's errnos, ping,
// the /proc/net counters in JSON and in /metrics, and UDP sockets opened,
// sent on, streamed over a WebSocket and closed. Nothing stays charged.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { assertProblem, startServer, upgradeStatus, type TestServer } from './server.ts';
import { until } from '../../helpers/wait.ts';
import { inetOf } from '../../../src/inet/control.ts';

let server: TestServer;

before(async () => {
  server = await startServer();
  const r = await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'va', peer: 'vb', up: true } });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await server.close();
  assert.equal(server.stack.pool.stats.inUse, 0, 'every sk_buff freed');
});

interface Route {
  dst: string;
  gateway?: string;
  dev: string;
  protocol: string;
  scope: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
}

async function json<T>(path: string): Promise<T> {
  const r = await server.request('GET', path);
  assert.equal(r.status, 200, r.text);
  return r.json as T;
}

describe('addresses', () => {
  it('ip addr add: 201 with the address, its connected route, EEXIST the second time', async () => {
    const r = await server.request('POST', '/v1/devices/va/addresses', { body: { address: '198.51.100.1/24' } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { family: 'inet', local: '198.51.100.1', prefixlen: 24, broadcast: '198.51.100.255', scope: 'global', label: 'va' });
    assertProblem(await server.request('POST', '/v1/devices/va/addresses', { body: { address: '198.51.100.1/24' } }), 409, 'EEXIST');

    const all = await json<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }[]>('/v1/addresses');
    assert.deepEqual(all.find((a) => a.ifname === 'lo')?.addr_info.map((i) => `${i.local}/${i.prefixlen}`), ['127.0.0.1/8']);
    assert.deepEqual(all.find((a) => a.ifname === 'va')?.addr_info.map((i) => `${i.local}/${i.prefixlen}`), ['198.51.100.1/24']);
    const routes = await json<Route[]>('/v1/routes');
    assert.ok(routes.some((x) => x.dst === '198.51.100.0/24' && x.dev === 'va' && x.protocol === 'kernel' && x.prefsrc === '198.51.100.1'));
  });

  it('ip addr del with A.B.C.D%2FN and with A.B.C.D; the route goes too; EADDRNOTAVAIL after', async () => {
    let r = await server.request('POST', '/v1/devices/vb/addresses', { body: { address: '203.0.113.1/28' } });
    assert.equal(r.status, 201, r.text);
    r = await server.request('DELETE', '/v1/devices/vb/addresses/203.0.113.1%2F28');
    assert.equal(r.status, 204, r.text);
    assert.ok(!(await json<Route[]>('/v1/routes')).some((x) => x.dst === '203.0.113.0/28'));
    assertProblem(await server.request('DELETE', '/v1/devices/vb/addresses/203.0.113.1'), 422, 'EADDRNOTAVAIL');
    r = await server.request('POST', '/v1/devices/vb/addresses', { body: { address: '203.0.113.1' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((r.json as { prefixlen: number }).prefixlen, 32, 'no /N means /32');
    assert.equal((await server.request('DELETE', '/v1/devices/vb/addresses/203.0.113.1')).status, 204);
  });
});

describe('routes', () => {
  it('add via a connected gateway, EEXIST again, ENETUNREACH off-link; get; del, then ESRCH', async () => {
    const body = { dst: '203.0.113.0/24', gateway: '198.51.100.254', metric: 5 };
    let r = await server.request('POST', '/v1/routes', { body });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { dst: '203.0.113.0/24', gateway: '198.51.100.254', dev: 'va', protocol: 'static', scope: 'global', metric: 5, flags: [] });
    assertProblem(await server.request('POST', '/v1/routes', { body }), 409, 'EEXIST');
    assertProblem(await server.request('POST', '/v1/routes', { body: { dst: '192.0.2.0/24', gateway: '192.0.2.1' } }), 422, 'ENETUNREACH');

    const got = await json<Route>('/v1/routes/get?dst=203.0.113.9');
    assert.equal(got.gateway, '198.51.100.254');
    assert.equal(got.dev, 'va');
    assert.equal(got.prefsrc, '198.51.100.1');
    assert.equal((await json<Route>('/v1/routes/get?dst=198.51.100.1')).type, 'local');
    assertProblem(await server.request('GET', '/v1/routes/get?dst=192.0.2.1'), 422, 'ENETUNREACH');

    r = await server.request('DELETE', '/v1/routes?dst=203.0.113.0/24&gateway=198.51.100.254');
    assert.equal(r.status, 204, r.text);
    assertProblem(await server.request('DELETE', '/v1/routes?dst=203.0.113.0/24'), 404, 'ESRCH');
  });

  it('a default route', async () => {
    const r = await server.request('POST', '/v1/routes', { body: { dst: 'default', gateway: '198.51.100.254' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await json<Route>('/v1/routes/get?dst=192.0.2.1')).gateway, '198.51.100.254');
    assert.equal((await server.request('DELETE', '/v1/routes?dst=default')).status, 204);
  });
});

describe('neighbours', () => {
  it('a permanent entry, listed, deleted; ENOENT after; a flush counts', async () => {
    let r = await server.request('POST', '/v1/neighbours', { body: { dst: '198.51.100.2', dev: 'va', lladdr: '02:00:00:00:00:02' } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { dst: '198.51.100.2', dev: 'va', lladdr: '02:00:00:00:00:02', state: ['PERMANENT'] });
    const list = await json<{ dst: string; state: string[] }[]>('/v1/neighbours');
    assert.deepEqual(list.find((n) => n.dst === '198.51.100.2')?.state, ['PERMANENT']);
    r = await server.request('DELETE', '/v1/neighbours?dst=198.51.100.2&dev=va');
    assert.equal(r.status, 204, r.text);
    assertProblem(await server.request('DELETE', '/v1/neighbours?dst=198.51.100.2&dev=va'), 404, 'ENOENT');
    r = await server.request('DELETE', '/v1/neighbours?dev=va');
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof (r.json as { flushed: number }).flushed, 'number');
  });
});

describe('ping', () => {
  it('pings lo and its own address: every reply, the summary, ttl 64', async () => {
    for (const dst of ['127.0.0.1', '198.51.100.1']) {
      const r = await server.request('POST', '/v1/ping', { body: { dst, count: 3, interval_ms: 5 } });
      assert.equal(r.status, 200, r.text);
      const p = r.json as { transmitted: number; received: number; loss_percent: number; replies: { seq: number; from: string; ttl: number }[]; rtt_ms: unknown };
      assert.equal(p.transmitted, 3);
      assert.equal(p.received, 3);
      assert.equal(p.loss_percent, 0);
      assert.deepEqual(p.replies.map((x) => [x.seq, x.from, x.ttl]), [[1, dst, 64], [2, dst, 64], [3, dst, 64]]);
      assert.notEqual(p.rtt_ms, null);
    }
  });

  it('no route: 422 ENETUNREACH', async () => {
    assertProblem(await server.request('POST', '/v1/ping', { body: { dst: '192.0.2.1', count: 1 } }), 422, 'ENETUNREACH');
  });
});

interface Message {
  type: string;
  from?: string;
  len?: number;
  data?: string;
  errno?: string;
  count?: number;
}

function openStream(id: number): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/sockets/${id}/stream`, { perMessageDeflate: false });
  const messages: Message[] = [];
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString('utf8')) as Message));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

describe('UDP sockets', () => {
  it('an echo service, a client socket sending over HTTP and the stream, replies on the stream', async () => {
    let r = await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:7', service: 'echo' } });
    assert.equal(r.status, 201, r.text);
    const echo = r.json as { id: number; local: string; service?: string };
    assert.equal(echo.local, '127.0.0.1:7');
    assert.equal(echo.service, 'echo', 'a service socket says which, as TCP rows do');
    assertProblem(await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:7' } }), 409, 'EADDRINUSE');
    assertProblem(await server.request('POST', '/v1/sockets', { body: { type: 'tcp', bind: '127.0.0.1:80' } }), 400, 'EINVAL');

    r = await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:0' } });
    assert.equal(r.status, 201, r.text);
    const client = r.json as { id: number; local: string; service?: string };
    assert.equal(client.service, undefined);
    assert.equal(r.headers.get('location'), `/v1/sockets/${client.id}`);
    const all = await json<{ id: number; family: string; type: string; state: string }[]>('/v1/sockets');
    assert.deepEqual(all.filter((s) => s.family === 'inet').map((s) => [s.id, s.type, s.state]), [[echo.id, 'dgram', 'UNCONN'], [client.id, 'dgram', 'UNCONN']]);

    const { ws, messages } = await openStream(client.id);
    r = await server.request('POST', `/v1/sockets/${client.id}/send`, { body: { to: '127.0.0.1:7', data: '68656c6c6f' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { sent: 5 });
    r = await server.request('POST', `/v1/sockets/${client.id}/send?to=127.0.0.1:7`, { raw: Buffer.from('raw'), contentType: 'application/octet-stream' });
    assert.equal(r.status, 200, r.text);
    ws.send(JSON.stringify({ to: '127.0.0.1:7', data: 'aGk=' }));
    await until(() => messages.filter((m) => m.type === 'datagram').length === 3, 'three echoes on the stream');
    assert.deepEqual(
      messages.filter((m) => m.type === 'datagram').map((m) => [m.from, m.len, Buffer.from(m.data!, 'hex').toString()]),
      [['127.0.0.1:7', 5, 'hello'], ['127.0.0.1:7', 3, 'raw'], ['127.0.0.1:7', 2, 'hi']],
    );

    // Errors come back on the stream, which stays open.
    ws.send(Buffer.from('no peer'));
    ws.send('{"data": "zz"}');
    await until(() => messages.filter((m) => m.type === 'error').length === 2, 'two errors on the stream');
    assert.deepEqual(messages.filter((m) => m.type === 'error').map((m) => m.errno), ['EDESTADDRREQ', 'EINVAL']);
    assertProblem(await server.request('POST', `/v1/sockets/${client.id}/send`, { body: { data: '00' } }), 400, 'EDESTADDRREQ');
    assertProblem(await server.request('POST', `/v1/sockets/${client.id}/send`, { body: { to: '127.0.0.1:7', data: 'xyz' } }), 400, 'EINVAL');

    // DELETE closes the socket and its stream (4004).
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    r = await server.request('DELETE', `/v1/sockets/${client.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(await closed, 4004);
    assertProblem(await server.request('GET', `/v1/sockets/${client.id}`), 404, 'ENOENT');
    assert.equal((await server.request('DELETE', `/v1/sockets/${echo.id}`)).status, 200);
  });

  it('a reader that falls behind loses datagrams at its own socket, and the stream says how many', async () => {
    const inet = inetOf(server.stack)!;
    let r = await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:0', rcvbuf: 2304 } });
    assert.equal(r.status, 201, r.text);
    const slow = r.json as { id: number; local: string; rcvbuf: number };
    const sender = inet.udpOpen({ bind: '127.0.0.1:0' });
    try {
      const before = inet.netstat().Udp!.RcvbufErrors!;
      for (let i = 0; i < 40; i++) {
        const sent = sender.sendTo(Buffer.alloc(200, i), slow.local);
        if (sent instanceof Promise) await sent;
      }
      await until(() => inet.netstat().Udp!.InDatagrams! + inet.netstat().Udp!.RcvbufErrors! - before >= 40, 'the 40 datagrams delivered or dropped');
      const view = await json<{ drops: number; recv_q: number }>(`/v1/sockets/${slow.id}`);
      assert.ok(view.drops > 0, 'the full socket dropped some');
      assert.equal(inet.netstat().Udp!.RcvbufErrors! - before, view.drops, 'counted as Udp RcvbufErrors');

      const { ws, messages } = await openStream(slow.id);
      await until(() => messages.some((m) => m.type === 'drops') && messages.filter((m) => m.type === 'datagram').length === 40 - view.drops, 'the drops notice and what was queued');
      assert.deepEqual(messages[0], { type: 'drops', count: view.drops, total: view.drops });
      ws.close();
      assert.equal((await server.request('DELETE', `/v1/sockets/${slow.id}`)).status, 200);
    } finally {
      sender.close();
    }
  });

  it('socket streams: 404 for no socket, 501 for a packet socket, 503 EAGAIN past the limit', async () => {
    const small = await startServer({ limits: { maxWsClients: 1 } });
    try {
      const r = await small.request('POST', '/v1/sockets', { body: { type: 'udp' } });
      const id = (r.json as { id: number }).id;
      const url = (n: number): string => `ws://127.0.0.1:${small.port}/v1/sockets/${n}/stream`;
      assert.equal(await upgradeStatus(url(999)), 404);
      const packet = small.stack.openPacketSocket({ owner: 'test' });
      assert.equal(await upgradeStatus(url(packet.id)), 501);
      packet.close();
      const first = new WebSocket(url(id));
      await new Promise((resolve, reject) => first.once('open', resolve).once('error', reject));
      assert.equal(await upgradeStatus(url(id)), 503);
      first.close();
    } finally {
      await small.close();
    }
  });

  it('a packet socket is listed with the ss fields and cannot be closed over HTTP', async () => {
    const sock = server.stack.openPacketSocket({ owner: 'test' });
    try {
      const one = await json<{ family: string; type: string; local: string }>(`/v1/sockets/${sock.id}`);
      assert.equal(one.family, 'packet');
      assert.equal(one.type, 'raw');
      assertProblem(await server.request('DELETE', `/v1/sockets/${sock.id}`), 409, 'EOPNOTSUPP');
    } finally {
      sock.close();
    }
  });
});

describe('counters', () => {
  it('/v1/netstat has the Linux names, and /metrics the same numbers in snake case', async () => {
    // A datagram to a closed port: Udp NoPorts, answered with port unreachable.
    let r = await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:0' } });
    const id = (r.json as { id: number }).id;
    r = await server.request('POST', `/v1/sockets/${id}/send`, { body: { to: '127.0.0.1:9', data: '00' } });
    assert.equal(r.status, 200, r.text);
    const inet = inetOf(server.stack)!;
    await until(() => (inet.netstat().Udp?.NoPorts ?? 0) >= 1, 'the datagram to the closed port delivered');
    const stats = await json<Record<string, Record<string, number>>>('/v1/netstat');
    for (const [group, field] of [['Ip', 'InReceives'], ['Icmp', 'InMsgs'], ['Udp', 'InDatagrams'], ['Udp', 'NoPorts'], ['Udp', 'RcvbufErrors']] as const) {
      assert.equal(typeof stats[group]?.[field], 'number', `${group}.${field}`);
    }
    const after = await json<Record<string, Record<string, number>>>('/v1/netstat');
    assert.ok(after.Udp!.NoPorts! >= 1, 'the closed port was counted');
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('netstack_netstat_udp_no_ports_total'), after.Udp!.NoPorts);
    assert.equal(value('netstack_netstat_ip_default_ttl'), 64);
    assert.ok(value('netstack_ipv4_routes') >= 1);
    assert.match(metrics, /^netstack_neigh_entries\{state="permanent"\} \d+$/m);
    assert.match(metrics, /^netstack_ipv4_frag_memory_bytes 0$/m);
    await server.request('DELETE', `/v1/sockets/${id}`);
  });
});

describe('state saving hook', () => {
  it('onChange follows configuration changes only, not sends, pings or refused requests', async () => {
    let changes = 0;
    const s = await startServer({ onChange: () => changes++ });
    try {
      assert.equal((await s.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'd0', up: true } })).status, 201);
      assert.equal(changes, 0, 'devices have the netdevice notifier');
      assert.equal((await s.request('POST', '/v1/devices/d0/addresses', { body: { address: '198.51.100.1/24' } })).status, 201);
      assert.equal(changes, 1);
      assert.equal((await s.request('POST', '/v1/devices/d0/addresses', { body: { address: '198.51.100.1/24' } })).status, 409);
      const r = await s.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:0' } });
      assert.equal(changes, 2);
      const id = (r.json as { id: number }).id;
      assert.equal((await s.request('POST', `/v1/sockets/${id}/send`, { body: { to: '127.0.0.1:9', data: '00' } })).status, 200);
      assert.equal((await s.request('POST', '/v1/ping', { body: { dst: '127.0.0.1', count: 1 } })).status, 200);
      assert.equal(changes, 2);
      for (const [method, path, body] of [
        ['POST', '/v1/routes', { dst: '203.0.113.0/24', gateway: '198.51.100.254' }],
        ['DELETE', '/v1/routes?dst=203.0.113.0/24', undefined],
        ['POST', '/v1/neighbours', { dst: '198.51.100.2', dev: 'd0', lladdr: '02:00:00:00:00:02' }],
        ['DELETE', '/v1/neighbours?dst=198.51.100.2&dev=d0', undefined],
        ['DELETE', `/v1/sockets/${id}`, undefined],
        ['DELETE', '/v1/devices/d0/addresses/198.51.100.1%2F24', undefined],
      ] as const) {
        const res = await s.request(method, path, body === undefined ? {} : { body });
        assert.ok(res.status < 300, `${method} ${path}: ${res.text}`);
      }
      assert.equal(changes, 8);
    } finally {
      await s.close();
    }
  });
});
