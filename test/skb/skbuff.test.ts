import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { NetError } from '../../src/errno.ts';
import {
  allocSkbFrom, devAllocSkbFrom, kmallocSizeRoundup, NET_SKB_PAD, SkbOverPanic, SkbPool, SkbStateBug, SkbUnderPanic, skbTruesize,
  type SkBuff, type SkbBug,
} from '../../src/skb/index.ts';
import { SkbQueue } from '../../src/skb/queue.ts';

function pool(limitBytes?: number): { pool: SkbPool; bugs: [SkbBug, string][] } {
  const bugs: [SkbBug, string][] = [];
  const p = new SkbPool({ ...(limitBytes !== undefined ? { limitBytes } : {}), onBug: (bug, detail) => bugs.push([bug, detail]) });
  return { pool: p, bugs };
}

function alloc(p: SkbPool, size: number): SkBuff {
  const skb = allocSkbFrom(p, size);
  assert.ok(skb);
  return skb;
}

const offsetsOf = (s: SkBuff) => ({ head: s.head, data: s.data, tail: s.tail, end: s.end });

test('alloc_skb: an empty buffer of the asked size, charged by truesize', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 100);
  assert.deepEqual(offsetsOf(skb), { head: 0, data: 0, tail: 0, end: 100 });
  assert.equal(skb.len, 0);
  assert.equal(skb.headroom(), 0);
  assert.equal(skb.tailroom(), 100);
  assert.equal(skb.users, 1);
  assert.equal(skb.cloned, false);
  assert.equal(skb.truesize, skbTruesize(100));
  // __alloc_skb: align(100) = 128, + 320 of shared info = 448, from the
  // 512-byte slab, + 256 of sk_buff = 768.
  assert.equal(skbTruesize(100), 512 + 256);
  assert.ok(skb.buf.length >= 100);
  assert.equal(p.stats.inUse, 1);
  assert.equal(p.stats.bytes, skb.truesize);
  assert.equal(p.stats.allocs, 1);
  skb.free();
  assert.equal(p.stats.inUse, 0);
  assert.equal(p.stats.bytes, 0);
  assert.equal(p.stats.frees, 1);
});

test('dev_alloc_skb reserves 16 bytes of headroom', () => {
  const { pool: p } = pool();
  const skb = devAllocSkbFrom(p, 1514);
  assert.ok(skb);
  assert.equal(NET_SKB_PAD, 16);
  assert.equal(skb.headroom(), 16);
  assert.equal(skb.len, 0);
  assert.equal(skb.tailroom(), 1514);
  // The headroom takes an Ethernet header without moving a byte.
  skb.putData(Buffer.from('payload'));
  const before = skb.buf;
  skb.push(14);
  assert.equal(skb.buf, before);
  assert.equal(skb.len, 21);
  assert.equal(skb.headroom(), 2);
  skb.free();
});

test('reserve works on an empty buffer only', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(10);
  assert.deepEqual(offsetsOf(skb), { head: 0, data: 10, tail: 10, end: 64 });
  skb.reserve(6);
  assert.equal(skb.headroom(), 16);
  skb.put(4);
  assert.throws(() => skb.reserve(2), (err: unknown) => err instanceof NetError && err.errno === 'EINVAL');
  assert.deepEqual(offsetsOf(skb), { head: 0, data: 16, tail: 20, end: 64 });
  skb.free();
});

test('reserve past the end is an skb_over_panic and changes nothing', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 32);
  assert.throws(() => skb.reserve(33), (err: unknown) => {
    assert.ok(err instanceof SkbOverPanic);
    assert.equal(err.op, 'reserve');
    assert.equal(err.requested, 33);
    assert.deepEqual(err.offsets, { head: 0, data: 0, tail: 0, end: 32 });
    return true;
  });
  assert.throws(() => skb.reserve(-1), SkbOverPanic);
  assert.deepEqual(offsetsOf(skb), { head: 0, data: 0, tail: 0, end: 32 });
  skb.reserve(32);
  assert.equal(skb.tailroom(), 0);
  skb.free();
});

test('put extends at the tail and returns the new region', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(8);
  assert.equal(skb.put(10), 8);
  assert.equal(skb.len, 10);
  const at = skb.putData(Buffer.from([1, 2, 3]));
  assert.equal(at, 18);
  assert.deepEqual([...skb.buf.subarray(18, 21)], [1, 2, 3]);
  assert.equal(skb.len, 13);
  assert.deepEqual([...skb.bytes.subarray(10)], [1, 2, 3]);
  assert.equal(skb.put(0), 21);
  skb.free();
});

