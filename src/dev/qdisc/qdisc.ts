// The queueing discipline contract between devQueueXmit and a driver, in the
// words `tc -s qdisc show` uses: `qlen` frames and `backlog` bytes waiting
// now; `stats` counts what was sent (bytes, packets), dropped, refused over
// a limit (overlimits) and put back after a busy driver (requeues).

import type { SkBuff } from '../../skb/skbuff.ts';

export interface QdiscStats {
  /** Frames and bytes that went through to the driver (tc's "Sent ... bytes ... pkt"). */
  packets: number;
  bytes: number;
  drops: number;
  requeues: number;
  overlimits: number;
}

export type QdiscKind = 'pfifo_fast' | 'pfifo' | 'bfifo' | 'noqueue';

export interface Qdisc {
  readonly kind: QdiscKind;
  /** tc's handle major ("0:" for the default qdisc, 8001: and up for those the user attached). */
  handle: number;
  /** Queue the frame; false means it was refused (the caller frees it as QDISC_DROP). */
  enqueue(skb: SkBuff): boolean;
  dequeue(): SkBuff | null;
  /** Put back at the head a frame the driver refused (NETDEV_TX_BUSY). */
  requeue(skb: SkBuff): void;
  /** Drop everything queued; `dispose` frees with a reason. */
  reset(dispose: (skb: SkBuff) => void): number;
  /** Frames waiting now. */
  readonly qlen: number;
  /** Bytes waiting now. */
  readonly backlog: number;
  readonly stats: QdiscStats;
  /** The kind's options as `tc -j qdisc show` prints them. */
  options(): Record<string, unknown>;
}

export function emptyQdiscStats(): QdiscStats {
  return { packets: 0, bytes: 0, drops: 0, requeues: 0, overlimits: 0 };
}
