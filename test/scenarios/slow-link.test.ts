// Scenario 1: a sender pushes 10 MB through a 1 Mbit/s link. The send buffer
// throttles it: it waits, its memory stays bounded, every frame arrives in
// order, the (virtual) time taken is what the wire allows, and all memory
// comes back. The link is the seed's "slow interface" as Linux has it: a
// driver (veth with ethtool speed 1 Mbit/s) that frees a buffer only once it
// has left the wire. (netem's rate would not do: like Linux's, it credits
// the sender at enqueue.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLink, type NetStack } from '../../src/stack/index.ts';
import { skbTruesize } from '../../src/skb/skbuff.ts';
import type { VirtualClock } from '../../src/clock.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { vethWithSockets, virtualStack, type VethSetup } from '../helpers/stack.ts';

const RATE = 1_000_000;
const FRAME = 1500;
/** What a 1500-byte frame costs the sender: packet sockets add 16 bytes of headroom. */
const FRAME_TRUESIZE = skbTruesize(FRAME + 16);

async function slowLink(): Promise<VethSetup & { stack: NetStack; clock: VirtualClock }> {
  const { stack, clock } = virtualStack();
  const v = await vethWithSockets(stack);
  // Only the sending end is slow.
  setLink(stack, v.a.name, { speed_mbps: RATE / 1e6 });
  return { ...v, stack, clock };
}

test('10 MB through 1 Mbit/s: the sender waits, wmem stays under sndbuf + one skb, all arrives in order in ~84 s', async () => {
  const { stack, clock, a, b, tx, rx } = await slowLink();
  const ledger = new Ledger(stack);
  const total = 10 * 1024 * 1024;
  const n = Math.ceil(total / FRAME);
  const bound = tx.sk.sndbuf + FRAME_TRUESIZE;
  assert.equal(tx.sk.sndbuf, 212992, 'the default send buffer');

  let maxWmem = 0;
  let samples = 0;
  const sample = (): void => {
    samples++;
    const w = tx.sk.wmemAlloc;
    if (w > maxWmem) maxWmem = w;
    assert.ok(w <= bound, `wmemAlloc ${w} exceeds sndbuf + one skb (${bound})`);
    assert.ok(rx.sk.rmemAlloc < rx.sk.rcvbuf);
  };

  let next = 0;
  let bytes = 0;
  rx.sk.onDataReady = () => {
    sample();
    for (let skb = rx.recv(); skb !== null; skb = rx.recv()) {
      const seq = seqOf(skb.bytes);
      assert.equal(seq, next, 'in order, none missing');
      assert.equal(skb.len, FRAME);
      next++;
      bytes += skb.len;
      skb.free();
    }
  };

  let waits = 0;
  let done = false;
  let failed: unknown = null;
  const frame = buildFrame({ dst: b, src: a, size: FRAME });
  const t0 = clock.now();
  const sender = (async () => {
    for (let i = 0; i < n; i++) {
      frame.writeUInt32BE(i, 14);
      const r = tx.send(frame);
      sample();
      if (r instanceof Promise) {
        waits++;
        assert.equal(await r, 'sent');
      } else {
        assert.equal(r, 'sent');
      }
      sample();
    }
  })().then(
    () => { done = true; },
    (err: unknown) => { failed = err; done = true; },
  );
  await clock.runUntil(() => (done && next === n) || failed !== null);
  await sender;
  if (failed !== null) throw failed;

  assert.equal(next, n, 'every frame arrived');
  assert.equal(bytes, n * FRAME);
  assert.ok(waits > 0, 'the sender had to wait');
  assert.ok(waits < n, 'but not for every frame');
  assert.ok(samples > 2 * n);
  assert.ok(maxWmem > tx.sk.sndbuf - FRAME_TRUESIZE, `the buffer was used (max ${maxWmem})`);
  const elapsedS = (clock.now() - t0) / 1000;
  const wireS = (total * 8) / RATE;
  assert.ok(Math.abs(elapsedS - wireS) / wireS < 0.01, `took ${elapsedS} s of virtual time, the wire needs ${wireS} s`);
  assert.equal(tx.sk.wmemAlloc, 0);
  ledger.assertConserved({ sent: n, delivered: n });
  assert.deepEqual(ledger.drops(), {});
  closeAndAssertQuiet(stack, [tx, rx]);
});

