import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { Sysctl } from '../../src/sysctl.ts';
import { allocSkbFrom, SkbPool, skbTruesize, type SkBuff } from '../../src/skb/index.ts';
import {
  allocSendSkb, queueRcvSkb, RCV_SHUTDOWN, SEND_SHUTDOWN, setOwnerR, setOwnerW, Sock, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF,
} from '../../src/sock/sock.ts';
import { throwsErrno, rejectsErrno } from '../helpers/errors.ts';

function ctx(limitBytes?: number): { pool: SkbPool; clock: VirtualClock; sysctl: Sysctl } {
  return {
    pool: new SkbPool(limitBytes !== undefined ? { limitBytes } : {}),
    clock: new VirtualClock(),
    sysctl: new Sysctl(),
  };
}

function skbOf(pool: SkbPool, size = 1000): SkBuff {
  const skb = allocSkbFrom(pool, size);
  assert.ok(skb);
  return skb;
}

/** Settle or not: is the promise still pending after the microtasks ran? */
async function pending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then(() => 'done', () => 'failed'), new Promise((res) => setImmediate(() => res(marker)))]);
  return r === marker;
}

test('buffer sizes start at the sysctl defaults', () => {
  const c = ctx();
  c.sysctl.set({ 'net.core.rmem_default': 100_000, 'net.core.wmem_default': 50_000 });
  const sk = new Sock(c);
  assert.equal(sk.rcvbuf, 100_000);
  assert.equal(sk.sndbuf, 50_000);
  assert.equal(sk.rmemAlloc, 0);
  assert.equal(sk.wmemAlloc, 0);
});

test('SO_RCVBUF: min(val, rmem_max) * 2, at least SOCK_MIN_RCVBUF; bad values EINVAL', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setRcvbuf(10_000);
  assert.equal(sk.rcvbuf, 20_000);
  sk.setRcvbuf(10_000_000);
  assert.equal(sk.rcvbuf, 212992 * 2, 'clamped to rmem_max, then doubled');
  sk.setRcvbuf(1);
  assert.equal(sk.rcvbuf, SOCK_MIN_RCVBUF);
  assert.equal(SOCK_MIN_RCVBUF, 2304, "Linux's SOCK_MIN_RCVBUF (TCP_SKB_MIN_TRUESIZE)");
  sk.setRcvbuf(0);
  assert.equal(sk.rcvbuf, SOCK_MIN_RCVBUF);
  c.sysctl.set({ 'net.core.rmem_max': 50_000 });
  sk.setRcvbuf(60_000);
  assert.equal(sk.rcvbuf, 100_000, 'the clamp follows the sysctl');
  throwsErrno(() => sk.setRcvbuf(-1), 'EINVAL');
  throwsErrno(() => sk.setRcvbuf(1.5), 'EINVAL');
  throwsErrno(() => sk.setRcvbuf(Number.NaN), 'EINVAL');
  assert.equal(sk.rcvbuf, 100_000, 'a refused value changes nothing');
});

test('SO_SNDBUF: min(val, wmem_max) * 2, at least SOCK_MIN_SNDBUF; bad values EINVAL', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setSndbuf(8_000);
  assert.equal(sk.sndbuf, 16_000);
  sk.setSndbuf(1e9);
  assert.equal(sk.sndbuf, 212992 * 2);
  sk.setSndbuf(100);
  assert.equal(sk.sndbuf, SOCK_MIN_SNDBUF);
  assert.equal(SOCK_MIN_SNDBUF, 4608, "Linux's SOCK_MIN_SNDBUF");
  c.sysctl.set({ 'net.core.wmem_max': 40_000 });
  sk.setSndbuf(1e6);
  assert.equal(sk.sndbuf, 80_000);
  throwsErrno(() => sk.setSndbuf(-5), 'EINVAL');
  assert.equal(sk.sndbuf, 80_000);
});

