import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { allocSkbFrom, PacketType } from '../../src/skb/index.ts';
import { createDevice, devIoctl, NetStack, setLink } from '../../src/stack/index.ts';
import { ETH_P_802_2, ETH_P_802_3 } from '../../src/wire/eth.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { createVethPair } from '../../src/dev/drivers/veth.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { registerNetdevice } from '../../src/dev/register.ts';
import { devOpen } from '../../src/dev/control.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { until } from '../helpers/wait.ts';
import { drainSocket, sendNow, TestDriver, vethWithSockets } from '../helpers/stack.ts';

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Two stacks joined by a veth pair (veth0 in each), a packet socket listening on each end. */
async function twoStacks(budget?: number) {
  const opts = budget === undefined ? {} : { sysctl: { 'net.core.netdev_budget': budget } };
  const sa = new NetStack(opts);
  const sb = new NetStack(opts);
  const [va, vb] = createVethPair(sa, sb);
  registerNetdevice(sa.devices, va, 'veth0');
  registerNetdevice(sb.devices, vb, 'veth0');
  devOpen(va);
  devOpen(vb);
  const pa = sa.openPacketSocket({ dev: va, direction: 'in' });
  const pb = sb.openPacketSocket({ dev: vb, direction: 'in' });
  await settle();
  return { sa, sb, va, vb, pa, pb };
}

/** Whether `rx` heard a frame while `send` ran (inside the sender's call). */
function receivedWithin(rx: PacketSocket, send: () => unknown): boolean {
  let inSend = true;
  let heard = false;
  rx.sk.onDataReady = () => {
    if (inSend) heard = true;
  };
  send();
  inSend = false;
  return heard;
}

test('a veth transmit from process context is received before the send returns (local_bh_enable at the end of dev_queue_xmit)', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const runs = stack.softnet.stats.runs;
  assert.equal(receivedWithin(rx, () => sendNow(tx, buildFrame({ dst: b, src: a }))), true, 'received within the send');
  assert.equal(rx.queued, 1);
  assert.equal(stack.softnet.backlog.length, 0, 'nothing left in the backlog');
  assert.equal(stack.softnet.stats.runs, runs + 1, 'by one bottom-half run');
  await settle();
  assert.equal(stack.softnet.stats.runs, runs + 1, 'the raised run found nothing left and did not run');
  drainSocket(rx);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('with bottom halves disabled (as in a NIC\'s interrupt) the frame waits in the backlog, not in the sender\'s stack', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  assert.equal(receivedWithin(rx, () => bhDisabled(() => sendNow(tx, buildFrame({ dst: b, src: a })))), false);
  assert.equal(rx.queued, 0, 'not received synchronously');
  assert.equal(stack.softnet.backlog.length, 1, 'it waits in the backlog');
  await settle();
  assert.equal(rx.queued, 1);
  assert.equal(stack.softnet.backlog.length, 0);
  assert.ok(stack.softnet.stats.processed >= 1);
  drainSocket(rx);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a bottom half raised with bottom halves disabled runs when the task ends (a microtask, as irq_exit runs a raised softirq), before the event loop turns', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  let turned = false;
  setImmediate(() => (turned = true));
  bhDisabled(() => sendNow(tx, buildFrame({ dst: b, src: a })));
  assert.equal(rx.queued, 0, 'not inside the send');
  await Promise.resolve();
  assert.equal(rx.queued, 1, 'received once the sending task is done');
  assert.equal(turned, false, 'without waiting for a turn of the event loop');
  drainSocket(rx);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a run left to the event loop after a budget squeeze is taken by the next transmit (Linux no longer defers to a woken ksoftirqd)', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.netdev_budget': 4 } });
  const { a, b, tx, rx } = await vethWithSockets(stack);
  bhDisabled(() => {
    for (let i = 0; i < 6; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  await Promise.resolve();
  assert.equal(rx.queued, 4, 'one budget, then squeezed');
  assert.equal(stack.softnet.stats.timeSqueeze, 1);
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 6 }));
  assert.equal(rx.queued, 7, 'the transmit ran the rest and its own frame');
  assert.equal(stack.softnet.backlog.length, 0);
  await settle();
  assert.deepEqual(drainSocket(rx).map(seqOf), [...Array(7).keys()], 'all of them, in order');
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('bottom halves that keep raising each other run ten times in a row (MAX_SOFTIRQ_RESTART), then wait for the event loop', async () => {
  // Two stacks joined by a veth pair: what one bottom half sends, the other
  // stack's bottom half receives, and it answers, and so on.
  const { sa, sb, va, vb, pa, pb } = await twoStacks();
  let received = 0;
  let beforeTurn = -1;
  setImmediate(() => (beforeTurn = received));
  const answer = (sock: typeof pa, to: NetDevice, from: NetDevice) => () => {
    received++;
    // Off, so each reply raises the other stack's bottom half instead of being received inside this one.
    if (received < 30) bhDisabled(() => sendNow(sock, buildFrame({ dst: to.devAddr, src: from.devAddr, seq: received })));
  };
  pa.sk.onDataReady = answer(pa, vb, va);
  pb.sk.onDataReady = answer(pb, va, vb);
  bhDisabled(() => sendNow(pa, buildFrame({ dst: vb.devAddr, src: va.devAddr, seq: 0 })));
  await settle();
  assert.equal(beforeTurn, 10, 'the event loop had its turn after ten runs');
  assert.equal(received, 30, 'and the rest ran after it');
  drainSocket(pa);
  drainSocket(pb);
  closeAndAssertQuiet(sa, [pa]);
  closeAndAssertQuiet(sb, [pb]);
});

