// A re-armable timer that does not churn the clock: like the kernel's
// sk_reset_timer on a timer already pending later, moving the deadline later
// only changes a number; the clock timer fires at the old time, sees the new
// deadline and sleeps again. Every ACK re-arms the RTO, so this keeps one
// clock timer per connection instead of one per segment.

import type { Clock, TimerHandle } from '../../clock.ts';

export class LazyTimer {
  /** When the callback is due; Infinity when not armed. */
  deadline = Infinity;
  private handle: TimerHandle | null = null;
  private handleAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  get armed(): boolean {
    return this.deadline !== Infinity;
  }

  /**
   * Due `delayMs` from now, replacing any earlier or later deadline. `now`
   * is the caller's clock of the event (a TCP socket's tcp_mstamp) when it
   * has one, which saves reading the clock again.
   */
  arm(delayMs: number, now = this.clock.now()): void {
    const at = now + delayMs;
    this.deadline = at;
    if (this.handle === null || this.handleAt > at) {
      this.handle?.cancel();
      this.handleAt = at;
      this.handle = this.clock.setTimer(delayMs, this.fire);
    }
  }

  /** Not due any more; the clock timer, if any, fires into nothing (cheap on the hot path). */
  clear(): void {
    this.deadline = Infinity;
  }

  /** Not due, and the clock timer is cancelled too (socket teardown). */
  stop(): void {
    this.deadline = Infinity;
    this.handle?.cancel();
    this.handle = null;
    this.handleAt = Infinity;
  }

  private readonly fire = (): void => {
    this.handle = null;
    this.handleAt = Infinity;
    const deadline = this.deadline;
    if (deadline === Infinity) return;
    const now = this.clock.now();
    if (now < deadline) {
      this.handleAt = deadline;
      this.handle = this.clock.setTimer(deadline - now, this.fire);
      return;
    }
    this.deadline = Infinity;
    this.fn();
  };
}
