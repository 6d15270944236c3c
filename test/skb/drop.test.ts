// Drops are counted where the buffer dies: skb.drop(reason) counts on the
// pool's counters (the stack's drop counters), skb.consume() counts nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocSkbFrom, SkbPool } from '../../src/skb/index.ts';
import { NetStack } from '../../src/stack/index.ts';

test('drop(reason) frees and counts on the pool; consume() frees without counting', () => {
  const pool = new SkbPool();
  const a = allocSkbFrom(pool, 100)!;
  const b = allocSkbFrom(pool, 100)!;
  a.drop('QDISC_DROP');
  b.consume();
  assert.equal(pool.drops.QDISC_DROP, 1);
  assert.equal(Object.values(pool.drops).reduce((x, y) => x + y, 0), 1);
  assert.equal(pool.stats.inUse, 0);
  assert.equal(a.freed && b.freed, true);
});

test('the stack\'s drop counters are its pool\'s: a buffer dropped anywhere shows in stack.drops', () => {
  const stack = new NetStack();
  assert.equal(stack.drops, stack.pool.drops);
  allocSkbFrom(stack.pool, 64)!.drop('NETEM_LOSS');
  assert.equal(stack.drops.NETEM_LOSS, 1);
  assert.equal(stack.totalDrops(), 1);
  stack.close();
});