test('setOwnerR/setOwnerW charge the socket; the destructor credits it back', () => {
  const c = ctx();
  const sk = new Sock(c);
  const r = skbOf(c.pool);
  const w = skbOf(c.pool, 500);
  setOwnerR(r, sk);
  setOwnerW(w, sk);
  assert.equal(sk.rmemAlloc, r.truesize);
  assert.equal(sk.wmemAlloc, w.truesize);
  assert.equal(r.sk, sk);
  r.free();
  assert.equal(sk.rmemAlloc, 0);
  assert.equal(sk.wmemAlloc, w.truesize);
  w.orphan();
  assert.equal(sk.wmemAlloc, 0, 'orphan credits at once');
  assert.equal(w.sk, null);
  w.free();
  assert.equal(sk.wmemAlloc, 0, 'and not a second time at free');
});

test('a new owner takes over the charge: the old owner is credited first', () => {
  const c = ctx();
  const sender = new Sock(c);
  const receiver = new Sock(c);
  const skb = skbOf(c.pool);
  setOwnerW(skb, sender);
  setOwnerR(skb, receiver);
  assert.equal(sender.wmemAlloc, 0);
  assert.equal(receiver.rmemAlloc, skb.truesize);
  skb.free();
  assert.equal(receiver.rmemAlloc, 0);
  assert.equal(sender.wmemAlloc, 0);
});

test('queueRcvSkb charges and queues while rmem + truesize < rcvbuf, wakes the reader', () => {
  const c = ctx();
  const sk = new Sock(c);
  let woken = 0;
  sk.onDataReady = () => woken++;
  const skb = skbOf(c.pool);
  assert.equal(queueRcvSkb(sk, skb), true);
  assert.equal(sk.rmemAlloc, skb.truesize);
  assert.equal(sk.receiveQueue.length, 1);
  assert.equal(woken, 1);
  assert.equal(sk.drops, 0);
  sk.receiveQueue.dequeue()!.free();
  assert.equal(sk.rmemAlloc, 0);
});

test('queueRcvSkb refuses once rmem >= rcvbuf, before charging (__sock_queue_rcv_skb), and counts the drop', () => {
  const c = ctx();
  const sk = new Sock(c);
  const t = skbTruesize(1000);
  sk.rcvbuf = 2 * t;
  const a = skbOf(c.pool);
  const b = skbOf(c.pool);
  assert.equal(queueRcvSkb(sk, a), true);
  // rmem t < rcvbuf 2t: taken although rmem + t reaches rcvbuf (the seed's old rule refused it).
  assert.equal(queueRcvSkb(sk, b), true);
  assert.equal(sk.rmemAlloc, 2 * t);
  // rmem 2t >= rcvbuf: refused.
  const x = skbOf(c.pool);
  let woken = 0;
  sk.onDataReady = () => woken++;
  assert.equal(queueRcvSkb(sk, x), false);
  assert.equal(sk.drops, 1);
  assert.equal(woken, 0);
  assert.equal(sk.rmemAlloc, 2 * t, 'a refused buffer is not charged');
  assert.equal(x.sk, null);
  assert.equal(x.list, null, 'the caller still owns it');
  // One byte more of room and it fits, overshooting rcvbuf by almost a frame.
  sk.rcvbuf = 2 * t + 1;
  assert.equal(queueRcvSkb(sk, x), true);
  assert.equal(sk.rmemAlloc, 3 * t);
  sk.receiveQueue.purge();
  assert.equal(sk.rmemAlloc, 0);
});

test('an empty socket at the minimum rcvbuf takes one frame larger than rcvbuf, then refuses the next', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setRcvbuf(0);
  assert.equal(sk.rcvbuf, 2304);
  const big = skbOf(c.pool, 3000);
  assert.ok(big.truesize > sk.rcvbuf);
  assert.equal(queueRcvSkb(sk, big), true, 'the first frame always fits');
  const next = skbOf(c.pool, 60);
  assert.equal(queueRcvSkb(sk, next), false);
  next.free();
  sk.receiveQueue.purge();
  assert.equal(sk.rmemAlloc, 0);
});

