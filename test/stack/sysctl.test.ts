import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sysctl, SYSCTL_DEFAULTS, SYSCTL_NAMES, isSysctlName } from '../../src/sysctl.ts';
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
