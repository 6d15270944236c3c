import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { createDevice, deleteDevice, NetStack, setLink } from '../../src/stack/index.ts';
import { PacketType } from '../../src/skb/skbuff.ts';
import { buildFrame, ETH_P_TEST, seqOf } from '../helpers/frames.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';
import { drainSocket, sendNow, vethWithSockets, virtualStack } from '../helpers/stack.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';

test('send is synchronous while the send buffer has room, and the peer receives the frame', async () => {
  const { stack, clock } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  const frame = buildFrame({ dst: b, src: a, seq: 42, size: 100 });
  const r = tx.send(frame);
  assert.equal(r, 'sent', 'a plain value, not a Promise');
  assert.equal(tx.sent, 1);
  await settle();
  const f = rx.recvFrame();
  assert.ok(f);
  assert.deepEqual(f.data, frame);
  assert.equal(seqOf(f.data), 42);
  assert.equal(f.ifindex, b.ifindex);
  assert.equal(f.ifname, b.name);
  assert.equal(f.protocol, ETH_P_TEST);
  assert.equal(f.pktType, PacketType.HOST);
  assert.equal(f.tstamp, clock.wallNow(), 'stamped with the stack clock when it entered');
  assert.equal(rx.received, 1);
  assert.equal(rx.recvFrame(), null);
  ledger.assertConserved({ sent: 1, delivered: 1 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('recv hands over the buffer; freeing it credits the receive memory', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  sendNow(tx, buildFrame({ dst: b, src: a, size: 200 }));
  await settle();
  assert.ok(rx.sk.rmemAlloc > 0);
  assert.equal(rx.queued, 1);
  const skb = rx.recv();
  assert.ok(skb);
  assert.equal(skb.len, 200);
  assert.equal(skb.buf.subarray(skb.data, skb.tail).length, 200);
  assert.equal(skb.dev, b);
  assert.ok(rx.sk.rmemAlloc > 0, 'still charged while the caller holds it');
  skb.free();
  assert.equal(rx.sk.rmemAlloc, 0);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('send errors: EMSGSIZE, EINVAL (runt), ENETDOWN, ENXIO, EBADF; nothing is charged', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  assert.equal(sendNow(tx, buildFrame({ dst: b, size: 1514 })), 'sent', 'mtu 1500 + 14 fits');
  throwsErrno(() => tx.send(buildFrame({ dst: b, size: 1515 })), 'EMSGSIZE');
  throwsErrno(() => tx.send(new Uint8Array(13)), 'EINVAL');
  setLink(stack, a.name, { mtu: 1000 });
  throwsErrno(() => tx.send(buildFrame({ dst: b, size: 1015 })), 'EMSGSIZE');
  setLink(stack, a.name, { up: false });
  throwsErrno(() => tx.send(buildFrame({ dst: b })), 'ENETDOWN');
  const unbound = stack.openPacketSocket();
  throwsErrno(() => unbound.send(buildFrame({ dst: b })), 'ENXIO');
  // ...unless told which device, per send.
  setLink(stack, a.name, { up: true });
  assert.equal(sendNow(unbound, buildFrame({ dst: b }), { dev: a }), 'sent');
  unbound.close();
  throwsErrno(() => unbound.send(buildFrame({ dst: b }), { dev: a }), 'EBADF');
  await settle();
  assert.equal(drainSocket(rx).length, 2);
  closeAndAssertQuiet(stack, [tx, rx, unbound]);
});

test('socket options are checked: protocol range, promisc needs a device, unregistered device, socket limit', async () => {
  const stack = new NetStack({ limits: { maxSockets: 2 } });
  throwsErrno(() => stack.openPacketSocket({ protocol: 0x10000 }), 'EINVAL');
  throwsErrno(() => stack.openPacketSocket({ protocol: -1 }), 'EINVAL');
  throwsErrno(() => stack.openPacketSocket({ promisc: true }), 'EINVAL');
  const [d] = await createDevice(stack, { kind: 'dummy' });
  deleteDevice(stack, d!.name);
  throwsErrno(() => stack.openPacketSocket({ dev: d! }), 'ENODEV');
  assert.equal(stack.sockets.size, 0, 'refused sockets are not kept');
  const s1 = stack.openPacketSocket();
  const s2 = stack.openPacketSocket();
  throwsErrno(() => stack.openPacketSocket(), 'EMFILE');
  s1.close();
  const s3 = stack.openPacketSocket();
  assert.notEqual(s3.id, s1.id, 'ids are not reused');
  s2.close();
  s3.close();
  stack.close();
  throwsErrno(() => stack.openPacketSocket(), 'ESHUTDOWN');
});

test('rcvbuf/sndbuf options follow SO_RCVBUF/SO_SNDBUF rules', () => {
  const stack = new NetStack();
  const s = stack.openPacketSocket({ rcvbuf: 10_000, sndbuf: 20_000 });
  assert.equal(s.sk.rcvbuf, 20_000);
  assert.equal(s.sk.sndbuf, 40_000);
  throwsErrno(() => stack.openPacketSocket({ rcvbuf: -1 }), 'EINVAL');
  s.close();
  stack.close();
});

test('two taps on the same device both get the frame, as clones sharing the data', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const tap = stack.openPacketSocket({ dev: b, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 7 }));
  await settle();
  const s1 = rx.recv();
  const s2 = tap.recv();
  assert.ok(s1 && s2);
  assert.notEqual(s1, s2);
  assert.equal(s1.buf, s2.buf, 'the same data block: shared, not copied');
  assert.equal(ledger.clones(), 1, 'one clone for two receivers: the last gets the original');
  assert.equal(ledger.copies(), 0);
  assert.equal(seqOf(s1.bytes), 7);
  assert.equal(seqOf(s2.bytes), 7);
  assert.ok(rx.sk.rmemAlloc > 0 && tap.sk.rmemAlloc > 0, 'each socket is charged for its own');
  s1.free();
  s2.free();
  // One frame sent, two deliveries: the clone is the extra unit.
  ledger.assertConserved({ sent: 1, delivered: 2, extra: ledger.clones() });
  closeAndAssertQuiet(stack, [tx, rx, tap]);
});

test('an unbound socket hears every device; a bound one only its own', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const [d] = await createDevice(stack, { kind: 'dummy', up: true });
  const all = stack.openPacketSocket({ direction: 'in' });
  const other = stack.openPacketSocket({ dev: d!, direction: 'in' });
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  const got = drainSocket(all);
  assert.equal(got.length, 1);
  assert.equal(drainSocket(rx).length, 1);
  assert.equal(drainSocket(other).length, 0);
  closeAndAssertQuiet(stack, [tx, rx, all, other]);
});

test('protocol filter: a socket for one ethertype gets only that; protocol 0 gets nothing', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ip = stack.openPacketSocket({ dev: b, protocol: 0x0800 });
  const none = stack.openPacketSocket({ dev: b, protocol: 0 });
  sendNow(tx, buildFrame({ dst: b, src: a, type: 0x0800 }));
  sendNow(tx, buildFrame({ dst: b, src: a, type: 0x0806 }));
  await settle();
  const ipFrames = drainSocket(ip);
  assert.equal(ipFrames.length, 1);
  assert.equal(ipFrames[0]!.readUInt16BE(12), 0x0800);
  assert.equal(drainSocket(rx).length, 2);
  assert.equal(drainSocket(none).length, 0);
  closeAndAssertQuiet(stack, [tx, rx, ip, none]);
});

