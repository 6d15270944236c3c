// A WebSocket message over the limit (64 KiB) is the client's error: the
// stream closes with 1009, and the service logs it once, at info level,
// without a stack trace. The service goes on serving.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createDevice } from '../../../src/stack/index.ts';
import { startServer } from '../http/server.ts';

test('a message over 64 KiB closes the stream with 1009 and logs one info line without a stack', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const server = await startServer({ loggerInstance: pino({ level: 'info' }, sink) });
  t.after(() => server.close());
  await createDevice(server.stack, { kind: 'dummy', name: 'big0', up: true });

  for (let round = 0; round < 2; round++) {
    const ws = new WebSocket(`${server.base.replace('http:', 'ws:')}/v1/devices/big0/stream`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    ws.send(Buffer.alloc(64 * 1024 + 1));
    assert.equal(await closed, 1009);
  }
  assert.equal((await server.request('GET', '/healthz')).status, 200);
  const about = lines.filter((l) => l['wsError'] !== undefined || /payload/i.test(String(l['msg'])) || l['err'] !== undefined);
  assert.equal(about.length, 2, `one line per connection: ${JSON.stringify(about)}`);
  for (const l of about) {
    assert.equal(l['level'], 30, 'info level');
    assert.equal(l['wsError'], 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    assert.equal(l['closeCode'], 1009);
    assert.ok(!JSON.stringify(l).includes('"stack"'), 'no stack trace');
  }
  assert.ok(!lines.some((l) => Number(l['level']) >= 50), 'nothing logged as an error');
});
