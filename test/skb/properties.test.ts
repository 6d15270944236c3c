// Property tests: random sequences of buffer and queue operations, checked
// against a small model after every step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import { allocSkbFrom, SkbOverPanic, SkbPool, SkbQueue, SkbUnderPanic, type SkBuff } from '../../src/skb/index.ts';

type GeoOp = { op: 'reserve' | 'put' | 'push' | 'pull' | 'trim'; n: number };

const geoOp: fc.Arbitrary<GeoOp> = fc.record({
  op: fc.constantFrom('reserve', 'put', 'push', 'pull', 'trim'),
  n: fc.integer({ min: -2, max: 300 }),
});

test('geometry: head <= data <= tail <= end after any sequence; failures change nothing', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 512 }), fc.array(geoOp, { maxLength: 60 }), (size, ops) => {
      const pool = new SkbPool();
      const skb = allocSkbFrom(pool, size);
      assert.ok(skb);
      const m = { head: 0, data: 0, tail: 0, end: size };
      for (const { op, n } of ops) {
        const len = m.tail - m.data;
        switch (op) {
          case 'reserve':
            if (m.tail !== m.data) assert.throws(() => skb.reserve(n), NetError);
            else if (n < 0 || m.tail + n > m.end) assert.throws(() => skb.reserve(n), SkbOverPanic);
            else {
              skb.reserve(n);
              m.data += n;
              m.tail += n;
            }
            break;
          case 'put':
            if (n < 0 || m.tail + n > m.end) assert.throws(() => skb.put(n), SkbOverPanic);
            else {
              assert.equal(skb.put(n), m.tail);
              m.tail += n;
            }
            break;
          case 'push':
            if (n < 0 || m.data - n < m.head) assert.throws(() => skb.push(n), SkbUnderPanic);
            else {
              m.data -= n;
              assert.equal(skb.push(n), m.data);
            }
            break;
          case 'pull':
            if (n < 0 || n > len) assert.equal(skb.pull(n), undefined);
            else {
              m.data += n;
              assert.equal(skb.pull(n), m.data);
            }
            break;
          case 'trim':
            if (n < 0) assert.throws(() => skb.trim(n), SkbUnderPanic);
            else {
              skb.trim(n);
              if (n < len) m.tail = m.data + n;
            }
            break;
        }
        assert.deepEqual({ head: skb.head, data: skb.data, tail: skb.tail, end: skb.end }, m);
        assert.ok(skb.head <= skb.data && skb.data <= skb.tail && skb.tail <= skb.end);
        assert.equal(skb.len, skb.tail - skb.data);
        assert.equal(skb.headroom() + skb.len + skb.tailroom(), skb.end - skb.head);
      }
      skb.free();
      assert.equal(pool.stats.inUse, 0);
      assert.equal(pool.stats.bytes, 0);
    }),
    { numRuns: 300 },
  );
});

// ---- buffers, clones and queues against a model ----

type Cmd =
  | { c: 'alloc'; size: number; reserve: number }
  | { c: 'clone' | 'copy' | 'get' | 'free' | 'doubleFree'; i: number }
  | { c: 'cow'; i: number; headroom: number }
  | { c: 'put' | 'push' | 'pull'; i: number; n: number }
  | { c: 'queueTail' | 'queueHead' | 'unlink'; q: number; i: number }
  | { c: 'dequeue' | 'dequeueTail' | 'purge'; q: number }
  | { c: 'insert' | 'append'; q: number; ref: number; i: number };

const idx = fc.nat({ max: 40 });
const qi = fc.nat({ max: 2 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ c: fc.constant('alloc' as const), size: fc.integer({ min: 0, max: 3000 }), reserve: fc.nat({ max: 32 }) }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constantFrom('clone' as const, 'copy' as const, 'get' as const), i: idx }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('free' as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('doubleFree' as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('cow' as const), i: idx, headroom: fc.nat({ max: 48 }) }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constantFrom('put' as const, 'push' as const, 'pull' as const), i: idx, n: fc.nat({ max: 64 }) }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constantFrom('queueTail' as const, 'queueHead' as const, 'unlink' as const), q: qi, i: idx }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constantFrom('dequeue' as const, 'dequeueTail' as const), q: qi }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('purge' as const), q: qi }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constantFrom('insert' as const, 'append' as const), q: qi, ref: idx, i: idx }) },
);

