// Saving state: atomic replacement (temp file + rename), nothing left behind,
// bursts folded into one write, every change followed, nothing saved after stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack, createDevice, setLink } from '../../src/stack/index.ts';
import { parseState } from '../../src/config/load.ts';
import { StateSaver } from '../../src/config/state-saver.ts';
import { removeStaleTempFiles, writeFileAtomic } from '../../src/config/atomic-write.ts';
import { until } from '../helpers/wait.ts';
import { memorySaver } from '../helpers/memory-saver.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Poll until `pred` holds; the bound only catches a write that never comes. */
const eventually = (pred: () => boolean, what: string): Promise<void> => until(pred, what, { intervalMs: 10, timeoutMs: 5000 });

function readState(file: string): ReturnType<typeof parseState> {
  return parseState(readFileSync(file, 'utf8'), file);
}

test('writeFileAtomic replaces the file by rename and leaves no temporary file', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'state.json');
  await writeFileAtomic(file, 'one');
  const first = statSync(file).ino;
  await writeFileAtomic(file, 'two');
  assert.equal(readFileSync(file, 'utf8'), 'two');
  // A new inode: the old file was replaced, never rewritten in place, so a
  // reader (or a crash) sees either the old content or the new.
  assert.notEqual(statSync(file).ino, first);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('a write whose rename fails leaves the target as it was and no temporary file', async (t) => {
  const dir = tempDir(t);
  // A directory in the way: the temp file is written and synced, then rename() fails (EISDIR).
  const target = path.join(dir, 'state.json');
  mkdirSync(target);
  writeFileSync(path.join(target, 'keep'), 'x');
  await assert.rejects(writeFileAtomic(target, 'new'), /EISDIR|ENOTDIR|ENOTEMPTY/);
  assert.deepEqual(readdirSync(dir), ['state.json']);
  assert.deepEqual(readdirSync(target), ['keep']);
});

test('a write into a missing directory fails and creates nothing', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(writeFileAtomic(path.join(dir, 'no', 'state.json'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(dir), []);
});

test('temporary files of a writer that died are removed, others are not', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'state.json');
  // pid 2^22+1 is above Linux's pid_max limit, so no process has it.
  const dead = `.state.json.${2 ** 22 + 1}.0.tmp`;
  const mine = `.state.json.${process.pid}.0.tmp`;
  for (const name of [dead, mine, 'state.json', '.other.json.99999999.0.tmp', 'notes.tmp']) writeFileSync(path.join(dir, name), '');
  assert.deepEqual(await removeStaleTempFiles(file), [dead]);
  assert.deepEqual(readdirSync(dir).sort(), [mine, '.other.json.99999999.0.tmp', 'notes.tmp', 'state.json'].sort());
});

test('the saver writes at start, follows device and sysctl changes, folds bursts, stops cleanly', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'state.json');
  const stack = new NetStack({ clock: new VirtualClock() });
  const saver = new StateSaver(stack, file, { debounceMs: 50 });
  await saver.start();
  assert.equal(saver.writes, 1);
  assert.deepEqual(readState(file).devices.map((d) => d.name), ['lo']);

  // A burst of changes in one tick is one write.
  const [a] = await createDevice(stack, { kind: 'veth', name: 'a0', peer: 'b0' });
  for (let mtu = 1000; mtu < 1100; mtu++) setLink(stack, a!.name, { mtu });
  setLink(stack, 'b0', { up: true, promisc: true });
  stack.sysctl.set({ 'net.core.rmem_max': 1 << 20 });
  await saver.flush();
  assert.equal(saver.writes, 2);
  let state = readState(file);
  assert.deepEqual(state.devices.map((d) => d.name), ['lo', 'a0']);
  const veth = state.devices[1]!;
  assert.ok(veth.kind === 'veth');
  assert.equal(veth.mtu, 1099);
  assert.equal(veth.peer, 'b0');
  assert.equal(veth.peer_settings?.promisc, true);
  assert.equal(veth.peer_settings?.up, true);
  assert.equal(state.sysctl['net.core.rmem_max'], 1 << 20);

  // The debounce timer alone (no flush) writes too.
  setLink(stack, 'a0', { name: 'a1' });
  await eventually(() => saver.writes === 3, 'the debounced write');
  assert.deepEqual(readState(file).devices.map((d) => d.name), ['lo', 'a1']);

  // A change right before stop() is saved by it; closing the stack afterwards is not.
  setLink(stack, 'a1', { txqlen: 77 });
  await saver.stop();
  assert.equal(saver.writes, 4);
  stack.close();
  // A saver still listening would have marked the emptied stack dirty: a
  // flush now would write it. Nothing is pending and the flush writes nothing.
  assert.equal(saver.pending, false, 'no write is scheduled or owed after stop()');
  await saver.flush();
  assert.equal(saver.writes, 4);
  state = readState(file);
  assert.equal(state.devices[1]?.txqlen, 77);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('start() fails when the state file cannot be written', async (t) => {
  const dir = tempDir(t);
  const stack = new NetStack({ clock: new VirtualClock() });
  const saver = new StateSaver(stack, path.join(dir, 'missing', 'state.json'));
  await assert.rejects(saver.start(), /ENOENT/);
  await saver.stop().catch(() => undefined);
  stack.close();
});

test('a link speed or TX ring changed alone is a change to save: commit waits for a write that holds it', async () => {
  const stack = new NetStack({ clock: new VirtualClock() });
  await createDevice(stack, { kind: 'dummy', name: 'd0' });
  const { saver, written } = memorySaver(stack);
  try {
    await saver.start();
    setLink(stack, 'd0', { speed_mbps: 100 });
    assert.equal(saver.dirty, true, 'ethtool -s speed marks the state');
    await saver.commit();
    assert.equal(parseState(written(), 'state.json').devices.find((d) => d.name === 'd0')?.speed_mbps, 100);
    setLink(stack, 'd0', { tx_ring: 64 });
    await saver.commit();
    assert.equal(parseState(written(), 'state.json').devices.find((d) => d.name === 'd0')?.tx_ring, 64);
  } finally {
    await saver.stop();
    stack.close();
  }
});
