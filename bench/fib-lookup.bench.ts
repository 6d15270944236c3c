// fib-lookup-100k: route lookups per second in a FIB of 100,000 routes of
// mixed prefix lengths (plus a default), against a sorted-array longest
// match (one sorted array per prefix length, binary search from the longest
// length down) over the same routes and the same addresses, in the same run.
// Table contents only: no traffic is sent anywhere.
//
//   node --import tsx bench/fib-lookup.bench.ts

import { FibTable, prefixMask, type FibRoute } from '../src/inet/fib.ts';
import type { NetDevice } from '../src/dev/netdevice.ts';
import { benchResult, emitResults, fmt, log, measure, envNumber } from './lib.ts';

const N = envNumber('FIB_BENCH_ROUTES', 100_000);
const dev = { name: 'eth0', isUp: () => true } as unknown as NetDevice;

let seed = 12345;
const rand = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed;
};

const routes: FibRoute[] = [];
const seen = new Set<string>();
while (routes.length < N) {
  const plen = 8 + (rand() % 25);
  const dst = (rand() & prefixMask(plen)) >>> 0;
  const key = `${dst}/${plen}`;
  if (seen.has(key)) continue;
  seen.add(key);
  routes.push({ dst, plen, type: 'unicast', gateway: 0, dev, metric: 0, protocol: 'static', scope: 'link', prefsrc: 0 });
}
routes.push({ dst: 0, plen: 0, type: 'unicast', gateway: 0, dev, metric: 0, protocol: 'static', scope: 'link', prefsrc: 0 });

const fib = new FibTable();
for (const r of routes) fib.insert(r);

/** The baseline: per prefix length a sorted array of networks, binary searched, longest length first. */
const byLen: { plen: number; mask: number; keys: Uint32Array; routes: FibRoute[] }[] = [];
for (let plen = 32; plen >= 0; plen--) {
  const rs = routes.filter((r) => r.plen === plen).sort((a, b) => a.dst - b.dst);
  if (rs.length === 0) continue;
  byLen.push({ plen, mask: prefixMask(plen), keys: Uint32Array.from(rs.map((r) => r.dst)), routes: rs });
}
function sortedLookup(addr: number): FibRoute | null {
  for (const l of byLen) {
    const k = (addr & l.mask) >>> 0;
    let lo = 0;
    let hi = l.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = l.keys[mid]!;
      if (v === k) return l.routes[mid]!;
      if (v < k) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  return null;
}

// Half the probes inside known networks, half random.
const probes = new Uint32Array(1 << 16);
for (let i = 0; i < probes.length; i++) {
  probes[i] = i & 1 ? rand() : (routes[rand() % N]!.dst | (rand() & ~prefixMask(routes[rand() % N]!.plen))) >>> 0;
}
for (let i = 0; i < 2000; i++) {
  if (fib.lookup(probes[i]!) !== sortedLookup(probes[i]!)) throw new Error(`the two lookups disagree on probe ${i}`);
}

const BATCH = 4096;
let pi = 0;
let sink = 0;
const ours = await measure(() => {
  for (let i = 0; i < BATCH; i++) sink += fib.lookup(probes[pi++ & 0xffff]!)?.plen ?? 0;
  return BATCH;
});
const base = await measure(() => {
  for (let i = 0; i < BATCH; i++) sink += sortedLookup(probes[pi++ & 0xffff]!)?.plen ?? 0;
  return BATCH;
});
log(`fib-lookup: per-length hash maps ${fmt(ours.median)}/s, sorted arrays ${fmt(base.median)}/s (${sink & 1})`);
emitResults([
  benchResult({
    bench: `fib-lookup-${Math.round(N / 1000)}k`,
    value: ours.median,
    unit: 'lookups/s',
    baseline: { name: 'sorted arrays per prefix length, binary search', value: base.median },
    extra: { routes: N + 1, lengths: byLen.length },
  }),
]);
