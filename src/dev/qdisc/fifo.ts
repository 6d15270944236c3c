// pfifo and bfifo (net/sched/sch_fifo.c): one FIFO, tail drop past a limit
// in frames (pfifo) or in bytes of backlog (bfifo). A refused frame is a
// qdisc_drop: it counts a drop, not an overlimit. Without a limit, fifo_init
// takes tx_queue_len frames, or tx_queue_len * (mtu + link header) bytes.

import { SkbQueue } from '../../skb/queue.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { emptyQdiscStats, type Qdisc } from './qdisc.ts';

export class Fifo implements Qdisc {
  handle = 0;
  readonly stats = emptyQdiscStats();
  private readonly q = new SkbQueue();

  constructor(
    readonly kind: 'pfifo' | 'bfifo',
    readonly limit: number,
  ) {}

  get qlen(): number {
    return this.q.length;
  }

  get backlog(): number {
    return this.q.bytes;
  }

  enqueue(skb: SkBuff): boolean {
    const fits = this.kind === 'pfifo' ? this.q.length < this.limit : this.q.bytes + skb.len <= this.limit;
    if (!fits) {
      this.stats.drops++;
      return false;
    }
    return this.q.queueTail(skb);
  }

  dequeue(): SkBuff | null {
    const skb = this.q.dequeue();
    if (skb !== null) {
      this.stats.packets++;
      this.stats.bytes += skb.len;
    }
    return skb;
  }

  requeue(skb: SkBuff): void {
    this.stats.packets--;
    this.stats.bytes -= skb.len;
    this.stats.requeues++;
    this.q.queueHead(skb);
  }

  reset(dispose: (skb: SkBuff) => void): number {
    return this.q.purge(dispose);
  }

  options(): Record<string, unknown> {
    return { limit: this.limit };
  }
}
