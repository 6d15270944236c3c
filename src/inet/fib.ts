// The forwarding information base: routes by prefix, longest match first,
// lowest metric among equals. One hash map per prefix length present, probed
// from the longest length down: at most 33 probes, each O(1), whatever the
// number of routes (100,000 routes cost one Map entry each). Linux uses an
// LC-trie (net/ipv4/fib_trie.c) for the same answer; the per-length maps are
// simpler and as fast at these sizes (bench/fib-lookup.bench.ts).
//
// Two tables as in Linux: `local` (our addresses and broadcasts, consulted
// first, not shown by `ip route`) and `main`.
//
// Each table also keeps its routes by device and by preferred source, as
// Linux finds a device's nexthops (fib_info_devhash, walked by
// fib_sync_down_dev) and an address's routes (fib_info_laddrhash, walked by
// fib_sync_down_addr) without a pass over the table: deleting a device or an
// address costs the routes it has, not every route of every device (10,000
// addressed devices deleted one by one were 10,000 such passes).

import type { NetDevice } from '../dev/netdevice.ts';

export type RouteType = 'unicast' | 'local' | 'broadcast';
export type RouteScope = 'global' | 'link' | 'host';

export interface FibRoute {
  /** Network address, host bits clear. */
  dst: number;
  plen: number;
  type: RouteType;
  /** Next hop, 0 for a directly connected destination. */
  gateway: number;
  dev: NetDevice;
  metric: number;
  protocol: 'kernel' | 'static';
  scope: RouteScope;
  /** Preferred source address, 0 when none was given. */
  prefsrc: number;
}

/** The netmask of a prefix length (0..32) as an unsigned 32-bit number. */
export function prefixMask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/**
 * The key of a network within its length's map: the network number alone
 * (dst >>> (32 - plen)), which stays below 2^30 for lengths up to 30, so V8
 * keeps it a small integer and hashes it without boxing a double.
 */
function netKey(addr: number, plen: number): number {
  return plen === 0 ? 0 : addr >>> (32 - plen);
}

export class FibTable {
  private readonly byLen: (Map<number, FibRoute[]> | undefined)[] = new Array(33);
  /** Prefix lengths that hold at least one route, longest first. */
  private lens: number[] = [];
  /** Routes by device (fib_info_devhash); a device with none has no entry. */
  private readonly byDev = new Map<NetDevice, Set<FibRoute>>();
  /** Routes by preferred source, those with one (fib_info_laddrhash). */
  private readonly byPrefsrc = new Map<number, Set<FibRoute>>();
  size = 0;
  /**
   * Bumped by every insert and remove (fib_table's part of rt_genid): a
   * route cached from a lookup is valid while the number is the same.
   */
  gen = 0;

  /** Routes for exactly this prefix, lowest metric first. */
  find(dst: number, plen: number): readonly FibRoute[] | undefined {
    return this.byLen[plen]?.get(netKey(dst, plen));
  }

  insert(r: FibRoute): void {
    let m = this.byLen[r.plen];
    if (m === undefined) {
      m = new Map();
      this.byLen[r.plen] = m;
      this.lens.push(r.plen);
      this.lens.sort((a, b) => b - a);
    }
    const key = netKey(r.dst, r.plen);
    const list = m.get(key);
    if (list === undefined) m.set(key, [r]);
    else {
      let i = 0;
      while (i < list.length && list[i]!.metric <= r.metric) i++;
      list.splice(i, 0, r);
    }
    addTo(this.byDev, r.dev, r);
    if (r.prefsrc !== 0) addTo(this.byPrefsrc, r.prefsrc, r);
    this.size++;
    this.gen++;
  }

  remove(r: FibRoute): boolean {
    const m = this.byLen[r.plen];
    const key = netKey(r.dst, r.plen);
    const list = m?.get(key);
    if (m === undefined || list === undefined) return false;
    const i = list.indexOf(r);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) {
      m.delete(key);
      if (m.size === 0) {
        this.byLen[r.plen] = undefined;
        this.lens = this.lens.filter((l) => l !== r.plen);
      }
    }
    deleteFrom(this.byDev, r.dev, r);
    if (r.prefsrc !== 0) deleteFrom(this.byPrefsrc, r.prefsrc, r);
    this.size--;
    this.gen++;
    return true;
  }

  /** Remove every route `pred` picks, a pass over the whole table; returns them in `ip route` order. */
  removeWhere(pred: (r: FibRoute) => boolean): FibRoute[] {
    return this.removeFrom(this.all(), pred);
  }

  /** fib_sync_down_dev: remove the routes through `dev` that `pred` picks (all by default), in `ip route` order. */
  removeDev(dev: NetDevice, pred?: (r: FibRoute) => boolean): FibRoute[] {
    return this.removeFrom(this.ofDev(dev), pred);
  }

  /** fib_sync_down_addr: remove the routes whose preferred source is `prefsrc` and that `pred` picks, in `ip route` order. */
  removePrefsrc(prefsrc: number, pred?: (r: FibRoute) => boolean): FibRoute[] {
    return this.removeFrom(inOrder(this.byPrefsrc.get(prefsrc)), pred);
  }

  /** The routes through `dev`, in `ip route` order: what the device has, whatever the table holds. */
  ofDev(dev: NetDevice): FibRoute[] {
    return inOrder(this.byDev.get(dev));
  }

  private removeFrom(candidates: FibRoute[], pred: ((r: FibRoute) => boolean) | undefined): FibRoute[] {
    const gone = pred === undefined ? candidates : candidates.filter(pred);
    for (const r of gone) this.remove(r);
    return gone;
  }

  /** fib_table_lookup: the longest prefix holding `addr`, lowest metric first, that `usable` accepts. */
  lookup(addr: number, usable?: (r: FibRoute) => boolean): FibRoute | null {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const plen = lens[i]!;
      const list = this.byLen[plen]!.get(plen === 0 ? 0 : addr >>> (32 - plen));
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const r = list[j]!;
        if (usable === undefined || usable(r)) return r;
      }
    }
    return null;
  }

  /** Every route in `ip route` order: by address, then prefix length, then metric. */
  all(): FibRoute[] {
    const out: FibRoute[] = [];
    for (const m of this.byLen) if (m !== undefined) for (const list of m.values()) out.push(...list);
    return out.sort(ipRouteOrder);
  }

  clear(): void {
    this.byLen.fill(undefined);
    this.lens = [];
    this.byDev.clear();
    this.byPrefsrc.clear();
    this.size = 0;
    this.gen++;
  }
}

/** `ip route` order: by address, then prefix length, then metric. */
function ipRouteOrder(a: FibRoute, b: FibRoute): number {
  return a.dst - b.dst || a.plen - b.plen || a.metric - b.metric;
}

function inOrder(set: Set<FibRoute> | undefined): FibRoute[] {
  return set === undefined ? [] : [...set].sort(ipRouteOrder);
}

function addTo<K>(index: Map<K, Set<FibRoute>>, key: K, r: FibRoute): void {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([r]));
  else set.add(r);
}

/** Drop the key with its last route, so a deleted device leaves nothing behind. */
function deleteFrom<K>(index: Map<K, Set<FibRoute>>, key: K, r: FibRoute): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(r);
  if (set.size === 0) index.delete(key);
}
