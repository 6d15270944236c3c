import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFF, flagNames, flagsFromNames } from '../../src/dev/flags.ts';
import { devMcAdd, devMcDel, devSetAllmulti, devSetPromiscuity } from '../../src/dev/control.ts';
import { createDevice, describeDevice, devIoctl, NetStack, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { throwsErrno } from '../helpers/errors.ts';

async function dummy(stack: NetStack, up = true) {
  const [d] = await createDevice(stack, { kind: 'dummy', up });
  return d!;
}

test('flag names as ip -j link prints them, and back', () => {
  assert.deepEqual(flagNames(IFF.UP | IFF.BROADCAST | IFF.MULTICAST | IFF.RUNNING | IFF.LOWER_UP), ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP']);
  assert.deepEqual(flagNames(IFF.UP | IFF.BROADCAST), ['NO-CARRIER', 'BROADCAST', 'UP']);
  assert.deepEqual(flagNames(IFF.LOOPBACK | IFF.UP | IFF.RUNNING | IFF.LOWER_UP), ['LOOPBACK', 'UP', 'LOWER_UP']);
  assert.equal(flagsFromNames(['UP', 'PROMISC']), IFF.UP | IFF.PROMISC);
  assert.equal(flagsFromNames(['UP', 'BOGUS']), undefined);
  assert.equal(flagsFromNames([]), 0);
});

test('promiscuity is counted: two promisc sockets need two releases', async () => {
  const stack = new NetStack();
  const d = await dummy(stack);
  const p1 = stack.openPacketSocket({ dev: d, promisc: true });
  const p2 = stack.openPacketSocket({ dev: d, promisc: true });
  assert.equal(d.promiscuity, 2);
  assert.ok((d.flags & IFF.PROMISC) !== 0, 'the device filter is open');
  assert.ok(!describeDevice(d).flags.includes('PROMISC'), 'ip link shows only the user\'s PROMISC (gflags)');
  assert.equal(describeDevice(d).promiscuity, 2);
  p1.close();
  assert.equal(d.promiscuity, 1);
  assert.ok((d.flags & IFF.PROMISC) !== 0, 'still promiscuous after one release');
  p1.close();
  assert.equal(d.promiscuity, 1, 'closing twice releases once');
  p2.close();
  assert.equal(d.promiscuity, 0);
  assert.equal(d.flags & IFF.PROMISC, 0);
  stack.close();
});

test('SIOCSIFFLAGS PROMISC is a third reference, taken once however often it is set', async () => {
  const stack = new NetStack();
  const d = await dummy(stack);
  const p1 = stack.openPacketSocket({ dev: d, promisc: true });
  const p2 = stack.openPacketSocket({ dev: d, promisc: true });
  const get = () => devIoctl(stack, d.name, { request: 'SIOCGIFFLAGS' }).ifr_flags!;
  devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: get() | IFF.PROMISC });
  assert.equal(d.promiscuity, 3);
  devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: get() | IFF.PROMISC });
  assert.equal(d.promiscuity, 3, 'the user holds one reference, not one per call');
  assert.ok(describeDevice(d).flags.includes('PROMISC'));
  assert.ok((get() & IFF.PROMISC) !== 0);
  p1.close();
  p2.close();
  assert.equal(d.promiscuity, 1);
  assert.ok((d.flags & IFF.PROMISC) !== 0, 'the user\'s reference keeps it promiscuous');
  devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: get() & ~IFF.PROMISC });
  assert.equal(d.promiscuity, 0);
  assert.equal(d.flags & IFF.PROMISC, 0);
  assert.ok(!describeDevice(d).flags.includes('PROMISC'));
  // setLink promisc is the same reference.
  setLink(stack, d.name, { promisc: true });
  setLink(stack, d.name, { promisc: true });
  assert.equal(d.promiscuity, 1);
  setLink(stack, d.name, { promisc: false });
  assert.equal(d.promiscuity, 0);
  stack.close();
});

test('the user\'s PROMISC on a device already promiscuous (a bridge port) is told, so the state file keeps it', async () => {
  const stack = new NetStack();
  const d = await dummy(stack, false);
  const p = stack.openPacketSocket({ dev: d, promisc: true });
  const changes: string[] = [];
  stack.notifier.subscribe((e) => changes.push(e));
  setLink(stack, d.name, { promisc: true });
  assert.equal(d.promiscuity, 2);
  assert.deepEqual(changes, ['CHANGE']);
  assert.ok(describeDevice(d).flags.includes('PROMISC'));
  setLink(stack, d.name, { promisc: true });
  assert.deepEqual(changes, ['CHANGE'], 'setting it again changes nothing');
  setLink(stack, d.name, { promisc: false });
  assert.deepEqual(changes, ['CHANGE', 'CHANGE']);
  p.close();
  stack.close();
});

test('promiscuity and allmulti never go negative', async () => {
  const stack = new NetStack();
  const d = await dummy(stack);
  devSetPromiscuity(d, -1);
  devSetAllmulti(d, -1);
  assert.equal(d.promiscuity, 0);
  assert.equal(d.allmulti, 0);
  stack.close();
});

