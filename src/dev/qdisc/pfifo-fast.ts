// pfifo_fast (net/sched/sch_generic.c): three FIFO bands served in strict
// priority, band chosen from skb->priority by the TC_PRIO map. Each band is
// its own ring of tx_queue_len frames (pfifo_fast_init sizes every
// skb_array to it), so the qdisc can hold three times that; a full band
// tail-drops with qdisc_drop, which counts a drop and no overlimit.

import { SkbQueue } from '../../skb/queue.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { emptyQdiscStats, type Qdisc } from './qdisc.ts';

/** prio2band: TC_PRIO_* (0..15) to band 0 (first served) .. 2. */
export const PRIO2BAND = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] as const;

export class PfifoFast implements Qdisc {
  readonly kind = 'pfifo_fast';
  handle = 0;
  readonly bands = [new SkbQueue(), new SkbQueue(), new SkbQueue()] as const;
  readonly stats = emptyQdiscStats();

  constructor(private readonly limit: () => number) {}

  get qlen(): number {
    return this.bands[0].length + this.bands[1].length + this.bands[2].length;
  }

  get backlog(): number {
    return this.bands[0].bytes + this.bands[1].bytes + this.bands[2].bytes;
  }

  enqueue(skb: SkBuff): boolean {
    const band = this.bands[PRIO2BAND[skb.priority & 15]!];
    if (band.length >= this.limit()) {
      this.stats.drops++;
      return false;
    }
    return band.queueTail(skb);
  }

  dequeue(): SkBuff | null {
    for (const band of this.bands) {
      const skb = band.dequeue();
      if (skb !== null) {
        this.stats.packets++;
        this.stats.bytes += skb.len;
        return skb;
      }
    }
    return null;
  }

  requeue(skb: SkBuff): void {
    // It was counted as sent when dequeued; it was not.
    this.stats.packets--;
    this.stats.bytes -= skb.len;
    this.stats.requeues++;
    this.bands[PRIO2BAND[skb.priority & 15]!].queueHead(skb);
  }

  reset(dispose: (skb: SkBuff) => void): number {
    return this.bands[0].purge(dispose) + this.bands[1].purge(dispose) + this.bands[2].purge(dispose);
  }

  options(): Record<string, unknown> {
    return { bands: 3, priomap: [...PRIO2BAND], multiqueue: false };
  }
}
