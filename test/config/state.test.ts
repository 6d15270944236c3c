// State round trip: a stack configured from a file and changed afterwards is
// snapshotted, written, read back into a fresh stack, and the two stacks'
// `ip -d link` views agree on everything but counters and ifindexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack, describeDevice, devIoctl, setLink, type DeviceView } from '../../src/stack/index.ts';
import { applySetup } from '../../src/config/apply.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig, parseState } from '../../src/config/load.ts';
import { snapshotStack } from '../../src/config/snapshot.ts';

function freshStack(): NetStack {
  return new NetStack({ clock: new VirtualClock() });
}

/** A device's configuration as `ip -d link` shows it: no counters, no ifindex, no netem statistics. */
function configView(v: DeviceView): Omit<DeviceView, 'ifindex' | 'stats64' | 'queue'> {
  const { ifindex: _i, stats64: _s, queue: _q, ...rest } = v;
  return { ...rest, netem: v.netem === null ? null : { ...v.netem, stats: { held: 0, sent: 0, dropped: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 } } };
}

function views(stack: NetStack): ReturnType<typeof configView>[] {
  return stack.devices.list().map((d) => configView(describeDevice(d)));
}

const CONFIG = {
  devices: [
    {
      kind: 'dummy',
      name: 'dummy0',
      mtu: 9000,
      address: '02:00:00:00:00:01',
      txqlen: 64,
      promisc: true,
      flags: ['NOARP', 'MULTICAST'],
      up: true,
      netem: { delay_ms: 20, jitter_ms: 5, loss: 1.5, rate_bps: 1_000_000, seed: 7 },
      multicast: [{ address: '01:00:5e:00:00:01', users: 2 }, '33:33:00:00:00:01'],
      map: { irq: 5, base_addr: 0x300 },
      speed_mbps: 10,
      tx_ring: 32,
    },
    {
      kind: 'veth',
      name: 'va',
      peer: 'vb',
      mtu: 1400,
      address: '02:00:00:00:0a:01',
      up: true,
      peer_settings: { mtu: 1500, address: '02:00:00:00:0b:01', allmulti: true, up: true, flags: ['MULTICAST', 'NOARP'] },
    },
    { kind: 'vlan', link: 'vb', id: 100, mtu: 1400, up: true, egress_qos_map: { '5': 3 } },
    { kind: 'dummy', name: 'idle%d' },
    { kind: 'loopback', mtu: 16384 },
  ],
  sysctl: { 'net.core.rmem_default': 65536, 'net.core.netdev_max_backlog': 500 },
};

test('a config builds what it says', async () => {
  const stack = freshStack();
  await applySetup(stack, parseConfig(JSON.stringify(CONFIG), 'lab.json'), 'config lab.json');
  const byName = new Map(views(stack).map((v) => [v.ifname, v]));
  assert.deepEqual([...byName.keys()], ['lo', 'dummy0', 'va', 'vb', 'vb.100', 'idle0']);
  const d = byName.get('dummy0')!;
  assert.equal(d.mtu, 9000);
  assert.equal(d.address, '02:00:00:00:00:01');
  assert.equal(d.txqlen, 64);
  assert.ok(d.flags.includes('PROMISC') && d.flags.includes('UP'));
  assert.deepEqual(d.multicast, [
    // The user's adds are one global use each (SIOCADDMULTI is idempotent), whatever `users` said.
    { address: '01:00:5e:00:00:01', users: 1 },
    { address: '33:33:00:00:00:01', users: 1 },
  ]);
  assert.equal(d.netem?.delayMs, 20);
  assert.equal(d.netem?.seed, 7);
  assert.equal(d.netem?.limit, 1000, 'unset netem fields take the defaults');
  assert.equal(devIoctl(stack, 'dummy0', { request: 'SIOCGIFMAP' }).ifr_map?.irq, 5);
  assert.deepEqual(d.linkinfo.info_data, { speed_mbps: 10, tx_ring: 32 }, 'ethtool speed and TX ring from the config');
  const vb = byName.get('vb')!;
  assert.equal(byName.get('va')!.mtu, 1400);
  assert.equal(vb.mtu, 1500, 'peer_settings apply to the peer end');
  assert.ok(vb.flags.includes('NOARP') && vb.flags.includes('ALLMULTI'));
  assert.equal(byName.get('vb.100')!.link, 'vb');
  assert.equal(byName.get('vb.100')!.operstate, 'UP');
  assert.deepEqual(byName.get('vb.100')!.linkinfo.info_data?.['egress_qos'], [{ from: 5, to: 3 }]);
  assert.ok(!byName.get('idle0')!.flags.includes('UP'));
  assert.equal(byName.get('lo')!.mtu, 16384);
  assert.equal(stack.sysctl.get('net.core.rmem_default'), 65536);
  stack.close();
});

