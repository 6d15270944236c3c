import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sysctl, SysctlError, SYSCTL_DEFAULTS, SYSCTL_NAMES, isSysctlName } from '../../src/sysctl.ts';
import { NetStack } from '../../src/stack/index.ts';
import { throwsErrno } from '../helpers/errors.ts';

test('defaults are Linux\'s', () => {
  const s = new Sysctl();
  assert.deepEqual(s.snapshot(), {
    'net.core.rmem_default': 212992,
    'net.core.rmem_max': 212992,
    'net.core.wmem_default': 212992,
    'net.core.wmem_max': 212992,
    'net.core.netdev_max_backlog': 1000,
    'net.core.netdev_budget': 300,
    'net.core.netdev_budget_usecs': 2000,
    'net.core.dev_weight': 64,
  });
  assert.deepEqual(SYSCTL_NAMES, Object.keys(SYSCTL_DEFAULTS));
  assert.equal(isSysctlName('net.core.rmem_max'), true);
  assert.equal(isSysctlName('net.core.nope'), false);
  assert.equal(isSysctlName('toString'), false);
});

test('set validates every change first: one bad value changes nothing', () => {
  const s = new Sysctl();
  const calls: string[][] = [];
  s.subscribe((names) => calls.push(names));
  const before = s.snapshot();
  throwsErrno(() => s.set({ 'net.core.rmem_max': 500_000, 'net.core.nope': 1 }), 'ENOENT');
  throwsErrno(() => s.set({ 'net.core.rmem_max': 500_000, 'net.core.wmem_max': 1.5 }), 'EINVAL');
  throwsErrno(() => s.set({ 'net.core.rmem_max': 500_000, 'net.core.wmem_max': 100 }), 'EINVAL');
  throwsErrno(() => s.set({ 'net.core.netdev_max_backlog': 0 }), 'EINVAL');
  throwsErrno(() => s.set({ 'net.core.netdev_budget': 2 ** 31 }), 'EINVAL');
  throwsErrno(() => s.set({ 'net.core.dev_weight': '5' as unknown as number }), 'EINVAL');
  throwsErrno(() => s.set(JSON.parse('{"__proto__": 1}') as Record<string, number>), 'ENOENT');
  assert.deepEqual(s.snapshot(), before);
  assert.deepEqual(calls, [], 'listeners hear nothing of a refused set');
  s.set({ 'net.core.rmem_max': 500_000, 'net.core.wmem_max': 4608 });
  assert.equal(s.get('net.core.rmem_max'), 500_000);
  assert.equal(s.get('net.core.wmem_max'), 4608, 'the minimum is allowed');
  assert.deepEqual(calls, [['net.core.rmem_max', 'net.core.wmem_max']]);
  s.set({});
  assert.equal(calls.length, 1, 'an empty set tells nobody');
});

test('the snapshot is a copy', () => {
  const s = new Sysctl();
  const snap = s.snapshot();
  snap['net.core.rmem_max'] = 1;
  assert.equal(s.get('net.core.rmem_max'), 212992);
});

test('a stack takes its sysctls at construction, all-or-nothing', () => {
  const stack = new NetStack({ sysctl: { 'net.core.netdev_max_backlog': 5 } });
  assert.equal(stack.sysctl.get('net.core.netdev_max_backlog'), 5);
  stack.close();
  throwsErrno(() => new NetStack({ sysctl: { 'net.core.netdev_max_backlog': -5 } }), 'EINVAL');
});

test('sockets opened after a change take the new defaults', () => {
  const stack = new NetStack();
  stack.sysctl.set({ 'net.core.rmem_default': 4096, 'net.core.wmem_default': 8192 });
  const s = stack.openPacketSocket();
  assert.equal(s.sk.rcvbuf, 4096);
  assert.equal(s.sk.sndbuf, 8192);
  s.close();
  stack.close();
});

/** A table with a word and two vectors, as TCP and IPv4 register them. */
function typedTable(): Sysctl {
  const s = new Sysctl();
  s.register({
    'net.test.cc': { type: 'string', default: 'cubic', choices: ['reno', 'cubic'] },
    'net.test.mem': { type: 'vector', default: [4096, 131072, 6291456], min: 1, max: 2147483647, ordered: true, members: ['net.test.mem_min', 'net.test.mem_default', 'net.test.mem_max'] },
    'net.test.range': { type: 'vector', default: [32768, 60999], min: 1, max: 65535, ordered: true, members: ['net.test.range_min', 'net.test.range_max'] },
    'net.test.int': { default: 1, min: 0, max: 1 },
  });
  return s;
}

