// GET /v1/events: every link change arrives once and in order, to the clients
// that asked for links and to no other; stats come only at the rate asked;
// a bad query is a problem+json answer before any upgrade.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { assertProblem, startServer, until, type TestServer } from '../http/server.ts';

interface Message {
  type: string;
  action?: string;
  object?: { ifname?: string; ifindex?: number; mtu?: number; flags?: string[]; id?: number; type?: string; state?: string; local?: string; peer?: string; tcp_info?: unknown };
  devices?: { ifname: string }[];
  sockets?: { id: number; type: string; state: string }[];
}

class Listener {
  readonly messages: Message[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString('utf8')) as Message));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }
  close(): void {
    this.ws.close();
  }
}

describe('/v1/events', () => {
  let server: TestServer;
  let ws: string;
  before(async () => {
    server = await startServer();
    ws = server.base.replace('http', 'ws');
  });
  after(() => server.close());

  it('delivers every link change once, in order, only to clients that asked for links', async () => {
    const links = new Listener(`${ws}/v1/events?types=link`);
    const all = new Listener(`${ws}/v1/events`);
    const socketsOnly = new Listener(`${ws}/v1/events?types=socket`);
    const nothing = new Listener(`${ws}/v1/events?types=`);
    await Promise.all([links.opened, all.opened, socketsOnly.opened, nothing.opened]);

    const step = async (method: string, path: string, body?: unknown) => {
      const r = await server.request(method, path, body === undefined ? {} : { body });
      assert.ok(r.status < 300, `${method} ${path}: ${r.text}`);
    };
    await step('POST', '/v1/devices', { kind: 'veth', name: 'ev0', peer: 'ev1' });
    await step('PATCH', '/v1/devices/ev0', { mtu: 1400 });
    await step('PATCH', '/v1/devices/ev0', { name: 'ev2' });
    await step('PATCH', '/v1/devices/ev2', { up: true });
    await step('PATCH', '/v1/devices/ev2', { txqlen: 10 });
    await step('DELETE', '/v1/devices/ev2');
    // A marker: once its event is here, everything before it is too (one connection, in order).
    await step('POST', '/v1/devices', { kind: 'dummy', name: 'evend' });
    await until(() => links.messages.some((m) => m.object?.ifname === 'evend'), 'the marker event');
    await until(() => all.messages.some((m) => m.object?.ifname === 'evend'), 'the marker event (all)');

    const seen = links.messages.map((m) => `${m.type} ${m.action} ${m.object?.ifname}`);
    assert.deepEqual(seen, [
      'link new ev0',
      'link new ev1',
      'link change ev0', // mtu
      'link change ev2', // renamed
      'link change ev2', // up (NETDEV_UP)
      'link change ev2', // its operstate follows (netdev_state_change)
      'link change ev2', // txqlen
      'link del ev1', // a veth goes with its peer
      'link del ev2',
      'link new evend',
    ]);
    // Each change carries the device as GET /v1/devices shows it, at that moment.
    const mtu = links.messages[2]!;
    assert.equal(mtu.object?.mtu, 1400);
    const up = links.messages[4]!;
    assert.ok(up.object?.flags?.includes('UP'));
    // The client that asked for everything saw the same link changes in the same order.
    assert.deepEqual(all.of('link').map((m) => `${m.action} ${m.object?.ifname}`), links.messages.map((m) => `${m.action} ${m.object?.ifname}`));
    assert.equal(socketsOnly.of('link').length, 0);
    assert.equal(nothing.messages.length, 0);
    for (const l of [links, all, socketsOnly, nothing]) l.close();
    await step('DELETE', '/v1/devices/evend');
  });

  it('reports packet sockets opening and closing', async () => {
    await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'evs0', up: true } });
    const sockets = new Listener(`${ws}/v1/events?types=socket`);
    await sockets.opened;
    const stream = new WebSocket(`${ws}/v1/devices/evs0/stream`, { perMessageDeflate: false });
    await new Promise((resolve) => stream.once('open', resolve));
    await until(() => sockets.messages.length >= 1, 'socket new');
    stream.close();
    await until(() => sockets.messages.length >= 2, 'socket del');
    assert.deepEqual(sockets.messages.map((m) => m.action), ['new', 'del']);
    assert.equal(sockets.messages[0]!.object?.id, sockets.messages[1]!.object?.id);
    sockets.close();
    await server.request('DELETE', '/v1/devices/evs0');
  });

  it('reports UDP and TCP sockets: new, each TCP state change, del; the same rows as GET /v1/sockets; stats list every family', async () => {
    const sockets = new Listener(`${ws}/v1/events?types=socket&stats_ms=250`);
    await sockets.opened;
    const udp = (await server.request('POST', '/v1/sockets', { body: { type: 'udp', bind: '127.0.0.1:0' } })).json as { id: number };
    const l = (await server.request('POST', '/v1/sockets', { body: { type: 'tcp', bind: '127.0.0.1:7171', listen: 4 } })).json as { id: number };
    const c = (await server.request('POST', '/v1/sockets', { body: { type: 'tcp', connect: '127.0.0.1:7171' } })).json as { id: number; local: string };
    const listed = (await server.request('GET', '/v1/sockets')).json as { id: number; state: string; peer: string }[];
    const child = listed.find((s) => s.peer === c.local)!;
    assert.equal(child.state, 'ESTAB', 'the child waiting in the accept queue is listed');
    await until(() => sockets.of('stats').some((m) => m.sockets!.some((s) => s.id === child.id)), 'a stats snapshot with the TCP child');
    const snap = sockets.of('stats').at(-1)!.sockets!;
    assert.ok([udp.id, l.id, c.id, child.id].every((id) => snap.some((s) => s.id === id)), 'stats snapshots list every family');
    const rowOf = (id: number) => listed.find((s) => s.id === id);
    await server.request('DELETE', `/v1/sockets/${c.id}`);
    await server.request('DELETE', `/v1/sockets/${child.id}`);
    await server.request('DELETE', `/v1/sockets/${udp.id}`);
    await server.request('DELETE', `/v1/sockets/${l.id}`);
    await until(() => sockets.of('socket').some((m) => m.action === 'del' && m.object?.id === child.id), 'the child gone');
    const seen = (id: number) => sockets.of('socket').filter((m) => m.object?.id === id).map((m) => `${m.action} ${m.object?.state}`);
    assert.deepEqual(seen(udp.id), ['new UNCONN', 'del UNCONN']);
    assert.deepEqual(seen(l.id), ['new LISTEN', 'del UNCONN']);
    assert.deepEqual(seen(c.id), ['new SYN-SENT', 'change ESTAB', 'change FIN-WAIT-1', 'change FIN-WAIT-2', 'change TIME-WAIT']);
    assert.deepEqual(seen(child.id), ['new ESTAB', 'change CLOSE-WAIT', 'change LAST-ACK', 'del UNCONN']);
    // An event's object is the socket's row as the REST listing shows it (tcp_info and all).
    const newChild = sockets.of('socket').find((m) => m.object?.id === child.id)!.object!;
    assert.deepEqual(Object.keys(newChild).sort(), Object.keys(rowOf(child.id)!).sort());
    assert.equal(newChild.type, 'stream');
    sockets.close();
    // The client stays in TIME-WAIT (60 s); RST it so the server closes clean.
    await server.request('DELETE', `/v1/sockets/${c.id}?abort=1`);
  });

  it('sends stats only to a client that asked, at its rate', async () => {
    const stats = new Listener(`${ws}/v1/events?stats_ms=250&types=`);
    const quiet = new Listener(`${ws}/v1/events?types=link`);
    await Promise.all([stats.opened, quiet.opened]);
    await until(() => stats.of('stats').length >= 2, 'two stats snapshots');
    const s = stats.of('stats')[0]!;
    assert.ok(s.devices?.some((d) => d.ifname === 'lo'));
    assert.ok(Array.isArray(s.sockets));
    assert.equal(quiet.messages.length, 0);
    stats.close();
    quiet.close();
  });

  it('refuses a bad query before upgrading', async () => {
    assertProblem(await server.request('GET', '/v1/events?stats_ms=5'), 400, 'EINVAL');
    assertProblem(await server.request('GET', '/v1/events?types=links'), 400, 'EINVAL');
  });

  it('stops publishing when the last listener leaves', async () => {
    await until(() => !server.stack.events.listening, 'no listener left');
  });
});

