// Browser sessions under --token: POST /v1/session trades the token for an
// HttpOnly, SameSite=Strict cookie that every route and WebSocket accepts;
// DELETE forgets it. A wrong token sets nothing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore, readCookie } from '../../../src/api/http/session.ts';
import { assertProblem, startServer, upgradeStatus, type TestServer } from './server.ts';

const TOKEN = 'session-token-42';

describe('session store', () => {
  it('expires sessions, and forgets the oldest past its size', () => {
    let now = 1000;
    const store = new SessionStore(100, 2, () => now);
    const a = store.create();
    const b = store.create();
    assert.ok(store.valid(a) && store.valid(b));
    const c = store.create();
    assert.equal(store.valid(a), false);
    assert.ok(store.valid(c));
    now += 100;
    assert.equal(store.valid(b), false);
    assert.equal(store.valid(undefined), false);
  });

  it('reads one cookie from a Cookie header', () => {
    assert.equal(readCookie('a=1; netstackd_session=xyz; b=2', 'netstackd_session'), 'xyz');
    assert.equal(readCookie('a=1', 'netstackd_session'), undefined);
    assert.equal(readCookie(undefined, 'x'), undefined);
  });
});

describe('/v1/session with a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ token: TOKEN });
  });
  after(() => server.close());

  const login = async (): Promise<string> => {
    const r = await server.request('POST', '/v1/session', { body: { token: TOKEN } });
    assert.equal(r.status, 204);
    const setCookie = r.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    assert.ok(!setCookie.includes(TOKEN), 'the cookie must not hold the token');
    return setCookie.split(';')[0]!;
  };

  it('says a token is needed, and that this request has none', async () => {
    const r = await server.request('GET', '/v1/session');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { token_required: true, authenticated: false });
  });

  it('refuses a wrong token with 401 EACCES and sets no cookie', async () => {
    const r = await server.request('POST', '/v1/session', { body: { token: 'wrong' } });
    assertProblem(r, 401, 'EACCES');
    assert.equal(r.headers.get('set-cookie'), null);
    assertProblem(await server.request('POST', '/v1/session', { body: {} }), 400, 'EINVAL');
  });

  it('sets a cookie every route and WebSocket accepts, until logout', async () => {
    const cookie = await login();
    const headers = { cookie };
    assert.equal((await server.request('GET', '/v1/devices', { headers })).status, 200);
    assert.deepEqual((await server.request('GET', '/v1/session', { headers })).json, { token_required: true, authenticated: true });
    const ws = server.base.replace('http', 'ws');
    assert.equal(await upgradeStatus(`${ws}/v1/events`, headers), 101);
    assert.equal(await upgradeStatus(`${ws}/v1/devices/lo/stream`, headers), 101);

    const out = await server.request('DELETE', '/v1/session', { headers });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assertProblem(await server.request('GET', '/v1/devices', { headers }), 401, 'EACCES');
    assert.equal(await upgradeStatus(`${ws}/v1/events`, headers), 401);
  });

  it('serves the console without credentials (its data needs them)', async () => {
    const r = await server.request('GET', '/console/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assertProblem(await server.request('GET', '/console/nope.js'), 404, 'ENOENT');
    // The libraries come from node_modules, their bare imports made relative (no import map, no CDN).
    const hooks = await server.request('GET', '/console/vendor/hooks.mjs');
    assert.equal(hooks.status, 200);
    assert.match(hooks.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(hooks.text, /from\s*"\.\/preact\.mjs"/);
    assert.doesNotMatch(hooks.text, /from\s*["']preact["']/);
    for (const file of ['app.js', 'vendor/preact.mjs', 'vendor/htm.mjs', 'vendor/uplot.mjs', 'vendor/uplot.css', 'style.css']) {
      assert.equal((await server.request('GET', `/console/${file}`)).status, 200, file);
    }
    assert.equal((await server.request('GET', '/console')).status, 200, 'redirected to /console/');
    assertProblem(await server.request('GET', '/console/%2e%2e%2fpackage.json'), 404, 'ENOENT');
  });
});

describe('/v1/session without a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('needs nothing: GET says so, POST sets no cookie', async () => {
    assert.deepEqual((await server.request('GET', '/v1/session')).json, { token_required: false, authenticated: true });
    const r = await server.request('POST', '/v1/session', { body: { token: 'anything' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('set-cookie'), null);
  });
});
