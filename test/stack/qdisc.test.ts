// tc qdisc show / replace on the core: the root qdisc in tc's words, pfifo
// and bfifo limits, handles, and a qdisc the user attached kept across down
// and up, as in Linux.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDevice, NetStack, qdiscReplace, qdiscView, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { Fifo } from '../../src/dev/qdisc/fifo.ts';
import { allocSkbFrom, SkbPool, type SkBuff } from '../../src/skb/index.ts';
import { buildFrame } from '../helpers/frames.ts';
import { throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { sendNow, virtualStack } from '../helpers/stack.ts';

function skbOf(pool: SkbPool, len: number): SkBuff {
  const skb = allocSkbFrom(pool, len)!;
  skb.put(len);
  return skb;
}

test('pfifo limits frames, bfifo bytes of backlog; a refused frame is a drop, not an overlimit', () => {
  const pool = new SkbPool();
  const p = new Fifo('pfifo', 2);
  assert.equal(p.enqueue(skbOf(pool, 100)), true);
  assert.equal(p.enqueue(skbOf(pool, 100)), true);
  const x = skbOf(pool, 10);
  assert.equal(p.enqueue(x), false);
  assert.deepEqual([p.qlen, p.backlog, p.stats.drops, p.stats.overlimits], [2, 200, 1, 0]);
  const b = new Fifo('bfifo', 250);
  assert.equal(b.enqueue(skbOf(pool, 100)), true);
  assert.equal(b.enqueue(skbOf(pool, 150)), true, 'exactly the limit fits');
  assert.equal(b.enqueue(x), false);
  assert.deepEqual([b.qlen, b.backlog, b.stats.drops], [2, 250, 1]);
  const first = b.dequeue()!;
  assert.deepEqual([b.stats.packets, b.stats.bytes, b.backlog], [1, 100, 150]);
  b.requeue(first);
  assert.deepEqual([b.stats.packets, b.stats.requeues, b.qlen], [0, 1, 2]);
  for (const q of [p, b]) q.reset((s) => s.free());
  x.free();
  assert.equal(pool.stats.inUse, 0);
});

test('qdisc show: the default root qdisc in tc -s -j words; replace attaches one with a handle from 8001:', async () => {
  const stack = new NetStack();
  const [a] = (await createDevice(stack, { kind: 'veth', up: true })) as [NetDevice];
  assert.deepEqual(qdiscView(a), {
    kind: 'noqueue', handle: '0:', dev: a.name, parent: 'root', root: true, refcnt: 2, options: {},
    bytes: 0, packets: 0, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0,
  });
  const v = qdiscReplace(stack, a.name, { kind: 'pfifo_fast' });
  assert.equal(v.handle, '8001:');
  assert.equal(v.refcnt, 3);
  assert.deepEqual(v.options, { bands: 3, priomap: [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], multiqueue: false });
  assert.equal(qdiscReplace(stack, a.name, { kind: 'pfifo' }).options.limit, 1000, 'pfifo takes txqlen by default');
  assert.equal(qdiscReplace(stack, a.name, { kind: 'bfifo' }).options.limit, 1000 * 1514, 'bfifo txqlen * (mtu + 14)');
  assert.equal(qdiscReplace(stack, a.name, { kind: 'bfifo', limit: 3000 }).handle, '8004:');
  // Refused specs change nothing.
  throwsErrno(() => qdiscReplace(stack, a.name, { kind: 'pfifo_fast', limit: 5 }), 'EINVAL');
  throwsErrno(() => qdiscReplace(stack, a.name, { kind: 'noqueue', limit: 5 }), 'EINVAL');
  throwsErrno(() => qdiscReplace(stack, a.name, { kind: 'sfq' as never }), 'EINVAL');
  throwsErrno(() => qdiscReplace(stack, a.name, { kind: 'pfifo', limit: -1 }), 'EINVAL');
  throwsErrno(() => qdiscReplace(stack, 'nope0', { kind: 'pfifo' }), 'ENODEV');
  assert.deepEqual([qdiscView(a).kind, qdiscView(a).handle, qdiscView(a).options], ['bfifo', '8004:', { limit: 3000 }]);
  // Kept across down and up and a txqlen change, as a qdisc the user attached is in Linux.
  setLink(stack, a.name, { up: false });
  setLink(stack, a.name, { up: true, txqlen: 0 });
  assert.equal(qdiscView(a).handle, '8004:');
  stack.close();
});

test('a qdisc in front of a slow wire: frames wait in it while the ring is full; replacing it drops them (QUEUE_PURGE)', async () => {
  const { stack, clock } = virtualStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', up: true })) as [NetDevice, NetDevice];
  setLink(stack, a.name, { speed_mbps: 1, tx_ring: 2 });
  qdiscReplace(stack, a.name, { kind: 'pfifo', limit: 3 });
  const tx = stack.openPacketSocket({ dev: a });
  const ledger = new Ledger(stack);
  const r = Array.from({ length: 7 }, (_, i) => sendNow(tx, buildFrame({ dst: b, src: a, size: 1250, seq: i })));
  assert.deepEqual(r, ['sent', 'sent', 'sent', 'sent', 'sent', 'dropped', 'dropped']);
  const v = qdiscView(a);
  assert.deepEqual([v.qlen, v.backlog, v.packets, v.drops], [3, 3 * 1250, 2, 2]);
  // Two leave the wire; two more go from the qdisc to the ring.
  await clock.advance(20);
  assert.deepEqual([qdiscView(a).qlen, qdiscView(a).packets], [1, 4]);
  qdiscReplace(stack, a.name, { kind: 'pfifo_fast' });
  assert.deepEqual(ledger.drops(), { QDISC_DROP: 2, UNHANDLED_PROTO: 2, QUEUE_PURGE: 1 });
  await clock.runUntil(() => false);
  ledger.assertConserved({ sent: 7, delivered: 0 });
  closeAndAssertQuiet(stack, [tx]);
});
