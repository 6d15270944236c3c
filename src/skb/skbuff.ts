// The sk_buff: a control structure with one block of memory attached.
//
//   head        data                tail            end
//    |<-headroom->|<------ len ------->|<-tailroom-->|
//    [            [ headers | payload  ]             ]
//
// Headers are pushed into reserved headroom and pulled off again by moving
// `data`; no byte of payload moves. Clones share the block (refcounted in
// SkbShared, `cloned` set on both) and must not write to it without cow().
// Semantics follow Linux 2.2+: `users` refcount, destructor run once at the
// last reference, sk ownership charged by sock_wfree/sock_rfree.

import { NetError } from '../errno.ts';
import { SkbOverPanic, SkbStateBug, SkbUnderPanic } from './panic.ts';
import type { SkbData, SkbPool } from './pool.ts';
import type { SkbQueue } from './queue.ts';
import type { SkbTracePoint } from './trace.ts';
import type { DropReason } from './drop-reason.ts';
// Type-only: an skb points at its device and socket as the kernel's does,
// without the buffer layer depending on those layers at run time.
import type { NetDevice } from '../dev/netdevice.ts';
import type { Sock } from '../sock/sock.ts';

/** pkt_type values (linux/if_packet.h). */
export const PacketType = {
  HOST: 0,
  BROADCAST: 1,
  MULTICAST: 2,
  OTHERHOST: 3,
  OUTGOING: 4,
  LOOPBACK: 5,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const PACKET_TYPE_NAMES: Record<PacketType, string> = {
  0: 'host',
  1: 'broadcast',
  2: 'multicast',
  3: 'otherhost',
  4: 'outgoing',
  5: 'loopback',
};

/**
 * ip_summed values (include/linux/skbuff.h): what is known of the transport
 * checksum. A frame from a wire, a packet socket, the HTTP API or a VXLAN
 * datagram is CHECKSUM_NONE and its receiver verifies it. A segment this
 * stack's own TCP or UDP built is CHECKSUM_PARTIAL: Linux leaves such a
 * checksum to the device (a veth or lo "computes" none), and its receiver
 * in the same kernel trusts it (skb_csum_unnecessary). Here the checksum is
 * always written anyway, so taps and captures see correct bytes; anything
 * that changes the bytes on the way (netem's corruption) sets NONE first,
 * as netem calls skb_checksum_help.
 */
export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;

/** skb_csum_unnecessary: the receiver need not verify the transport checksum. */
export function skbCsumUnnecessary(skb: SkBuff): boolean {
  return skb.ipSummed === CHECKSUM_UNNECESSARY || skb.ipSummed === CHECKSUM_PARTIAL;
}

/** dev_alloc_skb() reserves this much headroom, as the kernel did. */
export const NET_SKB_PAD = 16;

/** SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86-64: 232 bytes, cache-aligned. */
export const SKB_HEAD_SIZE = 256;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): lives at the end of the data block. */
export const SKB_SHINFO_SIZE = 320;
/** Bytes charged per buffer beyond its data (SKB_TRUESIZE's two terms). */
export const SKB_HEADER_COST = SKB_HEAD_SIZE + SKB_SHINFO_SIZE;

/**
 * kmalloc_size_roundup: the bytes kmalloc really hands out for a request.
 * The general caches (SLUB, 4 KiB pages) are the powers of two from 8 to
 * 8192 plus 96 and 192; beyond 8 KiB come whole pages, a power of two of
 * them (kmalloc_large -> alloc_pages(get_order(size))), which is again the
 * next power of two. Branches, not a table walk: this runs for every skb.
 */
export function kmallocSizeRoundup(size: number): number {
  if (size <= 8) return 8;
  if (size > 64 && size <= 192) return size <= 96 ? 96 : size <= 128 ? 128 : 192;
  return size <= 0x40000000 ? 1 << (32 - Math.clz32(size - 1)) : 2 ** Math.ceil(Math.log2(size));
}

/**
 * truesize of a buffer of `size` data bytes, as __alloc_skb computes it: the
 * data rounded to a cache line plus the shared info, rounded up to the slab
 * the allocator takes it from (the whole slab is charged), plus the sk_buff
 * header. So a 1500-byte frame costs 2304 bytes (TCP_SKB_MIN_TRUESIZE).
 */
export function skbTruesize(size: number): number {
  return kmallocSizeRoundup(((size + 63) & ~63) + SKB_SHINFO_SIZE) + SKB_HEAD_SIZE;
}

