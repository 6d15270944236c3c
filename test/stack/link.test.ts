import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDevice, deleteDevice, describeDevice, deviceKinds, NetStack, netemOf, setLink, type DeviceSpec } from '../../src/stack/index.ts';
import type { NetdevEvent } from '../../src/dev/notifier.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';

function record(stack: NetStack): [NetdevEvent, string][] {
  const events: [NetdevEvent, string][] = [];
  stack.notifier.subscribe((e, dev) => events.push([e, dev.name]));
  return events;
}

/** Everything a user can see of the device list. */
function snapshot(stack: NetStack): string {
  return JSON.stringify(stack.devices.list().map((d) => ({ ...describeDevice(d), stats64: undefined })));
}

test('device kinds: dummy, veth, vlan at least; an unknown kind is EOPNOTSUPP', async () => {
  const stack = new NetStack();
  for (const k of ['dummy', 'veth', 'vlan']) assert.ok(deviceKinds(stack).includes(k), k);
  await rejectsErrno(createDevice(stack, { kind: 'bogus' } as unknown as DeviceSpec), 'EOPNOTSUPP');
  stack.close();
});

test('createDevice applies settings: mtu, address, txqlen, flags, netem, multicast, up', async () => {
  const stack = new NetStack();
  const [d] = await createDevice(stack, {
    kind: 'veth', name: 'a0', peer: 'b0', mtu: 9000, address: '02:00:00:00:00:0a', txqlen: 50, up: true,
    promisc: true, allmulti: true, netem: { delayMs: 5 }, multicast: { add: ['01:00:5e:00:00:01'] },
  });
  const v = describeDevice(d!);
  assert.equal(v.mtu, 9000);
  assert.equal(v.address, '02:00:00:00:00:0a');
  assert.equal(v.txqlen, 50);
  assert.equal(v.promiscuity, 1);
  assert.equal(v.allmulti, 1);
  assert.ok(v.flags.includes('PROMISC') && v.flags.includes('ALLMULTI') && v.flags.includes('UP'));
  assert.equal(netemOf(d!)?.delayMs, 5);
  assert.deepEqual(v.multicast, [{ address: '01:00:5e:00:00:01', users: 1 }]);
  const peer = describeDevice(stack.devices.require('b0'));
  assert.equal(peer.mtu, 9000, 'settings apply to both ends of a veth');
  assert.ok(peer.flags.includes('UP'));
  assert.notEqual(peer.address, '02:00:00:00:00:0a', 'the peer keeps its own address: two ends never share a MAC');
  stack.close();
});

test('createDevice is all-or-nothing: bad input leaves no device, no event, no used name', async () => {
  const stack = new NetStack();
  await createDevice(stack, { kind: 'dummy', name: 'taken' });
  const events = record(stack);
  const before = snapshot(stack);
  const bad: [DeviceSpec, string][] = [
    [{ kind: 'dummy', name: 'taken' }, 'EEXIST'],
    [{ kind: 'dummy', name: 'bad name' }, 'EINVAL'],
    [{ kind: 'dummy', mtu: 10 }, 'EINVAL'],
    [{ kind: 'dummy', mtu: 1e6 }, 'EINVAL'],
    [{ kind: 'dummy', address: '01:00:00:00:00:01' }, 'EADDRNOTAVAIL'],
    [{ kind: 'dummy', address: 'nope' }, 'EINVAL'],
    [{ kind: 'dummy', txqlen: -1 }, 'EINVAL'],
    [{ kind: 'dummy', netem: { loss: 200 } }, 'EINVAL'],
    [{ kind: 'dummy', multicast: { add: ['02:00:00:00:00:01'] } }, 'EINVAL'],
    [{ kind: 'veth', name: 'x0', peer: 'x0' }, 'EEXIST'],
    [{ kind: 'veth', name: 'x0', peer: 'taken' }, 'EEXIST'],
    [{ kind: 'veth', name: 'x0', peer: 'bad/name' }, 'EINVAL'],
    [{ kind: 'veth', name: 'x0', peer: 'y%d%d' }, 'EINVAL'],
    [{ kind: 'veth', name: 'x0', mtu: 9000, multicast: { add: ['02:00:00:00:00:01'] } }, 'EINVAL'],
    [{ kind: 'vlan', link: 'nope', id: 1 }, 'ENODEV'],
    [{ kind: 'vlan', link: 'taken', id: 0 }, 'ERANGE'],
  ];
  for (const [spec, errno] of bad) {
    await rejectsErrno(createDevice(stack, spec), errno as 'EINVAL');
    assert.equal(snapshot(stack), before, `after ${JSON.stringify(spec)}`);
  }
  assert.deepEqual(events, [], 'nothing was registered, even for a moment');
  // Names were not used up.
  assert.equal((await createDevice(stack, { kind: 'dummy' }))[0]!.name, 'dummy0');
  assert.deepEqual((await createDevice(stack, { kind: 'veth', name: 'x0', peer: 'x1' })).map((d) => d.name), ['x0', 'x1']);
  stack.close();
});

