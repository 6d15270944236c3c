// noqueue: no queue at all. Frames go straight to the driver; a busy driver
// means the frame is dropped ("Virtual device was busy"), as for loopback,
// dummy, veth (IFF_NO_QUEUE) and any device with tx_queue_len 0.

import type { SkBuff } from '../../skb/skbuff.ts';
import { emptyQdiscStats, type Qdisc } from './qdisc.ts';

export class NoQueue implements Qdisc {
  readonly kind = 'noqueue';
  handle = 0;
  readonly stats = emptyQdiscStats();
  readonly qlen = 0;
  readonly backlog = 0;

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

  options(): Record<string, unknown> {
    return {};
  }
}
