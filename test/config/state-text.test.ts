// The state file kept one device at a time (src/config/state-text.ts): after
// any sequence of changes its text is the full snapshot's, byte for byte, and
// a change serializes again what it concerns, whatever the number of devices
// (counted, never timed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { NetStack, createDevice, deleteDevice, setLink, type DeviceSpec, type LinkChanges } from '../../src/stack/index.ts';
import { attachInet, inetInternals } from '../../src/inet/control.ts';
import type { InetStack } from '../../src/inet/inet.ts';
import { snapshotStack } from '../../src/config/snapshot.ts';
import { parseState } from '../../src/config/load.ts';
import { memorySaver } from '../helpers/memory-saver.ts';

const NAMES = ['n0', 'n1', 'n2', 'n3', 'br0'] as const;
const ADDRS = ['192.0.2.1', '192.0.2.2', '198.51.100.1', '198.51.100.9', '203.0.113.5'] as const;

type Op =
  | { op: 'create'; spec: DeviceSpec }
  | { op: 'delete'; name: string }
  | { op: 'link'; name: string; changes: LinkChanges }
  | { op: 'addrAdd'; name: string; cidr: string; label?: string }
  | { op: 'addrDel'; name: string; addr: string }
  | { op: 'routeAdd'; dst: string; dev?: string; gateway?: string; metric?: number }
  | { op: 'routeDel'; dst: string }
  | { op: 'neighAdd'; dst: string; dev: string; mac: string }
  | { op: 'neighDel'; dst: string; dev: string }
  | { op: 'neighFlush'; dev: string }
  | { op: 'learn'; dst: string; dev: string }
  | { op: 'sysctl'; name: string; value: number }
  | { op: 'udp'; bind: string }
  | { op: 'udpClose' };

const name = fc.constantFrom(...NAMES);
const addr = fc.constantFrom(...ADDRS);
const mac = fc.constantFrom('02:00:00:00:00:01', '02:00:00:00:00:02', '0a:bc:de:f0:12:34');

const linkFields = {
  up: fc.boolean(),
  mtu: fc.integer({ min: 1280, max: 1500 }),
  address: mac,
  promisc: fc.boolean(),
  allmulti: fc.boolean(),
  txqlen: fc.integer({ min: 0, max: 2000 }),
  name,
  netem: fc.option(fc.record({ delayMs: fc.integer({ min: 0, max: 50 }), loss: fc.integer({ min: 0, max: 10 }) }), { nil: null }),
  multicast: fc.constant({ add: ['01:00:5e:00:00:fb'] as string[] }),
  speed_mbps: fc.constantFrom(0, 10, 1000),
  tx_ring: fc.constantFrom(64, 256),
  master: fc.option(fc.constant('br0'), { nil: null }),
};
const linkChanges: fc.Arbitrary<LinkChanges> = fc.record(linkFields, { requiredKeys: [] });
/** One setting alone, so that no other change hides a missing event. */
const oneLinkChange: fc.Arbitrary<LinkChanges> = fc.oneof(
  ...Object.entries(linkFields).map(([k, arb]) => (arb as fc.Arbitrary<unknown>).map((v) => ({ [k]: v }) as LinkChanges)),
);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('create' as const),
      spec: fc.oneof(
        fc.record({ kind: fc.constant('dummy' as const), name, up: fc.boolean() }),
        fc.record({ kind: fc.constant('veth' as const), name, peer: name, up: fc.boolean() }),
        fc.record({ kind: fc.constant('vlan' as const), name, link: name, id: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ kind: fc.constant('bridge' as const), name: fc.constant('br0'), up: fc.boolean() }),
      ) as fc.Arbitrary<DeviceSpec>,
    }),
  },
  fc.record({ op: fc.constant('delete' as const), name }),
  fc.record({ op: fc.constant('link' as const), name, changes: linkChanges }),
  fc.record({ op: fc.constant('link' as const), name, changes: linkChanges }),
  { weight: 4, arbitrary: fc.record({ op: fc.constant('link' as const), name, changes: oneLinkChange }) },
  fc.record({ op: fc.constant('addrAdd' as const), name, cidr: fc.tuple(addr, fc.constantFrom(24, 32)).map(([a, l]) => `${a}/${l}`), label: fc.option(fc.constant(':1'), { nil: undefined }) }),
  fc.record({ op: fc.constant('addrDel' as const), name, addr }),
  fc.record({
    op: fc.constant('routeAdd' as const),
    dst: fc.constantFrom('default', '203.0.113.128/25', '192.0.2.128/25'),
    dev: fc.option(name, { nil: undefined }),
    gateway: fc.option(addr, { nil: undefined }),
    metric: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  }),
  fc.record({ op: fc.constant('routeDel' as const), dst: fc.constantFrom('default', '203.0.113.128/25', '192.0.2.128/25') }),
  fc.record({ op: fc.constant('neighAdd' as const), dst: addr, dev: name, mac }),
  fc.record({ op: fc.constant('neighDel' as const), dst: addr, dev: name }),
  fc.record({ op: fc.constant('neighFlush' as const), dev: name }),
  fc.record({ op: fc.constant('learn' as const), dst: addr, dev: name }),
  fc.record({ op: fc.constant('sysctl' as const), name: fc.constantFrom('net.ipv4.ip_forward', 'net.core.rmem_default'), value: fc.constantFrom(0, 1, 65536) }),
  fc.record({ op: fc.constant('udp' as const), bind: fc.tuple(fc.constantFrom('0.0.0.0', ...ADDRS), fc.constantFrom(7, 9)).map(([a, p]) => `${a}:${p}`) }),
  fc.record({ op: fc.constant('udpClose' as const) }),
);