describe('/v1/events under a token', () => {
  const TOKEN = 'ev-token-123';
  let server: TestServer;
  before(async () => {
    server = await startServer({ token: TOKEN });
  });
  after(() => server.close());

  it('takes the token as a Sec-WebSocket-Protocol value and selects "netstackd"', async () => {
    const l = new Listener(`${server.base.replace('http', 'ws')}/v1/events`, ['netstackd', TOKEN]);
    await l.opened;
    assert.equal(l.ws.protocol, 'netstackd');
    l.close();
  });

  it('refuses a wrong subprotocol token', async () => {
    const l = new Listener(`${server.base.replace('http', 'ws')}/v1/events`, ['netstackd', 'nope']);
    await assert.rejects(l.opened, /401/);
  });
});

describe('frame stream detail and trace', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('?trace=1 traces the device while the stream lasts; each frame carries its info line, sk_buff and layers', async () => {
    await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'tr0', peer: 'tr1', up: true } });
    const messages: { type: string; info?: string; skb?: Record<string, number | boolean>; trace?: { layer: string }[] }[] = [];
    const ws = new WebSocket(`${server.base.replace('http', 'ws')}/v1/devices/tr1/stream?trace=1`, { perMessageDeflate: false });
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString())));
    await new Promise((resolve) => ws.once('open', resolve));
    assert.equal(server.stack.traceNeeded, 1);
    const frame = 'ffffffffffff02000000000a0806' + '0001080006040001' + '02000000000a' + 'c0000201' + '000000000000' + 'c0000202';
    assert.equal((await server.request('POST', '/v1/devices/tr0/frames', { body: { frames: [frame] } })).status, 202);
    // The stream's first message is {type:"ready"}; the frame follows it.
    await until(() => messages.some((x) => x.type === 'frame'), 'the frame');
    const m = messages.find((x) => x.type === 'frame')!;
    assert.match(m.info!, /Request who-has 192\.0\.2\.2 tell 192\.0\.2\.1/);
    assert.equal(m.skb!.len, 42);
    assert.equal(m.skb!.headroom, (m.skb!.data as number) - (m.skb!.head as number));
    assert.equal(m.skb!.tailroom, (m.skb!.end as number) - (m.skb!.tail as number));
    assert.ok((m.skb!.truesize as number) > (m.skb!.end as number));
    assert.deepEqual(m.trace!.map((p) => p.layer), ['netif_rx', 'netif_receive_skb', 'eth_type_trans', 'packet_rcv', 'sock_queue_rcv_skb']);
    ws.close();
    await until(() => server.stack.traceNeeded === 0, 'the trace stopped with the stream');
    await server.request('DELETE', '/v1/devices/tr0');
  });
});

