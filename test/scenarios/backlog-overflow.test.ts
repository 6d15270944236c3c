// Scenario 3: more frames arrive in one burst than the per-stack backlog
// holds (net.core.netdev_max_backlog); the excess is dropped and counted as
// CPU_BACKLOG, the rest goes through in order, and nothing leaks. Linux takes
// a frame while qlen <= netdev_max_backlog, so the backlog holds max + 1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';
import { createDevice } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, sendNow, vethWithSockets, virtualStack } from '../helpers/stack.ts';

test('a burst over netdev_max_backlog in one interrupt: the excess is CPU_BACKLOG, the rest arrives in order', async () => {
  const { stack } = virtualStack();
  stack.sysctl.set({ 'net.core.netdev_max_backlog': 50 });
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  const burst = 200;
  // All in one go with bottom halves off, as a NIC hands over a burst in one
  // interrupt (a veth send from process context is received at once).
  bhDisabled(() => {
    for (let i = 0; i < burst; i++) assert.equal(sendNow(tx, buildFrame({ dst: b, src: a, seq: i })), 'sent');
  });
  const held = 51;
  assert.equal(stack.softnet.backlog.length, held);
  assert.deepEqual(ledger.drops(), { CPU_BACKLOG: burst - held });
  assert.equal(stack.softnet.stats.dropped, burst - held);
  assert.equal(b.stats.rxDropped, burst - held);
  await settle();
  assert.deepEqual(drainSocket(rx).map(seqOf), [...Array(held).keys()]);
  // With room again, a paced sender loses nothing.
  for (let i = 0; i < 100; i += 40) {
    bhDisabled(() => {
      for (let j = i; j < Math.min(i + 40, 100); j++) sendNow(tx, buildFrame({ dst: b, src: a, seq: 1000 + j }));
    });
    await settle();
  }
  await settle();
  assert.equal(drainSocket(rx).length, 100);
  assert.deepEqual(ledger.drops(), { CPU_BACKLOG: burst - held });
  ledger.assertConserved({ sent: burst + 100, delivered: held + 100 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('the backlog is the stack\'s, shared by every device: two pairs overflow it together', async () => {
  const { stack } = virtualStack();
  stack.sysctl.set({ 'net.core.netdev_max_backlog': 30 });
  const p1 = await vethWithSockets(stack);
  const [c, d] = (await createDevice(stack, { kind: 'veth', up: true })) as [NetDevice, NetDevice];
  const tx2 = stack.openPacketSocket({ dev: c });
  const rx2 = stack.openPacketSocket({ dev: d, direction: 'in' });
  const ledger = new Ledger(stack);
  bhDisabled(() => {
    for (let i = 0; i < 20; i++) {
      sendNow(p1.tx, buildFrame({ dst: p1.b, src: p1.a, seq: i }));
      sendNow(tx2, buildFrame({ dst: d, src: c, seq: i }));
    }
  });
  assert.equal(stack.softnet.backlog.length, 31);
  await settle();
  const got1 = drainSocket(p1.rx).map(seqOf);
  const got2 = drainSocket(rx2).map(seqOf);
  assert.equal(got1.length + got2.length, 31);
  assert.deepEqual(got1, [...Array(16).keys()], 'interleaved senders share it first come, first served');
  assert.deepEqual(got2, [...Array(15).keys()]);
  assert.deepEqual(ledger.drops(), { CPU_BACKLOG: 9 });
  assert.equal(p1.b.stats.rxDropped + d.stats.rxDropped, 9);
  ledger.assertConserved({ sent: 40, delivered: 31 });
  closeAndAssertQuiet(stack, [p1.tx, p1.rx, tx2, rx2]);
});

test('lowering netdev_max_backlog below what is queued drops nothing already queued', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  bhDisabled(() => {
    for (let i = 0; i < 40; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
    stack.sysctl.set({ 'net.core.netdev_max_backlog': 10 });
    sendNow(tx, buildFrame({ dst: b, src: a, seq: 40 }));
  });
  assert.deepEqual(ledger.drops(), { CPU_BACKLOG: 1 });
  await settle();
  assert.deepEqual(drainSocket(rx).map(seqOf), [...Array(40).keys()]);
  ledger.assertConserved({ sent: 41, delivered: 40 });
  closeAndAssertQuiet(stack, [tx, rx]);
});
