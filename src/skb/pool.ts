// Backing stores for sk_buffs, recycled by size class so that steady traffic
// does not churn the garbage collector (a free-list pop is ~16 ns; a fresh
// Buffer.allocUnsafe(2048) is ~630 ns on this machine kind), and the counters
// the kernel's show_net_buffers() printed: buffers in use, bytes, allocs,
// frees, clones, copies, failures.

import type { SkbBug } from './panic.ts';

/** Size classes, like kmalloc's power-of-two caches. */
const SIZE_CLASSES = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072] as const;

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
  /** Buffers waiting on the free lists and their size. */
  idleBuffers: number;
  idleBytes: number;
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
    idleBuffers: 0,
    idleBytes: 0,
  };
  limitBytes: number;
  onBug: (bug: SkbBug, detail: string) => void;
  private readonly free: Buffer[][] = SIZE_CLASSES.map(() => []);
  private readonly maxIdle: number[] = SIZE_CLASSES.map((size) => Math.max(8, Math.floor(MAX_IDLE_BYTES_PER_CLASS / size)));

  constructor(options: SkbPoolOptions = {}) {
    this.limitBytes = options.limitBytes ?? 1024 * 1024 * 1024;
    this.onBug = options.onBug ?? (() => {});
  }

  /** Index of the smallest class that holds `size` bytes, or -1 if none does. */
  static classOf(size: number): number {
    for (let i = 0; i < SIZE_CLASSES.length; i++) if (size <= SIZE_CLASSES[i]!) return i;
    return -1;
  }

  /** A buffer of at least `size` bytes; contents are whatever it held before. */
  take(size: number): { buf: Buffer; cls: number } {
    const cls = SkbPool.classOf(size);
    if (cls < 0) return { buf: Buffer.allocUnsafeSlow(size), cls };
    const list = this.free[cls]!;
    const buf = list.pop();
    if (buf !== undefined) {
      this.stats.idleBuffers--;
      this.stats.idleBytes -= buf.length;
      return { buf, cls };
    }
    return { buf: Buffer.allocUnsafeSlow(SIZE_CLASSES[cls]!), cls };
  }

  give(buf: Buffer, cls: number): void {
    if (cls < 0) return;
    const list = this.free[cls]!;
    if (list.length >= this.maxIdle[cls]!) return;
    list.push(buf);
    this.stats.idleBuffers++;
    this.stats.idleBytes += buf.length;
  }

  /** Drop every idle buffer (memory pressure, or tests measuring the heap). */
  shrink(): void {
    for (const list of this.free) list.length = 0;
    this.stats.idleBuffers = 0;
    this.stats.idleBytes = 0;
  }

  report(bug: SkbBug, detail: string): void {
    if (bug === 'double_free') this.stats.doubleFrees++;
    else if (bug === 'free_while_listed') this.stats.freeWhileListed++;
    this.onBug(bug, detail);
  }
}
