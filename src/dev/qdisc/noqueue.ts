// noqueue: no queue at all. Frames go straight to the driver; a busy driver
// means the frame is dropped ("Virtual device was busy"), as for loopback,
// dummy and any device with tx_queue_len 0.

import type { SkBuff } from '../../skb/skbuff.ts';
import { emptyQdiscStats, type Qdisc } from './qdisc.ts';

export class NoQueue implements Qdisc {
  readonly kind = 'noqueue';
  readonly stats = emptyQdiscStats();
  readonly length = 0;
  readonly bytes = 0;

  enqueue(_skb: SkBuff): boolean {
    return false;
  }

  dequeue(): SkBuff | null {
    return null;
  }

  requeue(_skb: SkBuff): void {
    throw new Error('noqueue cannot requeue');
  }

  reset(): number {
    return 0;
  }
}
