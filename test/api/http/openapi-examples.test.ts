// The OpenAPI document as a newcomer uses it through /docs: every operation
// has a unique operationId, every request body a working example (Swagger
// UI's "Try it out" sends it as is; here each is sent to a server holding the
// first session's veth0/veth1, a bridge br0 with veth1 as a port, the IPv4
// session's 198.51.100.1/24 on veth0 and one UDP socket (id 1), and must
// succeed), path and query parameters an example, and every error answer a
// problem example whose status is that answer's (a 401 shows 401). A DELETE
// example removes what the same path's POST example adds, as a user trying
// them in that order would.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { renderOpenApi } from '../../../scripts/openapi.ts';
import { startServer, type TestServer } from './server.ts';

interface Media {
  example?: unknown;
}
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; example?: unknown }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

const ops = (doc: Doc): [string, string, Operation][] =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([m, op]): [string, string, Operation] => [m.toUpperCase(), path, op]));

describe('openapi examples', () => {
  let doc: Doc;
  let server: TestServer;
  before(async () => {
    doc = JSON.parse(await renderOpenApi()) as Doc;
    server = await startServer();
    const setup: [string, string, unknown][] = [
      ['POST', '/v1/devices', { kind: 'veth', name: 'veth0', peer: 'veth1', up: true }],
      ['POST', '/v1/devices', { kind: 'bridge', name: 'br0', up: true }],
      ['PATCH', '/v1/devices/veth1', { master: 'br0' }],
      ['POST', '/v1/devices/veth0/addresses', { address: '198.51.100.1/24' }],
      ['POST', '/v1/sockets', { type: 'udp' }],
    ];
    for (const [method, path, body] of setup) {
      const r = await server.request(method, path, { body });
      assert.ok(r.status < 300, `${method} ${path}: ${r.text}`);
    }
    const socket = (await server.request('GET', '/v1/sockets/1')).json as { type?: string } | undefined;
    assert.equal(socket?.type, 'dgram', 'the UDP socket the {id} examples name is socket 1');
  });
  after(() => server.close());

  it('every operation has a unique operationId', () => {
    const ids = ops(doc).map(([m, p, op]) => {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]+$/, `${m} ${p}`);
      return op.operationId;
    });
    assert.equal(new Set(ids).size, ids.length);
  });

  it('every error answer shows a problem with its own status', () => {
    let n = 0;
    for (const [m, p, op] of ops(doc)) {
      for (const [code, res] of Object.entries(op.responses)) {
        const media = res.content?.['application/problem+json'];
        if (media === undefined) continue;
        const ex = media.example as { status?: number; errno?: string } | undefined;
        assert.equal(ex?.status, Number(code), `${m} ${p} ${code}`);
        assert.match(ex?.errno ?? '', /^E[A-Z]+$/);
        n++;
      }
    }
    assert.ok(n > 40, `${n} problem examples`);
  });

  it('every request example succeeds when sent as Try it out sends it', async () => {
    const withBody = ops(doc).filter(([, , op]) => op.requestBody !== undefined);
    assert.ok(withBody.length >= 6);
    for (const [method, path, op] of withBody) {
      const params = op.parameters ?? [];
      for (const prm of params.filter((x) => x.in === 'path')) assert.notEqual(prm.example, undefined, `${method} ${path} {${prm.name}} example`);
      const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(params.find((x) => x.name === name)!.example)));
      for (const [type, media] of Object.entries(op.requestBody!.content)) {
        if (type !== 'application/json') continue;
        assert.notEqual(media.example, undefined, `${method} ${path} ${type} has an example`);
        const r = await server.request(method, url, { body: media.example });
        assert.ok(r.status >= 200 && r.status < 300, `${method} ${url} with its example: ${r.status} ${r.text}`);
      }
    }
  });

  it('operations with a required query parameter have an example for it, and work with it', async () => {
    for (const [method, path, op] of ops(doc)) {
      const required = (op.parameters ?? []).filter((x) => x.in === 'query' && x.required === true);
      if (required.length === 0) continue;
      for (const prm of required) assert.notEqual(prm.example, undefined, `${method} ${path} ?${prm.name}`);
      if (method !== 'DELETE') continue;
      // What the DELETE example removes is what the same path's POST example
      // adds: send that first, so this test does not lean on the one above
      // having run (409 EEXIST: it did, and the entry is there).
      const name = (op.parameters ?? []).find((x) => x.in === 'path')?.example;
      const url = path.replace('{name}', String(name));
      const add = doc.paths[path]?.['post']?.requestBody?.content['application/json']?.example;
      if (add !== undefined) {
        const r = await server.request('POST', url, { body: add });
        assert.ok(r.status < 300 || (r.status === 409 && (r.json as { errno?: string }).errno === 'EEXIST'), `POST ${url} before the DELETE: ${r.text}`);
      }
      const q = required.map((x) => `${x.name}=${encodeURIComponent(String(x.example))}`).join('&');
      const r = await server.request(method, `${url}?${q}`);
      assert.ok(r.status < 300, `${method} ${path}?${q}: ${r.text}`);
    }
  });
});

describe('openapi field descriptions', () => {
  it('every field of every schema, request and response has a description', async () => {
    const doc = JSON.parse(await renderOpenApi()) as Doc & { components: { schemas: Record<string, unknown> } };
    const missing: string[] = [];
    const walk = (s: unknown, where: string): void => {
      if (typeof s !== 'object' || s === null) return;
      const o = s as Record<string, unknown>;
      for (const [name, sub] of Object.entries((o['properties'] ?? {}) as Record<string, Record<string, unknown>>)) {
        if (sub['description'] === undefined && sub['$ref'] === undefined) missing.push(`${where}.${name}`);
        walk(sub, `${where}.${name}`);
      }
      for (const key of ['items', 'additionalProperties']) walk(o[key], where);
      for (const key of ['anyOf', 'oneOf', 'allOf']) for (const x of (o[key] as unknown[] | undefined) ?? []) walk(x, where);
    };
    for (const [name, s] of Object.entries(doc.components.schemas)) walk(s, name);
    for (const [m, p, op] of ops(doc)) {
      for (const media of Object.values(op.requestBody?.content ?? {})) walk((media as { schema?: unknown }).schema, `${m} ${p} body`);
      for (const [code, res] of Object.entries(op.responses)) for (const media of Object.values(res.content ?? {})) walk((media as { schema?: unknown }).schema, `${m} ${p} ${code}`);
      for (const prm of op.parameters ?? []) if ((prm as { description?: string }).description === undefined) missing.push(`${m} ${p} parameter ${prm.name}`);
    }
    assert.deepEqual(missing, []);
  });
});