test('outgoing frames reach sockets with direction both or out, as PACKET_OUTGOING; not direction in', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const both = stack.openPacketSocket({ dev: a, direction: 'both' });
  const out = stack.openPacketSocket({ dev: a, direction: 'out' });
  const inOnly = stack.openPacketSocket({ dev: a, direction: 'in' });
  const onPeer = stack.openPacketSocket({ dev: b, direction: 'out' });
  const frame = buildFrame({ dst: b, src: a, seq: 5 });
  sendNow(tx, frame);
  await settle();
  for (const s of [both, out]) {
    const f = s.recvFrame();
    assert.ok(f, `socket ${s.direction} sees it`);
    assert.equal(f.pktType, PacketType.OUTGOING);
    assert.deepEqual(f.data, frame);
    assert.equal(f.ifname, a.name);
    assert.equal(s.recvFrame(), null);
  }
  assert.equal(inOnly.recvFrame(), null);
  assert.equal(onPeer.recvFrame(), null, 'the peer did not transmit');
  assert.equal(drainSocket(rx).length, 1);
  // Frames the peer receives are not seen by a direction "out" socket there either.
  closeAndAssertQuiet(stack, [tx, rx, both, out, inOnly, onPeer]);
});

test('outgoing frames reach ETH_P_ALL taps only (dev_queue_xmit_nit), not a socket bound to the frame\'s ethertype', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const typed = stack.openPacketSocket({ dev: a, protocol: ETH_P_TEST, direction: 'both' });
  const tap = stack.openPacketSocket({ dev: a, direction: 'out' });
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 1 }));
  await settle();
  assert.equal(typed.recvFrame(), null, 'a socket of one ethertype hears only what arrives');
  assert.equal(drainSocket(tap).length, 1);
  assert.equal(drainSocket(rx).length, 1);
  assert.equal(stack.outgoingTaps, 2, 'tx and tap; the typed socket is not on the outgoing list');
  closeAndAssertQuiet(stack, [tx, rx, typed, tap]);
});

