// A wire that takes time: the transmit side of a driver with a link speed
// (ethtool's `speed`, Mbit/s) and a TX ring (ethtool -g `tx`). Each frame
// handed to the driver waits in the ring until the frames before it and
// itself have been clocked out at that speed on the stack's Clock; only then
// does the driver complete it (deliver to the peer, or free it), which is
// when its sender is credited. A full ring stops the device queue (the
// seed's tbusy) and a completion wakes it, so a slow link throttles its
// senders as a real NIC does (netif_stop_queue in ndo_start_xmit,
// netif_wake_queue in the TX-completion handler). Speed 0 means no wire
// time at all: the driver completes each frame at once.

import { NetError } from '../../errno.ts';
import type { TimerHandle } from '../../clock.ts';
import { SkbQueue } from '../../skb/queue.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import type { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type LinkSettings, type NetdevTx } from '../ops.ts';
import { netifStopQueue, netifWakeQueue } from '../xmit.ts';

/** A ring of 256 descriptors, a common default of NIC drivers (e1000's is 256). */
export const DEFAULT_TX_RING = 256;
export const MAX_SPEED_MBPS = 10_000_000;
/**
 * ethtool speaks whole Mbit/s; a lab wants slower links too, so fractions
 * are taken, down to 8 bit/s (one byte a second, tc's least rate), which
 * keeps every frame's wire time within a timer's reach.
 */
export const MIN_SPEED_MBPS = 8e-6;
export const MAX_TX_RING = 65536;

export function checkLinkSettings(s: Partial<LinkSettings>): void {
  const v = s.speedMbps;
  if (v !== undefined && !(v === 0 || (v >= MIN_SPEED_MBPS && v <= MAX_SPEED_MBPS))) {
    throw new NetError('EINVAL', `speed must be 0 (no wire time) or within ${MIN_SPEED_MBPS}..${MAX_SPEED_MBPS} Mbit/s`);
  }
  if (s.txRing !== undefined && !(Number.isInteger(s.txRing) && s.txRing >= 1 && s.txRing <= MAX_TX_RING)) {
    throw new NetError('EINVAL', `tx ring must be an integer within 1..${MAX_TX_RING}`);
  }
}

export class Wire {
  speedMbps = 0;
  txRing = DEFAULT_TX_RING;
  private readonly ring = new SkbQueue();
  /** Completion time of each frame in the ring, in ring order. */
  private doneAt: number[] = [];
  private head = 0;
  /** When the wire is free again. */
  private lastDone = 0;
  private timer: TimerHandle | null = null;

  constructor(
    readonly dev: NetDevice,
    /** The driver's completion: the frame has left the wire (deliver it, or free it). */
    private readonly complete: (dev: NetDevice, skb: SkBuff) => void,
  ) {}

  get inFlight(): number {
    return this.ring.length;
  }

  settings(): LinkSettings {
    return { speedMbps: this.speedMbps, txRing: this.txRing };
  }

  /** ethtool -s speed / -G tx: takes effect for frames handed over from now on. */
  set(s: Partial<LinkSettings>): void {
    checkLinkSettings(s);
    if (s.speedMbps !== undefined) this.speedMbps = s.speedMbps;
    if (s.txRing !== undefined) this.txRing = s.txRing;
    const dev = this.dev;
    if (this.ring.length < this.txRing && dev.queueStopped) netifWakeQueue(dev);
  }

  /** ndo_start_xmit through the ring. */
  xmit(dev: NetDevice, skb: SkBuff): NetdevTx {
    if (this.speedMbps === 0 && this.ring.length === 0) {
      this.complete(dev, skb);
      return NETDEV_TX_OK;
    }
    if (this.ring.length >= this.txRing) {
      netifStopQueue(dev);
      return NETDEV_TX_BUSY;
    }
    const clock = dev.core.clock;
    const start = Math.max(clock.now(), this.lastDone);
    // Serialization delay: len * 8 bits at speed Mbit/s is len * 8 / (speed * 1000) ms.
    this.lastDone = this.speedMbps === 0 ? start : start + (skb.len * 8) / (this.speedMbps * 1000);
    this.ring.queueTail(skb);
    this.doneAt.push(this.lastDone);
    if (this.ring.length >= this.txRing) netifStopQueue(dev);
    this.arm();
    return NETDEV_TX_OK;
  }

  private arm(): void {
    if (this.timer !== null || this.ring.length === 0) return;
    const clock = this.dev.core.clock;
    this.timer = clock.setTimer(Math.max(0, this.doneAt[this.head]! - clock.now()), this.onTimer);
  }

  /** The TX-completion interrupt: complete what has left the wire, wake the queue if it was full. */
  private readonly onTimer = (): void => {
    this.timer = null;
    const dev = this.dev;
    const now = dev.core.clock.now();
    while (this.ring.length > 0 && this.doneAt[this.head]! <= now) {
      const skb = this.ring.dequeue()!;
      this.head++;
      this.complete(dev, skb);
    }
    this.compact();
    if (dev.queueStopped && this.ring.length < this.txRing && dev.isUp()) netifWakeQueue(dev);
    this.arm();
  };

  private compact(): void {
    if (this.head > 1024 || this.ring.length === 0) {
      this.doneAt = this.doneAt.slice(this.head);
      this.head = 0;
    }
  }

  /** The device went down: what was still on the ring is dropped, its senders credited. */
  flush(): void {
    this.timer?.cancel();
    this.timer = null;
    this.ring.purge((skb) => skb.drop('QUEUE_PURGE'));
    this.doneAt = [];
    this.head = 0;
    this.lastDone = 0;
  }
}

/** What `ip -d link` shows of a wire (linkinfo.info_data): nothing until a speed is set. */
export function linkInfo(wire: Wire): Record<string, unknown> | undefined {
  return wire.speedMbps > 0 ? { speed_mbps: wire.speedMbps, tx_ring: wire.txRing } : undefined;
}
