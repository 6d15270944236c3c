// Interface names over HTTP as dev_valid_name() sees them: bytes of valid
// UTF-8, at most IFNAMSIZ - 1 of them. A name JSON can carry but UTF-8
// cannot (a lone UTF-16 surrogate) is refused before anything changes, on
// create and on rename alike.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, assertRejectedWithoutChange, startServer, type TestServer } from './server.ts';

/** JSON text holding the escapes as written, so the lone surrogate reaches the server intact. */
function rawJson(text: string) {
  return { raw: text, contentType: 'application/json' };
}

describe('interface names', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('refuses a lone surrogate on create: 400 EINVAL, no device', async () => {
    for (const escaped of ['\\ud800x', '\\udfffz', 'a\\udc00', '\\ud83d']) {
      await assertRejectedWithoutChange(server, async () => {
        const r = await server.request('POST', '/v1/devices', rawJson(`{"kind":"dummy","name":"${escaped}"}`));
        assertProblem(r, 400, 'EINVAL');
      });
      await assertRejectedWithoutChange(server, async () => {
        const r = await server.request('POST', '/v1/devices', rawJson(`{"kind":"veth","name":"okname","peer":"${escaped}"}`));
        assertProblem(r, 400, 'EINVAL');
      });
    }
    assert.equal(server.stack.devices.get('okname'), undefined);
  });

  it('refuses a lone surrogate on rename: 400 EINVAL, the device keeps its name', async () => {
    assert.equal((await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'ren0' } })).status, 201);
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('PATCH', '/v1/devices/ren0', rawJson('{"name":"\\udfffz"}')), 400, 'EINVAL');
    });
    await assertRejectedWithoutChange(server, async () => {
      const r = await server.request('POST', '/v1/devices/ren0/ioctl', rawJson('{"request":"SIOCSIFNAME","newname":"\\ud800"}'));
      assert.ok(r.status >= 400 && r.status < 500, r.text);
    });
    assert.ok(server.stack.devices.get('ren0'));
    assert.equal((await server.request('DELETE', '/v1/devices/ren0')).status, 200);
  });

  it('counts IFNAMSIZ in bytes: 15 bytes of UTF-8 are a name, 16 are not', async () => {
    // 'é' is two bytes: 7 of them and a letter are 15 bytes in 8 characters.
    const fits = `${'é'.repeat(7)}a`;
    const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: fits } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), `/v1/devices/${encodeURIComponent(fits)}`);
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'é'.repeat(8) } }), 400, 'EINVAL');
    });
    // A surrogate pair is a valid 4-byte character.
    const emoji = '\u{1F600}x';
    assert.equal((await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: emoji } })).status, 201);
    assert.equal((await server.request('DELETE', `/v1/devices/${encodeURIComponent(emoji)}`)).status, 200);
    assert.equal((await server.request('DELETE', `/v1/devices/${encodeURIComponent(fits)}`)).status, 200);
  });

  it('refuses the names dev_valid_name refuses', async () => {
    for (const name of ['.', '..', 'a/b', 'a:b', 'a b', 'a\tb', '', 'x'.repeat(16)]) {
      await assertRejectedWithoutChange(server, async () => {
        assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name } }), 400, 'EINVAL');
      });
    }
  });
});