test('state round trip: snapshot, JSON, fresh stack, same configuration', async () => {
  const a = freshStack();
  await applySetup(a, parseConfig(JSON.stringify(CONFIG), 'lab.json'), 'config lab.json');
  // Changes after start are what the state file is for.
  setLink(a, 'idle0', { name: 'spare', mtu: 1280, netem: { loss: 50, seed: 3 } });
  setLink(a, 'va', { multicast: { add: ['01:80:c2:00:00:0e'] } });
  setLink(a, 'vb', { speed_mbps: 0.5, tx_ring: 16 });
  // DEBUG on, and MULTICAST off while the device keeps its multicast list.
  devIoctl(a, 'dummy0', { request: 'SIOCSIFFLAGS', ifr_flags: ['UP', 'PROMISC', 'NOARP', 'DEBUG'] });
  a.sysctl.set({ 'net.core.wmem_max': 1 << 20 });
  setLink(a, 'lo', { up: false });
  setLink(a, 'lo', { name: 'lo0', up: true });

  const { state, skipped } = snapshotStack(a);
  assert.deepEqual(skipped, []);
  const text = JSON.stringify(state, null, 2);
  const b = freshStack();
  await applySetup(b, parseState(text, 'state.json'), 'state state.json');

  assert.deepEqual(views(b), views(a));
  assert.deepEqual(b.sysctl.snapshot(), a.sysctl.snapshot());
  assert.deepEqual(devIoctl(b, 'dummy0', { request: 'SIOCGIFMAP' }).ifr_map, devIoctl(a, 'dummy0', { request: 'SIOCGIFMAP' }).ifr_map);
  // A second round changes nothing: the snapshot is a fixed point.
  assert.deepEqual(snapshotStack(b).state.devices, state.devices);
  a.close();
  b.close();
});

test('the state keeps the user promisc flag, not promiscuity that sockets hold', async () => {
  const a = freshStack();
  await applySetup(a, parseConfig(JSON.stringify({ devices: [{ kind: 'dummy', name: 'd0', up: true }] }), 'c.json'), 'c');
  const sock = a.openPacketSocket({ dev: a.devices.require('d0'), promisc: true });
  assert.equal(describeDevice(a.devices.require('d0')).promiscuity, 1);
  const entry = snapshotStack(a).state.devices.find((d) => d.name === 'd0');
  assert.equal(entry?.promisc, false);
  sock.close();
  a.close();
});

test('a failing entry is named, and its own devices are not left behind', async () => {
  const stack = freshStack();
  const cfg = parseConfig(
    JSON.stringify({
      devices: [
        { kind: 'dummy', name: 'd0' },
        { kind: 'veth', name: 'x0', peer: 'x1', address: '02:00:00:00:00:09', peer_settings: { map: { irq: 3 } } },
      ],
    }),
    'c.json',
  );
  await assert.rejects(applySetup(stack, cfg, 'config c.json'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.where, 'devices[1]');
    assert.match(err.message, /^config c\.json: devices\[1\] \(x0\): EOPNOTSUPP: /);
    return true;
  });
  assert.deepEqual(stack.devices.list().map((d) => d.name), ['lo', 'd0']);
  stack.close();
});