async function apply(stack: NetStack, inet: InetStack, o: Op): Promise<void> {
  switch (o.op) {
    case 'create':
      await createDevice(stack, o.spec);
      return;
    case 'delete':
      deleteDevice(stack, o.name);
      return;
    case 'link':
      setLink(stack, o.name, o.changes);
      return;
    case 'addrAdd':
      inet.addrAdd(o.name, o.cidr, o.label === undefined ? {} : { label: `${o.name}${o.label}` });
      return;
    case 'addrDel':
      inet.addrDel(o.name, o.addr);
      return;
    case 'routeAdd': {
      const r: { dst: string; dev?: string; gateway?: string; metric?: number } = { dst: o.dst };
      if (o.dev !== undefined) r.dev = o.dev;
      if (o.gateway !== undefined) r.gateway = o.gateway;
      if (o.metric !== undefined) r.metric = o.metric;
      inet.routeAdd(r);
      return;
    }
    case 'routeDel':
      inet.routeDel({ dst: o.dst });
      return;
    case 'neighAdd':
      inet.neighAdd({ dst: o.dst, dev: o.dev, lladdr: o.mac });
      return;
    case 'neighDel':
      inet.neighDel({ dst: o.dst, dev: o.dev });
      return;
    case 'neighFlush':
      inet.neighFlush(o.dev);
      return;
    case 'learn': {
      // A neighbour learnt, not configured: in no state file.
      const dev = stack.devices.get(o.dev);
      const key = ADDRS.indexOf(o.dst as (typeof ADDRS)[number]) + 0xc0000201;
      if (dev !== undefined) inet.neigh.lookupOrCreate(dev, key);
      return;
    }
    case 'sysctl':
      stack.sysctl.set({ [o.name]: o.value });
      return;
    case 'udp':
      inet.udpOpen({ bind: o.bind, service: 'echo' });
      return;
    case 'udpClose':
      inet.udpSockets()[0]?.close();
      return;
  }
}

/** The text the saver wrote and the full snapshot's, with saved_at set aside. */
function sameButTime(kept: string, full: string): void {
  const strip = (t: string): string => t.replace(/"saved_at": "[^"]*"/, '"saved_at": ""');
  assert.equal(strip(kept), strip(full));
}

test('after any sequence of changes, the text kept per device is the full snapshot, byte for byte', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
      const stack = new NetStack({ clock: new VirtualClock() });
      attachInet(stack);
      const inet = inetInternals(stack)!;
      const { saver, written } = memorySaver(stack);
      try {
        await saver.start();
        for (const o of ops) {
          try {
            await apply(stack, inet, o);
          } catch (err) {
            if (!(err instanceof NetError)) throw err;
          }
          // Service sockets have no event: the HTTP routes that open and close them mark the state (app.ts onChange).
          // Everything else must be heard by the saver on its own.
          if (o.op === 'udp' || o.op === 'udpClose') saver.changed();
          await saver.flush();
          sameButTime(written(), `${JSON.stringify(snapshotStack(stack).state, null, 2)}\n`);
        }
        // And what was written loads back.
        parseState(written(), 'state.json');
      } finally {
        await saver.stop();
        stack.close();
      }
    }),
    { numRuns: 60 },
  );
});

/**
 * Device shares serialized per write among `count` devices (each a dummy, up,
 * with an address and a permanent neighbour): rounds of creating one more,
 * changing an earlier one and deleting one, each change written before the
 * next, as a client waiting for each 2xx has it.
 */
async function piecesPerChange(count: number): Promise<number> {
  const stack = new NetStack({ clock: new VirtualClock(), limits: { maxDevices: count + 100 } });
  attachInet(stack);
  const inet = inetInternals(stack)!;
  stack.sysctl.set({ 'net.ipv4.neigh.default.gc_thresh2': count + 100, 'net.ipv4.neigh.default.gc_thresh3': count + 100 });
  const { saver, written } = memorySaver(stack);
  const add = async (i: number): Promise<void> => {
    await createDevice(stack, { kind: 'dummy', name: `d${i}`, up: true });
    inet.addrAdd(`d${i}`, `${['192.0.2', '198.51.100', '203.0.113'][(i >> 8) % 3]}.${i & 255}/32`);
    inet.neighAdd({ dst: '192.0.2.200', dev: `d${i}`, lladdr: '02:00:00:00:00:01' });
  };
  try {
    await saver.start();
    for (let i = 0; i < count; i++) await add(i);
    await saver.commit();
    const before = saver.text.piecesSerialized;
    const writesBefore = saver.writes;
    const rounds = 50;
    for (let r = 0; r < rounds; r++) {
      await add(count + r);
      await saver.commit();
      setLink(stack, `d${r * 7}`, { mtu: 1400 });
      await saver.commit();
      deleteDevice(stack, `d${r * 7 + 1}`);
      await saver.commit();
    }
    const writes = saver.writes - writesBefore;
    assert.equal(writes, rounds * 3, 'one write per change, each waited for');
    assert.ok(written().length > count * 300, 'the file holds every device');
    return (saver.text.piecesSerialized - before) / writes;
  } finally {
    await saver.stop();
    stack.close();
  }
}

test('with --state, a change among 300 or among 2,400 devices serializes the same: the device it concerns', async () => {
  const small = await piecesPerChange(300);
  const large = await piecesPerChange(2400);
  // A full snapshot per write serializes every device: ~300 and ~2,400 per
  // change. Kept per device: the created one, the changed one, none for a delete.
  assert.ok(small <= 1, `device shares serialized per change: ${small} at 300 devices`);
  assert.equal(large, small, `per change: ${small} at 300 devices, ${large} at 2,400`);
  assert.ok(small > 0, 'the counter sees the work');
});
