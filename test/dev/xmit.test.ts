import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { allocSkbFrom, SkbPool, skbTruesize, type SkBuff } from '../../src/skb/index.ts';
import { PfifoFast, PRIO2BAND } from '../../src/dev/qdisc/pfifo-fast.ts';
import { NoQueue } from '../../src/dev/qdisc/noqueue.ts';
import { devQueueXmit } from '../../src/dev/xmit.ts';
import { NET_XMIT_DROP } from '../../src/dev/ops.ts';
import { createDevice, deleteDevice, describeDevice, NetStack, setLink } from '../../src/stack/index.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { TestDriver, virtualStack } from '../helpers/stack.ts';

function skbWith(pool: SkbPool, priority: number, tag: number): SkBuff {
  const skb = allocSkbFrom(pool, 64);
  assert.ok(skb);
  skb.put(60);
  skb.priority = priority;
  skb.cb = tag;
  return skb;
}

test('pfifo_fast: three bands by priority (TC_PRIO map), FIFO within a band', () => {
  assert.deepEqual([...PRIO2BAND], [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  const pool = new SkbPool();
  const q = new PfifoFast(() => 100);
  const prios = [0, 1, 6, 2, 4, 7, 3, 5, 8, 15, 6];
  prios.forEach((p, i) => assert.equal(q.enqueue(skbWith(pool, p, i)), true));
  assert.equal(q.qlen, prios.length);
  assert.equal(q.backlog, prios.length * 60);
  const order: number[] = [];
  for (let s = q.dequeue(); s !== null; s = q.dequeue()) {
    order.push(prios[s.cb]!);
    s.free();
  }
  // band 0: 6,7,6 (in arrival order); band 1: 0,4,8,15; band 2: 1,2,3,5.
  assert.deepEqual(order, [6, 7, 6, 0, 4, 8, 15, 1, 2, 3, 5]);
  assert.equal(q.stats.packets, prios.length);
  assert.equal(q.stats.bytes, prios.length * 60);
  // Priorities beyond 15 use the low four bits, as TC_PRIO_MAX masks.
  const hi = skbWith(pool, 16 + 6, 99);
  q.enqueue(hi);
  assert.equal(q.bands[0].length, 1);
  q.reset((s) => s.free());
  assert.equal(pool.stats.inUse, 0);
});

test('pfifo_fast: each band holds tx_queue_len (read live); a full band drops with no overlimit', () => {
  const pool = new SkbPool();
  let limit = 3;
  const q = new PfifoFast(() => limit);
  // Band 1 (priority 0) fills up; band 0 (priority 6) still has its own room.
  for (let i = 0; i < 3; i++) assert.equal(q.enqueue(skbWith(pool, 0, i)), true);
  const y = skbWith(pool, 0, 8);
  assert.equal(q.enqueue(y), false, 'band 1 is full');
  assert.equal(q.stats.drops, 1);
  assert.equal(q.stats.overlimits, 0, 'qdisc_drop counts no overlimit');
  const x = skbWith(pool, 6, 9);
  assert.equal(q.enqueue(x), true, 'band 0 has a ring of its own (pfifo_fast_init)');
  for (let i = 0; i < 3; i++) assert.equal(q.enqueue(skbWith(pool, 1, 10 + i)), true, 'and so has band 2');
  assert.equal(q.qlen, 7, 'more than tx_queue_len in all');
  limit = 4;
  assert.equal(q.enqueue(y), true);
  // requeue puts a frame back at the head of its band and undoes its count.
  const first = q.dequeue()!;
  assert.equal(first, x);
  q.requeue(first);
  assert.equal(q.stats.requeues, 1);
  assert.equal(q.stats.packets, 0);
  assert.equal(q.dequeue(), x);
  x.free();
  assert.equal(q.reset((s) => s.free()), 7);
  assert.equal(q.qlen, 0);
  assert.equal(pool.stats.inUse, 0);
});

test('noqueue takes nothing', () => {
  const q = new NoQueue();
  const pool = new SkbPool();
  const s = skbWith(pool, 0, 0);
  assert.equal(q.enqueue(s), false);
  assert.equal(q.dequeue(), null);
  assert.equal(q.qlen, 0);
  s.free();
});

test('txqueuelen 0 means noqueue; back to non-zero means pfifo_fast, up or down', async () => {
  const stack = new NetStack();
  const a = new TestDriver(stack).dev;
  assert.equal(describeDevice(a).qdisc, 'pfifo_fast');
  assert.equal(a.qdisc?.kind, 'pfifo_fast');
  setLink(stack, a.name, { txqlen: 0 });
  assert.equal(a.qdisc?.kind, 'noqueue');
  assert.equal(describeDevice(a).qdisc, 'noqueue');
  assert.equal(describeDevice(a).txqlen, 0);
  setLink(stack, a.name, { txqlen: 500 });
  assert.equal(a.qdisc?.kind, 'pfifo_fast');
  setLink(stack, a.name, { up: false, txqlen: 0 });
  setLink(stack, a.name, { up: true });
  assert.equal(a.qdisc?.kind, 'noqueue');
  // dummy, veth (IFF_NO_QUEUE, as every virtual device in Linux) and lo never queue by default.
  const [d] = await createDevice(stack, { kind: 'dummy', up: true });
  assert.equal(describeDevice(d!).qdisc, 'noqueue');
  const [v] = await createDevice(stack, { kind: 'veth', up: true });
  assert.equal(describeDevice(v!).qdisc, 'noqueue');
  assert.equal(describeDevice(v!).txqlen, 1000);
  assert.equal(describeDevice(stack.lo).qdisc, 'noqueue');
  stack.close();
});

test('a busy driver stops the queue; frames wait in the qdisc; completion wakes it and they go in priority order', async () => {
  const stack = new NetStack();
  const drv = new TestDriver(stack, { ring: 1 });
  const s = stack.openPacketSocket({ dev: drv.dev });
  const dst = '02:00:00:00:00:01';
  assert.equal(s.send(buildFrame({ dst, seq: 0 })), 'sent');
  assert.equal(drv.inRing.length, 1);
  assert.equal(drv.dev.queueStopped, true, 'the driver stopped its queue when its ring filled');
  // Stopped: these wait in pfifo_fast.
  const prios = [0, 6, 2, 7];
  prios.forEach((p, i) => assert.equal(s.send(buildFrame({ dst, seq: i + 1 }), { priority: p }), 'sent'));
  assert.equal(drv.dev.qdisc!.qlen, 4);
  assert.equal(describeDevice(drv.dev).queue.stopped, true);
  assert.equal(describeDevice(drv.dev).queue.qlen, 4);
  const wmemWaiting = s.sk.wmemAlloc;
  assert.ok(wmemWaiting > 0, 'queued frames stay charged to the sender');
  for (let i = 0; i < 5; i++) {
    drv.complete();
    await settle();
  }
  assert.equal(drv.dev.qdisc!.qlen, 0);
  drv.complete();
  // seq 0 first (it was in the ring), then band 0 (prio 6, 7), band 1 (prio 0), band 2 (prio 2).
  assert.deepEqual(drv.transmitted.map((f) => seqOf(f)), [0, 2, 4, 1, 3]);
  assert.equal(s.sk.wmemAlloc, 0, 'freed after transmission: the sender is credited');
  assert.equal(drv.dev.queueStopped, false);
  closeAndAssertQuiet(stack, [s]);
});

test('over tx_queue_len the frame is dropped as QDISC_DROP and send says so', async () => {
  const stack = new NetStack();
  const drv = new TestDriver(stack, { neverReady: true });
  setLink(stack, drv.dev.name, { txqlen: 5 });
  const s = stack.openPacketSocket({ dev: drv.dev });
  const ledger = new Ledger(stack);
  const results = Array.from({ length: 8 }, (_, i) => s.send(buildFrame({ dst: '02:00:00:00:00:01', seq: i })));
  assert.deepEqual(results, ['sent', 'sent', 'sent', 'sent', 'sent', 'dropped', 'dropped', 'dropped']);
  assert.deepEqual(ledger.drops(), { QDISC_DROP: 3 });
  assert.equal(describeDevice(drv.dev).queue.drops, 3);
  assert.equal(describeDevice(drv.dev).queue.qlen, 5);
  assert.equal(s.sk.wmemAlloc, 5 * skbTruesize(60 + 16), 'the queued five stay charged; the dropped three were credited');
  deleteDevice(stack, drv.dev.name);
  assert.deepEqual(ledger.drops(), { QDISC_DROP: 3, QUEUE_PURGE: 5 });
  ledger.assertConserved({ sent: 8, delivered: 0 });
  closeAndAssertQuiet(stack, [s]);
});

test('the watchdog tells the driver (tx_timeout) of a queue stopped too long and counts txTimeouts', async () => {
  const { stack, clock } = virtualStack();
  const drv = new TestDriver(stack, { neverReady: true, watchdogTimeoMs: 5000 });
  const s = stack.openPacketSocket({ dev: drv.dev });
  const ledger = new Ledger(stack);
  for (let i = 0; i < 3; i++) assert.equal(s.send(buildFrame({ dst: '02:00:00:00:00:01', seq: i })), 'sent');
  assert.equal(drv.dev.queueStopped, true, 'a driver that said busy has its queue stopped');
  assert.equal(drv.dev.qdisc!.qlen, 3);
  assert.ok(describeDevice(drv.dev).queue.requeues >= 1);
  await clock.advance(4999);
  assert.equal(drv.dev.stats.txTimeouts, 0);
  await clock.advance(1);
  assert.equal(drv.dev.stats.txTimeouts, 1);
  assert.equal(drv.timeouts, 1, 'the driver\'s tx_timeout ran');
  assert.equal(describeDevice(drv.dev).stats64.tx.timeouts, 1);
  // The driver's reset woke the queue, it ran, the driver is still busy: stopped again, the watchdog re-armed.
  assert.equal(drv.dev.queueStopped, true);
  assert.equal(drv.dev.qdisc!.qlen, 3, 'nothing was lost');
  await clock.advance(5000);
  assert.equal(drv.dev.stats.txTimeouts, 2);
  deleteDevice(stack, drv.dev.name);
  assert.equal(clock.pending, 0, 'no watchdog left behind');
  ledger.assertConserved({ sent: 3, delivered: 0 });
  assert.deepEqual(ledger.drops(), { QUEUE_PURGE: 3 });
  closeAndAssertQuiet(stack, [s]);
});

test('no watchdog for a driver without tx_timeout, and the core never wakes a stopped queue by force', async () => {
  const { stack, clock } = virtualStack();
  const drv = new TestDriver(stack, { ring: 1, noTxTimeout: true, watchdogTimeoMs: 1000 });
  const s = stack.openPacketSocket({ dev: drv.dev });
  const ledger = new Ledger(stack);
  for (let i = 0; i < 3; i++) assert.equal(s.send(buildFrame({ dst: '02:00:00:00:00:01', seq: i })), 'sent');
  assert.equal(drv.dev.queueStopped, true);
  assert.equal(clock.pending, 0, 'no watchdog timer armed');
  await clock.advance(60_000);
  assert.equal(drv.dev.queueStopped, true, 'still stopped: only the driver wakes it');
  assert.equal(drv.dev.stats.txTimeouts, 0);
  assert.equal(drv.dev.qdisc!.qlen, 2);
  drv.complete();
  await settle();
  assert.equal(drv.inRing.length, 1, 'woken by the driver, the queue ran');
  drv.complete();
  await settle();
  drv.complete();
  assert.equal(drv.transmitted.length, 3);
  ledger.assertConserved({ sent: 3, delivered: 3 });
  closeAndAssertQuiet(stack, [s]);
});

test('a device without a queue that is busy drops the frame as DEV_READY', async () => {
  const stack = new NetStack();
  const drv = new TestDriver(stack, { neverReady: true });
  setLink(stack, drv.dev.name, { txqlen: 0 });
  const s = stack.openPacketSocket({ dev: drv.dev });
  const ledger = new Ledger(stack);
  assert.equal(s.send(buildFrame({ dst: '02:00:00:00:00:01' })), 'dropped');
  assert.deepEqual(ledger.drops(), { DEV_READY: 1 });
  assert.equal(drv.dev.stats.txDropped, 1);
  closeAndAssertQuiet(stack, [s]);
});

test('devQueueXmit on a down device drops DEV_READY; a frame over mtu drops PKT_TOO_BIG', async () => {
  const stack = new NetStack();
  const [d] = await createDevice(stack, { kind: 'dummy' });
  const ledger = new Ledger(stack);
  const mk = (len: number): SkBuff => {
    const skb = allocSkbFrom(stack.pool, len);
    assert.ok(skb);
    skb.put(len);
    skb.dev = d!;
    return skb;
  };
  assert.equal(devQueueXmit(mk(60)), NET_XMIT_DROP);
  setLink(stack, d!.name, { up: true });
  assert.equal(devQueueXmit(mk(1515)), NET_XMIT_DROP);
  assert.deepEqual(ledger.drops(), { DEV_READY: 1, PKT_TOO_BIG: 1 });
  assert.equal(d!.stats.txDropped, 2);
  assert.equal(devQueueXmit(mk(1514)), 0);
  assert.equal(d!.stats.txPackets, 1);
  closeAndAssertQuiet(stack, []);
});
