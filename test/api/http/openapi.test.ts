// The OpenAPI document: the committed openapi/openapi.json is exactly what
// the code generates, it is a valid OpenAPI 3.1 document, the server serves
// the same one, and it describes every route of DESIGN §3.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { validate } from '@readme/openapi-parser';
import { OPENAPI_FILE, renderOpenApi } from '../../../scripts/openapi.ts';
import { startServer } from './server.ts';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  parameters?: { name: string; in: string }[];
  security?: unknown[];
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

describe('openapi document', () => {
  let rendered: Promise<string> | undefined;
  // Rendered once: building the app is the slow part.
  const render = (): Promise<string> => (rendered ??= renderOpenApi());

  it('matches the committed openapi/openapi.json', async () => {
    const generated = await render();
    const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '');
    assert.ok(committed === generated, 'openapi/openapi.json is out of date with the routes and schemas: run `npm run openapi` and commit the result');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = JSON.parse(await render()) as Doc;
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify(result));
  });

  it('is what the server serves at /openapi.json', async () => {
    const server = await startServer();
    try {
      const r = await server.request('GET', '/openapi.json');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, JSON.parse(await render()));
      const ui = await server.request('GET', '/docs/');
      assert.equal(ui.status, 200);
      assert.match(ui.text, /swagger/i);
    } finally {
      await server.close();
    }
  });

  it('describes every route of the contract, errors as problem+json', async () => {
    const doc = JSON.parse(await render()) as Doc;
    const expected: [string, string, string][] = [
      ['/healthz', 'get', '200'],
      ['/metrics', 'get', '200'],
      ['/v1/devices', 'get', '200'],
      ['/v1/devices', 'post', '201'],
      ['/v1/devices/{name}', 'get', '200'],
      ['/v1/devices/{name}', 'patch', '200'],
      ['/v1/devices/{name}', 'delete', '200'],
      ['/v1/devices/{name}/ioctl', 'post', '200'],
      ['/v1/devices/{name}/frames', 'post', '202'],
      ['/v1/devices/{name}/capture', 'get', '200'],
      ['/v1/devices/{name}/stream', 'get', '101'],
      ['/v1/sockets', 'get', '200'],
      ['/v1/stack', 'get', '200'],
      ['/v1/stack/sysctl', 'patch', '200'],
    ];
    for (const [path, method, ok] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
      assert.ok(op.responses[ok], `${method.toUpperCase()} ${path} documents ${ok}`);
    }
    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item));
    let errors = 0;
    for (const op of ops) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        errors++;
        assert.equal(response.content?.['application/problem+json']?.schema?.$ref, '#/components/schemas/Problem', status);
      }
    }
    assert.ok(errors > 20);
    const frames = doc.paths['/v1/devices/{name}/frames']!.post!;
    assert.ok(frames.responses['503'] && frames.responses['409'] && frames.responses['413']);
    const stream = doc.paths['/v1/devices/{name}/stream']!.get!;
    assert.deepEqual(stream.parameters?.map((p) => p.name).sort(), ['detail', 'direction', 'format', 'name', 'promisc', 'protocol', 'rcvbuf', 'trace']);
    assert.deepEqual(doc.paths['/v1/events']!.get!.parameters?.map((p) => p.name).sort(), ['stats_ms', 'types']);
    assert.deepEqual(doc.paths['/v1/session']!.post!.security, []);
    assert.deepEqual(doc.paths['/healthz']!.get!.security, []);
    assert.equal(doc.paths['/healthz']!.get!.responses['401'], undefined);
    assert.ok(doc.paths['/v1/devices']!.get!.responses['401'] && doc.paths['/v1/devices/{name}/frames']!.post!.responses['401']);
    assert.deepEqual(doc.paths['/metrics']!.get!.security, []);
    assert.ok(doc.components.schemas.Problem && doc.components.schemas.Device);
  });
});
