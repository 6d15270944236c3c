// StateSaver.commit(): a caller learns its change is on disk only after a
// write that holds it has completed, and changes that arrive during a write
// are taken together by the next one (group commit).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack, createDevice, setLink } from '../../src/stack/index.ts';
import { StateSaver } from '../../src/config/state-saver.ts';
import { parseState } from '../../src/config/load.ts';

/** A write the test releases by hand, recording what each write held. */
function gatedWrites() {
  const texts: string[] = [];
  const gates: (() => void)[] = [];
  const failNext: Error[] = [];
  return {
    texts,
    pending: () => gates.length,
    release() {
      const g = gates.shift();
      assert.ok(g, 'no write in flight');
      g();
    },
    failNext,
    write(_file: string, text: string): Promise<void> {
      const err = failNext.shift();
      return new Promise((resolve, reject) => {
        gates.push(() => {
          if (err !== undefined) return reject(err);
          texts.push(text);
          resolve();
        });
      });
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function names(text: string): string[] {
  return parseState(text, 'x.json').devices.map((d) => d.name ?? '');
}

test('commit resolves only after a write holding the change, and a burst shares two writes', async () => {
  const stack = new NetStack({ clock: new VirtualClock() });
  const io = gatedWrites();
  // A debounce longer than the test: only commit() may cause writes here.
  const saver = new StateSaver(stack, '/nonexistent/state.json', { write: io.write, debounceMs: 60_000 });
  const started = saver.start();
  io.release();
  await started;

  let done = 0;
  await createDevice(stack, { kind: 'dummy', name: 'd0' });
  const first = saver.commit().then(() => done++);
  await tick();
  assert.equal(io.pending(), 1, 'the first commit starts a write at once');
  // Fifty changes, each with its own commit, while that write is in flight.
  const rest: Promise<number>[] = [];
  for (let i = 1; i <= 50; i++) {
    await createDevice(stack, { kind: 'dummy', name: `d${i}` });
    rest.push(saver.commit().then(() => done++));
  }
  await tick();
  assert.equal(done, 0, 'nothing is acknowledged before its write completes');
  io.release();
  await first;
  await tick();
  assert.equal(done, 1, 'the first write holds only the first change');
  assert.deepEqual(names(io.texts[1]!), ['lo', 'd0']);
  assert.equal(io.pending(), 1, 'the waiting commits started one more write');
  io.release();
  await Promise.all(rest);
  assert.equal(done, 51);
  assert.equal(names(io.texts[2]!).length, 52);
  assert.equal(saver.writes, 3, 'start, then two writes for 51 acknowledged changes');
  // Nothing pending: commit answers without writing.
  await saver.commit();
  assert.equal(io.pending(), 0);
  await saver.stop();
  stack.close();
});

test('a failed write rejects the commits it held; the next commit writes again', async () => {
  const stack = new NetStack({ clock: new VirtualClock() });
  const io = gatedWrites();
  const saver = new StateSaver(stack, '/nonexistent/state.json', { write: io.write, debounceMs: 60_000, retryMs: 60_000 });
  const started = saver.start();
  io.release();
  await started;
  setLink(stack, 'lo', { mtu: 1500 });
  io.failNext.push(new Error('disk full'));
  const failing = saver.commit();
  await tick();
  io.release();
  await assert.rejects(failing, /disk full/);
  assert.ok(saver.dirty);
  const retry = saver.commit();
  await tick();
  io.release();
  await retry;
  assert.equal(saver.dirty, false);
  await saver.stop();
  stack.close();
});

test('with the real fsync writer, the file holds the change when commit resolves', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-commit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.json');
  const stack = new NetStack({ clock: new VirtualClock() });
  const saver = new StateSaver(stack, file, { debounceMs: 60_000 });
  await saver.start();
  const commits: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    await createDevice(stack, { kind: 'dummy', name: `f${i}` });
    commits.push(saver.commit().then(() => assert.ok(names(readFileSync(file, 'utf8')).includes(`f${i}`), `f${i} on disk`)));
  }
  await Promise.all(commits);
  assert.ok(saver.writes <= 4, `group commit: ${saver.writes} writes for 20 changes`);
  await saver.stop();
  stack.close();
});