test('queueRcvSkb refuses after receive shutdown', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setShutdown(RCV_SHUTDOWN);
  const skb = skbOf(c.pool);
  assert.equal(queueRcvSkb(sk, skb), false);
  assert.equal(sk.drops, 1);
  skb.free();
});

test('allocSendSkb: the fast path returns a charged SkBuff, not a Promise', () => {
  const c = ctx();
  const sk = new Sock(c);
  const r = allocSendSkb(sk, 1500);
  assert.ok(!(r instanceof Promise));
  assert.equal(r.sk, sk);
  assert.equal(r.tailroom(), 1500);
  assert.equal(sk.wmemAlloc, r.truesize);
  r.free();
  assert.equal(sk.wmemAlloc, 0);
});

/** Fill the send buffer: returns what was allocated (sync), stopping at the first refusal. */
function fill(sk: Sock, size = 1500): SkBuff[] {
  const out: SkBuff[] = [];
  while (sk.wmemAlloc < sk.sndbuf) {
    const r = allocSendSkb(sk, size, { nonblock: true });
    assert.ok(!(r instanceof Promise));
    out.push(r);
  }
  return out;
}

test('allocSendSkb may overshoot sndbuf by one buffer, then refuses nonblocking senders with EAGAIN', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setSndbuf(10_000);
  const held = fill(sk);
  const t = held[0]!.truesize;
  assert.equal(held.length, Math.ceil(sk.sndbuf / t));
  assert.ok(sk.wmemAlloc >= sk.sndbuf && sk.wmemAlloc < sk.sndbuf + t);
  throwsErrno(() => allocSendSkb(sk, 1500, { nonblock: true }), 'EAGAIN');
  assert.equal(sk.nospace, true);
  throwsErrno(() => allocSendSkb(sk, 1500, { timeoutMs: 0 }), 'EAGAIN');
  for (const s of held) s.free();
  assert.equal(sk.wmemAlloc, 0);
  assert.equal(sk.nospace, false);
});

test('a pending socket error is reported once, before anything else', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setError('ENETDOWN');
  sk.setShutdown(SEND_SHUTDOWN);
  throwsErrno(() => allocSendSkb(sk, 100), 'ENETDOWN');
  assert.equal(sk.err, null);
  throwsErrno(() => allocSendSkb(sk, 100), 'EPIPE');
});

test('SEND_SHUTDOWN gives EPIPE even when there is room', () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setShutdown(SEND_SHUTDOWN);
  throwsErrno(() => allocSendSkb(sk, 100), 'EPIPE');
  throwsErrno(() => allocSendSkb(sk, 100, { nonblock: true }), 'EPIPE');
  assert.equal(c.pool.stats.inUse, 0);
});

test('order when full: nonblock (EAGAIN) is checked before an aborted signal (EINTR)', () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const ac = new AbortController();
  ac.abort();
  throwsErrno(() => allocSendSkb(sk, 100, { nonblock: true, signal: ac.signal }), 'EAGAIN');
  throwsErrno(() => allocSendSkb(sk, 100, { signal: ac.signal }), 'EINTR');
  // An aborted signal does not matter while there is room.
  for (const s of held) s.free();
  const r = allocSendSkb(sk, 100, { signal: ac.signal });
  assert.ok(!(r instanceof Promise));
  r.free();
});