test('createDevice fails whole when a later step fails after registration', async () => {
  const stack = new NetStack();
  const events = record(stack);
  const before = snapshot(stack);
  // The second end's name pattern runs out of units only at registration.
  for (let i = 0; i < 10; i++) await createDevice(stack, { kind: 'dummy', name: `abcdefghijklmn${i}` });
  const mid = snapshot(stack);
  events.length = 0;
  await rejectsErrno(createDevice(stack, { kind: 'veth', name: 'p0', peer: 'abcdefghijklmn%d' }), 'ENFILE');
  assert.equal(snapshot(stack), mid);
  assert.deepEqual(events.map((e) => e[0]), ['REGISTER', 'UNREGISTER'], 'the first end was taken back');
  assert.equal(stack.devices.has('p0'), false);
  assert.notEqual(mid, before);
  stack.close();
});

test('the device limit: ENOSPC, nothing created', async () => {
  const stack = new NetStack({ limits: { maxDevices: 3 } });
  await createDevice(stack, { kind: 'dummy' });
  await rejectsErrno(createDevice(stack, { kind: 'veth' }), 'ENOSPC');
  assert.equal(stack.devices.size, 2);
  await createDevice(stack, { kind: 'dummy' });
  await rejectsErrno(createDevice(stack, { kind: 'dummy' }), 'ENOSPC');
  assert.equal(stack.devices.size, 3);
  stack.close();
});

test('deleteDevice: ENODEV for an unknown name, EOPNOTSUPP for lo; returns what went', async () => {
  const stack = new NetStack();
  throwsErrno(() => deleteDevice(stack, 'nope'), 'ENODEV');
  throwsErrno(() => deleteDevice(stack, 'lo'), 'EOPNOTSUPP');
  const [d] = await createDevice(stack, { kind: 'dummy', up: true });
  const events = record(stack);
  assert.deepEqual(deleteDevice(stack, d!.name).map((x) => x.name), ['dummy0']);
  assert.deepEqual(events.filter((e) => e[0] !== 'CHANGE'), [['GOING_DOWN', 'dummy0'], ['DOWN', 'dummy0'], ['UNREGISTER', 'dummy0']]);
  assert.equal(d!.registered, false);
  throwsErrno(() => deleteDevice(stack, 'dummy0'), 'ENODEV');
  stack.close();
});