test('one CPU: a transmit from a bottom half is not received inside it; two stacks answering each other go on in runs of their own, ten in a row, then the event loop', async () => {
  const { sa, sb, va, vb, pa, pb } = await twoStacks();
  const total = 200;
  let received = 0;
  let beforeTurn = -1;
  let nestedReceive = false;
  let inHandler = false;
  setImmediate(() => (beforeTurn = received));
  const answer = (sock: typeof pa, to: NetDevice, from: NetDevice) => () => {
    if (inHandler) nestedReceive = true;
    inHandler = true;
    while (drainSocket(sock).length > 0) {
      received++;
      if (received < total) sendNow(sock, buildFrame({ dst: to.devAddr, src: from.devAddr, seq: received }));
    }
    inHandler = false;
  };
  pa.sk.onDataReady = answer(pa, vb, va);
  pb.sk.onDataReady = answer(pb, va, vb);
  // From process context: B receives it at once, and A receives B's answer
  // when its own transmit ends (rcu_read_unlock_bh); A's answer to that was
  // sent from A's bottom half and waits for B's run.
  sendNow(pa, buildFrame({ dst: vb.devAddr, src: va.devAddr, seq: 0 }));
  assert.equal(received, 2);
  assert.equal(sb.softnet.backlog.length, 1);
  await until(() => received === total, 'every answer');
  assert.equal(nestedReceive, false, 'no bottom half ran inside another');
  // Two at once, then at most ten bottom halves in a row (a raise the
  // transmit's end took over early still counts towards the ten).
  assert.ok(beforeTurn >= 10 && beforeTurn <= 12, `the event loop turned after ${beforeTurn} answers`);
  assert.equal(sa.softnet.stats.dropped + sb.softnet.stats.dropped, 0);
  closeAndAssertQuiet(sa, [pa]);
  closeAndAssertQuiet(sb, [pb]);
});

test('a stack receives nothing inside its own transmit: a bridge flood to a veth pair within the stack is received when the flood is over (rcu_read_unlock_bh)', async () => {
  const stack = new NetStack();
  const other = new NetStack();
  await createDevice(stack, { kind: 'bridge', name: 'br0', up: true });
  const [a0, b0] = createVethPair(stack, stack);
  registerNetdevice(stack.devices, a0, 'a0');
  registerNetdevice(stack.devices, b0, 'b0');
  const [a1, c1] = createVethPair(stack, other);
  registerNetdevice(stack.devices, a1, 'a1');
  registerNetdevice(other.devices, c1, 'c1');
  for (const d of [a0, b0, a1, c1]) devOpen(d);
  setLink(stack, 'a0', { master: 'br0' });
  setLink(stack, 'a1', { master: 'br0' });
  await settle();
  const tx = stack.openPacketSocket({ dev: stack.devices.get('br0')! });
  const rx = stack.openPacketSocket({ dev: b0, direction: 'in' });
  const a1Before = a1.stats.txPackets;
  let a1SentAtReceive = -1;
  rx.sk.onDataReady = () => {
    if (a1SentAtReceive < 0) a1SentAtReceive = a1.stats.txPackets - a1Before;
  };
  sendNow(tx, buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: a0.devAddr }));
  assert.equal(a1SentAtReceive, 1, 'b0 heard it after the flood had sent it out of a1 too, before the send returned');
  drainSocket(rx);
  closeAndAssertQuiet(stack, [tx, rx]);
  other.close();
});