test('a full send buffer makes the sender wait, without polling, and wakes it when memory is freed', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const r = allocSendSkb(sk, 1500);
  assert.ok(r instanceof Promise);
  assert.equal(sk.waitingSenders, 1);
  assert.equal(c.clock.pending, 0, 'no timer: an indefinite wait does not poll');
  assert.equal(await pending(r), true);
  // Freeing a little is not enough: writers wake when half the buffer is free.
  held.pop()!.free();
  assert.equal(await pending(r), true);
  assert.equal(sk.waitingSenders, 1);
  let spaceCalls = 0;
  sk.onWriteSpace = () => spaceCalls++;
  while (sk.wmemAlloc >= sk.sndbuf >> 1) held.pop()!.free();
  assert.ok(spaceCalls >= 1);
  const skb = await r;
  assert.equal(skb.sk, sk);
  assert.equal(sk.waitingSenders, 0);
  skb.free();
  for (const s of held) s.free();
  assert.equal(sk.wmemAlloc, 0);
  assert.equal(c.pool.stats.inUse, 0);
});

test('a bigger SO_SNDBUF wakes waiting senders', async () => {
  const c = ctx();
  const sk = new Sock(c);
  sk.setSndbuf(10_000);
  const held = fill(sk);
  const r = allocSendSkb(sk, 1500);
  assert.ok(r instanceof Promise);
  sk.setSndbuf(100_000);
  const skb = await r;
  skb.free();
  for (const s of held) s.free();
});

test('SO_SNDTIMEO: a wait times out with EAGAIN on the socket clock', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const r = allocSendSkb(sk, 1500, { timeoutMs: 100 });
  assert.ok(r instanceof Promise);
  r.catch(() => {});
  assert.equal(c.clock.pending, 1);
  await c.clock.advance(99);
  assert.equal(await pending(r), true);
  await c.clock.advance(1);
  await rejectsErrno(r, 'EAGAIN');
  assert.equal(c.clock.now(), 100);
  assert.equal(sk.waitingSenders, 0);
  for (const s of held) s.free();
  assert.equal(c.pool.stats.inUse, 0);
});

test('a timed wait that gets room returns early and leaves no timer behind', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const r = allocSendSkb(sk, 1500, { timeoutMs: 100 });
  assert.ok(r instanceof Promise);
  await c.clock.advance(60);
  assert.equal(await pending(r), true);
  for (const s of held.splice(0)) s.free();
  const skb = await r;
  assert.equal(c.clock.now(), 60);
  assert.equal(c.clock.pending, 0, 'the timeout timer was cancelled');
  skb.free();
  assert.equal(sk.wmemAlloc, 0);
});

test('an AbortSignal interrupts a waiting sender with EINTR', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const ac = new AbortController();
  const r = allocSendSkb(sk, 1500, { signal: ac.signal });
  assert.ok(r instanceof Promise);
  assert.equal(await pending(r), true);
  ac.abort();
  await rejectsErrno(r, 'EINTR');
  assert.equal(sk.waitingSenders, 0);
  for (const s of held) s.free();
  assert.equal(sk.wmemAlloc, 0);
  assert.equal(c.pool.stats.inUse, 0);
});

test('an error or a shutdown while waiting ends the wait with that error, reported once', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const held = fill(sk);
  const a = allocSendSkb(sk, 1500);
  const b = allocSendSkb(sk, 1500);
  assert.ok(a instanceof Promise && b instanceof Promise);
  assert.equal(sk.waitingSenders, 2);
  sk.setError('ENETDOWN');
  // Both wake; the first takes the error, the second finds none and waits again.
  await rejectsErrno(a, 'ENETDOWN');
  assert.equal(await pending(b), true);
  assert.equal(sk.waitingSenders, 1);
  sk.setShutdown(SEND_SHUTDOWN);
  await rejectsErrno(b, 'EPIPE');
  assert.equal(sk.waitingSenders, 0);
  for (const s of held) s.free();
  assert.equal(sk.wmemAlloc, 0);
  assert.equal(c.pool.stats.inUse, 0);
});

test('no memory for the buffer: ENOBUFS', () => {
  const c = ctx(1000);
  const sk = new Sock(c);
  throwsErrno(() => allocSendSkb(sk, 1500), 'ENOBUFS');
  assert.equal(sk.wmemAlloc, 0);
  assert.equal(c.pool.stats.allocFailures, 1);
});