test('put past the end is an skb_over_panic carrying the offsets, and changes nothing', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(4);
  skb.put(50);
  const before = offsetsOf(skb);
  assert.throws(() => skb.put(11), (err: unknown) => {
    assert.ok(err instanceof SkbOverPanic);
    assert.equal(err.name, 'SkbOverPanic');
    assert.equal(err.op, 'put');
    assert.equal(err.requested, 11);
    assert.deepEqual(err.offsets, { head: 0, data: 4, tail: 54, end: 64 });
    assert.match(err.message, /skb_over_panic: put\(11\).*head=0 data=4 tail=54 end=64 len=50/);
    return true;
  });
  assert.throws(() => skb.putData(Buffer.alloc(11)), SkbOverPanic);
  assert.throws(() => skb.put(-1), SkbOverPanic);
  assert.deepEqual(offsetsOf(skb), before);
  skb.put(10);
  assert.equal(skb.tailroom(), 0);
  skb.free();
});

test('push extends at the head; past head is an skb_under_panic with the offsets', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(16);
  skb.put(20);
  assert.equal(skb.push(14), 2);
  assert.equal(skb.len, 34);
  assert.throws(() => skb.push(3), (err: unknown) => {
    assert.ok(err instanceof SkbUnderPanic);
    assert.equal(err.name, 'SkbUnderPanic');
    assert.equal(err.op, 'push');
    assert.equal(err.requested, 3);
    assert.deepEqual(err.offsets, { head: 0, data: 2, tail: 36, end: 64 });
    assert.match(err.message, /skb_under_panic: push\(3\)/);
    return true;
  });
  assert.throws(() => skb.push(-1), SkbUnderPanic);
  assert.deepEqual(offsetsOf(skb), { head: 0, data: 2, tail: 36, end: 64 });
  assert.equal(skb.push(2), 0);
  skb.free();
});

test('pull strips from the head; past len it returns undefined and changes nothing', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(2);
  skb.putData(Buffer.from('0123456789'));
  assert.equal(skb.pull(4), 6);
  assert.equal(skb.bytes.toString(), '456789');
  const before = offsetsOf(skb);
  assert.equal(skb.pull(7), undefined);
  assert.equal(skb.pull(-1), undefined);
  assert.deepEqual(offsetsOf(skb), before);
  assert.equal(skb.pull(6), 12);
  assert.equal(skb.len, 0);
  assert.equal(skb.pull(1), undefined);
  skb.free();
});

test('trim cuts the tail, is a no-op when already shorter, and panics on a negative length', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.putData(Buffer.from('abcdefgh'));
  skb.trim(5);
  assert.equal(skb.bytes.toString(), 'abcde');
  skb.trim(100);
  assert.equal(skb.len, 5);
  assert.throws(() => skb.trim(-1), (err: unknown) => {
    assert.ok(err instanceof SkbUnderPanic);
    assert.equal(err.op, 'trim');
    assert.deepEqual(err.offsets, { head: 0, data: 0, tail: 5, end: 64 });
    return true;
  });
  assert.equal(skb.len, 5);
  skb.trim(0);
  assert.equal(skb.len, 0);
  skb.free();
});

test('clone shares the data block and sets cloned on both', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(8);
  skb.putData(Buffer.from('shared!'));
  skb.protocol = 0x0800;
  skb.priority = 6;
  const owner = { credited: 0 };
  skb.destructor = () => owner.credited++;
  const c = skb.clone();
  assert.ok(c);
  assert.notEqual(c, skb);
  assert.equal(c.buf, skb.buf, 'same block, not a copy');
  assert.equal(c.cloned, true);
  assert.equal(skb.cloned, true);
  assert.equal(c.isDataShared(), true);
  assert.equal(skb.isDataShared(), true);
  assert.equal(c.users, 1, 'a clone is a new header with its own reference count');
  assert.deepEqual(offsetsOf(c), offsetsOf(skb));
  assert.equal(c.protocol, 0x0800);
  assert.equal(c.priority, 6);
  assert.equal(c.destructor, null, 'a clone has no owner');
  assert.equal(c.sk, null);
  assert.equal(p.stats.clones, 1);
  assert.equal(p.stats.inUse, 2);
  assert.equal(p.stats.bytes, 2 * skb.truesize);
  // Moving one header's offsets does not move the other's.
  c.pull(3);
  assert.equal(skb.bytes.toString(), 'shared!');
  assert.equal(c.bytes.toString(), 'red!');
  // A write through one is seen by the other: that is why writers must cow().
  skb.buf[skb.data] = 'S'.charCodeAt(0);
  assert.equal(skb.bytes.toString(), 'Shared!');
  skb.free();
  assert.equal(owner.credited, 1);
  assert.equal(c.bytes.toString(), 'red!', 'the clone still holds the data');
  assert.equal(c.isDataShared(), false, 'after the other is freed the block is no longer shared');
  assert.equal(c.block.dataref, 1);
  c.free();
  assert.equal(c.block.dataref, 0, 'the block is released at the last reference');
  assert.equal(p.stats.inUse, 0);
  assert.equal(p.stats.bytes, 0);
});

