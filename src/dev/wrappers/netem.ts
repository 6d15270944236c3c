// netem as a device wrapper: it sits in front of the driver's hard_start_xmit
// behind the same DeviceOps, and holds frames until their time to send, as
// tc's netem does: delay with jitter, loss, duplication, corruption,
// reordering, and a rate in bit/s that makes the seed's "slow interface".
// Frames it holds stay charged to their senders, so a slow link throttles
// them. Timers come from the stack's clock and never block; the random
// source is seeded, so a run can be repeated exactly.

import { NetError } from '../../errno.ts';
import type { TimerHandle } from '../../clock.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import type { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type DeviceOps, type NetdevTx } from '../ops.ts';
import { netifStopQueue, netifWakeQueue } from '../xmit.ts';

export interface NetemParams {
  delayMs: number;
  jitterMs: number;
  /** Percentages, 0..100, as tc writes them. */
  loss: number;
  duplicate: number;
  corrupt: number;
  reorder: number;
  /** Bits per second on the wire; 0 means unlimited. */
  rateBps: number;
  /** Frames netem may hold; beyond it the device queue stops (tc's limit, default 1000). */
  limit: number;
  seed: number;
}

export interface NetemStats {
  held: number;
  sent: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
}

export const NETEM_DEFAULTS: NetemParams = {
  delayMs: 0,
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  corrupt: 0,
  reorder: 0,
  rateBps: 0,
  limit: 1000,
  seed: 1,
};

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function checkNetemParams(p: NetemParams): void {
  const pct = ['loss', 'duplicate', 'corrupt', 'reorder'] as const;
  for (const k of pct) {
    if (!(p[k] >= 0 && p[k] <= 100)) throw new NetError('EINVAL', `netem ${k} must be a percentage within 0..100`);
  }
  if (!(p.delayMs >= 0 && p.delayMs <= 3_600_000)) throw new NetError('EINVAL', 'netem delay must be within 0..3600000 ms');
  if (!(p.jitterMs >= 0 && p.jitterMs <= 3_600_000)) throw new NetError('EINVAL', 'netem jitter must be within 0..3600000 ms');
  if (!(p.rateBps >= 0 && Number.isFinite(p.rateBps))) throw new NetError('EINVAL', 'netem rate must be >= 0 bit/s');
  if (!(Number.isInteger(p.limit) && p.limit >= 1 && p.limit <= 1_000_000)) {
    throw new NetError('EINVAL', 'netem limit must be an integer within 1..1000000');
  }
  if (!Number.isInteger(p.seed)) throw new NetError('EINVAL', 'netem seed must be an integer');
}

interface Held {
  at: number;
  seq: number;
  skb: SkBuff;
}

export class Netem {
  readonly stats: NetemStats = { held: 0, sent: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 };
  private readonly random: () => number;
  /** A binary min-heap on (at, seq): jitter can reorder, equal times keep FIFO. */
  private readonly heap: Held[] = [];
  private seq = 0;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  /** When the wire is free again under the rate limit. */
  private lastDeparture = 0;

  constructor(
    readonly dev: NetDevice,
    readonly inner: DeviceOps,
    readonly params: NetemParams,
  ) {
    this.random = seededRandom(params.seed);
  }

  get length(): number {
    return this.heap.length;
  }

  xmit(dev: NetDevice, skb: SkBuff): NetdevTx {
    const p = this.params;
    if (this.heap.length >= p.limit) {
      netifStopQueue(dev);
      return NETDEV_TX_BUSY;
    }
    if (p.loss > 0 && this.random() * 100 < p.loss) {
      this.stats.lost++;
      dev.core.kfreeSkb(skb, 'NETEM_LOSS');
      return NETDEV_TX_OK;
    }
    if (p.duplicate > 0 && this.random() * 100 < p.duplicate) {
      // The duplicate is a private copy owned by nobody, as netem's skb_clone + orphan.
      const dup = skb.copy();
      if (dup !== null) {
        this.stats.duplicated++;
        this.hold(dup);
      }
    }
    if (p.corrupt > 0 && this.random() * 100 < p.corrupt && skb.len > 0 && skb.cow(0)) {
      const i = skb.data + Math.floor(this.random() * skb.len);
      const buf = skb.writable();
      buf[i] = buf[i]! ^ (1 << Math.floor(this.random() * 8));
      this.stats.corrupted++;
    }
    this.hold(skb);
    if (this.heap.length >= p.limit) netifStopQueue(dev);
    return NETDEV_TX_OK;
  }