export type SkbDestructor = (skb: SkBuff) => void;

export class SkBuff {
  /** The data block; valid bytes are buf[data..tail). */
  buf: Buffer;
  head = 0;
  data = 0;
  tail = 0;
  end: number;
  truesize: number;
  /** References to this header (kfree_skb drops one). */
  users = 1;
  /** The data block is (or was) shared with a clone: write only after cow(). */
  cloned = false;
  /** skb->nohdr: this buffer holds its payload only (headerRelease). */
  nohdr = false;
  sk: Sock | null = null;
  destructor: SkbDestructor | null = null;
  dev: NetDevice | null = null;
  /** Device the frame arrived on before any re-injection (VLAN untag). */
  inputDev: NetDevice | null = null;
  /** Ethertype in host order (skb->protocol). */
  protocol = 0;
  pktType: PacketType = PacketType.HOST;
  /** 0..15; pfifo_fast maps it to a band through TC_PRIO. */
  priority = 0;
  /** Wall-clock milliseconds (fractional) when stamped; 0 when not. */
  tstamp = 0;
  /** skb->ip_summed: CHECKSUM_NONE (verify) .. CHECKSUM_PARTIAL (built by this stack). */
  ipSummed = CHECKSUM_NONE;
  macHeader = -1;
  networkHeader = -1;
  transportHeader = -1;
  /** List linkage: an skb is on at most one SkbQueue. */
  next: SkBuff | null = null;
  prev: SkBuff | null = null;
  list: SkbQueue | null = null;
  listedLen = 0;
  freed = false;
  /** Per-frame scratch for the layer that owns the skb (e.g. netem's send time). */
  cb = 0;
  /** The layers this frame passed, when its device is traced (trace.ts); null otherwise. */
  trace: SkbTracePoint[] | null = null;

  /** The data block (skb_shared_info): shared with clones, recycled through the pool. */
  block: SkbData;

  constructor(
    readonly pool: SkbPool,
    shared: SkbData,
    size: number,
    truesize: number,
  ) {
    this.block = shared;
    this.buf = shared.buf;
    this.end = size;
    this.truesize = truesize;
  }

  get len(): number {
    return this.tail - this.data;
  }

  /** The payload as a view (no copy), for reading: a clone's twin may share it. */
  get bytes(): Buffer {
    if (this.freed) usedAfterFree(this, 'bytes');
    return this.buf.subarray(this.data, this.tail);
  }

  /**
   * The block for writing: throws when the data is shared with a clone (the
   * caller must cow() first, as skb_cloned() callers must in the kernel) or
   * when the buffer was freed. Every write into a buffer goes through this.
   */
  writable(): Buffer {
    if (this.freed) usedAfterFree(this, 'writable');
    if (this.cloned && this.block.dataref > 1) writeShared(this);
    return this.buf;
  }

  /**
   * The block for writing headers in front of the payload (skb_header_cloned):
   * allowed when the only other holders promised to use the payload alone
   * (headerRelease), as TCP's copy on the retransmit queue does while its
   * clone carries the headers down the stack.
   */
  writableHeader(): Buffer {
    if (this.freed) usedAfterFree(this, 'writableHeader');
    if (this.cloned && this.block.dataref - this.block.payloadRefs > 1) writeShared(this);
    return this.buf;
  }

  /**
   * __skb_header_release: this buffer will use its payload only, so clones
   * of it may push and write their own headers into the shared headroom.
   */
  headerRelease(): void {
    if (this.freed) usedAfterFree(this, 'headerRelease');
    if (this.nohdr) return;
    this.nohdr = true;
    this.block.payloadRefs++;
  }

  headroom(): number {
    return this.data - this.head;
  }

  tailroom(): number {
    return this.end - this.tail;
  }

  // The bounds checks throw from separate cold functions so that these stay
  // small enough for V8 to inline into every caller.

  /** skb_reserve: make headroom in an empty buffer. */
  reserve(n: number): void {
    const tail = this.tail;
    if (tail !== this.data || n < 0 || tail + n > this.end || this.freed) reserveFailed(this, n);
    this.data = tail + n;
    this.tail = tail + n;
  }

  /** skb_put: extend the data at the tail; returns the offset of the new region in `buf`. */
  put(n: number): number {
    const at = this.tail;
    if (n < 0 || at + n > this.end || this.freed) overPanic(this, 'put', n);
    this.tail = at + n;
    return at;
  }

