// TCP over /v1/sockets inside one stack (its lo): create, list with
// tcp_info, send, the WebSocket byte stream both ways, accept events, the
// errnos of bad requests, FIN and RST on DELETE, counters in /v1/netstat.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { assertProblem, startServer, type TestServer } from './server.ts';
import { until } from '../../helpers/wait.ts';

interface Sock {
  id: number;
  type: string;
  state: string;
  local: string;
  peer: string;
  service?: string;
  recv_q: number;
  tcp_info?: { bytes_received: number; bytes_acked: number; rcv_wnd: number };
}

let server: TestServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
  assert.equal(server.stack.pool.stats.inUse, 0, 'every sk_buff freed once the app and the stack are closed');
});

/** A WebSocket on a socket, collecting binary bytes and text events. */
async function stream(id: number): Promise<{ ws: WebSocket; bytes: () => Buffer; events: Record<string, unknown>[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/sockets/${id}/stream`);
  const chunks: Buffer[] = [];
  const events: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer, binary: boolean) => {
    if (binary) chunks.push(Buffer.from(d));
    else events.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, bytes: () => Buffer.concat(chunks), events };
}

const post = async (body: unknown): Promise<Sock> => {
  const r = await server.request('POST', '/v1/sockets', { body });
  assert.equal(r.status, 201, r.text);
  return r.json as Sock;
};

describe('TCP sockets over HTTP', () => {
  it('echo service: send over HTTP, bytes back on the stream, listed with tcp_info; FIN on DELETE', async () => {
    const l = await post({ type: 'tcp', bind: '127.0.0.1:7', listen: 8, service: 'echo' });
    assert.equal(l.state, 'LISTEN');
    assert.equal(l.service, 'echo');
    const c = await post({ type: 'tcp', connect: '127.0.0.1:7', nodelay: true });
    assert.equal(c.state, 'ESTAB');
    assert.equal(c.peer, '127.0.0.1:7');
    const s = await stream(c.id);
    const data = Buffer.alloc(300_000, 0).map((_, i) => (i * 13) & 255);
    const r = await server.request('POST', `/v1/sockets/${c.id}/send`, { raw: data, contentType: 'application/octet-stream' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { sent: data.length });
    await until(() => s.bytes().length >= data.length, 'the echo back on the stream');
    assert.ok(s.bytes().equals(data));
    const all = (await server.request('GET', '/v1/sockets')).json as Sock[];
    const mine = all.find((x) => x.id === c.id)!;
    assert.equal(mine.type, 'stream');
    assert.equal(mine.tcp_info!.bytes_received, data.length);
    assert.ok(all.some((x) => x.type === 'stream' && x.service === 'echo' && x.peer === c.local), 'the accepted connection is listed');
    assert.equal(((await server.request('GET', `/v1/sockets/${l.id}`)).json as Sock).state, 'LISTEN');
    assertProblem(await server.request('POST', `/v1/sockets/${l.id}/send`, { raw: 'x', contentType: 'application/octet-stream' }), 409, 'ENOTCONN');
    assertProblem(await server.request('POST', `/v1/sockets/${c.id}/send`, { body: { to: '127.0.0.1:7', data: '00' } }), 409, 'EISCONN');
    assertProblem(await server.request('POST', '/v1/sockets', { body: { type: 'tcp', bind: '127.0.0.1:7', listen: 1 } }), 409, 'EADDRINUSE');
    s.ws.send('{"type":"shutdown"}');
    await until(() => s.events.some((e) => e.type === 'eof'), 'eof on the stream once the service closes its side');
    const closed = new Promise<number>((resolve) => s.ws.once('close', (code) => resolve(code)));
    assert.deepEqual((await server.request('DELETE', `/v1/sockets/${c.id}`)).json, { closed: c.id });
    assert.equal(await closed, 4004, 'DELETE closes the socket’s stream');
    const ns = (await server.request('GET', '/v1/netstat')).json as Record<string, Record<string, number>>;
    assert.ok(ns.Tcp!.ActiveOpens! >= 1 && ns.Tcp!.PassiveOpens! >= 1);
    const metrics = (await server.request('GET', '/metrics')).text;
    assert.match(metrics, /^netstack_netstat_tcp_active_opens_total \d+/m);
    assert.match(metrics, /^netstack_netstat_tcp_ext_tcp_to_zero_window_adv_total \d+/m);
    assert.equal((await server.request('DELETE', `/v1/sockets/${l.id}`)).status, 200);
  });

  it('a listener stream announces accepted connections; bytes both ways; RST on ?abort=1', async () => {
    const l = await post({ type: 'tcp', bind: '0.0.0.0:8080', listen: 4 });
    const ls = await stream(l.id);
    const second = new WebSocket(`ws://127.0.0.1:${server.port}/v1/sockets/${l.id}/stream`);
    const refused = await new Promise<number>((resolve, reject) => {
      second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      second.once('open', () => reject(new Error('a second stream on one socket was accepted')));
    });
    assert.equal(refused, 409, 'one stream per TCP socket (EBUSY)');
    const c = await post({ type: 'tcp', connect: '127.0.0.1:8080' });
    await until(() => ls.events.some((e) => e.type === 'accept'), 'an accept event');
    const acc = ls.events.find((e) => e.type === 'accept')!.socket as { id: number; local: string; peer: string };
    assert.equal(acc.peer, c.local);
    const a = await stream(acc.id);
    const cs = await stream(c.id);
    cs.ws.send(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    await until(() => a.bytes().length === 18, 'the request at the server side');
    a.ws.send(Buffer.from('HTTP/1.0 200 OK\r\n\r\nhi'));
    a.ws.send('{"type":"shutdown"}');
    await until(() => cs.events.some((e) => e.type === 'eof'), 'eof at the client');
    assert.equal(cs.bytes().toString(), 'HTTP/1.0 200 OK\r\n\r\nhi');
    assert.equal((await server.request('DELETE', `/v1/sockets/${c.id}?abort=1`)).status, 200);
    await until(() => a.events.some((e) => e.type === 'error'), 'the reset reported on the other side');
    assert.equal(a.events.find((e) => e.type === 'error')!.errno, 'ECONNRESET');
    for (const x of [ls, a, cs]) x.ws.close();
    assertProblem(await server.request('POST', '/v1/sockets', { body: { type: 'tcp', connect: '127.0.0.1:9' } }), 502, 'ECONNREFUSED');
    assertProblem(await server.request('GET', '/v1/sockets/99999'), 404, 'ENOENT');
    assertProblem(await server.request('POST', '/v1/sockets', { body: { type: 'tcp', connect: '127.0.0.1:x' } }), 400, 'EINVAL');
    assert.equal((await server.request('DELETE', `/v1/sockets/${l.id}`)).status, 200);
  });
});