  private hold(skb: SkBuff): void {
    const p = this.params;
    const now = this.dev.core.clock.now();
    let at = now;
    if (p.rateBps > 0) {
      // Serialization: each frame occupies the wire for len*8/rate seconds.
      const start = Math.max(now, this.lastDeparture);
      this.lastDeparture = start + (skb.len * 8 * 1000) / p.rateBps;
      at = this.lastDeparture;
    }
    let delay = p.delayMs;
    if (p.jitterMs > 0) delay = Math.max(0, delay + (this.random() * 2 - 1) * p.jitterMs);
    if (p.reorder > 0 && delay > 0 && this.random() * 100 < p.reorder) {
      // tc's reorder: this frame skips the delay and overtakes those held.
      delay = 0;
      this.stats.reordered++;
    }
    at += delay;
    this.push({ at, seq: this.seq++, skb });
    this.stats.held = this.heap.length;
    this.arm();
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return;
    if (this.timer !== null && this.timerAt <= first.at) return;
    this.timer?.cancel();
    const clock = this.dev.core.clock;
    this.timerAt = first.at;
    this.timer = clock.setTimer(first.at - clock.now(), () => this.release());
  }

  /** Send every frame whose time has come, then re-arm for the next. */
  private release(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const dev = this.dev;
    const now = dev.core.clock.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const { skb } = this.pop();
      if (!dev.isUp()) {
        dev.core.kfreeSkb(skb, 'QUEUE_PURGE');
        continue;
      }
      if (this.inner.hardStartXmit(dev, skb) === NETDEV_TX_BUSY) {
        // The wire behind us is full: try again a little later.
        this.push({ at: now + 1, seq: this.seq++, skb });
        break;
      }
      this.stats.sent++;
    }
    this.stats.held = this.heap.length;
    if (this.heap.length < this.params.limit && dev.queueStopped) netifWakeQueue(dev);
    this.arm();
  }

  /** Free every held frame (device down, netem removed). */
  flush(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    while (this.heap.length > 0) this.dev.core.kfreeSkb(this.pop().skb, 'QUEUE_PURGE');
    this.stats.held = 0;
    this.lastDeparture = 0;
  }

  private push(h: Held): void {
    const a = this.heap;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  private pop(): Held {
    const a = this.heap;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Held, y: Held): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

const netems = new WeakMap<NetDevice, Netem>();

export function getNetem(dev: NetDevice): Netem | undefined {
  return netems.get(dev);
}

/** tc qdisc replace dev X root netem ...: wrap the device's transmit. */
export function attachNetem(dev: NetDevice, params: Partial<NetemParams>): Netem {
  const full: NetemParams = { ...NETEM_DEFAULTS, ...params };
  checkNetemParams(full);
  const old = netems.get(dev);
  const inner = old !== undefined ? old.inner : dev.ops;
  if (old !== undefined) old.flush();
  const netem = new Netem(dev, inner, full);
  dev.ops = {
    ...inner,
    hardStartXmit: (d, skb) => netem.xmit(d, skb),
    stop: (d) => {
      netem.flush();
      inner.stop?.(d);
    },
  };
  netems.set(dev, netem);
  // The old netem may have stopped the queue when it was full; it is empty now.
  if (dev.queueStopped) netifWakeQueue(dev);
  dev.core.notifier.emit('CHANGE', dev);
  return netem;
}

/** tc qdisc del dev X root: held frames are dropped, the driver is called directly again. */
export function detachNetem(dev: NetDevice): boolean {
  const netem = netems.get(dev);
  if (netem === undefined) return false;
  netem.flush();
  dev.ops = netem.inner;
  netems.delete(dev);
  if (dev.queueStopped) netifWakeQueue(dev);
  dev.core.notifier.emit('CHANGE', dev);
  return true;
}