test('typed sysctls: a word, vectors as arrays or as the text sysctl prints, their elements readable by member name', () => {
  const s = typedTable();
  assert.equal(s.getString('net.test.cc'), 'cubic');
  assert.deepEqual(s.getVector('net.test.mem'), [4096, 131072, 6291456]);
  assert.equal(s.get('net.test.mem_default'), 131072, 'an element is an integer in values, for hot paths');
  assert.equal(s.values['net.test.range_max'], 60999);
  assert.deepEqual(Object.keys(s.snapshot()).slice(-4), ['net.test.cc', 'net.test.mem', 'net.test.range', 'net.test.int'], 'members are not listed');
  assert.equal(s.has('net.test.mem_min'), false);
  assert.equal(s.kind('net.test.cc'), 'string');
  assert.equal(s.kind('net.test.mem'), 'vector');
  assert.equal(s.kind('net.test.int'), 'int');

  s.set({ 'net.test.cc': 'reno', 'net.test.mem': '4096\t87380  6291456 ', 'net.test.range': [40000, 40000] });
  assert.equal(s.value('net.test.cc'), 'reno');
  assert.deepEqual(s.value('net.test.mem'), [4096, 87380, 6291456]);
  assert.equal(s.get('net.test.mem_default'), 87380);
  assert.equal(s.get('net.test.range_min'), 40000);
  assert.equal(s.get('net.test.range_max'), 40000, 'an empty range is refused; one port is a range');
  // A member name writes its element alone; the vector is checked whole.
  s.set({ 'net.test.range_max': 40010 });
  assert.deepEqual(s.getVector('net.test.range'), [40000, 40010]);
  s.set({ 'net.test.range_min': 50000, 'net.test.range_max': 50001 });
  assert.deepEqual(s.getVector('net.test.range'), [50000, 50001], 'members of one vector apply in order');
  const snap = s.snapshot();
  assert.throws(() => (snap['net.test.mem'] as number[]).push(1), TypeError, 'the snapshot cannot change the table');
});

test('typed sysctls: a bad word is ENOENT, a bad shape or a decreasing vector EINVAL, and one refusal changes nothing', () => {
  const s = typedTable();
  const calls: string[][] = [];
  s.subscribe((names) => calls.push(names));
  const before = s.snapshot();
  const refusals: [Record<string, unknown>, string, string][] = [
    [{ 'net.test.int': 0, 'net.test.cc': 'vegas' }, 'ENOENT', 'net.test.cc'],
    [{ 'net.test.int': 0, 'net.test.cc': 1 }, 'EINVAL', 'net.test.cc'],
    [{ 'net.test.int': 0, 'net.test.mem': [1, 2] }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': '1 2 3 4' }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': '4096 lots 8192' }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': [4096, 1.5, 8192] }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': [0, 1, 2] }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': [4096, 8192, 4096] }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': 4096 }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.mem': '' }, 'EINVAL', 'net.test.mem'],
    [{ 'net.test.int': 0, 'net.test.range': '60999 32768' }, 'EINVAL', 'net.test.range'],
    [{ 'net.test.int': 0, 'net.test.range': [1, 70000] }, 'EINVAL', 'net.test.range'],
    [{ 'net.test.int': 0, 'net.test.range_min': 61000 }, 'EINVAL', 'net.test.range_min'],
    [{ 'net.test.int': 0, 'net.test.range_min': '100' }, 'EINVAL', 'net.test.range_min'],
    [{ 'net.test.int': 0, 'net.test.int2': 1 }, 'ENOENT', 'net.test.int2'],
    [{ 'net.test.int': 'yes' }, 'EINVAL', 'net.test.int'],
  ];
  for (const [changes, errno, name] of refusals) {
    let caught: unknown;
    try {
      s.set(changes);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof SysctlError, `${JSON.stringify(changes)} is refused`);
    assert.equal(caught.errno, errno, `${JSON.stringify(changes)}: ${caught.message}`);
    assert.equal(caught.sysctl, name, `${JSON.stringify(changes)} names ${name}`);
  }
  assert.deepEqual(s.snapshot(), before);
  assert.deepEqual(calls, []);
  assert.throws(() => s.register({ 'net.test.x': { type: 'vector', default: [1], min: 1, max: 2, members: ['net.test.mem_min'] } }), /already registered/);
  assert.throws(() => s.register({ 'net.test.y': { type: 'string', default: 'bbr', choices: ['reno'] } }), /not one of/);
  throwsErrno(() => s.get('net.test.cc'), 'EINVAL');
  throwsErrno(() => s.getVector('net.test.cc'), 'EINVAL');
  throwsErrno(() => s.getString('net.test.nope'), 'ENOENT');
  throwsErrno(() => s.value('net.test.mem_min'), 'ENOENT');
});

test('a read-only sysctl is shown but never changed (EACCES; its own value written back is a no-op), and a writable snapshot leaves it out', () => {
  const s = typedTable();
  s.register({
    'net.test.available': { type: 'string', default: 'reno cubic', choices: ['reno cubic', 'reno'], readOnly: true },
    'net.test.fixed': { type: 'vector', default: [1, 2], min: 0, max: 9, members: ['net.test.fixed_lo', 'net.test.fixed_hi'], readOnly: true },
  });
  assert.equal(s.value('net.test.available'), 'reno cubic');
  for (const changes of [{ 'net.test.available': 'reno' }, { 'net.test.int': 0, 'net.test.fixed': [1, 3] }, { 'net.test.fixed_hi': 3 }]) {
    assert.throws(() => s.set(changes), (err: unknown) => err instanceof SysctlError && err.errno === 'EACCES');
  }
  assert.equal(s.get('net.test.int'), 1, 'nothing of a refused set applies');
  // A map copied from GET /v1/stack carries the read-only values as they are: they change nothing, the rest applies.
  s.set({ 'net.test.available': 'reno cubic', 'net.test.fixed': '1 2', 'net.test.int': 0 });
  assert.equal(s.get('net.test.int'), 0);
  s.set({ 'net.test.int': 1 });
  assert.equal(s.snapshot()['net.test.available'], 'reno cubic');
  const writable = s.snapshot({ writable: true });
  assert.equal('net.test.available' in writable, false);
  assert.equal('net.test.fixed' in writable, false);
  assert.equal(writable['net.test.int'], 1);
});
