// VLAN as Linux has it: a channel with its own MAC, PCP from the egress map,
// tx counted only when the parent took the frame, priority-tagged (VID 0)
// frames untagged and delivered on the device they came in on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { createDevice, NetStack, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { PacketType } from '../../src/skb/skbuff.ts';
import { buildFrame } from '../helpers/frames.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, sendNow } from '../helpers/stack.ts';

async function pair(stack: NetStack) {
  const [p, peer] = (await createDevice(stack, { kind: 'veth', name: 'eth0', peer: 'wire0', up: true })) as [NetDevice, NetDevice];
  return { p, peer };
}

/** A frame as the wire carries it: addresses, 802.1Q tag with `tci`, inner type, payload. */
function tagged(dst: NetDevice | string, tci: number, inner: number, size = 64): Buffer {
  const plain = buildFrame({ dst, type: inner, size: size - 4 });
  return Buffer.concat([plain.subarray(0, 12), Buffer.from([0x81, 0x00, tci >> 8, tci & 0xff]), plain.subarray(12)]);
}

test('a channel with a MAC of its own receives unicast to that MAC (vlan_dev_open adds it to the parent)', async () => {
  const stack = new NetStack();
  const { p, peer } = await pair(stack);
  const own = '02:00:00:00:0a:0a';
  const [v] = (await createDevice(stack, { kind: 'vlan', link: 'eth0', id: 7, address: own, up: true })) as [NetDevice];
  assert.equal(p.uc.size, 1, 'the parent holds the channel\'s address');
  assert.equal(p.promiscuity, 1, 'a parent without a unicast filter goes promiscuous for it (__dev_set_rx_mode)');
  const rx = stack.openPacketSocket({ dev: v, direction: 'in' });
  const wire = stack.openPacketSocket({ dev: peer });
  const ledger = new Ledger(stack);
  sendNow(wire, tagged(own, 7, 0x0800));
  await settle();
  stack.drain();
  const frames: { pktType: PacketType; data: Buffer }[] = [];
  for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) frames.push(f);
  assert.equal(frames.length, 1, JSON.stringify(ledger.drops()));
  assert.equal(frames[0]!.pktType, PacketType.HOST);
  assert.equal(frames[0]!.data.readUInt16BE(12), 0x0800, 'untagged on the channel');
  ledger.assertConserved({ sent: 1, delivered: 1 });
  setLink(stack, v.name, { up: false });
  assert.equal(p.uc.size, 0, 'going down gives the address back');
  assert.equal(p.promiscuity, 0);
  closeAndAssertQuiet(stack, [rx, wire]);
});

test('PCP comes from the egress map, 0 for a priority it does not map', async () => {
  const stack = new NetStack();
  const { peer } = await pair(stack);
  const [v] = (await createDevice(stack, { kind: 'vlan', link: 'eth0', id: 9, egress_qos_map: { 5: 3 }, up: true })) as [NetDevice];
  const tx = stack.openPacketSocket({ dev: v });
  const wire = stack.openPacketSocket({ dev: peer, direction: 'in' });
  sendNow(tx, buildFrame({ dst: peer, type: 0x0800 }), { priority: 5 });
  sendNow(tx, buildFrame({ dst: peer, type: 0x0800 }), { priority: 2 });
  await settle();
  const got = drainSocket(wire);
  assert.deepEqual(got.map((w) => w.readUInt16BE(14) >> 13), [3, 0]);
  assert.deepEqual(got.map((w) => w.readUInt16BE(14) & 0xfff), [9, 9]);
  closeAndAssertQuiet(stack, [tx, wire]);
});

test('a channel counts tx only for frames its parent took', async () => {
  const stack = new NetStack();
  const { p } = await pair(stack);
  const [v] = (await createDevice(stack, { kind: 'vlan', link: 'eth0', id: 4, up: true })) as [NetDevice];
  const tx = stack.openPacketSocket({ dev: v });
  setLink(stack, p.name, { up: false });
  const ledger = new Ledger(stack);
  assert.equal(sendNow(tx, buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', type: 0x0800 })), 'sent');
  assert.equal(v.stats.txPackets, 0, 'the parent is down: nothing went out');
  assert.equal(v.stats.txBytes, 0);
  assert.equal(v.stats.txDropped, 1);
  ledger.assertConserved({ sent: 1, delivered: 0 });
  closeAndAssertQuiet(stack, [tx]);
});

test('a priority-tagged frame (VID 0) is untagged and delivered on the device it came in on', async () => {
  const stack = new NetStack();
  const { p, peer } = await pair(stack);
  const ip = stack.openPacketSocket({ dev: p, protocol: 0x0800, direction: 'in' });
  const tap = stack.openPacketSocket({ dev: p, direction: 'in' });
  const wire = stack.openPacketSocket({ dev: peer });
  const ledger = new Ledger(stack);
  sendNow(wire, tagged(p, (5 << 13) | 0, 0x0800));
  // A VID nobody has goes on untagged as a frame for another host.
  sendNow(wire, tagged(p, 33, 0x0800));
  await settle();
  const taps = drainSocket(tap);
  assert.equal(taps.length, 2, 'the tap sees both frames');
  assert.equal(taps[0]!.readUInt16BE(12), 0x8100, 'the tap sees the frame as it arrived, tagged');
  const got: { pktType: PacketType; data: Buffer }[] = [];
  for (let f = ip.recvFrame(); f !== null; f = ip.recvFrame()) got.push(f);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.data.length, 60, 'the 4-byte tag is gone');
  assert.equal(got[0]!.data.readUInt16BE(12), 0x0800);
  assert.equal(got[0]!.pktType, PacketType.HOST);
  assert.equal(got[1]!.pktType, PacketType.OTHERHOST);
  ledger.assertConserved({ sent: 2, delivered: 4, extra: 2 });
  closeAndAssertQuiet(stack, [ip, tap, wire]);
});

test('a tagged frame nobody wants is counted as before: the tap owns it, or UNHANDLED_PROTO', async () => {
  const stack = new NetStack();
  const { p, peer } = await pair(stack);
  const wire = stack.openPacketSocket({ dev: peer });
  const ledger = new Ledger(stack);
  sendNow(wire, tagged(p, 0, 0x88b5));
  await settle();
  assert.deepEqual(ledger.drops(), { UNHANDLED_PROTO: 1 });
  assert.equal(p.stats.rxDropped, 1);
  closeAndAssertQuiet(stack, [wire]);
});
