// Time and timers for the stack. Real time in the service; virtual time in
// tests, so that "10 MB through a 1 Mbit/s link" (80 s of wire time) runs in
// milliseconds and repeats exactly. Imports nothing.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic, fractional. */
  now(): number;
  /** Milliseconds since the Unix epoch, fractional (for timestamps). */
  wallNow(): number;
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export class RealClock implements Clock {
  private readonly origin = performance.timeOrigin;

  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return this.origin + performance.now();
  }

  /**
   * Node's setTimeout takes at most 2^31-1 ms: a longer (or non-finite)
   * delay prints a TimeoutOverflowWarning and fires after 1 ms, which for a
   * timer that re-arms itself spins the event loop. So a long delay waits
   * in steps of at most MAX_TIMER_MS, re-armed until the deadline; an
   * infinite or NaN delay never fires.
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const first = delayMs > 0 ? delayMs : 0;
    const deadline = this.now() + first;
    let t: ReturnType<typeof setTimeout> | null = null;
    const arm = (left: number): void => {
      if (left === Infinity) {
        t = null;
        return;
      }
      t = left > MAX_TIMER_MS ? setTimeout(() => arm(deadline - this.now()), MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
      // A pending netem or watchdog timer must not keep a finished process alive.
      t.unref();
    };
    arm(first);
    return {
      cancel: () => {
        if (t !== null) clearTimeout(t);
        t = null;
      },
    };
  }
}

/** The longest delay setTimeout takes (a signed 32-bit count of ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. Timers fire in (time, creation) order.
 * `runNext()` jumps to the earliest timer, runs every timer due then, and
 * lets queued microtasks and setImmediate callbacks (the bottom half) run.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers: VirtualTimer[] = [];
  constructor(private readonly epochMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.epochMs + this.t;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Fire the earliest due timers. Returns false when no timer is pending. */
  async runNext(): Promise<boolean> {
    await settle();
    const live = this.timers.filter((x) => !x.cancelled);
    if (live.length === 0) return false;
    let next = live[0]!;
    for (const x of live) if (x.at < next.at || (x.at === next.at && x.seq < next.seq)) next = x;
    this.t = Math.max(this.t, next.at);
    const due = live.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers.length = 0;
    for (const x of live) if (x.at > this.t) this.timers.push(x);
    for (const x of due) {
      if (!x.cancelled) x.fn();
    }
    await settle();
    return true;
  }

  /** Advance by `ms`, firing timers on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      const live = this.timers.filter((x) => !x.cancelled);
      const earliest = live.reduce((m, x) => Math.min(m, x.at), Infinity);
      if (earliest > target) break;
      await this.runNext();
    }
    this.t = target;
    await settle();
  }

  /** Run timers until none is left or `until()` holds. */
  async runUntil(until: () => boolean, maxSteps = 10_000_000): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      await settle();
      if (until()) return;
      if (!(await this.runNext())) {
        await settle();
        return;
      }
    }
    throw new Error('VirtualClock.runUntil: step limit reached');
  }
}

/** Let promise continuations and setImmediate callbacks run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