  /** Put and copy `src` into the new region (a write: the data must be private). */
  putData(src: Uint8Array): number {
    const buf = this.writable();
    const at = this.put(src.length);
    buf.set(src, at);
    return at;
  }

  /** skb_push: extend the data at the head; returns the new `data` offset. */
  push(n: number): number {
    const at = this.data - n;
    if (n < 0 || at < this.head || this.freed) underPanic(this, 'push', n);
    this.data = at;
    return at;
  }

  /** skb_pull: strip `n` bytes from the head; undefined (and no change) past len. */
  pull(n: number): number | undefined {
    if (this.freed) usedAfterFree(this, 'pull');
    if (n < 0 || n > this.tail - this.data) return undefined;
    this.data += n;
    return this.data;
  }

  /** skb_trim: cut the data to `len` bytes; a no-op when already shorter. */
  trim(len: number): void {
    if (len < 0) throw new SkbUnderPanic('trim', len, this.offsets());
    if (len < this.tail - this.data) this.tail = this.data + len;
  }

  offsets(): { head: number; data: number; tail: number; end: number } {
    return { head: this.head, data: this.data, tail: this.tail, end: this.end };
  }

  /** Another reference to this header (skb_get). */
  get(): this {
    if (this.freed) usedAfterFree(this, 'get');
    this.users++;
    return this;
  }

  /** skb_shared: more than one holder of this header. */
  isShared(): boolean {
    return this.users > 1;
  }

  /** skb_cloned: the data block is shared with a clone. */
  isDataShared(): boolean {
    return this.cloned && this.block.dataref > 1;
  }

  /** skb_clone: a new header on the same data; no owner, no destructor. */
  clone(): SkBuff | null {
    if (this.freed) usedAfterFree(this, 'clone');
    const stats = this.pool.stats;
    if (stats.bytes + this.truesize > this.pool.limitBytes) {
      stats.allocFailures++;
      return null;
    }
    const n = new SkBuff(this.pool, this.block, this.end, this.truesize);
    this.block.dataref++;
    this.copyHeader(n);
    n.data = this.data;
    n.tail = this.tail;
    n.cloned = true;
    this.cloned = true;
    stats.clones++;
    stats.inUse++;
    stats.bytes += n.truesize;
    return n;
  }

  /** skb_copy: a private copy of header and data, same headroom. */
  copy(): SkBuff | null {
    if (this.freed) usedAfterFree(this, 'copy');
    const n = allocSkbFrom(this.pool, this.end);
    if (n === null) return null;
    this.buf.copy(n.buf, 0, this.head, this.end);
    this.copyHeader(n);
    n.data = this.data;
    n.tail = this.tail;
    this.pool.stats.copies++;
    return n;
  }

  /**
   * skb_cow: make the data block private to this buffer, with at least
   * `headroom` bytes before data, reallocating it in place as
   * pskb_expand_head does (same header, same owner). A block that grows is
   * charged by its new truesize only while no socket owns the buffer, as
   * pskb_expand_head does: the owner's destructor must credit what it was
   * charged. Returns false when memory is short; the buffer is then left as
   * it was.
   */
  cow(headroom = 0): boolean {
    if (this.freed) usedAfterFree(this, 'cow');
    if (!this.isDataShared() && this.headroom() >= headroom) return true;
    const extra = Math.max(0, headroom - this.headroom());
    const size = this.end + extra;
    const stats = this.pool.stats;
    if (stats.bytes > this.pool.limitBytes) {
      stats.allocFailures++;
      return false;
    }
    const block = this.pool.take(size);
    this.buf.copy(block.buf, extra, this.head, this.end);
    const old = this.block;
    this.block = block;
    this.buf = block.buf;
    if (this.nohdr) {
      old.payloadRefs--;
      this.nohdr = false;
    }
    if (--old.dataref === 0) this.pool.give(old);
    this.end = size;
    this.data += extra;
    this.tail += extra;
    if (this.macHeader >= 0) this.macHeader += extra;
    if (this.networkHeader >= 0) this.networkHeader += extra;
    if (this.transportHeader >= 0) this.transportHeader += extra;
    this.cloned = false;
    stats.copies++;
    if (extra > 0 && this.sk === null) {
      const truesize = skbTruesize(size);
      stats.bytes += truesize - this.truesize;
      this.truesize = truesize;
    }
    return true;
  }

  /**
   * skb_share_check: a header this caller alone holds. When others hold this
   * one too, they keep it and the caller gets a clone instead.
   */
  unshare(): SkBuff | null {
    if (this.users === 1) return this;
    const n = this.clone();
    if (n !== null) this.free();
    return n;
  }

