// A TCP socket reset under its user stays at its id until DELETE, as an fd
// stays until close(): GET shows it as UNCONN with the error that ended it,
// send answers the error once (502 ECONNRESET) and then 409 EPIPE, a stream
// gets the error and a later stream end of stream, /v1/events says 'change'
// at the reset and 'del' at the DELETE, and the port is free at once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { assertProblem, startServer, type TestServer } from './server.ts';
import { until, untilAsync } from '../../helpers/wait.ts';

interface Sock {
  id: number;
  state: string;
  local: string;
  peer: string;
  error?: string;
  wmem: number;
  rmem: number;
}

interface Message {
  type: string;
  action?: string;
  errno?: string;
  object?: { id: number; state: string; error?: string };
  socket?: { id: number; peer: string };
}

let server: TestServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
  assert.equal(server.stack.pool.stats.inUse, 0, 'every sk_buff freed once the app and the stack are closed');
});

/** A WebSocket collecting its text messages and its close code. */
async function listen(path: string): Promise<{ ws: WebSocket; messages: Message[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { perMessageDeflate: false });
  const messages: Message[] = [];
  ws.on('message', (d: Buffer, binary: boolean) => {
    if (!binary) messages.push(JSON.parse(d.toString('utf8')) as Message);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

const post = async (body: unknown): Promise<Sock> => {
  const r = await server.request('POST', '/v1/sockets', { body });
  assert.equal(r.status, 201, r.text);
  return r.json as Sock;
};

const get = async (id: number): Promise<Sock> => {
  const r = await server.request('GET', `/v1/sockets/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json as Sock;
};

const send = (id: number, data: string) => server.request('POST', `/v1/sockets/${id}/send`, { raw: Buffer.from(data), contentType: 'application/octet-stream' });

describe('a reset TCP socket stays its user’s until DELETE', () => {
  it('GET shows UNCONN + ECONNRESET; send ECONNRESET then EPIPE; events change then del; the port is free; DELETE, then 404', async () => {
    const events = await listen('/v1/events?types=socket');
    const l = await post({ type: 'tcp', bind: '127.0.0.1:8091', listen: 4 });
    const ls = await listen(`/v1/sockets/${l.id}/stream`);
    const c = await post({ type: 'tcp', connect: '127.0.0.1:8091' });
    await until(() => ls.messages.some((m) => m.type === 'accept'), 'the accepted connection');
    const child = ls.messages.find((m) => m.type === 'accept')!.socket!;
    assert.equal(child.peer, c.local);

    // The server side resets the connection (close with SO_LINGER 0).
    assert.equal((await server.request('DELETE', `/v1/sockets/${child.id}?abort=1`)).status, 200);
    await untilAsync(async () => (await get(c.id)).state === 'UNCONN', 'the client socket closed by the RST');
    const row = await get(c.id);
    assert.equal(row.error, 'ECONNRESET');
    assert.equal(row.wmem + row.rmem, 0);
    const all = (await server.request('GET', '/v1/sockets')).json as Sock[];
    assert.ok(all.some((s) => s.id === c.id && s.state === 'UNCONN'), 'listed like ss -a');

    assertProblem(await send(c.id, 'late'), 502, 'ECONNRESET');
    assertProblem(await send(c.id, 'later'), 409, 'EPIPE');
    assert.equal((await get(c.id)).error, 'ECONNRESET', 'GET still says why after the error was taken');

    // Its 4-tuple is free: the same local ADDR:PORT connects to the same peer again.
    const again = await post({ type: 'tcp', bind: c.local, connect: '127.0.0.1:8091' });
    assert.equal(again.local, c.local);
    assert.equal(again.state, 'ESTAB');

    assert.deepEqual((await server.request('DELETE', `/v1/sockets/${c.id}`)).json, { closed: c.id });
    assertProblem(await server.request('GET', `/v1/sockets/${c.id}`), 404, 'ENOENT');
    assertProblem(await server.request('DELETE', `/v1/sockets/${c.id}`), 404, 'ENOENT');

    await until(() => events.messages.some((m) => m.action === 'del' && m.object?.id === c.id), 'the del event');
    const mine = events.messages.filter((m) => m.type === 'socket' && m.object?.id === c.id).map((m) => `${m.action}:${m.object!.state}${m.object!.error !== undefined ? `:${m.object!.error}` : ''}`);
    assert.equal(mine[0]!.split(':')[0], 'new');
    assert.deepEqual(mine.slice(-3), ['change:ESTAB', 'change:UNCONN:ECONNRESET', 'del:UNCONN:ECONNRESET']);
    const childEvents = events.messages.filter((m) => m.object?.id === child.id).map((m) => m.action);
    assert.equal(childEvents.at(-1), 'del', 'the side that reset closed its socket itself');

    for (const x of [events, ls]) x.ws.close();
    assert.equal((await server.request('DELETE', `/v1/sockets/${again.id}?abort=1`)).status, 200);
    assert.equal((await server.request('DELETE', `/v1/sockets/${l.id}`)).status, 200);
  });

  it('a stream on the socket gets the error and closes (4004); a later stream reads end of stream; data sent before the reset arrives first', async () => {
    const l = await post({ type: 'tcp', bind: '127.0.0.1:8092', listen: 4 });
    const ls = await listen(`/v1/sockets/${l.id}/stream`);
    const c = await post({ type: 'tcp', connect: '127.0.0.1:8092' });
    const cs = await listen(`/v1/sockets/${c.id}/stream`);
    const bytes: Buffer[] = [];
    cs.ws.on('message', (d: Buffer, binary: boolean) => {
      if (binary) bytes.push(Buffer.from(d));
    });
    await until(() => ls.messages.some((m) => m.type === 'accept'), 'the accepted connection');
    const child = ls.messages.find((m) => m.type === 'accept')!.socket!;
    assert.deepEqual((await send(child.id, 'last words')).json, { sent: 10 });
    await until(() => Buffer.concat(bytes).length === 10, 'the bytes before the reset');
    assert.equal((await server.request('DELETE', `/v1/sockets/${child.id}?abort=1`)).status, 200);
    assert.equal(await cs.closed, 4004, 'the stream closes once it has told the error');
    assert.deepEqual(
      cs.messages.map((m) => [m.type, m.errno]),
      [['error', 'ECONNRESET']],
    );
    assert.equal(Buffer.concat(bytes).toString(), 'last words');
    const row = await get(c.id);
    assert.equal(row.state, 'UNCONN');
    assert.equal(row.error, 'ECONNRESET');
    const late = await listen(`/v1/sockets/${c.id}/stream`);
    await until(() => late.messages.length > 0, 'a message on the second stream');
    assert.deepEqual(late.messages, [{ type: 'eof' }], 'the error was told once; then end of stream');
    assertProblem(await send(c.id, 'x'), 409, 'EPIPE');
    const closed = late.closed;
    assert.equal((await server.request('DELETE', `/v1/sockets/${c.id}`)).status, 200);
    assert.equal(await closed, 4004, 'DELETE closes the stream');
    ls.ws.close();
    assert.equal((await server.request('DELETE', `/v1/sockets/${l.id}`)).status, 200);
  });
});
