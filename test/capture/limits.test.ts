// Captures hold memory only as data flows, have a limit of their own, and a
// stream that could get no socket is refused before the upgrade.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ChunkBuffer } from '../../src/capture/chunk-buffer.ts';
import { createDevice } from '../../src/stack/index.ts';
import { assertProblem, startServer, upgradeStatus } from '../api/http/server.ts';
import { until } from '../helpers/wait.ts';

test('a chunk buffer starts small and grows as data flows', () => {
  const out = new ChunkBuffer();
  assert.ok(out.buf.length <= 4096, `an idle capture holds ${out.buf.length} bytes`);
  const frame = Buffer.alloc(1500, 7);
  let taken = 0;
  for (let i = 0; i < 1000; i++) {
    out.append(frame);
    if (i % 100 === 99) taken += out.take()!.length;
  }
  assert.equal(taken, 1500 * 1000);
  assert.ok(out.buf.length >= 128 * 1024, 'a busy capture reaches the full slab size');
  assert.ok(out.buf.length <= 256 * 1024);
});

/** Open a capture and keep it open; resolves once its file header arrived. */
function openCapture(base: string, path: string): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + path, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => undefined });
        return;
      }
      res.once('data', () => resolve({ status: 200, close: () => req.destroy() }));
    });
    req.on('error', reject);
  });
}

test('captures have their own limit, and a stream without a free socket is refused before the upgrade', async (t) => {
  const server = await startServer({ limits: { maxCaptures: 2 }, stackOptions: { limits: { maxSockets: 4 } } });
  t.after(() => server.close());
  await createDevice(server.stack, { kind: 'dummy', name: 'cap0', up: true });
  const a = await openCapture(server.base, '/v1/devices/cap0/capture');
  const b = await openCapture(server.base, '/v1/capture');
  assert.deepEqual([a.status, b.status], [200, 200]);
  const third = await server.request('GET', '/v1/devices/cap0/capture');
  assertProblem(third, 503, 'EAGAIN');
  // Captures took 2 of the 4 sockets; streams get the rest.
  const ws = server.base.replace('http:', 'ws:') + '/v1/devices/cap0/stream';
  const { default: WebSocket } = await import('ws');
  const open: InstanceType<typeof WebSocket>[] = [];
  for (let i = 0; i < 2; i++) {
    const c = new WebSocket(ws);
    await new Promise((resolve, reject) => {
      c.once('open', resolve);
      c.once('error', reject);
    });
    open.push(c);
  }
  assert.equal(server.stack.sockets.size, 4);
  // No socket left: an HTTP refusal, not 101 and then close 1013.
  assert.equal(await upgradeStatus(ws), 429);
  for (const c of open) c.close();
  a.close();
  b.close();
  await until(() => server.stack.sockets.size === 0, 'every socket closed');
  assert.equal(await upgradeStatus(ws), 101);
});
