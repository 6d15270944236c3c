import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VirtualClock } from '../../src/clock.ts';
import { getNetem } from '../../src/dev/wrappers/netem.ts';
import { describeDevice, netemOf, setLink, type NetStack } from '../../src/stack/index.ts';
import type { NetemParams } from '../../src/dev/wrappers/netem.ts';
import type { PacketSocket, PacketSocketOptions } from '../../src/packet/socket.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { sendNow, vethWithSockets, virtualStack, type VethSetup } from '../helpers/stack.ts';

interface Arrival {
  seq: number;
  /** Virtual ms since the start. */
  at: number;
  data: Buffer;
}

/** Collect frames as they arrive at `rx`, stamped with virtual time. */
function collect(rx: PacketSocket, clock: VirtualClock): Arrival[] {
  const out: Arrival[] = [];
  const epoch = clock.wallNow() - clock.now();
  rx.sk.onDataReady = () => {
    for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) out.push({ seq: seqOf(f.data), at: f.tstamp - epoch, data: f.data });
  };
  return out;
}

async function setup(
  netem: Partial<NetemParams>,
  rx: PacketSocketOptions = {},
): Promise<VethSetup & { stack: NetStack; clock: VirtualClock; arrivals: Arrival[]; ledger: Ledger }> {
  const { stack, clock } = virtualStack();
  const v = await vethWithSockets(stack, { netem, rx });
  return { ...v, stack, clock, arrivals: collect(v.rx, clock), ledger: new Ledger(stack) };
}

/** Send n frames at the current virtual time (synchronously: the send buffer is big enough). */
function burst(s: VethSetup, n: number, from = 0, size = 100): Buffer[] {
  const sent: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const f = buildFrame({ dst: s.b, src: s.a, seq: from + i, size });
    sendNow(s.tx, f);
    sent.push(f);
  }
  return sent;
}

