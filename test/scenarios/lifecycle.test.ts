// Scenario 5: naming, renaming and unregistering devices while frames are in
// flight (in the qdisc, held by netem, in the backlog). Every frame ends
// delivered or counted, senders are credited, no timer or buffer is left.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';
import { createDevice, deleteDevice, describeDevice, qdiscReplace, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, sendNow, vethWithSockets, virtualStack } from '../helpers/stack.ts';
import { vlanChannels } from '../../src/vlan/device.ts';

test('rename with frames on the wire and in the qdisc: EBUSY while up; going down purges them; traffic resumes under the new name', async () => {
  const { stack, clock } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  // A 1 Mbit/s link with a 5-frame TX ring, and a queue in front of it.
  setLink(stack, a.name, { speed_mbps: 1, tx_ring: 5 });
  qdiscReplace(stack, a.name, { kind: 'pfifo_fast' });
  const ledger = new Ledger(stack);
  for (let i = 0; i < 20; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  assert.equal(a.queueStopped, true, 'the full ring stopped the queue');
  assert.equal(a.qdisc!.qlen, 15, 'fifteen waiting in the qdisc');
  assert.equal(describeDevice(a).queue.qlen, 15);
  const wmem = tx.sk.wmemAlloc;
  assert.ok(wmem > 0);

  throwsErrno(() => setLink(stack, a.name, { name: 'uplink0' }), 'EBUSY');
  assert.equal(a.qdisc!.qlen, 15, 'a refused rename touches nothing');

  setLink(stack, a.name, { up: false });
  assert.deepEqual(ledger.drops(), { QUEUE_PURGE: 20 });
  assert.equal(tx.sk.wmemAlloc, 0, 'purged frames credited their sender');
  assert.equal(clock.pending, 0, 'the wire\'s timer went with them');
  setLink(stack, a.name, { name: 'uplink0', up: true });
  assert.equal(a.name, 'uplink0');
  assert.equal(stack.devices.get('uplink0'), a);

  // The socket is bound to the device, not the name: it keeps working, once
  // it has been told (once) that the device went down (packet_notifier, sock_error).
  throwsErrno(() => sendNow(tx, buildFrame({ dst: b, src: a, seq: 99 })), 'ENETDOWN');
  for (let i = 0; i < 3; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: 100 + i }));
  await clock.runUntil(() => rx.queued === 3);
  const got = [];
  for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) got.push(seqOf(f.data));
  assert.deepEqual(got, [100, 101, 102]);
  ledger.assertConserved({ sent: 23, delivered: 3 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('frames in the backlog when the receiving device goes down (to be renamed) are DEV_READY', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  bhDisabled(() => {
    for (let i = 0; i < 8; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  assert.equal(stack.softnet.backlog.length, 8);
  setLink(stack, b.name, { up: false });
  setLink(stack, b.name, { name: 'renamed0' });
  await settle();
  assert.deepEqual(ledger.drops(), { DEV_READY: 8 });
  assert.equal(rx.queued, 0);
  assert.equal(tx.sk.wmemAlloc, 0);
  ledger.assertConserved({ sent: 8, delivered: 0 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('deleting a device with frames everywhere: qdisc, TX ring, backlog, a waiting sender; nothing leaks', async () => {
  const { stack, clock } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack, { tx: { sndbuf: 20_000 } });
  setLink(stack, a.name, { speed_mbps: 1, tx_ring: 4 });
  qdiscReplace(stack, a.name, { kind: 'pfifo' });
  // A second pair whose frames sit in the backlog, bound for the device we delete.
  const feeder = stack.openPacketSocket({ dev: b });
  const ledger = new Ledger(stack);
  let sent = 0;
  let waiting = null as Promise<string> | null;
  // Bottom halves off, so the feeder's frames stay in the backlog.
  bhDisabled(() => {
    for (let i = 0; i < 6; i++, sent++) sendNow(feeder, buildFrame({ dst: a, src: b, seq: 500 + i }));
    // Frames from a: some on the wire (the TX ring), the rest in the qdisc, until the send buffer is full.
    for (let i = 0; waiting === null; i++) {
      const r = tx.send(buildFrame({ dst: b, src: a, seq: i, size: 1000 }));
      if (r instanceof Promise) waiting = r;
      else sent++;
    }
  });
  if (waiting === null) throw new Error('the sender never had to wait');
  waiting.catch(() => {});
  assert.equal(a.queueStopped, true, 'the ring is full');
  assert.ok(a.qdisc!.qlen > 0);
  assert.ok(stack.softnet.backlog.length >= 6, 'frames for a wait in the backlog');
  const rxOnA = stack.openPacketSocket({ dev: a, direction: 'in' });

  const gone = deleteDevice(stack, a.name);
  assert.deepEqual(gone.map((d) => d.name).sort(), [a.name, b.name].sort());
  await rejectsErrno(waiting, 'ENETDOWN');
  throwsErrno(() => tx.send(buildFrame({ dst: b })), 'ENXIO');
  throwsErrno(() => feeder.send(buildFrame({ dst: a })), 'ENXIO');
  await settle();
  const drops = ledger.drops();
  assert.equal((drops.QUEUE_PURGE ?? 0) + (drops.DEV_READY ?? 0), sent, `every frame counted: ${JSON.stringify(drops)}`);
  assert.equal(drops.DEV_READY, 6, 'the backlog frames found their device gone');
  assert.equal(clock.pending, 0, 'no wire or watchdog timer left');
  assert.equal(tx.sk.wmemAlloc, 0);
  assert.equal(feeder.sk.wmemAlloc, 0);
  assert.equal(rxOnA.queued, 0);
  ledger.assertConserved({ sent, delivered: 0 });
  closeAndAssertQuiet(stack, [tx, rx, feeder, rxOnA]);
});

test('a new device under a deleted one\'s name is a new device: old sockets do not hear it', async () => {
  const { stack } = virtualStack();
  const [a1, b1] = (await createDevice(stack, { kind: 'veth', name: 'left', peer: 'right', up: true })) as [NetDevice, NetDevice];
  const oldRx = stack.openPacketSocket({ dev: b1, direction: 'in' });
  deleteDevice(stack, 'left');
  const [a2, b2] = (await createDevice(stack, { kind: 'veth', name: 'left', peer: 'right', up: true })) as [NetDevice, NetDevice];
  assert.notEqual(a2.ifindex, a1.ifindex);
  const tx = stack.openPacketSocket({ dev: a2 });
  const newRx = stack.openPacketSocket({ dev: b2, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b2, src: a2 }));
  await settle();
  assert.equal(oldRx.queued, 0);
  assert.equal(drainSocket(newRx).length, 1);
  ledger.assertConserved({ sent: 1, delivered: 1 });
  closeAndAssertQuiet(stack, [oldRx, tx, newRx]);
});

test('VLAN channels come and go while the parent carries traffic', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  let sent = 0;
  let delivered = 0;
  for (let round = 0; round < 5; round++) {
    const [v] = (await createDevice(stack, { kind: 'vlan', link: a.name, id: 10 + round, up: true })) as [NetDevice];
    const vs = stack.openPacketSocket({ dev: v });
    sendNow(vs, buildFrame({ dst: b, src: v, seq: round }));
    sendNow(tx, buildFrame({ dst: b, src: a, seq: 100 + round }));
    sent += 2;
    deleteDevice(stack, v.name);
    vs.close();
    await settle();
    delivered += drainSocket(rx).length;
  }
  assert.equal(vlanChannels(a).length, 0);
  assert.equal(a.rxHandler, null, "the last channel gave back the parent's rx handler");
  assert.equal(delivered, 10, 'frames sent before a channel went still arrived');
  ledger.assertConserved({ sent, delivered });
  closeAndAssertQuiet(stack, [tx, rx]);
});
