// Giving memory back after a burst of deletions. V8 collects its old
// generation only when allocation pushes it to its limit, and an idle service
// allocates almost nothing: after 10,000 devices were created, listed and
// deleted, their objects and the requests' garbage stayed in the heap (and in
// RSS) for as long as the service stayed idle, which V8's own memory reducer
// did not change (measured: not a MiB back in 25 s). So once many devices have
// gone and the deletions have stopped for a moment, one full collection is
// asked for: V8 then releases the pages it no longer needs.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full, synchronous collection, or null when this V8 will not give one. */
export type Collect = () => void;

let cached: Collect | null | undefined;

/**
 * V8's `gc()`, without starting Node with --expose-gc: the flag is read when a
 * context is made, so a new context has the function (the same one the
 * command-line flag installs on the main context).
 */
export function fullCollection(): Collect | null {
  if (cached !== undefined) return cached;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    cached = typeof gc === 'function' ? () => (gc as () => void)() : null;
  } catch {
    cached = null;
  }
  return cached;
}

export interface MemoryReducerOptions {
  /** Devices that must have gone before a collection is worth its pause. */
  threshold?: number;
  /** How long deletions must have stopped, ms. */
  quietMs?: number;
  /** The collection (tests count calls); default fullCollection(), looked up when first needed. */
  collect?: Collect;
  /** Live heap above which no collection is asked for (REDUCE_MAX_LIVE_HEAP). */
  maxLiveHeap?: number;
}

/** Default: a collection after 1,000 devices went (a few MiB of objects, plus their requests' garbage). */
export const REDUCE_AFTER_DEVICES = 1000;
export const REDUCE_QUIET_MS = 1000;
const MAX_PASSES = 3;
const SHRINK_WORTH_ANOTHER_PASS = 1 << 20;
/**
 * A full collection stops everything (TCP timers, /healthz) for a time that
 * grows with the live heap: ~20 ms at 25 MiB, ~0.9 s at 450 MiB (measured).
 * Above this much live heap the service does not ask for one; V8's own
 * heuristics have garbage enough to work with there.
 */
export const REDUCE_MAX_LIVE_HEAP = 192 << 20;
/** A further pass only when the last one stopped the loop for less than this. */
const MAX_PASS_PAUSE_MS = 50;

export class MemoryReducer {
  /** Devices gone since the last collection. */
  pending = 0;
  /** Collections run. */
  runs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly threshold: number;
  private readonly quietMs: number;
  private readonly collect: Collect | undefined;
  private readonly maxLiveHeap: number;

  constructor(opts: MemoryReducerOptions = {}) {
    this.threshold = opts.threshold ?? REDUCE_AFTER_DEVICES;
    this.quietMs = opts.quietMs ?? REDUCE_QUIET_MS;
    this.collect = opts.collect;
    this.maxLiveHeap = opts.maxLiveHeap ?? REDUCE_MAX_LIVE_HEAP;
  }

  /** `n` devices have gone; past the threshold, collect once they stop going for quietMs. */
  freed(n: number): void {
    this.pending += n;
    if (this.pending < this.threshold) return;
    if (this.timer !== null) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(this.run, this.quietMs);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  private readonly run = (): void => {
    this.timer = null;
    this.pending = 0;
    const collect = this.collect ?? fullCollection();
    if (collect === null) return;
    // One full collection frees the objects but leaves the old generation's
    // pages fragmented (measured: heap total 88 MiB for 25 MiB live after
    // 10,000 devices went); each further one compacts more of them. Stop
    // when the heap no longer shrinks, at most MAX_PASSES (~57-60 MiB then,
    // as before the devices came).
    const before = getHeapStatistics();
    if (before.used_heap_size > this.maxLiveHeap) return;
    this.runs++;
    let total = before.total_heap_size;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const t0 = performance.now();
      collect();
      const pause = performance.now() - t0;
      const now = getHeapStatistics().total_heap_size;
      if (total - now < SHRINK_WORTH_ANOTHER_PASS || pause > MAX_PASS_PAUSE_MS) break;
      total = now;
    }
  };

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
