import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { unregisterNetdevice } from '../../src/dev/register.ts';
import { createDevice, deleteDevice, describeDevice, NetStack, setLink } from '../../src/stack/index.ts';
import { PacketType } from '../../src/skb/skbuff.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { buildFrame, ETH_P_TEST, seqOf } from '../helpers/frames.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, sendNow, virtualStack } from '../helpers/stack.ts';
import { vlanFindDev } from '../../src/vlan/device.ts';

test('loopback: lo exists from the start, ifindex 1, mtu 65536, up, and cannot be deleted', async () => {
  const stack = new NetStack();
  const lo = stack.devices.get('lo');
  assert.ok(lo);
  assert.equal(lo, stack.lo);
  assert.equal(lo.ifindex, 1);
  assert.equal(lo.mtu, 65536);
  assert.equal(lo.kind, 'loopback');
  const view = describeDevice(lo);
  assert.equal(view.link_type, 'loopback');
  assert.deepEqual(view.flags, ['LOOPBACK', 'UP', 'LOWER_UP']);
  assert.equal(view.address, '00:00:00:00:00:00');
  throwsErrno(() => deleteDevice(stack, 'lo'), 'EOPNOTSUPP');
  throwsErrno(() => unregisterNetdevice(stack.devices, lo), 'EOPNOTSUPP');
  assert.equal(stack.devices.get('lo'), lo);
  throwsErrno(() => setLink(stack, 'lo', { address: '02:00:00:00:00:01' }), 'EOPNOTSUPP');
  stack.close();
  assert.equal(lo.isUp(), false, 'closing the stack brings lo down');
});

test('loopback: what is sent comes back in; the sender is credited at once', async () => {
  const stack = new NetStack();
  const ledger = new Ledger(stack);
  const s = stack.openPacketSocket({ dev: stack.lo, direction: 'in' });
  const big = buildFrame({ dst: stack.lo, size: 65536 + 14, seq: 3 });
  assert.equal(sendNow(s, big), 'sent');
  assert.equal(s.sk.wmemAlloc, 0, 'lo orphans the frame: it never throttles');
  assert.equal(s.queued, 0, 'received later, in the bottom half');
  await settle();
  const f = s.recvFrame();
  assert.ok(f);
  assert.equal(f.data.length, 65550);
  assert.equal(seqOf(f.data), 3);
  assert.equal(f.ifname, 'lo');
  assert.equal(f.pktType, PacketType.HOST);
  assert.equal(stack.lo.stats.txPackets, 1);
  assert.equal(stack.lo.stats.rxPackets, 1);
  assert.equal(stack.lo.stats.txBytes, 65550);
  throwsErrno(() => s.send(buildFrame({ dst: stack.lo, size: 65551 })), 'EMSGSIZE');
  ledger.assertConserved({ sent: 1, delivered: 1 });
  closeAndAssertQuiet(stack, [s]);
});