/** Send nonblocking until the buffer is full; returns how many went. */
function fillNonblocking(s: VethSetup): number {
  let sent = 0;
  for (;;) {
    try {
      const r = s.tx.send(buildFrame({ dst: s.b, src: s.a, size: FRAME, seq: sent }), { nonblock: true });
      assert.equal(r, 'sent');
      sent++;
    } catch (err) {
      assert.equal((err as { errno?: string }).errno, 'EAGAIN');
      return sent;
    }
  }
}

/** Read everything that arrives, in order; returns the sequence numbers seen. */
function reader(s: VethSetup): number[] {
  const seen: number[] = [];
  s.rx.sk.onDataReady = () => {
    for (let f = s.rx.recvFrame(); f !== null; f = s.rx.recvFrame()) seen.push(seqOf(f.data));
  };
  return seen;
}

test('nonblocking: EAGAIN when the send buffer is full; the frames that went all arrive', async () => {
  const s = await slowLink();
  const ledger = new Ledger(s.stack);
  const seen = reader(s);
  const sent = fillNonblocking(s);
  assert.equal(sent, Math.ceil(s.tx.sk.sndbuf / FRAME_TRUESIZE));
  assert.ok(s.tx.sk.wmemAlloc >= s.tx.sk.sndbuf);
  throwsErrno(() => s.tx.send(buildFrame({ dst: s.b, size: FRAME }), { nonblock: true }), 'EAGAIN');
  assert.equal(s.tx.sent, sent, 'a refused send is not counted as sent');
  await s.clock.runUntil(() => false);
  assert.deepEqual(seen, [...Array(sent).keys()]);
  assert.equal(s.clock.now(), sent * 12, '12 ms per 1500-byte frame at 1 Mbit/s');
  ledger.assertConserved({ sent, delivered: sent });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('an AbortSignal interrupts a sender waiting for room with EINTR; nothing of it is sent', async () => {
  const s = await slowLink();
  const ledger = new Ledger(s.stack);
  const seen = reader(s);
  const sent = fillNonblocking(s);
  const ac = new AbortController();
  const waiting = s.tx.send(buildFrame({ dst: s.b, size: FRAME, seq: 9999 }), { signal: ac.signal });
  assert.ok(waiting instanceof Promise);
  // Still no room 11 ms later: the first frame needs 12 ms on the wire. (Once
  // there is room, a woken sender takes it even if interrupted, as the kernel's
  // sock_alloc_send_pskb checks room before signals.)
  await s.clock.advance(11);
  assert.equal(seen.length, 0);
  assert.equal(s.tx.sk.waitingSenders, 1);
  ac.abort();
  await rejectsErrno(waiting, 'EINTR');
  assert.equal(s.tx.sk.waitingSenders, 0);
  await s.clock.runUntil(() => false);
  assert.deepEqual(seen, [...Array(sent).keys()], 'the interrupted frame never went');
  ledger.assertConserved({ sent, delivered: sent });
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});

test('SO_SNDTIMEO: a sender that waits too long gets EAGAIN after timeoutMs of virtual time', async () => {
  const s = await slowLink();
  const seen = reader(s);
  const sent = fillNonblocking(s);
  const t0 = s.clock.now();
  // The first frame leaves the wire at 12 ms; give up before there is room.
  const waiting = s.tx.send(buildFrame({ dst: s.b, size: FRAME }), { timeoutMs: 10 });
  assert.ok(waiting instanceof Promise);
  waiting.catch(() => {});
  await s.clock.advance(10);
  await rejectsErrno(waiting, 'EAGAIN');
  assert.equal(s.clock.now() - t0, 10);
  assert.equal(s.tx.sk.waitingSenders, 0);
  // With a longer timeout the sender gets through once half the buffer is free.
  const patient = s.tx.send(buildFrame({ dst: s.b, size: FRAME, seq: sent }), { timeoutMs: 10_000 });
  assert.ok(patient instanceof Promise);
  await s.clock.runUntil(() => seen.length === sent + 1);
  assert.equal(await patient, 'sent');
  assert.ok(s.clock.now() - t0 < 10_000);
  closeAndAssertQuiet(s.stack, [s.tx, s.rx]);
});
