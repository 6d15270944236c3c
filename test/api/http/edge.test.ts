// The service's edge (src/api/http/edge.ts): malformed HTTP, upgrades that are
// not a frame stream, connection caps, request timeouts and unauthenticated
// bodies. Every refusal is problem+json, and a valid request pipelined before
// garbage still gets its own answer first.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponses, rawConnect, rawExchange, type RawResponse } from '../../helpers/raw-http.ts';
import { until } from '../../helpers/wait.ts';
import { startServer, upgradeStatus, type TestServer } from './server.ts';

function assertRawProblem(r: RawResponse | undefined, status: number, errno: string): void {
  assert.ok(r, `expected a ${status} response`);
  assert.equal(r.status, status, JSON.stringify(r));
  assert.match(r.headers['content-type'] ?? '', /^application\/problem\+json/);
  const p = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(p['status'], status);
  assert.equal(p['errno'], errno);
  assert.equal(typeof p['title'], 'string');
  assert.equal(typeof p['detail'], 'string');
  assert.equal(p['type'], `urn:netstack:errno:${errno}`);
}

const WS_HEADERS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('malformed HTTP and upgrades', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  const CASES: [string, string, number, string][] = [
    ['Content-Length with Transfer-Encoding', 'POST /v1/devices HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'EPROTO'],
    ['a bad chunk size', 'POST /v1/devices HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n', 400, 'EPROTO'],
    ['NUL in the path', 'GET /v1/dev\0ices HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'EPROTO'],
    ['a raw space in the path', 'GET /v1/dev ices HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'EPROTO'],
    ['LF-only lines', 'GET /healthz HTTP/1.1\nHost: x\n\n', 400, 'EPROTO'],
    ['a 64 KB header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65536)}\r\n\r\n`, 431, 'EMSGSIZE'],
    ['an h2c upgrade', 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 400, 'EPROTONOSUPPORT'],
    ['a WebSocket upgrade on /healthz', `GET /healthz HTTP/1.1\r\nHost: x\r\n${WS_HEADERS}\r\n`, 400, 'EINVAL'],
    ['a WebSocket upgrade on /metrics', `GET /metrics HTTP/1.1\r\nHost: x\r\n${WS_HEADERS}\r\n`, 400, 'EINVAL'],
    ['a WebSocket upgrade on /v1/devices', `GET /v1/devices HTTP/1.1\r\nHost: x\r\n${WS_HEADERS}\r\n`, 400, 'EINVAL'],
    ['a stream upgrade with a bad key', 'GET /v1/devices/lo/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n', 400, 'EPROTO'],
    ['a stream upgrade with an old version', 'GET /v1/devices/lo/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 400, 'EPROTO'],
    ['a plain GET of a stream', 'GET /v1/devices/lo/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 426, 'EPROTO'],
  ];
  for (const [what, request, status, errno] of CASES) {
    it(`${what}: ${status} ${errno} as problem+json`, async () => {
      const responses = parseResponses(await rawExchange(server.port, request));
      assert.equal(responses.length, 1, JSON.stringify(responses));
      assertRawProblem(responses[0], status, errno);
      if (status === 426) assert.equal(responses[0]!.headers['upgrade'], 'websocket');
    });
  }

  it('refuses a WebSocket on a route that is not a stream before the upgrade (ws client)', async () => {
    const base = server.base.replace('http:', 'ws:');
    for (const path of ['/healthz', '/metrics', '/v1/devices', '/openapi.json']) assert.equal(await upgradeStatus(base + path), 400, path);
    assert.equal(await upgradeStatus(`${base}/v1/devices/lo/stream`), 101);
  });

  it('answers a valid request before the garbage pipelined after it', async () => {
    assert.equal((await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'pipe0' } })).status, 201);
    const responses = parseResponses(await rawExchange(server.port, 'DELETE /v1/devices/pipe0 HTTP/1.1\r\nHost: x\r\n\r\n \r\n'));
    assert.equal(responses.length, 2, JSON.stringify(responses));
    assert.equal(responses[0]!.status, 200);
    assert.deepEqual(JSON.parse(responses[0]!.body), { deleted: ['pipe0'] });
    assertRawProblem(responses[1], 400, 'EPROTO');
    assert.equal(server.stack.devices.get('pipe0'), undefined);
  });

  it('answers two pipelined requests in order, then the garbage', async () => {
    const responses = parseResponses(await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/devices/lo HTTP/1.1\r\nHost: x\r\n\r\n\0\r\n'));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 400]);
    assert.equal((JSON.parse(responses[1]!.body) as { ifname: string }).ifname, 'lo');
  });
});

describe('limits on connections and on slow requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      token: 's3cret',
      limits: { maxConnections: 12, maxConnectionsPerAddress: 6, headersTimeoutMs: 400, requestTimeoutMs: 600 },
    });
  });
  after(async () => {
    await server.close();
  });

  it('a body trickled byte by byte is cut with 408 ETIMEDOUT', async () => {
    const c = await rawConnect(server.port);
    c.socket.write('POST /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    const timer = setInterval(() => c.socket.write(' '), 100);
    try {
      const text = await c.waitClosed();
      assertRawProblem(parseResponses(text)[0], 408, 'ETIMEDOUT');
    } finally {
      clearInterval(timer);
    }
  });

  it('headers trickled are cut too, and a connection that says nothing is closed', async () => {
    const c = await rawConnect(server.port);
    c.socket.write('GET /healthz HTTP/1.1\r\n');
    const timer = setInterval(() => c.socket.write('X: y\r\n'), 100);
    try {
      assertRawProblem(parseResponses(await c.waitClosed())[0], 408, 'ETIMEDOUT');
    } finally {
      clearInterval(timer);
    }
    const silent = await rawConnect(server.port);
    await silent.waitClosed();
  });

  it('caps connections per address and in total with 503 EAGAIN; others still get /healthz', async () => {
    const held = await Promise.all(Array.from({ length: 6 }, () => rawConnect(server.port)));
    // Held open as idle keep-alive connections after one answered request each.
    for (const c of held) c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => held.every((c) => c.received().includes('"ok"')), 'answers on the held connections');
    const refused = parseResponses(await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    assertRawProblem(refused[0], 503, 'EAGAIN');
    assert.equal(refused[0]!.headers['retry-after'], '1');
    // Another address of the loopback net is not held back by the first one's connections.
    const other = parseResponses(await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.2' }));
    assert.equal(other[0]?.status, 200);
    // The total: 6 from .1 plus 6 from .3 fill it; .4 is refused.
    const more = await Promise.all(Array.from({ length: 6 }, () => rawConnect(server.port, { localAddress: '127.0.0.3' })));
    for (const c of more) c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => more.every((c) => c.received().includes('"ok"')), 'answers on the second address');
    assertRawProblem(parseResponses(await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.4' }))[0], 503, 'EAGAIN');
    for (const c of [...held, ...more]) c.socket.destroy();
    await until(() => [...held, ...more].every((c) => c.closed()), 'the held connections closed');
    // Slots are given back once closed.
    const again = parseResponses(await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    assert.equal(again[0]?.status, 200);
  });
});

describe('authentication before the body', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ token: 's3cret' });
  });
  after(async () => {
    await server.close();
  });

  it('an unauthenticated request is answered 401 before its body, and the connection closed', async () => {
    const c = await rawConnect(server.port);
    c.socket.write('POST /v1/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    // Long before the request timeout could have cut it, the answer is there.
    await until(() => c.received().includes('\r\n\r\n{'), 'the 401', { timeoutMs: 5000 });
    assertRawProblem(parseResponses(c.received())[0], 401, 'EACCES');
    // Closed at once, not after the request timeout (30 s here): the body is never read.
    await c.waitClosed(5000);
  });

});
