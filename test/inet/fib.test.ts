import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FibTable, prefixMask, type FibRoute } from '../../src/inet/fib.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';

const dev = { name: 'eth0', isUp: () => true } as unknown as NetDevice;

function route(dst: number, plen: number, metric = 0): FibRoute {
  return { dst: (dst & prefixMask(plen)) >>> 0, plen, type: 'unicast', gateway: 0, dev, metric, protocol: 'static', scope: 'link', prefsrc: 0 };
}

/** The answer by definition: of every route holding addr, the longest prefix, then the lowest metric, then the first added. */
function bruteForce(routes: FibRoute[], addr: number): FibRoute | null {
  let best: FibRoute | null = null;
  for (const r of routes) {
    if (((addr & prefixMask(r.plen)) >>> 0) !== r.dst) continue;
    if (best === null || r.plen > best.plen || (r.plen === best.plen && r.metric < best.metric)) best = r;
  }
  return best;
}

test('prefixMask covers 0..32', () => {
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(8), 0xff000000);
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(32), 0xffffffff);
});

test('longest prefix wins, then the lowest metric; removal falls back', () => {
  const t = new FibTable();
  const def = route(0, 0);
  const net = route(0xc0000200, 24, 100);
  const netBetter = route(0xc0000200, 24, 10);
  const host = route(0xc0000207, 32);
  for (const r of [def, net, netBetter, host]) t.insert(r);
  assert.equal(t.size, 4);
  assert.equal(t.lookup(0xc0000207), host);
  assert.equal(t.lookup(0xc0000208), netBetter);
  assert.equal(t.lookup(0x08080808), def);
  assert.equal(t.lookup(0xc0000208, (r) => r.metric !== 10), net, 'an unusable route is skipped for the next one');
  assert.ok(t.remove(netBetter));
  assert.equal(t.lookup(0xc0000208), net);
  assert.ok(t.remove(net));
  assert.equal(t.lookup(0xc0000208), def);
  assert.equal(t.remove(net), false, 'a second removal finds nothing');
  assert.deepEqual(t.all(), [def, host], 'ip route order: by address then length');
  t.clear();
  assert.equal(t.lookup(0xc0000207), null);
});

test('property: lookup equals a brute-force longest match over random tables', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ dst: fc.nat({ max: 0xffffffff }), plen: fc.integer({ min: 0, max: 32 }), metric: fc.integer({ min: 0, max: 3 }) }), { maxLength: 60 }),
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (specs, addrs, removals) => {
        const t = new FibTable();
        let routes = specs.map((s) => route(s.dst, s.plen, s.metric));
        for (const r of routes) t.insert(r);
        for (const k of removals) {
          if (routes.length === 0) break;
          const r = routes[k % routes.length]!;
          t.remove(r);
          routes = routes.filter((x) => x !== r);
        }
        // Probe the random addresses and every route's own network, where matches are sure.
        for (const a of [...addrs, ...routes.map((r) => r.dst)]) {
          const got = t.lookup(a);
          const want = bruteForce(routes, a);
          assert.equal(got?.plen, want?.plen);
          assert.equal(got?.dst, want?.dst);
          assert.equal(got?.metric, want?.metric);
        }
        assert.equal(t.size, routes.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('100,000 routes: every one is found, and a miss falls to the default', () => {
  const t = new FibTable();
  t.insert(route(0, 0));
  for (let i = 0; i < 100_000; i++) t.insert(route((0x0a000000 + i * 256) >>> 0, 24));
  assert.equal(t.size, 100_001);
  for (let i = 0; i < 100_000; i += 997) assert.equal(t.lookup((0x0a000000 + i * 256 + 5) >>> 0)?.plen, 24);
  assert.equal(t.lookup(0xcb007101)?.plen, 0);
});
