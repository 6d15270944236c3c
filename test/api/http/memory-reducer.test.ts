// The memory reducer: one collection once many devices have gone and the
// deletions have stopped, none for a few, and, wired into the service, the
// objects of 1,000 deleted devices collected while the process sits idle
// (V8 alone leaves an idle heap as it is).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReducer, fullCollection } from '../../../src/api/http/memory-reducer.ts';
import { createDevice, type NetStack } from '../../../src/stack/index.ts';
import type { NetDevice } from '../../../src/dev/netdevice.ts';
import { until } from '../../helpers/wait.ts';
import { startServer } from './server.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('collects once after the threshold, when deletions stop; not below it', async () => {
  let calls = 0;
  const reducer = new MemoryReducer({ threshold: 10, quietMs: 5, collect: () => calls++ });
  reducer.freed(9);
  await sleep(30);
  assert.equal(calls, 0, 'below the threshold: nothing to give back worth a pause');
  // Deletions that keep coming push the collection back, then one runs.
  for (let i = 0; i < 20; i++) reducer.freed(1);
  await until(() => calls > 0, 'a collection');
  assert.equal(reducer.runs, 1);
  assert.equal(reducer.pending, 0);
  reducer.freed(5);
  await sleep(30);
  assert.equal(reducer.runs, 1, 'the count starts again after a collection');
  reducer.freed(5);
  reducer.close();
  await sleep(30);
  assert.equal(reducer.runs, 1, 'closed: the pending collection is dropped');
});

test('no collection when the live heap is above the bound (its pause would grow with it)', async () => {
  let calls = 0;
  const reducer = new MemoryReducer({ threshold: 1, quietMs: 5, collect: () => calls++, maxLiveHeap: 1024 });
  reducer.freed(2);
  await sleep(40);
  assert.equal(calls, 0);
  assert.equal(reducer.runs, 0);
  reducer.close();
});

test('this Node gives a full collection without --expose-gc on its command line', () => {
  const collect = fullCollection();
  assert.equal(typeof collect, 'function');
  collect!();
});

/**
 * `pairs` veth pairs, known only weakly. Made in a function of its own: a
 * suspended async function keeps its registers, so a loop variable of the
 * test itself would keep the last device alive.
 */
async function weakDevices(stack: NetStack, pairs: number): Promise<WeakRef<NetDevice>[]> {
  const refs: WeakRef<NetDevice>[] = [];
  for (let i = 0; i < pairs; i++) {
    for (const dev of await createDevice(stack, { kind: 'veth', name: `a${i}`, peer: `b${i}` })) refs.push(new WeakRef(dev));
  }
  return refs;
}

test('the objects of 1,000 deleted devices are collected while the service is idle', async (t) => {
  const server = await startServer({ stackOptions: { limits: { maxDevices: 1100 } } });
  t.after(() => server.close());
  const refs = await weakDevices(server.stack, 500);
  for (let i = 0; i < 500; i++) {
    const r = await server.request('DELETE', `/v1/devices/a${i}`);
    assert.equal(r.status, 200);
  }
  // Nothing here allocates in the meantime: only the reducer's collection clears them.
  await until(() => refs.every((r) => r.deref() === undefined), 'every deleted device collected', {
    intervalMs: 100,
    timeoutMs: 10_000,
    detail: () => `${refs.filter((r) => r.deref() !== undefined).length} still reachable: ${refs.filter((r) => r.deref() !== undefined).slice(0, 10).map((r) => r.deref()!.name).join(" ")} ...`,
  });
});