test('copy duplicates header and data: changes to one are not seen in the other', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(16);
  skb.putData(Buffer.from('original'));
  skb.macHeader = 16;
  const c = skb.copy();
  assert.ok(c);
  assert.notEqual(c.buf, skb.buf);
  assert.deepEqual(offsetsOf(c), offsetsOf(skb), 'same headroom and tailroom');
  assert.equal(c.macHeader, 16);
  assert.equal(c.cloned, false);
  assert.equal(skb.cloned, false);
  c.buf[c.data] = 'O'.charCodeAt(0);
  assert.equal(skb.bytes.toString(), 'original');
  assert.equal(c.bytes.toString(), 'Original');
  assert.equal(p.stats.copies, 1);
  assert.equal(p.stats.inUse, 2);
  skb.free();
  c.free();
  assert.equal(p.stats.bytes, 0);
});

test('cow makes the block private to the writer and leaves the clone unchanged', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.reserve(8);
  skb.putData(Buffer.from('hello'));
  const c = skb.clone();
  assert.ok(c);
  assert.equal(c.cow(), true);
  assert.notEqual(c.buf, skb.buf);
  assert.equal(c.cloned, false);
  assert.equal(c.isDataShared(), false);
  assert.equal(skb.isDataShared(), false);
  c.buf[c.data] = 'j'.charCodeAt(0);
  assert.equal(c.bytes.toString(), 'jello');
  assert.equal(skb.bytes.toString(), 'hello');
  assert.equal(c.truesize, skb.truesize, 'cow keeps the truesize charged');
  // A private block with room is left alone.
  const buf = c.buf;
  assert.equal(c.cow(4), true);
  assert.equal(c.buf, buf);
  skb.free();
  c.free();
  assert.equal(p.stats.inUse, 0);
  assert.equal(p.stats.bytes, 0);
});

test('cow(headroom) grows the headroom in place, moving data and header offsets', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 40);
  skb.reserve(2);
  skb.putData(Buffer.from('frame-bytes'));
  skb.macHeader = 2;
  skb.networkHeader = 6;
  assert.equal(skb.cow(10), true);
  assert.equal(skb.headroom(), 10);
  assert.equal(skb.bytes.toString(), 'frame-bytes');
  assert.equal(skb.macHeader, 10);
  assert.equal(skb.networkHeader, 14);
  assert.equal(skb.transportHeader, -1, 'unset offsets stay unset');
  assert.equal(skb.tailroom(), 40 - 2 - 11);
  skb.push(10);
  assert.equal(skb.headroom(), 0);
  skb.free();
  assert.equal(p.stats.bytes, 0);
});

test('cow when memory is short returns false and leaves the buffer as it was', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  skb.putData(Buffer.from('abc'));
  const c = skb.clone();
  assert.ok(c);
  p.limitBytes = 0;
  const buf = c.buf;
  assert.equal(c.cow(), false);
  assert.equal(c.buf, buf);
  assert.equal(c.isDataShared(), true);
  assert.equal(p.stats.allocFailures, 1);
  skb.free();
  c.free();
});

test('get/unshare: skb_share_check gives a sole holder a header of its own', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  assert.equal(skb.unshare(), skb, 'a sole holder keeps its header');
  skb.get();
  assert.equal(skb.isShared(), true);
  const mine = skb.unshare();
  assert.ok(mine);
  assert.notEqual(mine, skb);
  assert.equal(skb.users, 1, 'the other holder keeps the original');
  assert.equal(mine.buf, skb.buf);
  mine.free();
  skb.free();
  assert.equal(p.stats.inUse, 0);
});

test('orphan runs the destructor once and forgets the owner', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  let runs = 0;
  skb.destructor = (s) => {
    runs++;
    assert.equal(s, skb);
  };
  skb.orphan();
  assert.equal(runs, 1);
  assert.equal(skb.destructor, null);
  assert.equal(skb.sk, null);
  skb.orphan();
  skb.free();
  assert.equal(runs, 1, 'not again at free');
});