test('setLink is all-or-nothing: one bad field changes nothing and tells nobody', async () => {
  const stack = new NetStack();
  const [a] = await createDevice(stack, { kind: 'veth', name: 'a0', peer: 'b0' });
  await createDevice(stack, { kind: 'dummy', name: 'other' });
  const events = record(stack);
  const before = snapshot(stack);
  const good = { mtu: 1400, address: '02:00:00:00:00:42', txqlen: 10, promisc: true, allmulti: true, netem: { delayMs: 1 }, up: true };
  const bad: [object, string][] = [
    [{ mtu: 1e6 }, 'EINVAL'],
    [{ mtu: 67 }, 'EINVAL'],
    [{ address: 'ff:ff:ff:ff:ff:ff' }, 'EADDRNOTAVAIL'],
    [{ address: 'xyz' }, 'EINVAL'],
    [{ name: 'other' }, 'EEXIST'],
    [{ name: 'a b' }, 'EINVAL'],
    [{ txqlen: 1.5 }, 'EINVAL'],
    [{ netem: { jitterMs: -1 } }, 'EINVAL'],
    [{ multicast: { add: ['02:00:00:00:00:01'] } }, 'EINVAL'],
    [{ multicast: { del: ['01:00:5e:00:00:09'] } }, 'ENOENT'],
  ];
  for (const [field, errno] of bad) {
    throwsErrno(() => setLink(stack, 'a0', { ...good, ...field }), errno as 'EINVAL');
    assert.equal(snapshot(stack), before, `after ${JSON.stringify(field)}`);
  }
  assert.deepEqual(events, []);
  throwsErrno(() => setLink(stack, 'nope', { up: true }), 'ENODEV');
  // The good set applies whole.
  setLink(stack, 'a0', good);
  const v = describeDevice(a!);
  assert.deepEqual([v.mtu, v.address, v.txqlen, v.promiscuity, v.allmulti, v.qdisc], [1400, '02:00:00:00:00:42', 10, 1, 1, 'netem']);
  assert.ok(a!.isUp());
  stack.close();
});

test('setLink applies in do_setlink order: rename before up, so a down device can be renamed and raised at once', async () => {
  const stack = new NetStack();
  await createDevice(stack, { kind: 'dummy', name: 'old0' });
  const events = record(stack);
  const dev = setLink(stack, 'old0', { name: 'new0', mtu: 1000, up: true });
  assert.equal(dev.name, 'new0');
  const order = events.map((e) => e[0]).filter((e) => e !== 'CHANGE');
  assert.deepEqual(order, ['CHANGEMTU', 'CHANGENAME', 'UP']);
  // Up and rename together on a running device is EBUSY, as in Linux before 6.2.
  throwsErrno(() => setLink(stack, 'new0', { name: 'newer0', up: false }), 'EBUSY');
  assert.ok(dev.isUp());
  stack.close();
});

test('notifier events come in order for a device\'s life', async () => {
  const stack = new NetStack();
  const events = record(stack);
  const [d] = await createDevice(stack, { kind: 'dummy', name: 'd0', up: true });
  setLink(stack, 'd0', { mtu: 1000 });
  setLink(stack, 'd0', { address: '02:00:00:00:00:33' });
  setLink(stack, 'd0', { txqlen: 5 });
  setLink(stack, 'd0', { up: false });
  setLink(stack, 'd0', { name: 'd1' });
  setLink(stack, 'd1', { up: true });
  deleteDevice(stack, 'd1');
  assert.deepEqual(events.filter((e) => e[0] !== 'CHANGE'), [
    ['REGISTER', 'd0'],
    ['UP', 'd0'],
    ['CHANGEMTU', 'd0'],
    ['CHANGEADDR', 'd0'],
    ['CHANGETXQLEN', 'd0'],
    ['GOING_DOWN', 'd0'],
    ['DOWN', 'd0'],
    ['CHANGENAME', 'd1'],
    ['UP', 'd1'],
    ['GOING_DOWN', 'd1'],
    ['DOWN', 'd1'],
    ['UNREGISTER', 'd1'],
  ]);
  assert.ok(events.some((e) => e[0] === 'CHANGE'), 'carrier changes are told as CHANGE');
  assert.equal(d!.registered, false);
  stack.close();
});

test('a listener that throws does not stop the others or the operation', async () => {
  const stack = new NetStack();
  const seen: string[] = [];
  stack.notifier.subscribe(() => {
    throw new Error('listener bug');
  });
  const off = stack.notifier.subscribe((e) => seen.push(e));
  const [d] = await createDevice(stack, { kind: 'dummy' });
  assert.ok(d!.registered);
  assert.deepEqual(seen, ['REGISTER']);
  off();
  setLink(stack, d!.name, { mtu: 1000 });
  assert.deepEqual(seen, ['REGISTER'], 'unsubscribed');
  stack.close();
});
