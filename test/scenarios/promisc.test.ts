// Scenario 4: promiscuity is counted, and on a device with a hardware
// address filter (a NIC) frames for other hosts are filtered (dropped as
// OTHERHOST) unless some socket holds it promiscuous; releasing the last
// reference restores the filter. A software device (veth) has no filter:
// its taps see such frames, marked otherhost, promiscuous or not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { IFF } from '../../src/dev/flags.ts';
import { PacketType } from '../../src/skb/skbuff.ts';
import { createDevice, deleteDevice, describeDevice, devIoctl } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { buildFrame } from '../helpers/frames.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { sendNow, TestDriver, vethWithSockets, virtualStack } from '../helpers/stack.ts';

const OTHER = '02:00:00:00:be:ef';

test('a NIC with an address filter: OTHERHOST until a socket holds promisc; two holders need two releases', async () => {
  const { stack } = virtualStack();
  const nic = new TestDriver(stack, { hwAddrFilter: true });
  const b = nic.dev;
  const rx = stack.openPacketSocket({ dev: b, direction: 'in' });
  const ledger = new Ledger(stack);
  let sent = 0;
  let delivered = 0;
  const all: PacketSocket[] = [rx];
  const read = (sockets: PacketSocket[]): number[][] =>
    sockets.map((s) => {
      const types: number[] = [];
      for (let f = s.recvFrame(); f !== null; f = s.recvFrame()) types.push(f.pktType);
      delivered += types.length;
      return types;
    });
  const round = async (sockets: PacketSocket[]): Promise<number[][]> => {
    nic.receive(buildFrame({ dst: OTHER }));
    nic.receive(buildFrame({ dst: b }));
    sent += 2;
    await settle();
    return read(sockets);
  };

  assert.deepEqual(await round([rx]), [[PacketType.HOST]], 'the other host\'s frame is filtered');
  assert.equal(ledger.drops().OTHERHOST, 1);

  const p1 = stack.openPacketSocket({ dev: b, promisc: true, direction: 'in' });
  const p2 = stack.openPacketSocket({ dev: b, promisc: true, direction: 'in' });
  all.push(p1, p2);
  assert.equal(b.promiscuity, 2);
  assert.equal(describeDevice(b).promiscuity, 2);
  // Every socket on the device sees it now, promiscuous or not, marked otherhost.
  assert.deepEqual(await round([rx, p1, p2]), [
    [PacketType.OTHERHOST, PacketType.HOST],
    [PacketType.OTHERHOST, PacketType.HOST],
    [PacketType.OTHERHOST, PacketType.HOST],
  ]);

  p1.close();
  assert.equal(b.promiscuity, 1);
  assert.deepEqual(await round([rx, p2]), [[PacketType.OTHERHOST, PacketType.HOST], [PacketType.OTHERHOST, PacketType.HOST]], 'one release is not enough');

  p2.close();
  assert.equal(b.promiscuity, 0);
  assert.equal(b.flags & IFF.PROMISC, 0);
  assert.deepEqual(await round([rx]), [[PacketType.HOST]], 'the filter is back');
  assert.equal(ledger.drops().OTHERHOST, 2);

  // Each socket beyond the first on a frame costs one clone.
  ledger.assertConserved({ sent, delivered, extra: ledger.clones() });
  closeAndAssertQuiet(stack, all);
});

test('a software device (veth) has no address filter: taps see otherhost frames; OTHERHOST only where no one wants them', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const typed = stack.openPacketSocket({ dev: b, protocol: 0x0800, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: OTHER, src: a }));
  sendNow(tx, buildFrame({ dst: OTHER, src: a, type: 0x0800 }));
  await settle();
  const types = [rx.recvFrame(), rx.recvFrame()].map((f) => f?.pktType);
  assert.deepEqual(types, [PacketType.OTHERHOST, PacketType.OTHERHOST], 'not promiscuous, and still seen');
  assert.equal(b.promiscuity, 0);
  assert.equal(typed.recvFrame()?.pktType, PacketType.OTHERHOST, 'packet_rcv does not filter by pkt_type either');
  assert.deepEqual(ledger.drops(), {});
  // Without a tap, a frame for another host is dropped as OTHERHOST, not counted lost by the device.
  rx.close();
  typed.close();
  sendNow(tx, buildFrame({ dst: OTHER, src: a }));
  await settle();
  assert.deepEqual(ledger.drops(), { OTHERHOST: 1 });
  assert.equal(b.stats.rxDropped, 0);
  ledger.assertConserved({ sent: 3, delivered: 3, extra: ledger.clones() });
  closeAndAssertQuiet(stack, [tx, rx, typed]);
});

test('SIOCSIFFLAGS PROMISC is one more reference; promisc on another device does not open this one', async () => {
  const { stack } = virtualStack();
  const nic = new TestDriver(stack, { hwAddrFilter: true });
  const b = nic.dev;
  const rx = stack.openPacketSocket({ dev: b, direction: 'in' });
  const [other] = (await createDevice(stack, { kind: 'dummy', up: true })) as [NetDevice];
  const elsewhere = stack.openPacketSocket({ dev: other, promisc: true });
  const ledger = new Ledger(stack);
  const otherhost = async (): Promise<number> => {
    nic.receive(buildFrame({ dst: OTHER }));
    await settle();
    let n = 0;
    while (rx.recvFrame() !== null) n++;
    return n;
  };
  assert.equal(await otherhost(), 0, 'promisc on another device changes nothing here');
  const p = stack.openPacketSocket({ dev: b, promisc: true });
  devIoctl(stack, b.name, { request: 'SIOCSIFFLAGS', ifr_flags: b.visibleFlags() | IFF.PROMISC });
  assert.equal(b.promiscuity, 2);
  p.close();
  assert.equal(await otherhost(), 1, 'the user\'s reference keeps it open');
  devIoctl(stack, b.name, { request: 'SIOCSIFFLAGS', ifr_flags: b.visibleFlags() & ~IFF.PROMISC });
  assert.equal(b.promiscuity, 0);
  assert.equal(await otherhost(), 0);
  assert.deepEqual(ledger.drops(), { OTHERHOST: 2 });
  ledger.assertConserved({ sent: 3, delivered: 1 });
  closeAndAssertQuiet(stack, [rx, p, elsewhere]);
});

test('a promisc socket whose device is deleted gives nothing back to a new device of the same name', async () => {
  const { stack } = virtualStack();
  const [d1] = (await createDevice(stack, { kind: 'dummy', name: 'sniff0', up: true })) as [NetDevice];
  const p = stack.openPacketSocket({ dev: d1, promisc: true });
  assert.equal(d1.promiscuity, 1);
  deleteDevice(stack, 'sniff0');
  const [d2] = (await createDevice(stack, { kind: 'dummy', name: 'sniff0', up: true })) as [NetDevice];
  p.close();
  assert.equal(d2.promiscuity, 0, 'closing the old socket does not touch the new device');
  closeAndAssertQuiet(stack, [p]);
});
