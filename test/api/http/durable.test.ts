// Acknowledged means saved: with a state saver behind the app, the answer to
// a change comes only once the state file holds it; a change the saver could
// not write is answered 500 EIO, never 2xx.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateSaver } from '../../../src/config/state-saver.ts';
import { parseState } from '../../../src/config/load.ts';
import { writeFileAtomic } from '../../../src/config/atomic-write.ts';
import { assertProblem, startServer } from './server.ts';

function savedNames(file: string): string[] {
  return parseState(readFileSync(file, 'utf8'), file).devices.map((d) => d.name ?? '');
}

test('every 2xx change is in the state file when the answer arrives', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.json');
  let saver: StateSaver | null = null;
  // A debounce far longer than the test: only the acknowledgement can have written.
  const server = await startServer({ commit: () => saver!.commit() });
  saver = new StateSaver(server.stack, file, { debounceMs: 60_000 });
  await saver.start();
  t.after(async () => {
    await saver!.stop();
    await server.close();
  });

  assert.equal((await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'dura', peer: 'durb' } })).status, 201);
  assert.deepEqual(savedNames(file), ['lo', 'dura']);
  assert.equal((await server.request('PATCH', '/v1/devices/dura', { body: { name: 'durc', mtu: 1400 } })).status, 200);
  assert.deepEqual(savedNames(file), ['lo', 'durc']);
  assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.rmem_default': 4096 } })).status, 200);
  assert.equal(parseState(readFileSync(file, 'utf8'), file).sysctl['net.core.rmem_default'], 4096);
  // Concurrent changes: every one of them is on disk when its own answer comes.
  await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: `burst${i}` } });
      assert.equal(r.status, 201);
      assert.ok(savedNames(file).includes(`burst${i}`), `burst${i} acknowledged but not saved`);
    }),
  );
  assert.ok(saver.writes < 30, `group commit: ${saver.writes} writes`);
  assert.equal((await server.request('DELETE', '/v1/devices/durc')).status, 200);
  assert.ok(!savedNames(file).includes('durc'));
});

test('a change that cannot be saved is answered 500 EIO, not 2xx', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.json');
  let broken = false;
  let saver: StateSaver | null = null;
  const server = await startServer({ commit: () => saver!.commit() });
  saver = new StateSaver(server.stack, file, {
    debounceMs: 60_000,
    retryMs: 60_000,
    write: (f, text) => (broken ? Promise.reject(new Error('EIO: the disk went away')) : writeFileAtomic(f, text)),
  });
  await saver.start();
  t.after(async () => {
    broken = false;
    await saver!.stop();
    await server.close();
  });
  broken = true;
  const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'lost0' } });
  const p = assertProblem(r, 500, 'EIO');
  assert.match(p.detail, /could not be saved/);
  assert.equal(r.headers.get('location'), null);
  // Reads are not held up by the broken disk.
  assert.equal((await server.request('GET', '/v1/devices/lost0')).status, 200);
  broken = false;
  assert.equal((await server.request('PATCH', '/v1/devices/lost0', { body: { mtu: 1000 } })).status, 200);
  assert.deepEqual(savedNames(file), ['lo', 'lost0']);
});
