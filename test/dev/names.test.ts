import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocName, checkName, IFNAMSIZ, invalidNameReason, isNamePattern, NAME_PREFIXES } from '../../src/dev/names.ts';
import { createDevice, deleteDevice, devIoctl, NetStack, setLink } from '../../src/stack/index.ts';
import type { NetdevEvent } from '../../src/dev/notifier.ts';
import { throwsErrno, rejectsErrno } from '../helpers/errors.ts';

const SEED_PREFIXES = ['eth', 'tr', 'sl', 'ppp', 'plip', 'tunl', 'nr', 'isdn', 'dummy', 'lo'];

test('the seed\'s prefix table is there, plus veth and vxlan', () => {
  for (const p of [...SEED_PREFIXES, 'veth', 'vxlan']) assert.ok(Object.hasOwn(NAME_PREFIXES, p), p);
});

test('every prefix of the seed table works as a pattern and takes unit 0 first', async () => {
  const stack = new NetStack();
  for (const p of SEED_PREFIXES) {
    const [d] = await createDevice(stack, { kind: 'dummy', name: `${p}%d` });
    // "lo" itself is taken by loopback, but "lo0" is free.
    assert.equal(d!.name, `${p}0`);
    const [e] = await createDevice(stack, { kind: 'dummy', name: `${p}%d` });
    assert.equal(e!.name, `${p}1`);
  }
  stack.close();
});

test('eth%d takes the lowest free number, including one freed by unregister', async () => {
  const stack = new NetStack();
  const names: string[] = [];
  for (let i = 0; i < 4; i++) names.push((await createDevice(stack, { kind: 'dummy', name: 'eth%d' }))[0]!.name);
  assert.deepEqual(names, ['eth0', 'eth1', 'eth2', 'eth3']);
  deleteDevice(stack, 'eth1');
  deleteDevice(stack, 'eth0');
  assert.equal((await createDevice(stack, { kind: 'dummy', name: 'eth%d' }))[0]!.name, 'eth0');
  assert.equal((await createDevice(stack, { kind: 'dummy', name: 'eth%d' }))[0]!.name, 'eth1');
  assert.equal((await createDevice(stack, { kind: 'dummy', name: 'eth%d' }))[0]!.name, 'eth4');
  // A renamed device frees its number too.
  setLink(stack, 'eth2', { name: 'uplink' });
  assert.equal((await createDevice(stack, { kind: 'dummy', name: 'eth%d' }))[0]!.name, 'eth2');
  // The default pattern of each kind.
  assert.equal((await createDevice(stack, { kind: 'dummy' }))[0]!.name, 'dummy0');
  const pair = await createDevice(stack, { kind: 'veth' });
  assert.deepEqual(pair.map((d) => d.name), ['veth0', 'veth1']);
  stack.close();
});

test('allocName: patterns with one %d; ENFILE when no unit fits in IFNAMSIZ', () => {
  assert.equal(isNamePattern('eth%d'), true);
  assert.equal(isNamePattern('%d'), true);
  assert.equal(isNamePattern('eth'), false);
  assert.equal(isNamePattern('eth%s'), false);
  assert.equal(isNamePattern('e%dth%d'), false);
  assert.equal(allocName('x%dy', () => false), 'x0y');
  const taken = new Set(['eth0', 'eth1', 'eth3']);
  assert.equal(allocName('eth%d', (n) => taken.has(n)), 'eth2');
  // 13 characters + 1 digit fit; 2 digits make 15; 3 digits would be 16.
  const p = 'abcdefghijklm%d';
  const all = new Set<string>();
  for (let i = 0; i < 100; i++) all.add(`abcdefghijklm${i}`);
  throwsErrno(() => allocName(p, (n) => all.has(n)), 'ENFILE');
  assert.equal(allocName(p, (n) => all.has(n) && n !== 'abcdefghijklm99'), 'abcdefghijklm99');
  throwsErrno(() => allocName('eth', () => false), 'EINVAL');
  throwsErrno(() => allocName('a/%d', () => false), 'EINVAL');
  throwsErrno(() => allocName('abcdefghijklmno%d', () => false), 'EINVAL');
});