interface Handle {
  skb: SkBuff;
  users: number;
  /** Model of which data block the header uses. */
  block: number;
  /** Index of the model queue it is on, or -1. */
  on: number;
  listedLen: number;
}

/** The data block's reference count (skb_shared_info dataref), read for checking only. */
function dataref(skb: SkBuff): number {
  return skb.block.dataref;
}

test('buffers, clones and queues: counts, links and memory agree with a model', () => {
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 120 }), (cmds) => {
      const bugs: string[] = [];
      const pool = new SkbPool({ onBug: (b) => bugs.push(b) });
      const queues = [new SkbQueue(), new SkbQueue(), new SkbQueue()];
      const model: Handle[][] = [[], [], []];
      let live: Handle[] = [];
      const dead: SkBuff[] = [];
      let nextBlock = 0;
      let expectedDoubleFrees = 0;
      let expectedFreeWhileListed = 0;
      let headersMade = 0;
      const pick = (i: number): Handle | undefined => (live.length === 0 ? undefined : live[i % live.length]);
      const remove = (h: Handle): void => {
        live = live.filter((x) => x !== h);
        dead.push(h.skb);
      };
      const takeOff = (h: Handle): void => {
        const list = model[h.on]!;
        list.splice(list.indexOf(h), 1);
        h.on = -1;
      };
      const dropRef = (h: Handle): void => {
        h.users--;
        if (h.users === 0) remove(h);
      };

      for (const k of cmds) {
        switch (k.c) {
          case 'alloc': {
            const skb = allocSkbFrom(pool, k.size);
            assert.ok(skb);
            if (k.reserve <= k.size) skb.reserve(k.reserve);
            live.push({ skb, users: 1, block: nextBlock++, on: -1, listedLen: 0 });
            headersMade++;
            break;
          }
          case 'clone': {
            const h = pick(k.i);
            if (!h) break;
            const c = h.skb.clone();
            assert.ok(c);
            live.push({ skb: c, users: 1, block: h.block, on: -1, listedLen: 0 });
            headersMade++;
            break;
          }
          case 'copy': {
            const h = pick(k.i);
            if (!h) break;
            const c = h.skb.copy();
            assert.ok(c);
            assert.deepEqual(c.bytes, h.skb.bytes);
            live.push({ skb: c, users: 1, block: nextBlock++, on: -1, listedLen: 0 });
            headersMade++;
            break;
          }
          case 'get': {
            const h = pick(k.i);
            if (!h) break;
            h.skb.get();
            h.users++;
            break;
          }
          case 'free': {
            const h = pick(k.i);
            if (!h) break;
            h.skb.free();
            if (h.on >= 0) expectedFreeWhileListed++;
            else dropRef(h);
            break;
          }
          case 'doubleFree': {
            if (dead.length === 0) break;
            dead[k.i % dead.length]!.free();
            expectedDoubleFrees++;
            break;
          }
          case 'cow': {
            const h = pick(k.i);
            if (!h) break;
            const sharers = live.filter((x) => x.block === h.block).length;
            const bytes = Buffer.from(h.skb.bytes);
            const needsNew = (sharers > 1 && h.skb.cloned) || h.skb.headroom() < k.headroom;
            assert.equal(h.skb.cow(k.headroom), true);
            if (needsNew) h.block = nextBlock++;
            assert.ok(h.skb.headroom() >= k.headroom);
            assert.deepEqual(h.skb.bytes, bytes, 'cow keeps the bytes');
            break;
          }
          case 'put': {
            const h = pick(k.i);
            if (!h) break;
            if (k.n <= h.skb.tailroom()) h.skb.put(k.n);
            else assert.throws(() => h.skb.put(k.n), SkbOverPanic);
            break;
          }
          case 'push': {
            const h = pick(k.i);
            if (!h) break;
            if (k.n <= h.skb.headroom()) h.skb.push(k.n);
            else assert.throws(() => h.skb.push(k.n), SkbUnderPanic);
            break;
          }
          case 'pull': {
            const h = pick(k.i);
            if (!h) break;
            const len = h.skb.len;
            const r = h.skb.pull(k.n);
            assert.equal(r === undefined, k.n > len);
            assert.equal(h.skb.len, r === undefined ? len : len - k.n);
            break;
          }
          case 'queueTail':
          case 'queueHead': {
            const h = pick(k.i);
            if (!h) break;
            const ok = k.c === 'queueTail' ? queues[k.q]!.queueTail(h.skb) : queues[k.q]!.queueHead(h.skb);
            assert.equal(ok, h.on === -1, 'refused exactly when already listed');
            if (ok) {
              h.on = k.q;
              h.listedLen = h.skb.len;
              if (k.c === 'queueTail') model[k.q]!.push(h);
              else model[k.q]!.unshift(h);
            }
            break;
          }
          case 'unlink': {
            const h = pick(k.i);
            if (!h) break;
            const ok = queues[k.q]!.unlink(h.skb);
            assert.equal(ok, h.on === k.q);
            if (ok) takeOff(h);
            break;
          }
          case 'dequeue':
          case 'dequeueTail': {
            const list = model[k.q]!;
            const want = k.c === 'dequeue' ? list[0] : list[list.length - 1];
            const got = k.c === 'dequeue' ? queues[k.q]!.dequeue() : queues[k.q]!.dequeueTail();
            assert.equal(got, want?.skb ?? null);
            if (want) takeOff(want);
            break;
          }
          case 'purge': {
            const list = [...model[k.q]!];
            assert.equal(queues[k.q]!.purge(), list.length);
            for (const h of list) {
              takeOff(h);
              dropRef(h);
            }
            break;
          }
          case 'insert':
          case 'append': {
            const ref = pick(k.ref);
            const h = pick(k.i);
            if (!ref || !h) break;
            const ok = k.c === 'insert' ? queues[k.q]!.insert(ref.skb, h.skb) : queues[k.q]!.append(ref.skb, h.skb);
            assert.equal(ok, ref.on === k.q && h.on === -1);
            if (ok) {
              const list = model[k.q]!;
              const at = list.indexOf(ref) + (k.c === 'append' ? 1 : 0);
              list.splice(at, 0, h);
              h.on = k.q;
              h.listedLen = h.skb.len;
            }
            break;
          }
        }

        // ---- invariants ----
        let bytes = 0;
        for (const h of live) {
          const s = h.skb;
          assert.ok(s.head <= s.data && s.data <= s.tail && s.tail <= s.end, 'head <= data <= tail <= end');
          assert.equal(s.len, s.tail - s.data);
          assert.equal(s.users, h.users);
          assert.ok(s.users >= 1);
          assert.equal(s.freed, false);
          const sharers = live.filter((x) => x.block === h.block);
          assert.equal(dataref(s), sharers.length, 'dataref counts the live headers on the block');
          for (const x of sharers) assert.equal(x.skb.buf, s.buf);
          bytes += s.truesize;
        }
        for (const s of dead) assert.ok(s.users >= 0 && dataref(s) >= 0, 'never negative');
        assert.equal(pool.stats.inUse, live.length);
        assert.equal(pool.stats.bytes, bytes);
        for (let q = 0; q < 3; q++) {
          const list = model[q]!;
          assert.equal(queues[q]!.length, list.length);
          assert.equal(queues[q]!.bytes, list.reduce((n, h) => n + h.listedLen, 0));
          assert.deepEqual([...queues[q]!], list.map((h) => h.skb));
        }
        assert.equal(pool.stats.doubleFrees, expectedDoubleFrees);
        assert.equal(pool.stats.freeWhileListed, expectedFreeWhileListed);
      }

      // Free everything: memory returns to where it started.
      for (const q of queues) for (let s = q.dequeue(); s !== null; s = q.dequeue());
      for (const h of live) for (let u = h.users; u > 0; u--) h.skb.free();
      assert.equal(pool.stats.inUse, 0);
      assert.equal(pool.stats.bytes, 0);
      assert.equal(pool.stats.frees, headersMade, 'every header made was freed once');
      assert.equal(pool.stats.doubleFrees, expectedDoubleFrees);
      assert.equal(bugs.filter((b) => b === 'double_free').length, expectedDoubleFrees);
    }),
    { numRuns: 200 },
  );
});
