// Backing stores for sk_buffs, recycled by size class so that steady traffic
// does not churn the garbage collector (a free-list pop is ~16 ns; a fresh
// Buffer.allocUnsafe(2048) is ~630 ns on this machine kind), and the counters
// the kernel's show_net_buffers() printed: buffers in use, bytes, allocs,
// frees, clones, copies, failures.

import type { SkbBug } from './panic.ts';
import { emptyDropCounts, type DropCounts, type DropReason } from './drop-reason.ts';


/** Size classes, like kmalloc's power-of-two caches: 128 << index. */
const SIZE_CLASSES = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072] as const;

/**
 * A data block and how many buffers share it (skb_shared_info's dataref).
 * Recycled whole, so a steady stream of frames allocates no objects here.
 */
export class SkbData {
  dataref = 1;
  /**
   * Of those, the references that hold the payload only (SKB_DATAREF_SHIFT's
   * upper half, set by __skb_header_release): the headroom in front of the
   * payload belongs to the other holder, which may write its headers there.
   */
  payloadRefs = 0;
  constructor(
    readonly buf: Buffer,
    readonly cls: number,
  ) {}
}

/** Per class, the free list keeps at most this many bytes of idle buffers. */
const MAX_IDLE_BYTES_PER_CLASS = 4 * 1024 * 1024;

export interface SkbStats {
  inUse: number;
  bytes: number;
  allocs: number;
  frees: number;
  clones: number;
  copies: number;
  allocFailures: number;
  doubleFrees: number;
  freeWhileListed: number;
}

export interface SkbPoolOptions {
  /** Refuse allocations that would take truesize in use above this. */
  limitBytes?: number;
  /** Called on every misuse of the API (never silent). */
  onBug?: (bug: SkbBug, detail: string) => void;
}

export class SkbPool {
  readonly stats: SkbStats = {
    inUse: 0,
    bytes: 0,
    allocs: 0,
    frees: 0,
    clones: 0,
    copies: 0,
    allocFailures: 0,
    doubleFrees: 0,
    freeWhileListed: 0,
  };
  /** Frames dropped, by reason: SkBuff.drop() counts here (the stack's drop counters). */
  readonly drops: DropCounts = emptyDropCounts();
  limitBytes: number;
  onBug: (bug: SkbBug, detail: string) => void;
  private readonly free: SkbData[][] = SIZE_CLASSES.map(() => []);
  private readonly maxIdle: number[] = SIZE_CLASSES.map((size) => Math.max(8, Math.floor(MAX_IDLE_BYTES_PER_CLASS / size)));

  constructor(options: SkbPoolOptions = {}) {
    this.limitBytes = options.limitBytes ?? 1024 * 1024 * 1024;
    this.onBug = options.onBug ?? (() => {});
  }

  /** Index of the smallest class that holds `size` bytes, or -1 if none does. */
  static classOf(size: number): number {
    if (size <= 128) return 0;
    const cls = 25 - Math.clz32(size - 1);
    return cls < SIZE_CLASSES.length ? cls : -1;
  }

  /** A block of at least `size` bytes with dataref 1; contents are whatever it held before. */
  take(size: number): SkbData {
    const cls = SkbPool.classOf(size);
    if (cls < 0) return new SkbData(Buffer.allocUnsafeSlow(size), cls);
    const block = this.free[cls]!.pop();
    if (block !== undefined) {
      block.dataref = 1;
      block.payloadRefs = 0;
      return block;
    }
    return new SkbData(Buffer.allocUnsafeSlow(SIZE_CLASSES[cls]!), cls);
  }

  give(block: SkbData): void {
    const cls = block.cls;
    if (cls < 0) return;
    const list = this.free[cls]!;
    if (list.length < this.maxIdle[cls]!) list.push(block);
  }

  /** Blocks waiting on the free lists, and their bytes. */
  idle(): { buffers: number; bytes: number } {
    let buffers = 0;
    let bytes = 0;
    for (let i = 0; i < SIZE_CLASSES.length; i++) {
      const n = this.free[i]!.length;
      buffers += n;
      bytes += n * SIZE_CLASSES[i]!;
    }
    return { buffers, bytes };
  }

  /** Drop every idle buffer (memory pressure, or tests measuring the heap). */
  shrink(): void {
    for (const list of this.free) list.length = 0;
  }

  /** A frame dropped that has no buffer of its own (a clone that could not be made, a datagram). */
  countDrop(reason: DropReason): void {
    this.drops[reason]++;
  }

  report(bug: SkbBug, detail: string): void {
    if (bug === 'double_free') this.stats.doubleFrees++;
    else if (bug === 'free_while_listed') this.stats.freeWhileListed++;
    this.onBug(bug, detail);
  }
}