test('a device that already exists is EEXIST at its entry; a vlan before its parent is ENODEV', async () => {
  for (const [devices, where, errno] of [
    [[{ kind: 'dummy', name: 'd0' }, { kind: 'dummy', name: 'd0' }], 'devices[1]', 'EEXIST'],
    [[{ kind: 'vlan', link: 'd0', id: 5 }, { kind: 'dummy', name: 'd0' }], 'devices[0]', 'ENODEV'],
  ] as const) {
    const stack = freshStack();
    await assert.rejects(applySetup(stack, parseConfig(JSON.stringify({ devices }), 'c.json'), 'config c.json'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.where, where);
      assert.match(err.message, new RegExp(`: ${errno}: `));
      return true;
    });
    stack.close();
  }
});

test('vxlan round trip: VNI, endpoints, dstport, learning, ageing; the bound port is kept', async () => {
  const a = freshStack();
  const cfg = parseConfig(
    JSON.stringify({
      devices: [
        {
          kind: 'vxlan',
          name: 'vx0',
          vni: 4242,
          local: '127.0.0.1:0',
          remote: ['127.0.0.1:47891', 'localhost:47892'],
          dstport: 4790,
          learning: false,
          ageing: 60,
          mtu: 1400,
          up: true,
        },
      ],
    }),
    'c.json',
  );
  await applySetup(a, cfg, 'config c.json');
  const { state } = snapshotStack(a);
  const entry = state.devices[1]!;
  assert.ok(entry.kind === 'vxlan');
  assert.match(entry.local ?? '', /^127\.0\.0\.1:[1-9][0-9]*$/, 'the port picked at bind time, not 0');
  assert.deepEqual(entry.remote, ['127.0.0.1:47891', 'localhost:47892'], 'names stay names');
  assert.equal(entry.dstport, 4790);
  assert.equal(entry.learning, false);
  assert.equal(entry.ageing, 60);
  const before = views(a);
  // The port must be free again before a second stack can bind it.
  a.close();
  const b = freshStack();
  await applySetup(b, parseState(JSON.stringify(state), 'state.json'), 'state state.json');
  assert.deepEqual(views(b), before);
  b.close();
});

test('bridges and their ports survive a state round trip, whichever comes first by ifindex', async () => {
  const a = freshStack();
  await applySetup(
    a,
    parseConfig(
      JSON.stringify({
        devices: [
          { kind: 'veth', name: 'h0', peer: 'p0', up: true, peer_settings: { up: true, master: 'br0' } },
          { kind: 'bridge', name: 'br0', ageing_time: 120, up: true },
          { kind: 'veth', name: 'p1', peer: 'h1', up: true, master: 'br0' },
        ],
      }),
      'lab.json',
    ),
    'config lab.json',
  );
  const masters = (s: NetStack): Record<string, string | undefined> =>
    Object.fromEntries(s.devices.list().map((d) => [d.name, d.master?.name]));
  assert.deepEqual(masters(a), { lo: undefined, h0: undefined, p0: 'br0', br0: undefined, p1: 'br0', h1: undefined });
  const text = JSON.stringify(snapshotStack(a).state);
  const b = freshStack();
  await applySetup(b, parseState(text, 'state.json'), 'state state.json');
  assert.deepEqual(masters(b), masters(a));
  assert.deepEqual(describeDevice(b.devices.require('br0')).linkinfo.info_data, { ageing_time: 12000, stp_state: 0 });
  assert.deepEqual(views(b), views(a));
  a.close();
  b.close();
});

test('netem in a veth entry shapes the named end only; the peer keeps no netem unless its own settings say so', async () => {
  const stack = freshStack();
  await applySetup(
    stack,
    parseConfig(JSON.stringify({ devices: [{ kind: 'veth', name: 'veth0', peer: 'veth1', up: true, netem: { delay_ms: 20 } }] }), 'lab.json'),
    'config lab.json',
  );
  assert.equal(describeDevice(stack.devices.require('veth0')).netem?.delayMs, 20);
  assert.equal(describeDevice(stack.devices.require('veth1')).netem, null);
  assert.ok(describeDevice(stack.devices.require('veth1')).flags.includes('UP'), 'the rest of the settings still apply to both ends');
  stack.close();
});
