// Bearer authentication: with a token, everything but /healthz and /metrics
// needs it, WebSocket upgrades included; without one, nothing does.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearerChecker } from '../../../src/api/http/auth.ts';
import { assertProblem, startServer, upgradeStatus, type TestServer } from './server.ts';

const TOKEN = 's3cret-token-value';

describe('bearer checker', () => {
  it('accepts exactly the token, in any case of the scheme name', () => {
    const ok = bearerChecker(TOKEN);
    assert.equal(ok(`Bearer ${TOKEN}`), true);
    assert.equal(ok(`bearer ${TOKEN}`), true);
    assert.equal(ok(`Bearer ${TOKEN}x`), false);
    assert.equal(ok(`Bearer ${TOKEN.slice(1)}`), false);
    assert.equal(ok(`Basic ${TOKEN}`), false);
    assert.equal(ok(TOKEN), false);
    assert.equal(ok('Bearer'), false);
    assert.equal(ok(undefined), false);
    assert.throws(() => bearerChecker(''), RangeError);
  });
});

describe('with a token', () => {
  let server: TestServer;
  const auth = { authorization: `Bearer ${TOKEN}` };
  before(async () => {
    server = await startServer({ token: TOKEN });
  });
  after(async () => {
    await server.close();
  });

  it('refuses requests without it: 401 EACCES with WWW-Authenticate: Bearer', async () => {
    for (const [method, path] of [
      ['GET', '/v1/devices'],
      ['GET', '/v1/devices/lo'],
      ['GET', '/v1/stack'],
      ['GET', '/v1/sockets'],
      ['GET', '/no/such/route'],
    ] as const) {
      const r = await server.request(method, path);
      assertProblem(r, 401, 'EACCES');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    }
    assertProblem(await server.request('GET', '/v1/devices', { headers: { authorization: 'Bearer wrong' } }), 401, 'EACCES');
    assertProblem(await server.request('GET', '/v1/devices', { headers: { authorization: `Basic ${TOKEN}` } }), 401, 'EACCES');
  });

  it('serves the documentation without it: /openapi.json, /docs and its assets describe no data', async () => {
    const doc = await server.request('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal((doc.json as { openapi: string }).openapi, '3.1.0');
    const page = await server.request('GET', '/docs/');
    assert.ok(page.status === 200 || page.status === 302, `GET /docs/ answered ${page.status}`);
    assert.equal((await server.request('GET', '/docs/json')).status, 200);
    assert.equal((await server.request('GET', '/docs/static/index.html')).status, 200);
  });

  it('changes nothing on a refused request', async () => {
    const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'nope0' } });
    assertProblem(r, 401, 'EACCES');
    assert.equal(server.stack.devices.has('nope0'), false);
    const frames = await server.request('POST', '/v1/devices/lo/frames', { raw: new Uint8Array(60), contentType: 'application/octet-stream' });
    assertProblem(frames, 401, 'EACCES');
    assert.equal(server.stack.sockets.size, 0);
  });

  it('serves requests that carry it', async () => {
    const r = await server.request('GET', '/v1/devices', { headers: auth });
    assert.equal(r.status, 200);
    const made = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'yes0' }, headers: auth });
    assert.equal(made.status, 201, made.text);
    assert.equal((await server.request('GET', '/openapi.json', { headers: auth })).status, 200);
  });

  it('leaves /healthz and /metrics open', async () => {
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    const m = await server.request('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /netstack_/);
  });

  it('refuses a WebSocket upgrade without it, before upgrading', async () => {
    const url = `ws://127.0.0.1:${server.port}/v1/devices/lo/stream`;
    assert.equal(await upgradeStatus(url), 401);
    assert.equal(await upgradeStatus(url, { authorization: 'Bearer nope' }), 401);
    assert.equal(server.stack.sockets.size, 0, 'no stream socket was opened');
    assert.equal(await upgradeStatus(url, { authorization: `Bearer ${TOKEN}` }), 101);
  });
});

describe('without a token', () => {
  it('serves everything', async () => {
    const server = await startServer();
    try {
      assert.equal((await server.request('GET', '/v1/devices')).status, 200);
      assert.equal((await server.request('GET', '/openapi.json')).status, 200);
    } finally {
      await server.close();
    }
  });
});