test('dummy swallows and counts what it transmits, and receives nothing', async () => {
  const stack = new NetStack();
  const [d] = await createDevice(stack, { kind: 'dummy', up: true });
  const tx = stack.openPacketSocket({ dev: d! });
  const rx = stack.openPacketSocket({ dev: d!, direction: 'in' });
  for (let i = 0; i < 4; i++) sendNow(tx, buildFrame({ dst: '02:00:00:00:00:01', size: 100 }));
  assert.equal(d!.stats.txPackets, 4);
  assert.equal(d!.stats.txBytes, 400);
  assert.equal(d!.stats.rxPackets, 0);
  assert.equal(tx.sk.wmemAlloc, 0, 'freed on transmit');
  await settle();
  assert.equal(rx.queued, 0);
  const v = describeDevice(d!);
  assert.equal(v.kind, 'dummy');
  assert.equal(v.stats64.tx.packets, 4);
  assert.ok(v.flags.includes('NOARP'));
  assert.equal(v.operstate, 'UNKNOWN', 'like Linux dummy: no operstate of its own');
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('veth: carrier follows both ends\' admin state; a lone end is LOWERLAYERDOWN', async () => {
  const stack = new NetStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', name: 'va', peer: 'vb' })) as [NetDevice, NetDevice];
  assert.equal(a.link, b);
  assert.equal(b.link, a);
  assert.equal(describeDevice(a).link, 'vb');
  assert.equal(a.operstate(), 'DOWN');
  setLink(stack, 'va', { up: true });
  assert.equal(a.carrier, false);
  assert.equal(a.operstate(), 'LOWERLAYERDOWN');
  assert.deepEqual(describeDevice(a).flags, ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP']);
  assert.equal(b.operstate(), 'DOWN');
  setLink(stack, 'vb', { up: true });
  assert.equal(a.carrier, true);
  assert.equal(b.carrier, true);
  assert.equal(a.operstate(), 'UP');
  assert.equal(b.operstate(), 'UP');
  assert.ok(describeDevice(a).flags.includes('LOWER_UP'));
  setLink(stack, 'vb', { up: false });
  assert.equal(a.operstate(), 'LOWERLAYERDOWN');
  assert.equal(a.carrier, false);
  setLink(stack, 'va', { up: false });
  setLink(stack, 'vb', { up: true });
  assert.equal(b.operstate(), 'LOWERLAYERDOWN');
  stack.close();
});

test('veth: frames cross to the peer; sending at a lone end drops them as DEV_READY', async () => {
  const stack = new NetStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', up: true })) as [NetDevice, NetDevice];
  const tx = stack.openPacketSocket({ dev: a });
  const rx = stack.openPacketSocket({ dev: b, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 1 }));
  await settle();
  assert.deepEqual(drainSocket(rx).map(seqOf), [1]);
  assert.equal(a.stats.txPackets, 1);
  assert.equal(b.stats.rxPackets, 1);
  setLink(stack, b.name, { up: false });
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 2 }));
  assert.equal(a.stats.txDropped, 1);
  assert.deepEqual(ledger.drops(), { DEV_READY: 1 });
  ledger.assertConserved({ sent: 2, delivered: 1 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('veth: deleting one end deletes the other', async () => {
  const stack = new NetStack();
  await createDevice(stack, { kind: 'veth', name: 'va', peer: 'vb', up: true });
  const gone = deleteDevice(stack, 'vb');
  assert.deepEqual(gone.map((d) => d.name).sort(), ['va', 'vb']);
  assert.equal(stack.devices.has('va'), false);
  assert.equal(stack.devices.size, 1);
  stack.close();
});

async function vlanSetup(stack: NetStack) {
  const [p, peer] = (await createDevice(stack, { kind: 'veth', name: 'eth0', peer: 'wire0', up: true })) as [NetDevice, NetDevice];
  const [v] = (await createDevice(stack, { kind: 'vlan', link: 'eth0', id: 100, up: true })) as [NetDevice];
  return { p, peer, v };
}

test('vlan: name parent.vid, carrier follows the parent, deleted with it', async () => {
  const stack = new NetStack();
  const { p, peer, v } = await vlanSetup(stack);
  assert.equal(v.name, 'eth0.100');
  assert.equal(v.link, p);
  assert.equal(vlanFindDev(p, 100), v);
  assert.equal(v.mtu, 1500);
  assert.deepEqual(describeDevice(v).linkinfo, { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 100 } });
  assert.equal(describeDevice(v).address, describeDevice(p).address);
  assert.equal(v.operstate(), 'UP');
  setLink(stack, 'wire0', { up: false });
  assert.equal(v.carrier, false, 'the parent lost carrier, so did the channel');
  assert.equal(v.operstate(), 'LOWERLAYERDOWN');
  setLink(stack, 'wire0', { up: true });
  assert.equal(v.operstate(), 'UP');
  setLink(stack, 'eth0', { up: false });
  assert.equal(v.operstate(), 'LOWERLAYERDOWN');
  assert.equal(v.isUp(), true, 'admin state is the channel\'s own');
  setLink(stack, 'eth0', { up: true });
  assert.equal(v.operstate(), 'UP');
  // Channels come and go while the parent runs.
  const [v2] = await createDevice(stack, { kind: 'vlan', link: 'eth0', id: 200, name: 'voice', up: true });
  assert.equal(v2!.name, 'voice');
  deleteDevice(stack, 'voice');
  assert.equal(vlanFindDev(p, 200), undefined);
  assert.equal(p.isUp(), true);
  const gone = deleteDevice(stack, 'eth0');
  assert.deepEqual(gone.map((d) => d.name).sort(), ['eth0', 'eth0.100', 'wire0']);
  assert.equal(stack.devices.size, 1);
  assert.equal(peer.registered, false);
  stack.close();
});

test('vlan: bad ids, a taken id, a parent that cannot carry tags, a missing parent', async () => {
  const stack = new NetStack();
  await vlanSetup(stack);
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'eth0', id: 0 }), 'ERANGE');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'eth0', id: 4095 }), 'ERANGE');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'eth0', id: 1.5 }), 'ERANGE');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'eth0', id: 100, name: 'other' }), 'EEXIST');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'lo', id: 5 }), 'EOPNOTSUPP');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'nope', id: 5 }), 'ENODEV');
  await rejectsErrno(createDevice(stack, { kind: 'vlan', link: 'eth0', id: 7, mtu: 1501 }), 'EINVAL');
  assert.deepEqual(stack.devices.list().map((d) => d.name), ['lo', 'eth0', 'wire0', 'eth0.100']);
  stack.close();
});

