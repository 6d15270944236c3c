import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocSkbFrom, SkbPool, SkbQueue, type SkBuff, type SkbBug } from '../../src/skb/index.ts';

function setup(): { pool: SkbPool; bugs: SkbBug[]; mk: (len: number, tag?: number) => SkBuff } {
  const bugs: SkbBug[] = [];
  const pool = new SkbPool({ onBug: (bug) => bugs.push(bug) });
  const mk = (len: number, tag = len): SkBuff => {
    const skb = allocSkbFrom(pool, 256);
    assert.ok(skb);
    skb.put(len);
    skb.cb = tag;
    return skb;
  };
  return { pool, bugs, mk };
}

/** Tags front to back, checking the links both ways and the list pointers. */
function order(q: SkbQueue): number[] {
  const fwd: number[] = [];
  let prev: SkBuff | null = null;
  for (let s = q.first; s !== null; s = s.next) {
    assert.equal(s.prev, prev, 'prev link');
    assert.equal(s.list, q, 'list pointer');
    fwd.push(s.cb);
    prev = s;
  }
  assert.equal(q.last, prev, 'last');
  const back: number[] = [];
  for (let s = q.last; s !== null; s = s.prev) back.push(s.cb);
  assert.deepEqual(back.reverse(), fwd, 'backward walk agrees');
  assert.equal(q.length, fwd.length, 'length');
  assert.deepEqual([...q].map((s) => s.cb), fwd, 'iterator agrees');
  return fwd;
}

test('an empty queue', () => {
  const q = new SkbQueue();
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  assert.equal(q.isEmpty(), true);
  assert.equal(q.peek(), null);
  assert.equal(q.peekTail(), null);
  assert.equal(q.dequeue(), null);
  assert.equal(q.dequeueTail(), null);
  assert.equal(q.purge(), 0);
  assert.deepEqual([...q], []);
});

test('queueTail/queueHead/dequeue/dequeueTail/peek/peekTail keep order, length and bytes', () => {
  const { pool, mk } = setup();
  const q = new SkbQueue();
  const a = mk(10, 1);
  const b = mk(20, 2);
  const c = mk(30, 3);
  assert.equal(q.queueTail(a), true);
  assert.equal(q.queueTail(b), true);
  assert.equal(q.queueHead(c), true);
  assert.deepEqual(order(q), [3, 1, 2]);
  assert.equal(q.bytes, 60);
  assert.equal(q.isEmpty(), false);
  assert.equal(q.peek(), c);
  assert.equal(q.peekTail(), b);
  assert.equal(q.length, 3, 'peek does not take');
  assert.equal(q.dequeue(), c);
  assert.equal(c.list, null);
  assert.equal(c.next, null);
  assert.equal(c.prev, null);
  assert.equal(q.dequeueTail(), b);
  assert.deepEqual(order(q), [1]);
  assert.equal(q.bytes, 10);
  assert.equal(q.dequeueTail(), a);
  assert.deepEqual(order(q), []);
  assert.equal(q.bytes, 0);
  for (const s of [a, b, c]) s.free();
  assert.equal(pool.stats.inUse, 0);
});

test('insert puts a buffer before, append after, a buffer on this list', () => {
  const { mk } = setup();
  const q = new SkbQueue();
  const one = mk(1, 1);
  const three = mk(3, 3);
  q.queueTail(one);
  q.queueTail(three);
  assert.equal(q.insert(three, mk(2, 2)), true);
  assert.deepEqual(order(q), [1, 2, 3]);
  assert.equal(q.insert(one, mk(0, 0)), true, 'before the first');
  assert.deepEqual(order(q), [0, 1, 2, 3]);
  assert.equal(q.append(three, mk(5, 5)), true, 'after the last');
  assert.deepEqual(order(q), [0, 1, 2, 3, 5]);
  assert.equal(q.append(three, mk(4, 4)), true, 'in the middle');
  assert.deepEqual(order(q), [0, 1, 2, 3, 4, 5]);
  assert.equal(q.bytes, 0 + 1 + 2 + 3 + 4 + 5);
  assert.equal(q.peek()!.cb, 0);
  assert.equal(q.peekTail()!.cb, 5);
  assert.equal(q.purge(), 6);
});

test('insert/append relative to a buffer not on this list is reported and changes nothing', () => {
  const { mk, bugs } = setup();
  const q = new SkbQueue();
  const other = new SkbQueue();
  const onOther = mk(1, 1);
  other.queueTail(onOther);
  const free = mk(2, 2);
  q.queueTail(mk(3, 3));
  const n = mk(4, 4);
  assert.equal(q.insert(onOther, n), false);
  assert.equal(q.append(onOther, n), false);
  assert.equal(q.insert(free, n), false);
  assert.equal(q.append(free, n), false);
  assert.deepEqual(bugs, ['unlink_foreign', 'unlink_foreign', 'unlink_foreign', 'unlink_foreign']);
  assert.equal(n.list, null, 'the new buffer was not taken');
  assert.deepEqual(order(q), [3]);
  assert.deepEqual(order(other), [1]);
  q.purge();
  other.purge();
  n.free();
  free.free();
});