  /** skb_orphan: run the destructor now (credit the owner) and forget the owner. */
  orphan(): void {
    const d = this.destructor;
    if (d !== null) {
      this.destructor = null;
      d(this);
    }
    this.sk = null;
  }

  /**
   * kfree_skb: drop one reference; at the last one run the destructor and
   * release the data block (to the pool when no clone still uses it).
   * A double free, or freeing a buffer still on a list, is reported and
   * ignored: the buffer is left as it was, so nothing is corrupted.
   */
  free(): void {
    const pool = this.pool;
    if (this.freed) {
      pool.report('double_free', `kfree_skb: buffer of ${this.truesize} bytes freed twice`);
      return;
    }
    if (this.list !== null) {
      pool.report('free_while_listed', 'kfree_skb: buffer is still on a list');
      return;
    }
    if (--this.users > 0) return;
    if (this.destructor !== null) {
      const d = this.destructor;
      this.destructor = null;
      d(this);
    }
    this.sk = null;
    this.dev = null;
    this.inputDev = null;
    this.freed = true;
    const stats = pool.stats;
    stats.frees++;
    stats.inUse--;
    stats.bytes -= this.truesize;
    // Only the block is recycled: a header is never reused, so a stale
    // reference can never free or read someone else's frame.
    if (this.nohdr) this.block.payloadRefs--;
    if (--this.block.dataref === 0) pool.give(this.block);
  }

  /**
   * kfree_skb_reason: the buffer dies undelivered. Counted by reason where it
   * dies (the counters live with the pool the stack owns), so no drop site
   * needs to climb back up to the stack.
   */
  drop(reason: DropReason): void {
    this.pool.drops[reason]++;
    this.free();
  }

  /** consume_skb: the buffer's normal end (delivered, transmitted, read). */
  consume(): void {
    this.free();
  }

  private copyHeader(n: SkBuff): void {
    n.dev = this.dev;
    n.inputDev = this.inputDev;
    n.protocol = this.protocol;
    n.pktType = this.pktType;
    n.priority = this.priority;
    n.tstamp = this.tstamp;
    n.ipSummed = this.ipSummed;
    n.macHeader = this.macHeader;
    n.networkHeader = this.networkHeader;
    n.transportHeader = this.transportHeader;
    n.cb = this.cb;
    if (this.trace !== null) n.trace = this.trace.slice();
  }
}

function overPanic(skb: SkBuff, op: string, n: number): never {
  if (skb.freed) usedAfterFree(skb, op);
  throw new SkbOverPanic(op, n, skb.offsets());
}

function underPanic(skb: SkBuff, op: string, n: number): never {
  if (skb.freed) usedAfterFree(skb, op);
  throw new SkbUnderPanic(op, n, skb.offsets());
}

function usedAfterFree(skb: SkBuff, op: string): never {
  throw new SkbStateBug('use_after_free', `${op}() on a buffer of ${skb.truesize} bytes that was freed`);
}

function writeShared(skb: SkBuff): never {
  throw new SkbStateBug('write_shared', `write to data shared with ${skb.block.dataref - 1} clone(s) without cow()`);
}

function reserveFailed(skb: SkBuff, n: number): never {
  if (skb.freed) usedAfterFree(skb, 'reserve');
  if (skb.tail !== skb.data) {
    throw new NetError('EINVAL', `skb_reserve(${n}) on a buffer that already holds ${skb.len} bytes`);
  }
  return overPanic(skb, 'reserve', n);
}

/** alloc_skb: a buffer with `size` bytes of room and no headroom; null when memory is short. */
export function allocSkbFrom(pool: SkbPool, size: number): SkBuff | null {
  const stats = pool.stats;
  const truesize = skbTruesize(size);
  if (size < 0 || stats.bytes + truesize > pool.limitBytes) {
    stats.allocFailures++;
    return null;
  }
  const skb = new SkBuff(pool, pool.take(size), size, truesize);
  stats.allocs++;
  stats.inUse++;
  stats.bytes += truesize;
  return skb;
}

/** dev_alloc_skb: room for `len` bytes after NET_SKB_PAD bytes of headroom. */
export function devAllocSkbFrom(pool: SkbPool, len: number): SkBuff | null {
  const skb = allocSkbFrom(pool, len + NET_SKB_PAD);
  if (skb !== null) {
    skb.data = NET_SKB_PAD;
    skb.tail = NET_SKB_PAD;
  }
  return skb;
}
