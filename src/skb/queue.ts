// sk_buff_head: a doubly linked list threaded through the buffers themselves,
// so every operation is O(1) at any depth and allocates nothing. A buffer is
// on at most one list (its `list` pointer); misuse is reported, not obeyed.

import type { SkBuff } from './skbuff.ts';

export class SkbQueue {
  first: SkBuff | null = null;
  last: SkBuff | null = null;
  private qlen = 0;
  private qbytes = 0;

  get length(): number {
    return this.qlen;
  }

  /** Sum of `len` of the queued buffers (a qdisc's backlog in bytes). */
  get bytes(): number {
    return this.qbytes;
  }

  isEmpty(): boolean {
    return this.qlen === 0;
  }

  peek(): SkBuff | null {
    return this.first;
  }

  peekTail(): SkBuff | null {
    return this.last;
  }

  /** skb_queue_tail. Returns false (and reports) if the buffer is already listed. */
  queueTail(skb: SkBuff): boolean {
    if (!this.claim(skb)) return false;
    skb.prev = this.last;
    skb.next = null;
    if (this.last !== null) this.last.next = skb;
    else this.first = skb;
    this.last = skb;
    return true;
  }

  /** skb_queue_head. */
  queueHead(skb: SkBuff): boolean {
    if (!this.claim(skb)) return false;
    skb.next = this.first;
    skb.prev = null;
    if (this.first !== null) this.first.prev = skb;
    else this.last = skb;
    this.first = skb;
    return true;
  }

  /** skb_insert: put `newsk` just before `old`, which must be on this list. */
  insert(old: SkBuff, newsk: SkBuff): boolean {
    if (old.list !== this) {
      old.pool.report('unlink_foreign', 'skb_insert: reference buffer is not on this list');
      return false;
    }
    if (!this.claim(newsk)) return false;
    newsk.next = old;
    newsk.prev = old.prev;
    if (old.prev !== null) old.prev.next = newsk;
    else this.first = newsk;
    old.prev = newsk;
    return true;
  }

  /** skb_append: put `newsk` just after `old`, which must be on this list. */
  append(old: SkBuff, newsk: SkBuff): boolean {
    if (old.list !== this) {
      old.pool.report('unlink_foreign', 'skb_append: reference buffer is not on this list');
      return false;
    }
    if (!this.claim(newsk)) return false;
    newsk.prev = old;
    newsk.next = old.next;
    if (old.next !== null) old.next.prev = newsk;
    else this.last = newsk;
    old.next = newsk;
    return true;
  }

  /** skb_dequeue: the first buffer, or null when empty. */
  dequeue(): SkBuff | null {
    const skb = this.first;
    if (skb !== null) this.detach(skb);
    return skb;
  }

  /** skb_dequeue_tail. */
  dequeueTail(): SkBuff | null {
    const skb = this.last;
    if (skb !== null) this.detach(skb);
    return skb;
  }

  /** skb_unlink: take the buffer off this list (not freed). A no-op if it is not listed here. */
  unlink(skb: SkBuff): boolean {
    if (skb.list !== this) return false;
    this.detach(skb);
    return true;
  }

  /** skb_queue_purge: free every buffer; `dispose` decides how (e.g. count a drop reason). */
  purge(dispose: (skb: SkBuff) => void = (skb) => skb.free()): number {
    let n = 0;
    for (let skb = this.dequeue(); skb !== null; skb = this.dequeue()) {
      dispose(skb);
      n++;
    }
    return n;
  }

  *[Symbol.iterator](): IterableIterator<SkBuff> {
    for (let skb = this.first; skb !== null; skb = skb.next) yield skb;
  }

  private claim(skb: SkBuff): boolean {
    if (skb.list !== null || skb.freed) {
      skb.pool.report('enqueue_while_listed', skb.freed ? 'queueing a freed buffer' : 'buffer is already on a list');
      return false;
    }
    skb.list = this;
    // Remember what was counted: a queued buffer's len may still change.
    skb.listedLen = skb.tail - skb.data;
    this.qlen++;
    this.qbytes += skb.listedLen;
    return true;
  }

  private detach(skb: SkBuff): void {
    const { prev, next } = skb;
    if (prev !== null) prev.next = next;
    else this.first = next;
    if (next !== null) next.prev = prev;
    else this.last = prev;
    skb.next = null;
    skb.prev = null;
    skb.list = null;
    this.qlen--;
    this.qbytes -= skb.listedLen;
  }
}
