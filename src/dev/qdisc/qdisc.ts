// The queueing discipline contract between devQueueXmit and a driver.

import type { SkBuff } from '../../skb/skbuff.ts';

export interface QdiscStats {
  /** Frames and bytes that went through (dequeued to the driver). */
  packets: number;
  bytes: number;
  drops: number;
  requeues: number;
  overlimits: number;
}

export interface Qdisc {
  readonly kind: string;
  /** Queue the frame; false means it was refused (the caller frees it as QDISC_DROP). */
  enqueue(skb: SkBuff): boolean;
  dequeue(): SkBuff | null;
  /** Put back at the head a frame the driver refused (NETDEV_TX_BUSY). */
  requeue(skb: SkBuff): void;
  /** Drop everything queued; `dispose` frees with a reason. */
  reset(dispose: (skb: SkBuff) => void): number;
  readonly length: number;
  readonly bytes: number;
  readonly stats: QdiscStats;
}

export function emptyQdiscStats(): QdiscStats {
  return { packets: 0, bytes: 0, drops: 0, requeues: 0, overlimits: 0 };
}
