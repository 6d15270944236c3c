// Errors as problem+json: the errno -> status table, and every kind of bad
// request fastify itself rejects (parsing, media types, limits, routing).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { ERRNO, NetError, type ErrnoName } from '../../../src/errno.ts';
import { ERRNO_STATUS } from '../../../src/api/http/problem.ts';
import { NetStack } from '../../../src/stack/index.ts';
import { buildApp } from '../../../src/api/http/app.ts';
import { assertProblem, assertRejectedWithoutChange, startServer, upgradeStatus, type TestServer } from './server.ts';

/** A raw HTTP/1.1 request, for what fetch will not send (bad content-length, odd methods). */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('problem table', () => {
  it('maps every errno the core knows to a 4xx or 5xx status', () => {
    for (const name of Object.keys(ERRNO) as ErrnoName[]) {
      const status = ERRNO_STATUS[name];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${name} -> ${status}`);
    }
  });

  it('keeps the statuses DESIGN §3 names', () => {
    assert.deepEqual(
      { ENODEV: ERRNO_STATUS.ENODEV, EEXIST: ERRNO_STATUS.EEXIST, EBUSY: ERRNO_STATUS.EBUSY, EINVAL: ERRNO_STATUS.EINVAL, ENETDOWN: ERRNO_STATUS.ENETDOWN, EMSGSIZE: ERRNO_STATUS.EMSGSIZE, EAGAIN: ERRNO_STATUS.EAGAIN },
      { ENODEV: 404, EEXIST: 409, EBUSY: 409, EINVAL: 400, ENETDOWN: 409, EMSGSIZE: 413, EAGAIN: 503 },
    );
  });
});

describe('bad requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ limits: { bodyLimit: 4096 } });
  });
  after(async () => {
    await server.close();
  });

  it('answers an unknown route or method with 404 ENOENT', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const p = assertProblem(await server.request('GET', '/v2/nothing?x=1'), 404, 'ENOENT');
      assert.equal(p.instance, '/v2/nothing?x=1');
      assertProblem(await server.request('PUT', '/v1/devices', { body: { kind: 'dummy' } }), 404, 'ENOENT');
      assertProblem(await server.request('POST', '/v1/stack', { body: {} }), 404, 'ENOENT');
    });
  });

  it('answers malformed JSON, an empty JSON body and prototype poisoning with 400 EINVAL', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices', { raw: '{"kind": "dummy"' }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { raw: '' }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { raw: '{"kind":"dummy","__proto__":{"x":1}}' }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/lo', { raw: 'null' }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/lo', { raw: '"up"' }), 400, 'EINVAL');
    });
  });

  it('answers a body over the limit with 413 EMSGSIZE', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const frames = Array.from({ length: 100 }, () => 'ff'.repeat(60));
      assertProblem(await server.request('POST', '/v1/devices/lo/frames', { body: { frames } }), 413, 'EMSGSIZE');
      assertProblem(await server.request('POST', '/v1/devices/lo/frames', { raw: new Uint8Array(5000), contentType: 'application/octet-stream' }), 413, 'EMSGSIZE');
    });
  });

  it('answers unsupported content types with 415 (errno EINVAL)', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const form = assertProblem(await server.request('POST', '/v1/devices', { raw: 'kind=dummy', contentType: 'application/x-www-form-urlencoded' }), 415, 'EINVAL');
      assert.match(form.detail, /application\/x-www-form-urlencoded.*send application\/json$/);
      const frames = assertProblem(await server.request('POST', '/v1/devices/lo/frames', { raw: 'ff', contentType: 'text/plain' }), 415, 'EINVAL');
      assert.match(frames.detail, /application\/octet-stream/);
      assertProblem(await server.request('POST', '/v1/devices', { raw: '{"kind":"dummy"}', contentType: 'text/plain' }), 415, 'EINVAL');
      // Raw bytes are taken only by the frame route.
      assertProblem(await server.request('POST', '/v1/devices', { raw: new Uint8Array([1, 2]), contentType: 'application/octet-stream' }), 415, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/lo', { raw: new Uint8Array(0), contentType: 'application/octet-stream' }), 415, 'EINVAL');
    });
  });

  it('answers a malformed URL with 400 EINVAL and an over-long path parameter with 414 ENAMETOOLONG', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('GET', '/v1/devices/%zz'), 400, 'EINVAL');
      assertProblem(await server.request('GET', `/v1/devices/${'x'.repeat(200)}`), 414, 'ENAMETOOLONG');
    });
  });

  it('refuses bad WebSocket upgrades with a problem status and closes their sockets (the server still closes)', async () => {
    const ws = `ws://127.0.0.1:${server.port}`;
    assert.equal(await upgradeStatus(`${ws}/%zz`), 400);
    assert.equal(await upgradeStatus(`${ws}/v1/devices/${'x'.repeat(200)}`), 414);
    assert.equal(await upgradeStatus(`${ws}/v1/nothing`), 404);
  });

  it('answers a lying content-length with a 4xx, never a 5xx', async () => {
    const r = await rawRequest(server.port, 'POST', '/v1/devices', { 'content-type': 'application/json', 'content-length': '2' }, '{"kind":"dummy"}');
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
  });

  it('lists every validation failure with its path', async () => {
    const p = assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'a:b', peer: 7, mtu: -1 } }), 400, 'EINVAL');
    const issues = p.issues as { path: string; message: string }[];
    assert.deepEqual([...new Set(issues.map((i) => i.path))].sort(), ['body/mtu', 'body/name', 'body/peer']);
    assert.match(p.detail, /^body\/\w+: .+ \(and \d+ more\)$/);
  });
});

describe('unexpected errors', () => {
  it('become 500 EIO problems without the internals, and the server keeps serving', async () => {
    const stack = new NetStack();
    const logged: unknown[] = [];
    const app = await buildApp({ stack, logger: { level: 'error', stream: { write: (line: string) => logged.push(JSON.parse(line)) } } });
    app.get('/boom', async () => {
      throw new TypeError('secret internal state');
    });
    app.get('/netboom', async () => {
      throw new NetError('EADDRNOTAVAIL', 'not here');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const r = await fetch(`${base}/boom`);
      assert.equal(r.status, 500);
      const p = (await r.json()) as { errno: string; detail: string };
      assert.equal(p.errno, 'EIO');
      assert.doesNotMatch(p.detail, /secret/);
      assert.ok(logged.length > 0, 'the 500 is logged');
      const n = await fetch(`${base}/netboom`);
      assert.equal(n.status, 422);
      assert.equal(((await n.json()) as { errno: string }).errno, 'EADDRNOTAVAIL');
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    } finally {
      await app.close();
      stack.close();
    }
  });
});