test('allmulti is counted like promiscuity', async () => {
  const stack = new NetStack();
  const d = await dummy(stack);
  const changes: string[] = [];
  stack.notifier.subscribe((e) => changes.push(e));
  devSetAllmulti(d, 1);
  setLink(stack, d.name, { allmulti: true });
  assert.equal(d.allmulti, 2);
  assert.deepEqual(changes, ['CHANGE', 'CHANGE'], 'one when the filter changes, one for the user\'s own flag (configuration: __dev_notify_flags tells gflags changes), none per other reference');
  devSetAllmulti(d, 1);
  devSetAllmulti(d, -1);
  assert.equal(changes.length, 2, 'references that leave the filter as it was are not told');
  assert.ok(describeDevice(d).flags.includes('ALLMULTI'));
  devSetAllmulti(d, -1);
  assert.equal(d.allmulti, 1);
  assert.ok((d.flags & IFF.ALLMULTI) !== 0);
  setLink(stack, d.name, { allmulti: false });
  assert.equal(d.allmulti, 0);
  assert.equal(d.flags & IFF.ALLMULTI, 0);
  assert.equal(describeDevice(d).allmulti, 0);
  stack.close();
});

test('SIOCSIFFLAGS ignores bits the driver owns and reports what changed', async () => {
  const stack = new NetStack();
  const d = await dummy(stack, false);
  devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: ['UP', 'RUNNING', 'LOOPBACK', 'NOARP'] });
  assert.ok(d.isUp());
  assert.equal(d.flags & IFF.LOOPBACK, 0, 'LOOPBACK belongs to the driver');
  assert.ok((d.flags & IFF.NOARP) !== 0);
  const out = devIoctl(stack, d.name, { request: 'SIOCGIFFLAGS' });
  assert.ok(out.flags!.includes('UP'));
  assert.ok(out.flags!.includes('LOWER_UP'), 'carrier is the driver\'s: dummy has it while up');
  devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: 0 });
  assert.equal(d.isUp(), false);
  throwsErrno(() => devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: ['UP', 'NOPE'] }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: -1 }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS', ifr_flags: 1.5 }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, d.name, { request: 'SIOCSIFFLAGS' }), 'EINVAL');
  assert.equal(d.isUp(), false);
  stack.close();
});

test('the user\'s multicast adds are idempotent per address (__hw_addr_add_ex with global)', async () => {
  const stack = new NetStack();
  const [d] = (await createDevice(stack, { kind: 'veth', up: true })) as [NetDevice];
  const m = '01:00:5e:00:00:fb';
  const add = () => devIoctl(stack, d.name, { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: m } });
  const del = () => devIoctl(stack, d.name, { request: 'SIOCDELMULTI', ifr_hwaddr: { sa_family: 0, sa_data: m } });
  add();
  add();
  assert.deepEqual(describeDevice(d).multicast, [{ address: m, users: 1 }], 'a second add of the same address changes nothing');
  del();
  assert.deepEqual(describeDevice(d).multicast, [], 'one delete removes the user\'s one use');
  throwsErrno(del, 'ENOENT');
  setLink(stack, d.name, { multicast: { add: ['33:33:00:00:00:01', m, m] } });
  assert.deepEqual(describeDevice(d).multicast, [{ address: '33:33:00:00:00:01', users: 1 }, { address: m, users: 1 }]);
  // Two deletes of one use: the second is ENOENT, and the request changes nothing.
  throwsErrno(() => setLink(stack, d.name, { multicast: { del: [m, m] } }), 'ENOENT');
  assert.equal(d.mc.size, 2);
  setLink(stack, d.name, { multicast: { del: [m] } });
  assert.deepEqual(describeDevice(d).multicast, [{ address: '33:33:00:00:00:01', users: 1 }]);
  throwsErrno(() => setLink(stack, d.name, { multicast: { del: [m] } }), 'ENOENT');
  // A kernel-internal use (global false) counts apart from the user's.
  devMcAdd(d, Buffer.from('01005e0000fb', 'hex'), false);
  add();
  assert.deepEqual(describeDevice(d).multicast.find((e) => e.address === m), { address: m, users: 2 });
  del();
  throwsErrno(del, 'ENOENT');
  assert.deepEqual(describeDevice(d).multicast.find((e) => e.address === m), { address: m, users: 1 }, 'the kernel\'s use stays');
  devMcDel(d, Buffer.from('01005e0000fb', 'hex'), false);
  // Add and delete in one request: the add counts for the delete.
  setLink(stack, d.name, { multicast: { add: [m], del: [m] } });
  assert.equal(d.mc.size, 1);
  // A device without an rx-mode method (lo, as in Linux) refuses, changing nothing.
  const lo = stack.lo;
  throwsErrno(() => setLink(stack, lo.name, { mtu: 1400, multicast: { add: [m] } }), 'EINVAL');
  assert.equal(lo.mtu, 65536);
  assert.equal(lo.mc.size, 0);
  // dummy has an empty set_rx_mode, as dummy.c: it takes any list.
  const dm = await dummy(stack);
  setLink(stack, dm.name, { multicast: { add: [m] } });
  assert.equal(dm.mc.size, 1);
  stack.close();
});

test('counters survive down and up', async () => {
  const stack = new NetStack();
  const d = await dummy(stack);
  const s = stack.openPacketSocket({ dev: d });
  const frame = Buffer.alloc(60, 1);
  frame[0] = 0x02;
  for (let i = 0; i < 3; i++) s.send(frame);
  assert.equal(d.stats.txPackets, 3);
  setLink(stack, d.name, { up: false });
  setLink(stack, d.name, { up: true });
  assert.equal(d.stats.txPackets, 3);
  assert.equal(d.stats.txBytes, 180);
  assert.equal(describeDevice(d).stats64.tx.packets, 3);
  assert.ok(d.stats.carrierChanges >= 3, 'carrier went on, off, on');
  s.close();
  stack.close();
});