test('delay holds each frame for delayMs of virtual time', async () => {
  const s = await setup({ delayMs: 250 });
  burst(s, 3);
  assert.equal(getNetem(s.a)!.length, 3);
  assert.equal(describeDevice(s.a).netem!.stats.held, 3, 'held frames show in netem\'s statistics');
  assert.equal(describeDevice(s.a).qdisc, 'netem');
  assert.equal(s.tx.sk.wmemAlloc, 0, 'a delaying netem credits the sender at enqueue (skb_orphan_partial)');
  await s.clock.advance(249);
  assert.equal(s.arrivals.length, 0);
  await s.clock.advance(1);
  assert.deepEqual(s.arrivals.map((a) => [a.seq, a.at]), [[0, 250], [1, 250], [2, 250]]);
  assert.equal(getNetem(s.a)!.stats.sent, 3);
  s.ledger.assertConserved({ sent: 3, delivered: 3 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('jitter spreads arrivals within delay ± jitter, the same way for the same seed', async () => {
  const run = async (seed: number): Promise<number[]> => {
    const s = await setup({ delayMs: 100, jitterMs: 20, seed });
    burst(s, 50);
    await s.clock.runUntil(() => s.arrivals.length === 50);
    const times = s.arrivals.sort((x, y) => x.seq - y.seq).map((a) => a.at);
    s.ledger.assertConserved({ sent: 50, delivered: 50 });
    closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
    return times;
  };
  const t1 = await run(3);
  for (const t of t1) assert.ok(t >= 80 && t <= 120, `arrival at ${t}`);
  assert.ok(new Set(t1).size > 10, 'spread, not one value');
  assert.ok(Math.min(...t1) < 90 && Math.max(...t1) > 110, 'both sides of the delay');
  assert.deepEqual(await run(3), t1, 'same seed, same run');
  assert.notDeepEqual(await run(4), t1);
});

test('loss drops the given share as NETEM_LOSS, reproducibly for a seed', async () => {
  const run = async (seed: number): Promise<number[]> => {
    const s = await setup({ loss: 30, seed });
    // More than the send buffer holds at once: let the receive side catch up between bursts.
    for (let i = 0; i < 1000; i += 100) {
      burst(s, 100, i);
      await s.clock.runUntil(() => false);
    }
    const got = s.arrivals.map((a) => a.seq);
    const lost = 1000 - got.length;
    assert.deepEqual(s.ledger.drops(), { NETEM_LOSS: lost });
    assert.equal(getNetem(s.a)!.stats.lost, lost);
    s.ledger.assertConserved({ sent: 1000, delivered: got.length });
    closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
    return got;
  };
  const a = await run(7);
  const lost = 1000 - a.length;
  assert.ok(lost > 240 && lost < 360, `lost ${lost} of 1000 at 30%`);
  assert.deepEqual(a, [...a].sort((x, y) => x - y), 'loss does not reorder');
  assert.deepEqual(await run(7), a, 'the same frames are lost for the same seed');
  assert.notDeepEqual(await run(8), a);
});

test('duplicate sends a second, private copy', async () => {
  const s = await setup({ duplicate: 100 });
  burst(s, 5);
  await s.clock.runUntil(() => false);
  assert.deepEqual(s.arrivals.map((a) => a.seq).sort(), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  assert.equal(getNetem(s.a)!.stats.duplicated, 5);
  assert.equal(s.ledger.copies(), 5);
  s.ledger.assertConserved({ sent: 5, delivered: 10, extra: 5 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('corrupt flips one bit in each corrupted frame, leaving what a tap saw intact', async () => {
  // Promiscuous, so that a flipped bit in the destination does not filter the frame out.
  const s = await setup({ corrupt: 100 }, { promisc: true });
  const tap = s.stack.openPacketSocket({ dev: s.a, direction: 'out' });
  const sent = burst(s, 20, 0, 200);
  await s.clock.runUntil(() => false);
  assert.equal(s.arrivals.length, 20);
  for (const [i, a] of s.arrivals.entries()) {
    const orig = sent[i]!;
    assert.equal(a.data.length, orig.length);
    let bits = 0;
    for (let i = 0; i < orig.length; i++) {
      let x = orig[i]! ^ a.data[i]!;
      while (x) {
        bits += x & 1;
        x >>= 1;
      }
    }
    assert.equal(bits, 1, 'exactly one bit differs');
  }
  assert.equal(getNetem(s.a)!.stats.corrupted, 20);
  const seen = [];
  for (let f = tap.recvFrame(); f !== null; f = tap.recvFrame()) seen.push(f.data);
  assert.deepEqual(seen, sent, 'the outgoing tap got the frames as sent: corruption copied before writing');
  closeAndAssertQuiet(s.stack, [s.tx, s.rx, tap]);
});

test('reorder lets some frames skip the delay and overtake the others', async () => {
  const s = await setup({ delayMs: 10, reorder: 25, seed: 11 });
  const n = 100;
  burst(s, n);
  await s.clock.runUntil(() => s.arrivals.length === n);
  const order = s.arrivals.map((a) => a.seq);
  const reordered = getNetem(s.a)!.stats.reordered;
  assert.ok(reordered > 10 && reordered < 45, `${reordered} reordered at 25%`);
  assert.notDeepEqual(order, [...order].sort((x, y) => x - y), 'arrival order is not send order');
  assert.equal(s.arrivals.filter((a) => a.at === 0).length, reordered, 'the reordered ones went at once');
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i), 'nothing lost');
  s.ledger.assertConserved({ sent: n, delivered: n });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('rate: each frame occupies the wire for len*8/rate; a frame sent later waits for the wire', async () => {
  const s = await setup({ rateBps: 1_000_000 });
  // 1250 bytes = 10000 bits = 10 ms at 1 Mbit/s.
  burst(s, 5, 0, 1250);
  await s.clock.runUntil(() => s.arrivals.length === 5);
  assert.deepEqual(s.arrivals.map((a) => a.at), [10, 20, 30, 40, 50]);
  // An idle wire starts at once; a busy one queues behind.
  await s.clock.advance(50);
  assert.equal(s.clock.now(), 100);
  burst(s, 2, 5, 125);
  await s.clock.runUntil(() => s.arrivals.length === 7);
  assert.deepEqual(s.arrivals.slice(5).map((a) => a.at), [101, 102]);
  s.ledger.assertConserved({ sent: 7, delivered: 7 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('limit: beyond it netem drops (qdisc_drop), never stops the queue; held frames are orphaned', async () => {
  const s = await setup({ delayMs: 100, limit: 5 });
  burst(s, 12);
  assert.equal(getNetem(s.a)!.length, 5);
  assert.equal(s.a.queueStopped, false);
  assert.equal(getNetem(s.a)!.stats.dropped, 7);
  assert.deepEqual(s.ledger.drops(), { QDISC_DROP: 7 });
  assert.equal(s.tx.sk.wmemAlloc, 0, 'the sender was credited at once');
  await s.clock.runUntil(() => s.arrivals.length === 5);
  assert.deepEqual(s.arrivals.map((a) => a.seq), [0, 1, 2, 3, 4]);
  assert.deepEqual(s.arrivals.map((a) => a.at), [100, 100, 100, 100, 100]);
  s.ledger.assertConserved({ sent: 12, delivered: 5 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('only a netem that delays or paces orphans: without them the frame stays charged to its sender', async () => {
  const s = await setup({ loss: 0.001 });
  burst(s, 1);
  assert.ok(s.tx.sk.wmemAlloc > 0, 'on the peer\'s backlog, still the sender\'s');
  await s.clock.runUntil(() => s.arrivals.length === 1);
  assert.equal(s.tx.sk.wmemAlloc, 0, 'credited once the receiver took it');
  s.ledger.assertConserved({ sent: 1, delivered: 1 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('bad parameters are refused and change nothing; removing netem drops what it held', async () => {
  const s = await setup({ delayMs: 1000 });
  const before = netemOf(s.a);
  for (const bad of [{ loss: 101 }, { loss: -1 }, { duplicate: Number.NaN }, { delayMs: -1 }, { jitterMs: 4e6 },
    { rateBps: -5 }, { rateBps: Infinity }, { rateBps: 1e-300 }, { rateBps: 7 }, { limit: 0 }, { limit: 1.5 }, { seed: 0.5 }]) {
    throwsErrno(() => setLink(s.stack, s.a.name, { mtu: 1400, netem: bad }), 'EINVAL');
  }
  assert.equal(s.a.mtu, 1500);
  assert.deepEqual(netemOf(s.a), before);
  burst(s, 4);
  setLink(s.stack, s.a.name, { netem: null });
  assert.equal(netemOf(s.a), null);
  assert.equal(describeDevice(s.a).qdisc, 'noqueue', 'veth is IFF_NO_QUEUE');
  assert.deepEqual(s.ledger.drops(), { QUEUE_PURGE: 4 });
  assert.equal(s.tx.sk.wmemAlloc, 0);
  assert.equal(s.clock.pending, 0, 'its timer is gone');
  // Without netem frames go straight through.
  burst(s, 1, 10);
  await s.clock.runUntil(() => s.arrivals.length === 1);
  assert.equal(s.arrivals[0]!.at, 0);
  s.ledger.assertConserved({ sent: 5, delivered: 1 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('replacing the settings takes effect for new frames; bringing the device down drops held frames', async () => {
  const s = await setup({ delayMs: 100 });
  setLink(s.stack, s.a.name, { netem: { delayMs: 5, rateBps: 8000 } });
  assert.deepEqual({ ...netemOf(s.a)!, seed: 0 }, { delayMs: 5, jitterMs: 0, loss: 0, duplicate: 0, corrupt: 0, reorder: 0, rateBps: 8000, limit: 1000, seed: 0 });
  burst(s, 2, 0, 100);
  await s.clock.advance(105);
  assert.deepEqual(s.arrivals.map((a) => a.at), [105], '100 bytes at 8 kbit/s = 100 ms, + 5 ms');
  setLink(s.stack, s.a.name, { up: false });
  assert.deepEqual(s.ledger.drops(), { QUEUE_PURGE: 1 });
  assert.equal(s.tx.sk.wmemAlloc, 0);
  s.ledger.assertConserved({ sent: 2, delivered: 1 });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('replacing a netem drops what the old one held, counted; the new one starts empty', async () => {
  const s = await setup({ delayMs: 60_000, limit: 1 });
  burst(s, 3);
  assert.deepEqual(s.ledger.drops(), { QDISC_DROP: 2 }, 'the first netem is full: the rest are qdisc drops');
  assert.equal(s.a.queueStopped, false);
  setLink(s.stack, s.a.name, { netem: { delayMs: 0 } });
  burst(s, 2, 10);
  await s.clock.runUntil(() => s.arrivals.length >= 2);
  assert.equal(s.a.stats.txTimeouts, 0);
  assert.deepEqual(s.ledger.drops(), { QDISC_DROP: 2, QUEUE_PURGE: 1 }, 'the frame the old netem held is lost, and counted');
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});