describe('a client that does not read', () => {
  it('is closed with ENOBUFS once too much waits for it, and costs no more than the bound', async () => {
    const { default: Fastify } = await import('fastify');
    const { default: websocket } = await import('@fastify/websocket');
    const { serializerCompiler, validatorCompiler } = await import('fastify-type-provider-zod');
    const { default: eventsRoutes } = await import('../../../src/api/ws/events.ts');
    const { NetStack, createDevice, setLink } = await import('../../../src/stack/index.ts');
    const { connect } = await import('node:net');
    const stack = new NetStack();
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(websocket, { options: { perMessageDeflate: false } });
    await app.register(eventsRoutes, { stack, maxBuffered: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    // A client that upgrades, then never reads: TCP pushes back, and ws's buffer grows on the server.
    const sock = connect(port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(`GET /v1/events?types=link HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await until(() => stack.events.listening, 'the client subscribed');
    sock.pause();
    await createDevice(stack, { kind: 'dummy', name: 'slow0' });
    let changes = 0;
    for (; changes < 20_000 && stack.events.listening; changes++) {
      setLink(stack, 'slow0', { mtu: 1000 + (changes % 400) });
      if (changes % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(changes < 20_000, `closed before the changes ran out (${changes})`);
    sock.destroy();
    await app.close();
    stack.close();
  });
});