test('a buffer is on one list at most: queueing it again, anywhere, is reported and refused', () => {
  const { mk, bugs, pool } = setup();
  const q1 = new SkbQueue();
  const q2 = new SkbQueue();
  const s = mk(7, 7);
  const t = mk(8, 8);
  q1.queueTail(s);
  q1.queueTail(t);
  assert.equal(q2.queueTail(s), false);
  assert.equal(q2.queueHead(s), false);
  assert.equal(q1.queueTail(s), false, 'not twice on the same list either');
  assert.equal(q1.insert(t, s), false);
  assert.equal(q1.append(t, s), false);
  assert.deepEqual(bugs, Array(5).fill('enqueue_while_listed'));
  assert.equal(s.list, q1);
  assert.deepEqual(order(q1), [7, 8]);
  assert.deepEqual(order(q2), []);
  assert.equal(q1.bytes, 15);
  assert.equal(q2.bytes, 0);
  // Once off the first list it may go on the second.
  assert.equal(q1.unlink(s), true);
  assert.equal(q2.queueTail(s), true);
  assert.deepEqual(order(q2), [7]);
  q1.purge();
  q2.purge();
  assert.equal(pool.stats.inUse, 0);
});

test('a freed buffer cannot be queued', () => {
  const { mk, bugs } = setup();
  const q = new SkbQueue();
  const s = mk(5);
  s.free();
  assert.equal(q.queueTail(s), false);
  assert.deepEqual(bugs, ['enqueue_while_listed']);
  assert.equal(q.length, 0);
});

test('unlink takes a buffer from anywhere in the list, not from another list', () => {
  const { mk } = setup();
  const q = new SkbQueue();
  const other = new SkbQueue();
  const bufs = [0, 1, 2, 3, 4].map((i) => mk(i + 1, i));
  for (const b of bufs) q.queueTail(b);
  assert.equal(q.unlink(bufs[2]!), true);
  assert.deepEqual(order(q), [0, 1, 3, 4]);
  assert.equal(q.unlink(bufs[0]!), true);
  assert.equal(q.unlink(bufs[4]!), true);
  assert.deepEqual(order(q), [1, 3]);
  assert.equal(q.bytes, 2 + 4);
  assert.equal(q.unlink(bufs[2]!), false, 'not listed any more');
  const foreign = mk(9, 9);
  other.queueTail(foreign);
  assert.equal(q.unlink(foreign), false);
  assert.deepEqual(order(other), [9]);
  assert.deepEqual(order(q), [1, 3]);
  for (const b of [bufs[0]!, bufs[2]!, bufs[4]!]) b.free();
  q.purge();
  other.purge();
});

test('purge frees every buffer, or hands each to dispose', () => {
  const { mk, pool } = setup();
  const q = new SkbQueue();
  for (let i = 0; i < 5; i++) q.queueTail(mk(10));
  assert.equal(pool.stats.inUse, 5);
  assert.equal(q.purge(), 5);
  assert.equal(pool.stats.inUse, 0);
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  for (let i = 0; i < 3; i++) q.queueTail(mk(10, i));
  const seen: number[] = [];
  assert.equal(q.purge((s) => {
    assert.equal(s.list, null, 'dispose gets an unlinked buffer');
    seen.push(s.cb);
    s.free();
  }), 3);
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(pool.stats.inUse, 0);
});

test('bytes stays right when a queued buffer changes length', () => {
  const { mk } = setup();
  const q = new SkbQueue();
  const s = mk(100);
  q.queueTail(s);
  s.trim(10);
  assert.equal(q.bytes, 100, 'counted as it was queued');
  assert.equal(q.dequeue(), s);
  assert.equal(q.bytes, 0, 'never negative or stale');
  q.queueTail(s);
  assert.equal(q.bytes, 10);
  q.purge();
});

test('operations use the buffers\' own links: a long list costs nothing to edit in the middle', () => {
  const { mk, pool } = setup();
  const q = new SkbQueue();
  const n = 20_000;
  const bufs: SkBuff[] = [];
  for (let i = 0; i < n; i++) {
    const s = mk(1, i);
    bufs.push(s);
    q.queueTail(s);
  }
  // Unlink and re-insert every other buffer from the middle outward; a list
  // that searched would do n^2/2 = 2e8 steps here.
  for (let i = 1; i < n - 1; i += 2) {
    const s = bufs[i]!;
    assert.equal(q.unlink(s), true);
    assert.equal(q.insert(bufs[i + 1]!, s), true);
  }
  assert.equal(q.length, n);
  assert.equal(q.bytes, n);
  let i = 0;
  for (const s of q) assert.equal(s.cb, i++);
  q.purge();
  assert.equal(pool.stats.inUse, 0);
});
