// Conservation: every frame that enters the stack is delivered or dropped
// with a reason, and once everything is closed nothing stays charged.
//
//   const ledger = new Ledger(stack);
//   ... send `sent` frames, read `delivered` of them ...
//   ledger.assertConserved({ sent, delivered });
//   ... close the sockets ...
//   assertQuiet(stack, [tx, rx]);

import assert from 'node:assert/strict';
import { DROP_REASONS, type DropReason } from '../../src/skb/drop-reason.ts';
import type { SkbStats } from '../../src/skb/pool.ts';
import type { NetStack } from '../../src/stack/netstack.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';

export type DropDelta = Partial<Record<DropReason, number>>;

export class Ledger {
  private readonly drops0: Record<DropReason, number>;
  private readonly pool0: SkbStats;

  constructor(readonly stack: NetStack) {
    this.drops0 = { ...stack.drops };
    this.pool0 = { ...stack.pool.stats };
  }

  /** Drops by reason since the ledger was opened; reasons that did not move are left out. */
  drops(): DropDelta {
    const out: DropDelta = {};
    for (const r of DROP_REASONS) {
      const d = this.stack.drops[r] - this.drops0[r];
      if (d !== 0) out[r] = d;
    }
    return out;
  }

  totalDrops(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.stack.drops[r] - this.drops0[r];
    return n;
  }

  /** Clones made since the ledger opened (each tap beyond the first gets one). */
  clones(): number {
    return this.stack.pool.stats.clones - this.pool0.clones;
  }

  copies(): number {
    return this.stack.pool.stats.copies - this.pool0.copies;
  }

  /**
   * sent (+ extra frames the stack itself made, e.g. netem duplicates or the
   * clones handed to extra taps) = delivered + drops by reason.
   */
  assertConserved(c: { sent: number; delivered: number; extra?: number }, msg = ''): void {
    const drops = this.totalDrops();
    assert.equal(
      c.sent + (c.extra ?? 0),
      c.delivered + drops,
      `conservation${msg ? ` (${msg})` : ''}: sent ${c.sent} + extra ${c.extra ?? 0} != delivered ${c.delivered} + drops ${drops} ${JSON.stringify(this.drops())}`,
    );
    for (const r of DROP_REASONS) assert.ok(this.stack.drops[r] >= this.drops0[r], `drop counter ${r} went down`);
  }
}

/**
 * Nothing is in flight and nothing is charged: no buffer in use, no bytes,
 * the backlog and every qdisc empty, every given socket's rmem and wmem 0.
 */
export function assertQuiet(stack: NetStack, sockets: readonly PacketSocket[] = []): void {
  assert.equal(stack.softnet.backlog.length, 0, 'backlog is empty');
  for (const dev of stack.devices.list()) {
    assert.equal(dev.qdisc?.qlen ?? 0, 0, `${dev.name}'s qdisc is empty`);
  }
  for (const s of sockets) {
    assert.equal(s.sk.rmemAlloc, 0, `socket ${s.id} rmemAlloc`);
    assert.equal(s.sk.wmemAlloc, 0, `socket ${s.id} wmemAlloc`);
    assert.equal(s.sk.receiveQueue.length, 0, `socket ${s.id} receive queue`);
  }
  assert.equal(stack.pool.stats.inUse, 0, `skbs in use: ${stack.pool.stats.inUse}`);
  assert.equal(stack.pool.stats.bytes, 0, `skb bytes in use: ${stack.pool.stats.bytes}`);
  assert.equal(stack.pool.stats.doubleFrees, 0, 'no double free happened');
  assert.equal(stack.pool.stats.freeWhileListed, 0, 'no buffer was freed while listed');
}

/** Close the sockets, check they hold nothing, close the stack, check again. */
export function closeAndAssertQuiet(stack: NetStack, sockets: readonly PacketSocket[]): void {
  for (const s of sockets) s.close();
  assertQuiet(stack, sockets);
  stack.close();
  assertQuiet(stack, sockets);
}
