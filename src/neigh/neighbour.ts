// The neighbour table (net/core/neighbour.c): which link-layer address a
// next hop has, learnt by a resolver (ARP for IPv4) and kept fresh by the
// kernel's NUD state machine on the stack's clock:
//
//   NONE -> INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE
//              |  (mcast_solicit probes, retrans_time apart)      | used
//              v                                                   v
//           FAILED <--no reply (ucast_solicit probes)-- PROBE <-- DELAY
//                                                       (delay_first_probe_time)
//
// Frames for an unresolved neighbour wait in a per-entry queue bounded by
// unres_qlen_bytes (the oldest is dropped as NEIGH_QUEUEFULL); when the
// entry fails they are dropped as NEIGH_FAILED and each one's sender is told
// (the resolver's errorReport: EHOSTUNREACH, as arp_error_report does).
// PERMANENT entries are the user's, NOARP ones need no resolution (lo,
// broadcast). gc follows gc_thresh1..3. The hot path never throws.

import type { Clock, TimerHandle } from '../clock.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { devQueueXmit } from '../dev/xmit.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { SkbQueue } from '../skb/queue.ts';

export const NUD = {
  NONE: 0x00,
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;
export const NUD_IN_TIMER = NUD.INCOMPLETE | NUD.REACHABLE | NUD.DELAY | NUD.PROBE;
export const NUD_VALID = NUD.PERMANENT | NUD.NOARP | NUD.REACHABLE | NUD.PROBE | NUD.STALE | NUD.DELAY;
export const NUD_CONNECTED = NUD.PERMANENT | NUD.NOARP | NUD.REACHABLE;

const NUD_NAMES: [number, string][] = [
  [NUD.INCOMPLETE, 'INCOMPLETE'], [NUD.REACHABLE, 'REACHABLE'], [NUD.STALE, 'STALE'], [NUD.DELAY, 'DELAY'],
  [NUD.PROBE, 'PROBE'], [NUD.FAILED, 'FAILED'], [NUD.NOARP, 'NOARP'], [NUD.PERMANENT, 'PERMANENT'],
];

/** `ip -j neigh` state words. */
export function nudNames(state: number): string[] {
  if (state === NUD.NONE) return ['NONE'];
  return NUD_NAMES.filter(([bit]) => (state & bit) !== 0).map(([, name]) => name);
}

/** NEIGH_UPDATE_F_*: who is updating and how much they may change. */
export const NEIGH_UPDATE = { OVERRIDE: 1, WEAK_OVERRIDE: 2, ADMIN: 0x80 } as const;

/** neigh_parms, read from sysctls each time so a change applies at once. */
export interface NeighParms {
  baseReachableMs: number;
  retransMs: number;
  delayFirstProbeMs: number;
  ucastProbes: number;
  mcastProbes: number;
  gcStaleMs: number;
  gcThresh1: number;
  gcThresh2: number;
  gcThresh3: number;
  unresQlenBytes: number;
}

/** What a resolver (ARP) provides: neigh_ops. */
export interface NeighResolver {
  /** Ethertype of the frames this table resolves for. */
  readonly protocol: number;
  /** Fill a new entry: NOARP for loopback/broadcast, else NONE (arp_constructor). */
  construct(n: Neighbour): void;
  /** Send one probe; `skb` is the frame that caused it, if any (arp_solicit). */
  solicit(n: Neighbour, skb: SkBuff | null): void;
  /** A queued frame will never go: tell its sender (arp_error_report). */
  errorReport(n: Neighbour, skb: SkBuff): void;
}

export interface NeighHost {
  readonly clock: Clock;
  parms(): NeighParms;
  /** neigh_update_notify: an entry appeared, changed state or address, or went. */
  notify?(n: Neighbour, action: 'new' | 'change' | 'del'): void;
}

export class Neighbour {
  state: number = NUD.NONE;
  /** Link-layer address (valid when state & NUD_VALID). */
  readonly ha = Buffer.alloc(6);
  readonly queue = new SkbQueue();
  queueBytes = 0;
  probes = 0;
  /** Times (ms) of the last confirmation, state change, use. */
  confirmed: number;
  updated: number;
  used: number;
  reachableMs: number;
  timer: TimerHandle | null = null;
  dead = false;

  constructor(
    readonly table: NeighTable,
    readonly dev: NetDevice,
    /** IPv4 address, unsigned 32-bit. */
    readonly key: number,
    now: number,
  ) {
    this.confirmed = now - 2 * table.parms().baseReachableMs;
    this.updated = now;
    this.used = now;
    this.reachableMs = table.randomReachable();
  }
}

export interface NeighStats {
  allocs: number;
  destroys: number;
  lookups: number;
  hits: number;
  resFailed: number;
  forcedGcRuns: number;
  tableFulls: number;
  unresolvedDiscards: number;
}

export class NeighTable {
  private readonly byDev = new Map<NetDevice, Map<number, Neighbour>>();
  entries = 0;
  readonly stats: NeighStats = {
    allocs: 0, destroys: 0, lookups: 0, hits: 0, resFailed: 0, forcedGcRuns: 0, tableFulls: 0, unresolvedDiscards: 0,
  };
  private lastFlush = -Infinity;
  private gcTimer: TimerHandle | null = null;
  resolver: NeighResolver | null = null;

  constructor(readonly host: NeighHost) {}

  parms(): NeighParms {
    return this.host.parms();
  }

  /** neigh_rand_reach_time: uniformly within [base/2, 3*base/2). */
  randomReachable(): number {
    const base = this.parms().baseReachableMs;
    return base / 2 + Math.random() * base;
  }

  lookup(dev: NetDevice, key: number): Neighbour | undefined {
    this.stats.lookups++;
    const n = this.byDev.get(dev)?.get(key);
    if (n !== undefined) this.stats.hits++;
    return n;
  }

  /** __neigh_create; null when the table is full even after a forced gc (gc_thresh3). */
  create(dev: NetDevice, key: number): Neighbour | null {
    const p = this.parms();
    const now = this.host.clock.now();
    if (this.entries >= p.gcThresh3 || (this.entries >= p.gcThresh2 && now > this.lastFlush + 5000)) {
      this.forcedGc();
      if (this.entries >= p.gcThresh3) {
        this.stats.tableFulls++;
        return null;
      }
    }
    const n = new Neighbour(this, dev, key, now);
    this.resolver?.construct(n);
    let m = this.byDev.get(dev);
    if (m === undefined) {
      m = new Map();
      this.byDev.set(dev, m);
    }
    m.set(key, n);
    this.entries++;
    this.stats.allocs++;
    this.armGc();
    return n;
  }

  lookupOrCreate(dev: NetDevice, key: number): Neighbour | null {
    return this.lookup(dev, key) ?? this.create(dev, key);
  }

  /** The entries of one device, a copy the caller may destroy from. */
  ofDev(dev: NetDevice): Neighbour[] {
    const m = this.byDev.get(dev);
    return m === undefined ? [] : [...m.values()];
  }

  all(): Neighbour[] {
    const out: Neighbour[] = [];
    for (const m of this.byDev.values()) for (const n of m.values()) out.push(n);
    return out;
  }

  /**
   * neigh_output / neigh_resolve_output: send `skb` (network header at data)
   * to this neighbour, resolving first when needed. Never throws; the frame
   * is sent, queued, or dropped and counted.
   */
  output(n: Neighbour, skb: SkBuff): void {
    // neigh_output: a connected entry sends at once (neigh_hh_output) without
    // reading the clock; `used` is stamped on the resolving path only
    // (neigh_event_send), so a REACHABLE entry in steady use expires to STALE
    // and the next frame starts DELAY, as in Linux. A clock read per frame was
    // 5 % of a forwarding router's CPU.
    if ((n.state & NUD_CONNECTED) !== 0) {
      this.xmit(n, skb);
      return;
    }
    n.used = this.host.clock.now();
    if (this.eventSend(n, skb)) this.xmit(n, skb);
  }

  private xmit(n: Neighbour, skb: SkBuff): void {
    const dev = n.dev;
    skb.dev = dev;
    const hh = dev.ops.hardHeader;
    if (hh !== undefined && skb.headroom() < dev.hardHeaderLen && !skb.cow(dev.hardHeaderLen)) {
      skb.drop('NOMEM');
      return;
    }
    if (hh !== undefined) hh(dev, skb, this.resolver?.protocol ?? 0x0800, n.ha, null);
    devQueueXmit(skb);
  }

  /**
   * __neigh_event_send: true when the frame may go now (with the address
   * the entry holds), false when it was queued or dropped.
   */
  private eventSend(n: Neighbour, skb: SkBuff): boolean {
    const st = n.state;
    if ((st & (NUD_CONNECTED | NUD.DELAY | NUD.PROBE)) !== 0) return true;
    const p = this.parms();
    const now = this.host.clock.now();
    if ((st & (NUD.STALE | NUD.INCOMPLETE)) === 0) {
      // NONE or FAILED: start resolving.
      if (p.mcastProbes + p.ucastProbes === 0) {
        this.setState(n, NUD.FAILED);
        n.updated = now;
        skb.drop('NEIGH_FAILED');
        return false;
      }
      n.probes = p.ucastProbes;
      this.setState(n, NUD.INCOMPLETE);
      n.updated = now;
      this.enqueue(n, skb);
      this.setTimer(n, Math.max(p.retransMs, 10));
      this.probe(n, skb);
      return false;
    }
    if ((st & NUD.STALE) !== 0) {
      this.setState(n, NUD.DELAY);
      n.updated = now;
      this.setTimer(n, p.delayFirstProbeMs);
      return true;
    }
    this.enqueue(n, skb);
    return false;
  }

  /** Queue behind resolution; over unres_qlen_bytes the oldest frames go first. */
  private enqueue(n: Neighbour, skb: SkBuff): void {
    const limit = this.parms().unresQlenBytes;
    while (n.queueBytes + skb.truesize > limit) {
      const old = n.queue.dequeue();
      if (old === null) break;
      n.queueBytes -= old.truesize;
      this.stats.unresolvedDiscards++;
      old.drop('NEIGH_QUEUEFULL');
    }
    if (n.queueBytes + skb.truesize > limit) {
      this.stats.unresolvedDiscards++;
      skb.drop('NEIGH_QUEUEFULL');
      return;
    }
    n.queue.queueTail(skb);
    n.queueBytes += skb.truesize;
  }

  private setState(n: Neighbour, state: number): void {
    const old = n.state;
    if (old === state) return;
    n.state = state;
    this.host.notify?.(n, old === NUD.NONE ? 'new' : 'change');
  }

  private probe(n: Neighbour, skb: SkBuff | null): void {
    n.probes++;
    this.resolver?.solicit(n, skb ?? n.queue.peekTail());
  }

  private setTimer(n: Neighbour, delayMs: number): void {
    n.timer?.cancel();
    n.timer = this.host.clock.setTimer(delayMs, () => {
      n.timer = null;
      this.timerHandler(n);
    });
  }

  private delTimer(n: Neighbour): void {
    n.timer?.cancel();
    n.timer = null;
  }

  /** neigh_timer_handler. */
  private timerHandler(n: Neighbour): void {
    if (n.dead) return;
    const p = this.parms();
    const now = this.host.clock.now();
    const st = n.state;
    let next = now + p.retransMs;
    if ((st & NUD_IN_TIMER) === 0) return;
    if ((st & NUD.REACHABLE) !== 0) {
      if (now <= n.confirmed + n.reachableMs) {
        next = n.confirmed + n.reachableMs;
      } else if (now <= n.used + p.delayFirstProbeMs) {
        this.setState(n, NUD.DELAY);
        n.updated = now;
        next = now + p.delayFirstProbeMs;
      } else {
        this.setState(n, NUD.STALE);
        n.updated = now;
        return;
      }
    } else if ((st & NUD.DELAY) !== 0) {
      if (now <= n.confirmed + p.delayFirstProbeMs) {
        this.setState(n, NUD.REACHABLE);
        n.updated = now;
        next = n.confirmed + n.reachableMs;
      } else {
        this.setState(n, NUD.PROBE);
        n.updated = now;
        n.probes = 0;
        next = now + p.retransMs;
      }
    }
    if ((n.state & (NUD.INCOMPLETE | NUD.PROBE)) !== 0 && n.probes >= this.maxProbes(n)) {
      this.setState(n, NUD.FAILED);
      n.updated = now;
      this.stats.resFailed++;
      this.invalidate(n);
      return;
    }
    if ((n.state & NUD_IN_TIMER) !== 0) this.setTimer(n, Math.max(next - now, 10));
    if ((n.state & (NUD.INCOMPLETE | NUD.PROBE)) !== 0) this.probe(n, null);
  }

  /** neigh_max_probes: broadcasts while INCOMPLETE, unicasts while PROBE. */
  private maxProbes(n: Neighbour): number {
    const p = this.parms();
    return p.ucastProbes + ((n.state & NUD.PROBE) !== 0 ? 0 : p.mcastProbes);
  }

  /** neigh_invalidate: every queued frame is dropped and its sender told. */
  private invalidate(n: Neighbour): void {
    for (let skb = n.queue.dequeue(); skb !== null; skb = n.queue.dequeue()) {
      n.queueBytes -= skb.truesize;
      this.resolver?.errorReport(n, skb);
      skb.drop('NEIGH_FAILED');
    }
    n.queueBytes = 0;
  }

  /**
   * neigh_update: a new state and maybe a new address, from the resolver
   * (a reply or request heard) or the administrator.
   */
  update(n: Neighbour, lladdr: Uint8Array | null, newState: number, flags: number): void {
    const old = n.state;
    const now = this.host.clock.now();
    if ((flags & NEIGH_UPDATE.ADMIN) === 0 && (old & (NUD.NOARP | NUD.PERMANENT)) !== 0) return;
    if (n.dead) return;
    if ((newState & NUD_VALID) === 0) {
      this.delTimer(n);
      this.setState(n, newState);
      n.updated = now;
      if ((old & (NUD.INCOMPLETE | NUD.PROBE)) !== 0 && (newState & NUD.FAILED) !== 0) this.invalidate(n);
      return;
    }
    let addr: Uint8Array;
    if (lladdr === null) {
      if ((old & NUD_VALID) === 0) return;
      addr = n.ha;
    } else addr = lladdr;
    const changed = !n.ha.equals(addr);
    if ((newState & NUD_CONNECTED) !== 0) n.confirmed = now;
    if ((old & NUD_VALID) !== 0) {
      if (changed && (flags & NEIGH_UPDATE.OVERRIDE) === 0) {
        if ((flags & NEIGH_UPDATE.WEAK_OVERRIDE) !== 0 && (old & NUD_CONNECTED) !== 0) {
          addr = n.ha;
          newState = NUD.STALE;
        } else return;
      } else if (!changed && newState === NUD.STALE && (flags & NEIGH_UPDATE.ADMIN) === 0) {
        newState = old;
      }
    }
    if (newState !== old || changed) n.updated = now;
    if (newState !== old) {
      this.delTimer(n);
      if ((newState & NUD.PROBE) !== 0) n.probes = 0;
      if ((newState & NUD_IN_TIMER) !== 0) {
        this.setTimer(n, (newState & NUD.REACHABLE) !== 0 ? n.reachableMs : 0);
      }
      this.setState(n, newState);
    }
    if (addr !== n.ha && changed) {
      n.ha.set(addr);
      if (newState === old) this.host.notify?.(n, 'change');
      if ((newState & NUD_CONNECTED) === 0) n.confirmed = now - 2 * this.parms().baseReachableMs;
    }
    if ((old & NUD_VALID) === 0 && (newState & NUD_VALID) !== 0) {
      // The address is known: send what waited for it, in order.
      for (let skb = n.queue.dequeue(); skb !== null; skb = n.queue.dequeue()) {
        n.queueBytes -= skb.truesize;
        this.xmit(n, skb);
      }
      n.queueBytes = 0;
    }
  }

  /** Remove an entry: its queue is dropped as NEIGH_DEAD. */
  destroy(n: Neighbour): void {
    if (n.dead) return;
    n.dead = true;
    this.delTimer(n);
    for (let skb = n.queue.dequeue(); skb !== null; skb = n.queue.dequeue()) skb.drop('NEIGH_DEAD');
    n.queueBytes = 0;
    const m = this.byDev.get(n.dev);
    if (m?.get(n.key) === n) {
      m.delete(n.key);
      if (m.size === 0) this.byDev.delete(n.dev);
      this.entries--;
      this.stats.destroys++;
      this.host.notify?.(n, 'del');
    }
  }

  /** neigh_ifdown / neigh_flush_dev: every entry of `dev` (permanent too unless skipPerm). */
  flushDev(dev: NetDevice, skipPerm = false): number {
    let n = 0;
    for (const e of this.ofDev(dev)) {
      if (skipPerm && (e.state & NUD.PERMANENT) !== 0) continue;
      this.destroy(e);
      n++;
    }
    return n;
  }

  /** neigh_forced_gc: drop entries nobody waits on, oldest state first. */
  forcedGc(): number {
    this.stats.forcedGcRuns++;
    this.lastFlush = this.host.clock.now();
    const p = this.parms();
    let removed = 0;
    const victims = this.all()
      .filter((n) => (n.state & (NUD.PERMANENT | NUD_IN_TIMER)) === 0 && n.queue.length === 0)
      .sort((a, b) => a.updated - b.updated);
    for (const n of victims) {
      if (this.entries < p.gcThresh2) break;
      this.destroy(n);
      removed++;
    }
    return removed;
  }

  /** neigh_periodic_work, armed only while the table holds more than gc_thresh1 entries. */
  private armGc(): void {
    if (this.gcTimer !== null || this.entries <= this.parms().gcThresh1) return;
    this.gcTimer = this.host.clock.setTimer(this.parms().baseReachableMs / 2, () => {
      this.gcTimer = null;
      const p = this.parms();
      const now = this.host.clock.now();
      if (this.entries > p.gcThresh1) {
        for (const n of this.all()) {
          if ((n.state & (NUD.PERMANENT | NUD_IN_TIMER)) !== 0 || n.queue.length > 0) continue;
          if ((n.state & NUD.FAILED) !== 0 || now - n.used > p.gcStaleMs) this.destroy(n);
        }
      }
      this.armGc();
    });
  }

  close(): void {
    this.gcTimer?.cancel();
    this.gcTimer = null;
    for (const n of this.all()) this.destroy(n);
  }
}