test('free drops one reference and runs the destructor once, at the last one', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 64);
  let runs = 0;
  skb.destructor = () => runs++;
  skb.get();
  skb.get();
  assert.equal(skb.users, 3);
  skb.free();
  skb.free();
  assert.equal(runs, 0);
  assert.equal(skb.freed, false);
  assert.equal(p.stats.inUse, 1);
  skb.free();
  assert.equal(runs, 1);
  assert.equal(skb.freed, true);
  assert.equal(p.stats.inUse, 0);
  assert.equal(p.stats.frees, 1);
});

test('a double free is reported and ignored, never silent', () => {
  const { pool: p, bugs } = pool();
  const skb = alloc(p, 64);
  let runs = 0;
  skb.destructor = () => runs++;
  skb.free();
  const stats = { ...p.stats };
  skb.free();
  assert.equal(p.stats.doubleFrees, 1);
  assert.equal(bugs.length, 1);
  assert.equal(bugs[0]![0], 'double_free');
  assert.equal(runs, 1);
  assert.equal(p.stats.inUse, stats.inUse, 'counters are not corrupted');
  assert.equal(p.stats.bytes, stats.bytes);
  assert.equal(p.stats.frees, stats.frees);
  // The block went back to the pool once, not twice.
  const a = alloc(p, 64);
  const b = alloc(p, 64);
  assert.notEqual(a.buf, b.buf);
  a.free();
  b.free();
});

test('freeing a buffer that is still on a list is reported and does nothing', () => {
  const { pool: p, bugs } = pool();
  const q = new SkbQueue();
  const skb = alloc(p, 64);
  q.queueTail(skb);
  skb.free();
  assert.equal(p.stats.freeWhileListed, 1);
  assert.deepEqual(bugs.map((b) => b[0]), ['free_while_listed']);
  assert.equal(skb.freed, false);
  assert.equal(q.length, 1);
  assert.equal(p.stats.inUse, 1);
  assert.equal(q.dequeue(), skb);
  skb.free();
  assert.equal(p.stats.inUse, 0);
});

test('the pool recycles blocks: allocations after frees reuse them', () => {
  const { pool: p } = pool();
  // Freed buffers may wait in a quarantine (to catch use after free) before
  // reuse; free enough of them that recycling must show.
  const n = 2000;
  const first = Array.from({ length: n }, () => alloc(p, 1000));
  const blocks = new Set(first.map((s) => s.buf));
  assert.equal(p.idle().buffers, 0);
  for (const s of first) s.free();
  const idle = p.idle();
  assert.ok(idle.buffers > 0, 'freed blocks wait on the free lists');
  assert.equal(idle.bytes, idle.buffers * 1024, '1000 bytes come from the 1024 class');
  const second = Array.from({ length: idle.buffers }, () => alloc(p, 900));
  assert.equal(p.idle().buffers, 0, 'every idle block was taken');
  for (const s of second) assert.ok(blocks.has(s.buf), 'a recycled block');
  for (const s of second) assert.equal(s.len, 0);
  assert.equal(p.stats.allocs, n + idle.buffers);
  // Another size class does not take them.
  for (const s of second) s.free();
  const before = p.idle().buffers;
  const big = alloc(p, 3000);
  assert.ok(!blocks.has(big.buf));
  assert.equal(p.idle().buffers, before);
  big.free();
  p.shrink();
  assert.equal(p.idle().buffers, 0);
  assert.equal(p.stats.inUse, 0);
  assert.equal(p.stats.bytes, 0);
});

test('size classes: the smallest class that holds the size; none beyond the largest', () => {
  assert.equal(SkbPool.classOf(1), 0);
  assert.equal(SkbPool.classOf(128), 0);
  assert.equal(SkbPool.classOf(129), 1);
  assert.equal(SkbPool.classOf(2048), 4);
  assert.equal(SkbPool.classOf(2049), 5);
  assert.equal(SkbPool.classOf(131072), 10);
  assert.equal(SkbPool.classOf(131073), -1);
  const { pool: p } = pool();
  const huge = alloc(p, 200_000);
  assert.ok(huge.buf.length >= 200_000);
  huge.put(200_000);
  huge.free();
  assert.equal(p.idle().buffers, 0, 'an unpooled block is not kept');
});

test('a memory limit makes allocation return null and count allocFailures', () => {
  const limit = skbTruesize(2048) * 2;
  const { pool: p } = pool(limit);
  const a = alloc(p, 2048);
  const b = alloc(p, 2048);
  assert.equal(p.stats.bytes, limit);
  assert.equal(allocSkbFrom(p, 1), null);
  assert.equal(devAllocSkbFrom(p, 1), null);
  assert.equal(a.clone(), null);
  assert.equal(a.copy(), null);
  assert.equal(p.stats.allocFailures, 4);
  assert.equal(p.stats.inUse, 2);
  b.free();
  const c = allocSkbFrom(p, 2048);
  assert.ok(c, 'room again once memory is freed');
  a.free();
  c.free();
  assert.equal(allocSkbFrom(p, -1), null, 'a negative size is refused');
  assert.equal(p.stats.allocFailures, 5);
});