test('a socket does not see its own transmissions', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const other = stack.openPacketSocket({ dev: a, direction: 'out' });
  assert.equal(tx.direction, 'both');
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  assert.equal(tx.recvFrame(), null);
  assert.equal(drainSocket(other).length, 1, 'another socket does');
  assert.equal(drainSocket(rx).length, 1);
  closeAndAssertQuiet(stack, [tx, rx, other]);
});

test('closing a socket drops what it had queued as SOCKET_CLOSE and credits the memory', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  for (let i = 0; i < 5; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  await settle();
  assert.equal(rx.queued, 5);
  rx.close();
  rx.close();
  assert.equal(rx.sk.rmemAlloc, 0);
  assert.deepEqual(ledger.drops(), { SOCKET_CLOSE: 5 });
  ledger.assertConserved({ sent: 5, delivered: 0 });
  // A closed socket receives nothing more.
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  assert.equal(rx.queued, 0);
  assert.deepEqual(ledger.drops(), { SOCKET_CLOSE: 5, UNHANDLED_PROTO: 1 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a sender waiting for room gets ENETDOWN when its device is deleted, and sends fail with ENXIO after', async () => {
  const { stack } = virtualStack();
  // Frames wait on a 1 kbit/s wire (8 s each), charged to the sender until they leave it.
  const { a, b, tx, rx } = await vethWithSockets(stack, { tx: { sndbuf: 5000 } });
  setLink(stack, a.name, { speed_mbps: 0.001 });
  const ledger = new Ledger(stack);
  let sent = 0;
  let r: ReturnType<typeof tx.send> = 'sent';
  for (let i = 0; i < 100 && !(r instanceof Promise); i++) {
    r = tx.send(buildFrame({ dst: b, src: a, size: 1000 }));
    if (!(r instanceof Promise)) sent++;
  }
  assert.ok(r instanceof Promise, 'the sender had to wait');
  r.catch(() => {});
  assert.ok(sent >= 2);
  deleteDevice(stack, a.name);
  await rejectsErrno(r, 'ENETDOWN');
  throwsErrno(() => tx.send(buildFrame({ dst: b, src: a })), 'ENXIO');
  assert.equal(tx.sk.wmemAlloc, 0, 'held frames were freed and credited');
  ledger.assertConserved({ sent, delivered: 0 });
  assert.deepEqual(ledger.drops(), { QUEUE_PURGE: sent });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a socket on a device that goes down gets ENETDOWN and stops receiving; up again, it receives (packet_notifier)', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const errors: string[] = [];
  rx.sk.addErrorListener((e) => errors.push(e));
  setLink(stack, b.name, { up: false });
  assert.deepEqual(errors, ['ENETDOWN']);
  assert.equal(rx.gone, false);
  throwsErrno(() => rx.recvWait({ nonblock: true }), 'ENETDOWN');
  throwsErrno(() => rx.recvWait({ nonblock: true }), 'EAGAIN');
  setLink(stack, b.name, { up: true });
  sendNow(tx, buildFrame({ dst: b, src: a, seq: 5 }));
  await settle();
  const got = rx.recvWait({ nonblock: true });
  assert.ok(got !== null && !(got instanceof Promise));
  assert.equal(seqOf(Buffer.from(got.buf.subarray(got.data, got.tail))), 5, 'receiving again after up');
  got.free();
  // A socket that only sends (protocol 0) is not running and hears nothing.
  const sender = stack.openPacketSocket({ dev: a, protocol: 0 });
  setLink(stack, a.name, { up: false });
  assert.equal(sender.sk.err, null);
  closeAndAssertQuiet(stack, [tx, rx, sender]);
});

test('unregister: the socket hears ENETDOWN once, is gone, and stays in the table until closed', async () => {
  const stack = new NetStack();
  const [d] = await createDevice(stack, { kind: 'dummy', name: 'd0', up: true });
  const s = stack.openPacketSocket({ dev: d!, owner: 'test' });
  const errors: string[] = [];
  s.sk.addErrorListener((e) => errors.push(e));
  let gone = 0;
  s.addGoneListener(() => gone++);
  deleteDevice(stack, 'd0');
  assert.deepEqual(errors, ['ENETDOWN'], 'reported once: at DOWN; UNREGISTER finds it no longer running');
  assert.equal(s.gone, true);
  assert.equal(gone, 1);
  assert.equal(stack.sockets.get(s.id), s);
  s.close();
  assert.equal(stack.sockets.has(s.id), false);
  stack.close();
});

test('unregister flushes the device\'s frames from the backlog at once (flush_backlog), DEV_READY', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  const ledger = new Ledger(stack);
  bhDisabled(() => {
    for (let i = 0; i < 5; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  });
  assert.equal(stack.softnet.backlog.length, 5, 'the bottom half has not run yet');
  deleteDevice(stack, b.name);
  assert.equal(stack.softnet.backlog.length, 0, 'flushed before the bottom half runs');
  assert.equal(stack.pool.stats.inUse, 0, 'nothing held: every sender is credited now');
  assert.deepEqual(ledger.drops(), { DEV_READY: 5 });
  ledger.assertConserved({ sent: 5, delivered: 0 });
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('the socket table: one entry per socket, family packet, type raw, described as ss shows it', async () => {
  const stack = new NetStack({ limits: { maxSockets: 3 } });
  const { a, tx, rx } = await vethWithSockets(stack);
  assert.deepEqual(stack.sockets.list().map((s) => [s.id, s.family, s.type]), [[tx.id, 'packet', 'raw'], [rx.id, 'packet', 'raw']]);
  const d = tx.describe();
  assert.equal(d.state, 'UNCONN');
  assert.equal(d.local, `${a.name}:all`);
  assert.equal(d.peer, '*');
  assert.equal(d.rcvbuf, tx.sk.rcvbuf);
  assert.equal(d.device, a.name);
  const third = stack.openPacketSocket();
  throwsErrno(() => stack.openPacketSocket(), 'EMFILE');
  third.close();
  assert.equal(stack.sockets.size, 2);
  closeAndAssertQuiet(stack, [tx, rx]);
});