test('vlan: the tag is pushed on transmit through the parent (bytes on the wire)', async () => {
  const stack = new NetStack();
  const { p, peer, v } = await vlanSetup(stack);
  const tx = stack.openPacketSocket({ dev: v });
  const wire = stack.openPacketSocket({ dev: peer, direction: 'in' });
  const ledger = new Ledger(stack);
  const frame = buildFrame({ dst: peer, src: v, type: 0x0800, size: 1514, seq: 77 });
  assert.equal(sendNow(tx, frame, { priority: 5 }), 'sent');
  await settle();
  const got = drainSocket(wire);
  assert.equal(got.length, 1, 'a full-size frame fits with its tag');
  const w = got[0]!;
  assert.equal(w.length, 1518);
  assert.deepEqual(w.subarray(0, 12), frame.subarray(0, 12), 'addresses first');
  assert.equal(w.readUInt16BE(12), 0x8100, 'then the 802.1Q TPID');
  assert.equal(w.readUInt16BE(14) & 0x0fff, 100, 'the VID');
  assert.equal(w.readUInt16BE(14) >> 13, 0, 'no egress-qos-map: PCP 0 whatever the priority (vlan_dev_get_egress_qos_mask)');
  assert.equal(w.readUInt16BE(16), 0x0800, 'the original ethertype after the tag');
  assert.deepEqual(w.subarray(18), frame.subarray(14), 'the payload untouched');
  assert.equal(v.stats.txPackets, 1);
  assert.equal(p.stats.txPackets, 1);
  assert.equal(tx.sk.wmemAlloc, 0);
  ledger.assertConserved({ sent: 1, delivered: 1 });
  closeAndAssertQuiet(stack, [tx, wire]);
});

test('vlan: frames with its VID arrive on the channel untagged; other VIDs do not', async () => {
  const stack = new NetStack();
  const { p, peer, v } = await vlanSetup(stack);
  const onVlan = stack.openPacketSocket({ dev: v, direction: 'in' });
  const onParent = stack.openPacketSocket({ dev: p, direction: 'in' });
  const wire = stack.openPacketSocket({ dev: peer });
  const ledger = new Ledger(stack);
  const tagged = (vid: number, seq: number): Buffer => {
    const inner = buildFrame({ dst: p, src: peer, type: 0x0800, size: 100, seq });
    const f = Buffer.alloc(104);
    inner.copy(f, 0, 0, 12);
    f.writeUInt16BE(0x8100, 12);
    f.writeUInt16BE(vid, 14);
    inner.copy(f, 16, 12);
    return f;
  };
  sendNow(wire, tagged(100, 1));
  sendNow(wire, tagged(200, 2));
  await settle();
  const ch = onVlan.recvFrame();
  assert.ok(ch);
  assert.equal(onVlan.recvFrame(), null, 'VID 200 is not this channel\'s');
  assert.equal(ch.ifname, 'eth0.100');
  assert.equal(ch.data.length, 100, 'untagged');
  assert.equal(ch.data.readUInt16BE(12), 0x0800);
  assert.equal(seqOf(ch.data), 1);
  assert.deepEqual(ch.data.subarray(0, 6), p.devAddr);
  assert.equal(ch.protocol, 0x0800);
  assert.equal(ch.pktType, PacketType.HOST);
  // A tap on the parent sees both, tagged, as they were on the wire.
  const raw = drainSocket(onParent);
  assert.equal(raw.length, 2);
  assert.deepEqual(raw.map((f) => f.readUInt16BE(14)), [100, 200]);
  assert.equal(v.stats.rxPackets, 1);
  assert.equal(v.stats.rxBytes, 100);
  ledger.assertConserved({ sent: 2, delivered: 3, extra: ledger.clones() });
  closeAndAssertQuiet(stack, [onVlan, onParent, wire]);
});

test('vlan: a channel that is down drops its frames as DEV_READY', async () => {
  const stack = new NetStack();
  const { p, peer, v } = await vlanSetup(stack);
  setLink(stack, v.name, { up: false });
  const wire = stack.openPacketSocket({ dev: peer });
  const ledger = new Ledger(stack);
  const f = buildFrame({ dst: p, src: peer, type: 0x8100, size: 100 });
  f.writeUInt16BE(100, 14);
  f.writeUInt16BE(ETH_P_TEST, 16);
  sendNow(wire, f);
  await settle();
  assert.deepEqual(ledger.drops(), { DEV_READY: 1 });
  assert.equal(v.stats.rxDropped, 1);
  closeAndAssertQuiet(stack, [wire]);
});