test('truesize follows __alloc_skb: data + shared info rounded to the kmalloc slab, plus the sk_buff', () => {
  assert.equal(kmallocSizeRoundup(1), 8);
  assert.equal(kmallocSizeRoundup(65), 96);
  assert.equal(kmallocSizeRoundup(129), 192);
  assert.equal(kmallocSizeRoundup(1856), 2048);
  assert.equal(kmallocSizeRoundup(8193), 16384, 'beyond the largest slab: a power of two of pages');
  // A 1500-byte frame with its 16 bytes of headroom: 1536 + 320 -> 2048 + 256.
  assert.equal(skbTruesize(1516), 2304, 'TCP_SKB_MIN_TRUESIZE, as Linux charges a full-size frame');
  assert.equal(skbTruesize(60), 512 + 256);
  // 1800 + 320 crosses the 2 KiB slab: the charge doubles, as kmalloc's does.
  assert.equal(skbTruesize(1800), 4096 + 256);
  const { pool: p } = pool();
  const skb = alloc(p, 1516);
  assert.equal(skb.truesize, 2304);
  assert.equal(p.stats.bytes, 2304);
  skb.free();
});

test('cow that grows the block charges the new truesize while no socket owns the buffer (pskb_expand_head)', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 1700);
  skb.put(1700);
  const before = skb.truesize;
  assert.equal(before, 2048 + 256);
  assert.ok(skb.cow(200));
  assert.equal(skb.truesize, skbTruesize(1900));
  assert.ok(skb.truesize > before);
  assert.equal(p.stats.bytes, skb.truesize, 'the pool counts the new size');
  // Owned by a socket: the charge stays what the owner paid, so its destructor credits exactly that.
  const owned = alloc(p, 1700);
  owned.sk = {} as never;
  const paid = owned.truesize;
  assert.ok(owned.cow(200));
  assert.equal(owned.truesize, paid);
  owned.sk = null;
  skb.free();
  owned.free();
  assert.equal(p.stats.bytes, 0);
});

test('a clone\'s shared data cannot be written without cow(): writable() and putData() throw', () => {
  const { pool: p } = pool();
  const skb = alloc(p, 100);
  skb.putData(Buffer.from('abcd'));
  const c = skb.clone()!;
  assert.throws(() => c.writable(), (e: unknown) => e instanceof SkbStateBug && e.bug === 'write_shared');
  assert.throws(() => skb.writable(), SkbStateBug, 'the original shares it too');
  assert.throws(() => skb.putData(Buffer.from('e')), SkbStateBug);
  assert.equal(skb.len, 4, 'a refused write changes nothing');
  assert.ok(c.cow());
  c.writable()[c.data] = 0x41;
  assert.equal(skb.bytes.toString(), 'abcd', 'the original still sees its own bytes');
  assert.equal(c.bytes.toString(), 'Abcd');
  // Once the clone has its own block the original is no longer shared either.
  skb.writable()[skb.data] = 0x5a;
  c.free();
  skb.free();
});

test('any use of a freed buffer throws: clone, copy, cow, get, put, push, pull, bytes, writable', () => {
  const { pool: p, bugs } = pool();
  const skb = alloc(p, 100);
  skb.reserve(20);
  skb.put(10);
  skb.free();
  const inUse = p.stats.inUse;
  const uses: [string, () => unknown][] = [
    ['clone', () => skb.clone()],
    ['copy', () => skb.copy()],
    ['cow', () => skb.cow(10)],
    ['get', () => skb.get()],
    ['put', () => skb.put(1)],
    ['push', () => skb.push(1)],
    ['pull', () => skb.pull(1)],
    ['bytes', () => skb.bytes],
    ['writable', () => skb.writable()],
  ];
  for (const [name, use] of uses) {
    assert.throws(use, (e: unknown) => e instanceof SkbStateBug && e.bug === 'use_after_free', name);
  }
  assert.equal(p.stats.inUse, inUse, 'no clone of a freed buffer was made');
  assert.equal(p.stats.clones, 0);
  // The block went back to the pool once; a new buffer gets it and no stale clone can free it again.
  const next = alloc(p, 100);
  next.free();
  assert.equal(p.stats.inUse, 0);
  assert.deepEqual(bugs, []);
});
