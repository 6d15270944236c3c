// Waiting to read (skb_recv_datagram), more than one data-ready listener,
// error reports (sk_error_report) and the socket state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { Sysctl } from '../../src/sysctl.ts';
import { allocSkbFrom, SkbPool, type SkBuff } from '../../src/skb/index.ts';
import { queueRcvSkb, recvSkb, RCV_SHUTDOWN, Sock } from '../../src/sock/sock.ts';
import { NetError, wouldBlock, type ErrnoName } from '../../src/errno.ts';
import { throwsErrno, rejectsErrno } from '../helpers/errors.ts';

function ctx(): { pool: SkbPool; clock: VirtualClock; sysctl: Sysctl } {
  return { pool: new SkbPool(), clock: new VirtualClock(), sysctl: new Sysctl() };
}

function deliver(sk: Sock, pool: SkbPool): SkBuff {
  const skb = allocSkbFrom(pool, 100);
  assert.ok(skb);
  assert.equal(queueRcvSkb(sk, skb), true);
  return skb;
}

async function pending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then(() => 'done', () => 'failed'), new Promise((res) => setImmediate(() => res(marker)))]);
  return r === marker;
}

test('recv: a queued buffer comes back synchronously; an empty socket is EAGAIN when nonblocking', () => {
  const c = ctx();
  const sk = new Sock(c);
  assert.equal(sk.ssState, 'UNCONN');
  const sent = deliver(sk, c.pool);
  const got = recvSkb(sk, { nonblock: true });
  assert.equal(got, sent, 'not a Promise: the hot path allocates none');
  (got as SkBuff).free();
  assert.equal(sk.rmemAlloc, 0);
  throwsErrno(() => recvSkb(sk, { nonblock: true }), 'EAGAIN');
  throwsErrno(() => recvSkb(sk, { timeoutMs: 0 }), 'EAGAIN');
  assert.equal(c.pool.stats.inUse, 0);
});

test('recv waits for data and wakes when a frame is queued', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const r = recvSkb(sk);
  assert.ok(r instanceof Promise);
  assert.equal(await pending(r), true);
  assert.equal(sk.waitingReaders, 1);
  const sent = deliver(sk, c.pool);
  const got = await r;
  assert.equal(got, sent);
  got!.free();
  assert.equal(sk.waitingReaders, 0);
  assert.equal(c.pool.stats.inUse, 0);
});

test('recv: SO_RCVTIMEO gives EAGAIN on the socket clock; an AbortSignal gives EINTR', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const r = recvSkb(sk, { timeoutMs: 50 });
  assert.ok(r instanceof Promise);
  r.catch(() => {});
  await c.clock.advance(49);
  assert.equal(await pending(r), true);
  await c.clock.advance(1);
  await rejectsErrno(r, 'EAGAIN');
  assert.equal(c.clock.pending, 0);
  const ac = new AbortController();
  const a = recvSkb(sk, { signal: ac.signal });
  assert.ok(a instanceof Promise);
  assert.equal(await pending(a), true);
  ac.abort();
  await rejectsErrno(a, 'EINTR');
  assert.equal(sk.waitingReaders, 0);
});

test('recv: a pending error comes first and once; shutdown with nothing queued is end of file', async () => {
  const c = ctx();
  const sk = new Sock(c);
  const waiting = recvSkb(sk);
  assert.ok(waiting instanceof Promise);
  sk.setError('ENETDOWN');
  await rejectsErrno(waiting, 'ENETDOWN');
  const sent = deliver(sk, c.pool);
  sk.setError('ENETDOWN');
  throwsErrno(() => recvSkb(sk), 'ENETDOWN');
  assert.equal(recvSkb(sk), sent, 'reported once, then the data');
  sent.free();
  const eof = recvSkb(sk);
  assert.ok(eof instanceof Promise);
  sk.setShutdown(RCV_SHUTDOWN);
  assert.equal(await eof, null);
  assert.equal(recvSkb(sk, { nonblock: true }), null, 'still EOF, not EAGAIN');
});

test('more than one data-ready listener; error listeners hear the errno (sk_error_report)', () => {
  const c = ctx();
  const sk = new Sock(c);
  const calls: string[] = [];
  sk.onDataReady = () => calls.push('owner');
  const offA = sk.addDataReadyListener(() => calls.push('a'));
  sk.addDataReadyListener(() => calls.push('b'));
  deliver(sk, c.pool);
  assert.deepEqual(calls, ['owner', 'a', 'b']);
  offA();
  deliver(sk, c.pool);
  assert.deepEqual(calls.slice(3), ['owner', 'b']);
  const errors: ErrnoName[] = [];
  const off = sk.addErrorListener((e) => errors.push(e));
  sk.setError('EHOSTUNREACH');
  off();
  sk.setError('ENETDOWN');
  assert.deepEqual(errors, ['EHOSTUNREACH']);
  sk.receiveQueue.purge();
  assert.equal(c.pool.stats.inUse, 0);
});

test('EAGAIN of a nonblocking call is an ordinary NetError built without a stack trace; the limit is restored', () => {
  const limit = Error.stackTraceLimit;
  const e = wouldBlock('nothing to read');
  assert.ok(e instanceof NetError);
  assert.equal(e.errno, 'EAGAIN');
  assert.equal(e.message, 'nothing to read');
  assert.equal(e.stack!.split('\n').length, 1, 'no frames: only the message line');
  assert.equal(Error.stackTraceLimit, limit);
  assert.ok(new NetError('EINVAL').stack!.split('\n').length > 1, 'other errors keep their stack');
});