test('veth: a frame longer than the peer\'s mtu + header + one tag is dropped (is_skb_forwardable), counted on the peer', async () => {
  const { stack } = virtualStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', up: true, mtu: 9000 })) as [NetDevice, NetDevice];
  setLink(stack, b.name, { mtu: 1500 });
  const tx = stack.openPacketSocket({ dev: a });
  const rx = stack.openPacketSocket({ dev: b, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b, src: a, size: 1518 }));
  sendNow(tx, buildFrame({ dst: b, src: a, size: 1519 }));
  await settle();
  assert.deepEqual(drainSocket(rx).map((f) => f.length), [1518], 'mtu + 14 + VLAN_HLEN passes');
  assert.deepEqual(ledger.drops(), { PKT_TOO_BIG: 1 });
  assert.equal(b.stats.rxDropped, 1, 'counted on the peer');
  assert.equal(a.stats.txDropped, 1);
  assert.equal(tx.sk.wmemAlloc, 0);
  ledger.assertConserved({ sent: 2, delivered: 1 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('dummy and veth with a link speed: each frame takes len*8/speed on the wire, its sender is credited when it leaves', async () => {
  const { stack, clock } = virtualStack();
  const [d] = (await createDevice(stack, { kind: 'dummy', up: true, speed_mbps: 1, tx_ring: 3 })) as [NetDevice];
  assert.deepEqual(d.ops.getLinkSettings!(d), { speedMbps: 1, txRing: 3 });
  assert.deepEqual(describeDevice(d).linkinfo, { info_kind: 'dummy', info_data: { speed_mbps: 1, tx_ring: 3 } });
  const tx = stack.openPacketSocket({ dev: d });
  const ledger = new Ledger(stack);
  // 1250 bytes = 10 ms at 1 Mbit/s. The ring takes three; noqueue drops the fourth ("virtual device was busy").
  const results = Array.from({ length: 4 }, (_, i) => sendNow(tx, buildFrame({ dst: '02:00:00:00:00:01', size: 1250, seq: i })));
  assert.deepEqual(results, ['sent', 'sent', 'sent', 'dropped']);
  assert.equal(d.queueStopped, true, 'a full ring stops the queue');
  assert.equal(d.stats.txPackets, 0);
  const charged = tx.sk.wmemAlloc;
  assert.ok(charged > 0);
  await clock.advance(10);
  assert.equal(d.stats.txPackets, 1);
  assert.ok(tx.sk.wmemAlloc < charged, 'credited as the first frame left the wire');
  assert.equal(d.queueStopped, false, 'and the completion woke the queue');
  await clock.advance(20);
  assert.equal(d.stats.txPackets, 3);
  assert.equal(tx.sk.wmemAlloc, 0);
  assert.deepEqual(ledger.drops(), { DEV_READY: 1 });
  // Other kinds have no wire to set; bad values change nothing.
  throwsErrno(() => setLink(stack, 'lo', { speed_mbps: 10 }), 'EOPNOTSUPP');
  throwsErrno(() => setLink(stack, d.name, { mtu: 1400, speed_mbps: -1 }), 'EINVAL');
  throwsErrno(() => setLink(stack, d.name, { tx_ring: 0 }), 'EINVAL');
  assert.equal(d.mtu, 1500);
  // Speed 0: no wire time again.
  setLink(stack, d.name, { speed_mbps: 0 });
  sendNow(tx, buildFrame({ dst: '02:00:00:00:00:01', size: 1250 }));
  assert.equal(d.stats.txPackets, 4);
  assert.equal(clock.pending, 0);
  closeAndAssertQuiet(stack, [tx]);
});

test('a device going down drops what is still on its wire (QUEUE_PURGE), crediting the sender', async () => {
  const { stack, clock } = virtualStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', up: true, speed_mbps: 1 })) as [NetDevice, NetDevice];
  assert.deepEqual(b.ops.getLinkSettings!(b), { speedMbps: 1, txRing: 256 }, 'a veth created with a speed has it at both ends');
  const tx = stack.openPacketSocket({ dev: a });
  const ledger = new Ledger(stack);
  for (let i = 0; i < 5; i++) sendNow(tx, buildFrame({ dst: b, src: a, size: 1250, seq: i }));
  await clock.advance(25);
  setLink(stack, a.name, { up: false });
  assert.deepEqual(ledger.drops(), { QUEUE_PURGE: 3, UNHANDLED_PROTO: 2 });
  assert.equal(tx.sk.wmemAlloc, 0);
  assert.equal(clock.pending, 0);
  closeAndAssertQuiet(stack, [tx]);
});
