// netem as middleware over a device: a Netem owns the driver's method table
// (`lower`) and puts its own in front of it (`ops`), the way smoltcp's
// middleware devices own the device they wrap. It holds frames until their
// time to send, as tc's netem does: delay with jitter, loss, duplication,
// corruption, reordering, and a rate in bit/s. As in Linux, a netem that
// delays or paces orphans each frame at enqueue (skb_orphan_partial): the
// sender is credited at once, so netem never throttles a sender; past its
// limit it drops (qdisc_drop). A link that throttles its senders is a driver
// that frees a buffer only when it has left the wire: veth and dummy with a
// `speed` (drivers/wire.ts). Timers come from the stack's clock and never
// block; the random source is seeded, so a run can be repeated exactly.

import { NetError } from '../../errno.ts';
import { seededRandom } from '../../random.ts';
import type { TimerHandle } from '../../clock.ts';
import { CHECKSUM_NONE, type SkBuff } from '../../skb/skbuff.ts';
import type { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type DeviceOps, type NetdevTx } from '../ops.ts';

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
  /** Frames netem may hold; beyond it a frame is dropped as qdisc_drop (tc's limit, default 1000). */
  limit: number;
  seed: number;
}

export interface NetemStats {
  held: number;
  sent: number;
  /** Frames refused because netem already held `limit` (qdisc_drop, counted as an overlimit too). */
  dropped: number;
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

/** The smallest rate tc can express: 1 byte per second. */
export const NETEM_MIN_RATE_BPS = 8;
/** 2^64 - 1 bytes/s would do for tc; 1 Tbit/s is more than any frame here needs. */
export const NETEM_MAX_RATE_BPS = 1e12;

export function checkNetemParams(p: NetemParams): void {
  const pct = ['loss', 'duplicate', 'corrupt', 'reorder'] as const;
  for (const k of pct) {
    if (!(p[k] >= 0 && p[k] <= 100)) throw new NetError('EINVAL', `netem ${k} must be a percentage within 0..100`);
  }
  if (!(p.delayMs >= 0 && p.delayMs <= 3_600_000)) throw new NetError('EINVAL', 'netem delay must be within 0..3600000 ms');
  if (!(p.jitterMs >= 0 && p.jitterMs <= 3_600_000)) throw new NetError('EINVAL', 'netem jitter must be within 0..3600000 ms');
  // tc keeps the rate in bytes per second in a u64 (tc_netem_rate, rate64):
  // a rate below 8 bit/s is 0 bytes/s, which tc reads as no rate at all and
  // iproute2 refuses to parse. Refusing it here keeps every timer bounded.
  if (!(p.rateBps === 0 || (p.rateBps >= NETEM_MIN_RATE_BPS && p.rateBps <= NETEM_MAX_RATE_BPS))) {
    throw new NetError('EINVAL', `netem rate must be 0 (unlimited) or within ${NETEM_MIN_RATE_BPS}..${NETEM_MAX_RATE_BPS} bit/s`);
  }
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

/** The method table netem installs: the driver's own, with transmit and stop going through netem. */
export interface NetemOps extends DeviceOps {
  readonly netem: Netem;
}

export class Netem {
  readonly stats: NetemStats = { held: 0, sent: 0, dropped: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 };
  /** What the device calls while netem is attached. */
  readonly ops: NetemOps;
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
    /** The driver's methods, called for everything netem does not intercept. */
    readonly lower: DeviceOps,
    readonly params: NetemParams,
  ) {
    this.random = seededRandom(params.seed);
    this.ops = {
      ...lower,
      hardStartXmit: (d, skb) => this.xmit(d, skb),
      stop: (d) => {
        this.flush();
        lower.stop?.(d);
      },
      netem: this,
    };
  }

  get length(): number {
    return this.heap.length;
  }

  xmit(dev: NetDevice, skb: SkBuff): NetdevTx {
    const p = this.params;
    if (this.heap.length >= p.limit) {
      // netem_enqueue: qdisc_qstats_overlimit, then qdisc_drop_all.
      this.stats.dropped++;
      dev.stats.txDropped++;
      skb.drop('QDISC_DROP');
      return NETDEV_TX_OK;
    }
    if (p.loss > 0 && this.random() * 100 < p.loss) {
      this.stats.lost++;
      skb.drop('NETEM_LOSS');
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
      // netem_enqueue's skb_checksum_help: the checksum in the bytes is now the only word on them.
      skb.ipSummed = CHECKSUM_NONE;
      this.stats.corrupted++;
    }
    // skb_orphan_partial: a frame netem will hold for a while no longer
    // counts against its sender's buffer (netem_enqueue).
    if (p.delayMs > 0 || p.jitterMs > 0 || p.rateBps > 0) skb.orphan();
    this.hold(skb);
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
        skb.drop('QUEUE_PURGE');
        continue;
      }
      if (this.lower.hardStartXmit(dev, skb) === NETDEV_TX_BUSY) {
        // The driver's TX ring is full: try again a little later.
        this.push({ at: now + 1, seq: this.seq++, skb });
        break;
      }
      this.stats.sent++;
    }
    this.stats.held = this.heap.length;
    this.arm();
  }

  /** Free every held frame (device down, netem removed). */
  flush(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    while (this.heap.length > 0) this.pop().skb.drop('QUEUE_PURGE');
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

/** The netem on this device, if any: the middleware is the device's method table. */
export function getNetem(dev: NetDevice): Netem | undefined {
  return (dev.ops as Partial<NetemOps>).netem;
}

/** tc qdisc replace dev X root netem ...: put a netem over the device's driver. */
export function attachNetem(dev: NetDevice, params: Partial<NetemParams>): Netem {
  const full: NetemParams = { ...NETEM_DEFAULTS, ...params };
  checkNetemParams(full);
  const old = getNetem(dev);
  const lower = old !== undefined ? old.lower : dev.ops;
  if (old !== undefined) old.flush();
  const netem = new Netem(dev, lower, full);
  dev.ops = netem.ops;
  dev.core.notifier.emit('CHANGE', dev);
  return netem;
}

/** tc qdisc del dev X root: held frames are dropped, the driver is called directly again. */
export function detachNetem(dev: NetDevice): boolean {
  const netem = getNetem(dev);
  if (netem === undefined) return false;
  netem.flush();
  dev.ops = netem.lower;
  dev.core.notifier.emit('CHANGE', dev);
  return true;
}