test('IFNAMSIZ rules: 1..15 bytes, no "/", ":" or whitespace', async () => {
  assert.equal(IFNAMSIZ, 16);
  const ok = ['a', 'x'.repeat(15), 'eth0.100', 'br-lan', 'é'.repeat(7) + 'x', 'tap_1'];
  const bad = ['', 'x'.repeat(16), 'é'.repeat(8), 'a/b', 'a:1', 'a b', 'a\tb', 'a\nb', '.', '..', 'a\u00a0b', 'a\0b'];
  for (const n of ok) assert.equal(invalidNameReason(n), null, JSON.stringify(n));
  for (const n of bad) {
    assert.notEqual(invalidNameReason(n), null, JSON.stringify(n));
    throwsErrno(() => checkName(n), 'EINVAL');
  }
  const stack = new NetStack();
  const [d] = await createDevice(stack, { kind: 'dummy', name: 'x'.repeat(15) });
  assert.equal(d!.name.length, 15);
  for (const n of bad.filter((x) => x !== '')) {
    await rejectsErrno(createDevice(stack, { kind: 'dummy', name: n }), 'EINVAL');
    throwsErrno(() => setLink(stack, d!.name, { name: n }), 'EINVAL');
    throwsErrno(() => devIoctl(stack, d!.name, { request: 'SIOCSIFNAME', ifr_newname: n }), 'EINVAL');
  }
  assert.equal(stack.devices.size, 2, 'lo and the one good device');
  stack.close();
});

test('a name with "%" that is not a pattern is refused, not taken literally', async () => {
  const stack = new NetStack();
  await rejectsErrno(createDevice(stack, { kind: 'dummy', name: 'eth%s' }), 'EINVAL');
  await rejectsErrno(createDevice(stack, { kind: 'dummy', name: 'a%d%d' }), 'EINVAL');
  assert.equal(stack.devices.size, 1);
  stack.close();
});

test('ifindexes are unique and not reused at once; list() is in ifindex order', async () => {
  const stack = new NetStack();
  assert.equal(stack.lo.ifindex, 1);
  const a = (await createDevice(stack, { kind: 'dummy' }))[0]!;
  const [v0, v1] = await createDevice(stack, { kind: 'veth' });
  assert.deepEqual([a.ifindex, v0!.ifindex, v1!.ifindex], [2, 3, 4]);
  deleteDevice(stack, a.name);
  const b = (await createDevice(stack, { kind: 'dummy' }))[0]!;
  assert.equal(b.ifindex, 5);
  assert.equal(b.name, 'dummy0', 'the name is reused, the index is not');
  assert.deepEqual(stack.devices.list().map((d) => d.ifindex), [1, 3, 4, 5]);
  assert.equal(stack.devices.getByIndex(5), b);
  assert.equal(stack.devices.getByIndex(2), undefined);
  assert.equal(stack.devices.get('dummy0'), b);
  assert.equal(stack.devices.has('dummy0'), true);
  throwsErrno(() => stack.devices.require('nope'), 'ENODEV');
  stack.close();
});

test('rename: EEXIST for a taken name, EBUSY while up, EINVAL for a bad one; lookups follow', async () => {
  const stack = new NetStack();
  const [a] = await createDevice(stack, { kind: 'dummy', name: 'a0' });
  await createDevice(stack, { kind: 'dummy', name: 'b0' });
  const events: [NetdevEvent, string, string | undefined][] = [];
  stack.notifier.subscribe((e, dev, info) => events.push([e, dev.name, info?.oldName]));
  throwsErrno(() => setLink(stack, 'a0', { name: 'b0' }), 'EEXIST');
  throwsErrno(() => devIoctl(stack, 'a0', { request: 'SIOCSIFNAME', ifr_newname: 'b0' }), 'EEXIST');
  throwsErrno(() => setLink(stack, 'a0', { name: 'lo' }), 'EEXIST');
  setLink(stack, 'a0', { up: true });
  events.length = 0;
  throwsErrno(() => setLink(stack, 'a0', { name: 'c0' }), 'EBUSY');
  throwsErrno(() => devIoctl(stack, 'a0', { request: 'SIOCSIFNAME', ifr_newname: 'c0' }), 'EBUSY');
  assert.deepEqual(events, [], 'a refused rename tells nobody');
  assert.equal(a!.name, 'a0');
  setLink(stack, 'a0', { up: false });
  events.length = 0;
  setLink(stack, 'a0', { name: 'c0' });
  assert.deepEqual(events, [['CHANGENAME', 'c0', 'a0']]);
  assert.equal(stack.devices.get('c0'), a);
  assert.equal(stack.devices.get('a0'), undefined);
  assert.equal(a!.name, 'c0');
  // Renaming to its own name is a no-op.
  events.length = 0;
  setLink(stack, 'c0', { name: 'c0' });
  assert.deepEqual(events, []);
  throwsErrno(() => setLink(stack, 'c0', { name: 'bad name' }), 'EINVAL');
  stack.close();
});