test('the backlog accepts while qlen <= netdev_max_backlog (enqueue_to_backlog): max + 1 frames; beyond that CPU_BACKLOG', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.netdev_max_backlog': 10 } });
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  // A burst as from one interrupt: nothing is received until it is over.
  bhDisabled(() => {
    for (let i = 0; i < 25; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  assert.equal(stack.softnet.backlog.length, 11);
  assert.deepEqual(ledger.drops(), { CPU_BACKLOG: 14 });
  assert.equal(stack.softnet.stats.dropped, 14);
  assert.equal(b.stats.rxDropped, 14);
  assert.equal(b.stats.rxPackets, 11);
  assert.equal(a.stats.txDropped, 14);
  await settle();
  assert.deepEqual(drainSocket(rx).map(seqOf), [...Array(11).keys()], 'the first eleven, in order');
  ledger.assertConserved({ sent: 25, delivered: 11 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a budget per run, like NAPI: work left over counts a time squeeze and runs again', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.netdev_budget': 8 } });
  const { a, b, tx, rx } = await vethWithSockets(stack);
  bhDisabled(() => {
    for (let i = 0; i < 20; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  const base = { ...stack.softnet.stats };
  await nextTick();
  assert.equal(stack.softnet.stats.processed - base.processed, 8, 'one run, one budget');
  assert.equal(stack.softnet.stats.timeSqueeze - base.timeSqueeze, 1);
  assert.equal(rx.queued, 8);
  await nextTick();
  assert.equal(stack.softnet.stats.processed - base.processed, 16);
  await settle();
  assert.equal(rx.queued, 20);
  assert.equal(stack.softnet.stats.timeSqueeze - base.timeSqueeze, 2);
  assert.equal(stack.softnet.stats.runs - base.runs, 3);
  assert.deepEqual(drainSocket(rx).map(seqOf), [...Array(20).keys()]);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('drain() runs the bottom half to completion now', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.netdev_budget': 2 } });
  const { a, b, tx, rx } = await vethWithSockets(stack);
  bhDisabled(() => {
    for (let i = 0; i < 9; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  assert.equal(rx.queued, 0);
  stack.drain();
  assert.equal(rx.queued, 9);
  assert.equal(stack.softnet.backlog.length, 0);
  drainSocket(rx);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('pkt_type host, broadcast, multicast, otherhost; a NIC filters by the multicast list and promisc, a veth by nothing', async () => {
  const stack = new NetStack();
  const nic = new TestDriver(stack, { hwAddrFilter: true });
  const b = nic.dev;
  const rx = stack.openPacketSocket({ dev: b, direction: 'in' });
  const ledger = new Ledger(stack);
  const mcast = '01:00:5e:00:00:fb';
  const types = async (dst: string | typeof b): Promise<number[]> => {
    nic.receive(buildFrame({ dst }));
    await settle();
    const out: number[] = [];
    for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) out.push(f.pktType);
    return out;
  };
  assert.deepEqual(await types(b), [PacketType.HOST]);
  assert.deepEqual(await types('ff:ff:ff:ff:ff:ff'), [PacketType.BROADCAST]);
  assert.deepEqual(await types(mcast), [], 'not subscribed');
  assert.deepEqual(ledger.drops(), { OTHERHOST: 1 });
  devIoctl(stack, b.name, { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: mcast } });
  assert.deepEqual(await types(mcast), [PacketType.MULTICAST]);
  assert.equal(b.stats.multicast, 1);
  assert.deepEqual(await types('01:00:5e:00:00:fc'), [], 'another group is still filtered');
  devIoctl(stack, b.name, { request: 'SIOCDELMULTI', ifr_hwaddr: { sa_family: 0, sa_data: mcast } });
  assert.deepEqual(await types(mcast), []);
  setLink(stack, b.name, { allmulti: true });
  assert.deepEqual(await types('01:00:5e:00:00:fc'), [PacketType.MULTICAST], 'allmulti takes every group');
  setLink(stack, b.name, { allmulti: false });
  assert.deepEqual(await types('02:00:00:00:00:77'), [], 'another host\'s frame');
  setLink(stack, b.name, { promisc: true });
  assert.deepEqual(await types('02:00:00:00:00:77'), [PacketType.OTHERHOST]);
  assert.deepEqual(await types('01:00:5e:00:00:fd'), [PacketType.MULTICAST], 'promisc takes every group too');
  assert.deepEqual(ledger.drops(), { OTHERHOST: 4 });
  ledger.assertConserved({ sent: 11, delivered: 7 });

  // A veth, like every software device, filters nothing: every group and every host reaches its taps.
  const v = await vethWithSockets(stack);
  for (const dst of [mcast, '02:00:00:00:00:77']) sendNow(v.tx, buildFrame({ dst, src: v.a }));
  await settle();
  assert.deepEqual([v.rx.recvFrame()?.pktType, v.rx.recvFrame()?.pktType], [PacketType.MULTICAST, PacketType.OTHERHOST]);
  assert.equal(v.b.stats.multicast, 1);
  closeAndAssertQuiet(stack, [rx, v.tx, v.rx]);
});

test('802.3 length-field frames reach sockets as ETH_P_802_2 or ETH_P_802_3', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const llcOnly = stack.openPacketSocket({ dev: b, protocol: ETH_P_802_2 });
  sendNow(tx, buildFrame({ dst: b, src: a, type: 46, payload: Buffer.alloc(46, 0xaa) }));
  const raw = Buffer.alloc(46);
  raw.writeUInt16BE(0xffff, 0);
  sendNow(tx, buildFrame({ dst: b, src: a, type: 46, payload: raw }));
  await settle();
  const protos: number[] = [];
  for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) protos.push(f.protocol);
  assert.deepEqual(protos, [ETH_P_802_2, ETH_P_802_3]);
  const llc = drainSocket(llcOnly);
  assert.equal(llc.length, 1);
  assert.equal(llc[0]!.readUInt16BE(12), 46, 'the frame as it was, length field and all');
  closeAndAssertQuiet(stack, [tx, rx, llcOnly]);
});

test('frames nobody takes are UNHANDLED_PROTO; runts are PKT_TOO_SMALL; a device gone down is DEV_READY', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  rx.close();
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  assert.deepEqual(ledger.drops(), { UNHANDLED_PROTO: 1 });
  assert.equal(b.stats.rxDropped, 1, 'counted as rx dropped, as Linux does');
  assert.equal(b.stats.rxNohandler, 0);
  // A runt handed straight to the receive path.
  const runt = allocSkbFrom(stack.pool, 10);
  assert.ok(runt);
  runt.put(10);
  runt.dev = b;
  stack.netifRx(runt);
  await settle();
  assert.equal(ledger.drops().PKT_TOO_SMALL, 1);
  assert.equal(b.stats.rxLengthErrors, 1);
  // No device at all.
  const orphan = allocSkbFrom(stack.pool, 60);
  assert.ok(orphan);
  orphan.put(60);
  stack.netifRx(orphan);
  // In the backlog when the device goes down.
  bhDisabled(() => sendNow(tx, buildFrame({ dst: b, src: a })));
  assert.equal(stack.softnet.backlog.length, 1);
  setLink(stack, b.name, { up: false });
  await settle();
  assert.deepEqual(ledger.drops(), { UNHANDLED_PROTO: 1, PKT_TOO_SMALL: 1, DEV_READY: 2 });
  ledger.assertConserved({ sent: 4, delivered: 0 });
  closeAndAssertQuiet(stack, [tx, rx]);
});
