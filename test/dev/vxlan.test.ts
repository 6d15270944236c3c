// The vxlan driver against real UDP on loopback: plain node:dgram sockets
// play the remote VTEPs, so every byte on the wire is checked as a peer sees
// it. Loopback addresses 127.0.0.2.. stand for distinct hosts (Linux routes
// all of 127/8 to lo).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until as waitUntil } from '../helpers/wait.ts';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { settle, VirtualClock } from '../../src/clock.ts';
import { NetStack, createDevice, deleteDevice, describeDevice, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { vxlanOf, VXLAN_FDB_MAX_LEARNED, VXLAN_MAX_INFLIGHT } from '../../src/dev/drivers/vxlan.ts';
import { vxlanConfigFromSpec } from '../../src/rtnl/vxlan-kind.ts';
import { encodeVxlanHeader, VXLAN_FLAG_I } from '../../src/wire/vxlan.ts';
import { buildFrame, ETH_P_TEST } from '../helpers/frames.ts';
import { rejectsErrno, throwsErrno } from '../helpers/errors.ts';
import { assertQuiet } from '../helpers/conservation.ts';

/** A remote VTEP: a bound UDP socket whose datagrams queue up until read. */
class Peer {
  readonly got: { msg: Buffer; address: string; port: number }[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      this.got.push({ msg, address: rinfo.address, port: rinfo.port });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1', port = 0): Promise<Peer> {
    const sock = dgram.createSocket('udp4');
    sock.bind(port, address);
    await once(sock, 'listening');
    return new Peer(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  get endpoint(): string {
    return `${this.sock.address().address}:${this.port}`;
  }

  /** The next datagram (waits for it). */
  async next(): Promise<Buffer> {
    while (this.got.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.got.shift()!.msg;
  }

  send(datagram: Uint8Array, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(datagram, port, address, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.sock.close();
  }
}

function header(vni: number, flags = VXLAN_FLAG_I): Buffer {
  const h = Buffer.alloc(8);
  encodeVxlanHeader(h, 0, vni);
  h[0] = flags;
  return h;
}

function datagram(vni: number, frame: Buffer): Buffer {
  return Buffer.concat([header(vni), frame]);
}


async function nextFrame(sock: PacketSocket): Promise<Buffer> {
  await waitUntil(() => sock.queued > 0, 'a frame reached the packet socket', { intervalMs: 2 });
  return sock.recvFrame()!.data;
}

async function vxlan(stack: NetStack, spec: Record<string, unknown>): Promise<NetDevice> {
  const [dev] = await createDevice(stack, { kind: 'vxlan', vni: 42, local: '127.0.0.1:0', up: true, ...spec } as never);
  return dev!;
}

function localPort(dev: NetDevice): number {
  return vxlanOf(dev).boundPort;
}

const MAC_A = '02:00:00:00:aa:01';
const MAC_X = '02:00:00:00:bb:02';
const MAC_Y = '02:00:00:00:cc:03';

test('a vxlan device has Linux defaults and shows its configuration like ip -d link', async () => {
  const stack = new NetStack();
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint, 'localhost'], up: false });
    assert.equal(dev.name, 'vxlan0');
    assert.equal(dev.kind, 'vxlan');
    assert.equal(dev.mtu, 1450);
    assert.equal(dev.maxMtu, 65535 - 50);
    const view = describeDevice(dev);
    assert.equal(view.kind, 'vxlan');
    assert.equal(view.linkinfo.info_kind, 'vxlan');
    const info = view.linkinfo.info_data!;
    assert.equal(info.id, 42);
    assert.equal(info.local, `127.0.0.1:${localPort(dev)}`);
    assert.notEqual(localPort(dev), 0, 'port 0 picked a real port');
    assert.deepEqual(info.remote, [peer.endpoint, 'localhost:4789']);
    assert.equal(info.dstport, 4789);
    assert.equal(info.learning, true);
    assert.equal(info.ageing, 300);
    assert.deepEqual(info.fdb, [
      { mac: '00:00:00:00:00:00', dst: '127.0.0.1', port: peer.port, state: 'permanent' },
      { mac: '00:00:00:00:00:00', dst: 'localhost', port: 4789, state: 'permanent', resolved: '127.0.0.1' },
    ]);
    throwsErrno(() => setLink(stack, dev.name, { mtu: 65486 }), 'EINVAL');
    setLink(stack, dev.name, { mtu: 9000 });
    assert.equal(dev.mtu, 9000);
  } finally {
    stack.close();
    peer.close();
  }
});

test('spec errors are refused with an errno before any socket is bound', async () => {
  const stack = new NetStack();
  const before = stack.devices.size;
  try {
    const bad: [Record<string, unknown>, Parameters<typeof rejectsErrno>[1]][] = [
      [{ vni: -1 }, 'EINVAL'],
      [{ vni: 0x1000000 }, 'EINVAL'],
      [{ vni: 1.5 }, 'EINVAL'],
      [{ vni: undefined }, 'EINVAL'],
      [{ remote: ['127.0.0.1:0'] }, 'EINVAL'],
      [{ remote: ['127.0.0.1:70000'] }, 'EINVAL'],
      [{ remote: ['bad host:1'] }, 'EINVAL'],
      [{ remote: [42] }, 'EINVAL'],
      [{ remote: ['0.0.0.0:4789'] }, 'EINVAL'],
      [{ remote: ['239.1.1.1:4789'] }, 'EOPNOTSUPP'],
      [{ remote: ['127.0.0.9:5000', '127.0.0.9:5000'] }, 'EEXIST'],
      [{ remote: ['[::1]:4789'] }, 'EAFNOSUPPORT'],
      [{ local: '127.0.0.1:x' }, 'EINVAL'],
      [{ local: '[nonsense]:1' }, 'EINVAL'],
      [{ dstport: 0 }, 'EINVAL'],
      [{ learning: 'yes' }, 'EINVAL'],
      [{ ageing: -1 }, 'EINVAL'],
      [{ name: 'bad/name' }, 'EINVAL'],
      [{ mtu: 65486 }, 'EINVAL'],
    ];
    for (const [spec, errno] of bad) {
      await rejectsErrno(vxlan(stack, spec), errno);
      assert.equal(stack.devices.size, before, `${JSON.stringify(spec)} left nothing behind`);
    }
    // Every refused spec released its socket (if it got one): the pool and the process hold nothing.
    assertQuiet(stack);
  } finally {
    stack.close();
  }
});

test('endpoints parse as host:port, [v6]:port and bare hosts with the default port', () => {
  const cfg = vxlanConfigFromSpec({
    kind: 'vxlan',
    vni: 7,
    local: '[::1]:0',
    remote: ['peer_b', 'peer-c.example:4790', '[fe80::1]', '2001:db8::2', '10.0.0.1'],
    dstport: 8472,
    ageing: 0,
    learning: false,
  } as never);
  assert.deepEqual(cfg.local, { host: '::1', port: 0 });
  assert.deepEqual(cfg.remotes, [
    { host: 'peer_b', port: 8472 },
    { host: 'peer-c.example', port: 4790 },
    { host: 'fe80::1', port: 8472 },
    { host: '2001:db8::2', port: 8472 },
    { host: '10.0.0.1', port: 8472 },
  ]);
  assert.equal(cfg.ageingMs, Infinity, 'ageing 0 keeps learned entries forever');
  assert.equal(cfg.learning, false);
  assert.deepEqual(vxlanConfigFromSpec({ kind: 'vxlan', vni: 1 }).local, { host: '0.0.0.0', port: 4789 });
});

test('a port already in use is EADDRINUSE at creation and registers nothing', async () => {
  const stack = new NetStack();
  const squatter = await Peer.open();
  try {
    await rejectsErrno(vxlan(stack, { local: squatter.endpoint }), 'EADDRINUSE');
    const first = await vxlan(stack, { name: 'vx1' });
    const before = stack.devices.size;
    await assert.rejects(vxlan(stack, { name: 'vx2', local: `127.0.0.1:${localPort(first)}` }), (err: Error) => {
      assert.equal((err as { errno?: string }).errno, 'EADDRINUSE');
      assert.match(err.message, /address already in use/);
      return true;
    });
    assert.equal(stack.devices.size, before);
    assert.equal(stack.devices.has('vx2'), false);
    const port = localPort(first);
    deleteDevice(stack, 'vx1');
    const again = await vxlan(stack, { name: 'vx1', local: `127.0.0.1:${port}` });
    assert.equal(localPort(again), port, 'deleting the device closed its socket');
  } finally {
    stack.close();
    squatter.close();
  }
});

test('creation that fails after the bind (device limit) gives the socket back', async () => {
  const stack = new NetStack({ limits: { maxDevices: 1 } });
  const probe = await Peer.open();
  const port = probe.port;
  probe.close();
  try {
    await rejectsErrno(vxlan(stack, { local: `127.0.0.1:${port}` }), 'ENOSPC');
    const rebound = await Peer.open('127.0.0.1', port);
    rebound.close();
  } finally {
    stack.close();
  }
});

test('transmit: one datagram per frame, I flag and VNI, sent to the configured port', async () => {
  const stack = new NetStack();
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { vni: 0xabcdef, remote: [peer.endpoint] });
    const sock = stack.openPacketSocket({ dev });
    const frame = buildFrame({ dst: MAC_X, src: dev, size: 100, seq: 7 });
    assert.equal(sock.send(frame), 'sent');
    const got = await peer.next();
    assert.deepEqual([...got.subarray(0, 8)], [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0]);
    assert.deepEqual(got.subarray(8), frame);
    assert.equal(peer.got.length, 0);
    await waitUntil(() => stack.pool.stats.inUse === 0, 'the skb is freed after the send completed', { intervalMs: 2 });
    assert.equal(dev.stats.txPackets, 1);
    assert.equal(dev.stats.txBytes, 100);
    assert.equal(sock.sk.wmemAlloc, 0, 'the sender was credited');
    sock.close();
    assertQuiet(stack);
  } finally {
    stack.close();
    peer.close();
  }
});

test('receive: the inner frame arrives byte-exact; bad datagrams are counted, never fatal', async () => {
  const stack = new NetStack();
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint] });
    const port = localPort(dev);
    const sock = stack.openPacketSocket({ dev });
    const frame = buildFrame({ dst: dev, src: MAC_X, size: 64, seq: 1 });
    await peer.send(datagram(42, frame), port);
    assert.deepEqual(await nextFrame(sock), frame);
    assert.equal(dev.stats.rxPackets, 1);
    assert.equal(dev.stats.rxBytes, 64);

    await peer.send(datagram(43, frame), port); // another VNI
    await peer.send(Buffer.concat([header(42, 0x00), frame]), port); // I flag clear
    await peer.send(Buffer.alloc(10), port); // runt
    await peer.send(Buffer.alloc(0), port); // empty
    await peer.send(header(42), port); // header and nothing after
    await peer.send(datagram(42, buildFrame({ dst: dev, src: '01:00:5e:00:00:01' })), port); // multicast source
    const later = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: MAC_X, size: 80, seq: 2 });
    await peer.send(datagram(42, later), port);
    // Datagrams from one socket arrive in order: when this one is read, the bad ones were handled.
    assert.deepEqual(await nextFrame(sock), later);
    assert.equal(stack.drops.VXLAN_VNI_NOT_FOUND, 1);
    assert.equal(stack.drops.VXLAN_INVALID_HDR, 4);
    assert.equal(stack.drops.MAC_INVALID_SOURCE, 1);
    assert.equal(dev.stats.rxErrors, 4);
    assert.equal(dev.stats.rxLengthErrors, 3);
    assert.equal(dev.stats.rxFrameErrors, 1);
    assert.equal(dev.stats.rxDropped, 2);
    assert.equal(dev.stats.rxPackets, 2);
    sock.close();
    assertQuiet(stack);
  } finally {
    stack.close();
    peer.close();
  }
});

test('frames are delivered only while the device is up', async () => {
  const stack = new NetStack();
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint] });
    const sock = stack.openPacketSocket({ dev });
    setLink(stack, dev.name, { up: false });
    await peer.send(datagram(42, buildFrame({ dst: dev, src: MAC_X, seq: 1 })), localPort(dev));
    await waitUntil(() => stack.drops.DEV_READY === 1, 'the datagram met a device that is down', { intervalMs: 2 });
    assert.equal(sock.queued, 0);
    assert.equal(dev.stats.rxPackets, 0);
    setLink(stack, dev.name, { up: true });
    const frame = buildFrame({ dst: dev, src: MAC_X, seq: 2 });
    await peer.send(datagram(42, frame), localPort(dev));
    assert.deepEqual(await nextFrame(sock), frame);
  } finally {
    stack.close();
    peer.close();
  }
});

/** The next datagram's inner frame at `peer`, header checked. */
async function innerAt(peer: Peer): Promise<Buffer> {
  const d = await peer.next();
  assert.equal(d[0], VXLAN_FLAG_I);
  return d.subarray(8);
}

test('flooding and learning: unicast to a learned MAC goes only to the peer it came from', async () => {
  const stack = new NetStack();
  const p1 = await Peer.open('127.0.0.2');
  const p2 = await Peer.open('127.0.0.3');
  // P1's host sends from another port, as Linux does (a hashed source port).
  const p1src = await Peer.open('127.0.0.2');
  try {
    const dev = await vxlan(stack, { remote: [p1.endpoint, p2.endpoint] });
    const sock = stack.openPacketSocket({ dev });
    const bcast = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: dev, seq: 1 });
    sock.send(bcast);
    assert.deepEqual(await innerAt(p1), bcast);
    assert.deepEqual(await innerAt(p2), bcast);

    const toX = buildFrame({ dst: MAC_X, src: dev, seq: 2 });
    sock.send(toX);
    assert.deepEqual(await innerAt(p1), toX, 'unknown unicast is flooded');
    assert.deepEqual(await innerAt(p2), toX, 'unknown unicast is flooded');

    const fromX = buildFrame({ dst: dev, src: MAC_X, seq: 3 });
    await p1src.send(datagram(42, fromX), localPort(dev));
    assert.deepEqual(await nextFrame(sock), fromX);
    const fdb = describeDevice(dev).linkinfo.info_data!.fdb as Record<string, unknown>[];
    assert.deepEqual(fdb[2], { mac: MAC_X, dst: '127.0.0.2', port: p1.port, state: 'dynamic', age_s: 0 });

    const toX2 = buildFrame({ dst: MAC_X, src: dev, seq: 4 });
    sock.send(toX2);
    const bcast2 = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: dev, seq: 5 });
    sock.send(bcast2);
    assert.deepEqual(await innerAt(p1), toX2, 'the learned unicast went to P1 at its configured port');
    assert.deepEqual(await innerAt(p1), bcast2);
    assert.deepEqual(await innerAt(p2), bcast2, 'P2 got the broadcast but not the unicast before it');
    // Nothing went to P1's source port: a sentinel sent there now must be the first thing it reads.
    await p1.send(Buffer.from('sentinel'), p1src.port, '127.0.0.2');
    assert.equal((await p1src.next()).toString(), 'sentinel');

    // Another MAC is still unknown: flooded.
    const toY = buildFrame({ dst: MAC_Y, src: dev, seq: 6 });
    sock.send(toY);
    assert.deepEqual(await innerAt(p1), toY);
    assert.deepEqual(await innerAt(p2), toY);

    // X moves behind P2: unicast follows it.
    const fromX2 = buildFrame({ dst: dev, src: MAC_X, seq: 7 });
    await p2.send(datagram(42, fromX2), localPort(dev));
    assert.deepEqual(await nextFrame(sock), fromX2);
    const toX3 = buildFrame({ dst: MAC_X, src: dev, seq: 8 });
    sock.send(toX3);
    sock.send(bcast2);
    assert.deepEqual(await innerAt(p2), toX3);
    assert.deepEqual(await innerAt(p2), bcast2);
    assert.deepEqual(await innerAt(p1), bcast2, 'P1 no longer gets unicast for X');
    assert.equal(dev.stats.txPackets, 2 + 2 + 1 + 2 + 2 + 1 + 2);
  } finally {
    stack.close();
    for (const p of [p1, p2, p1src]) p.close();
  }
});

test('a peer that matches no remote is learned at dstport, never at its source port', async () => {
  const stack = new NetStack();
  const listener = await Peer.open('127.0.0.4'); // the unknown peer's VXLAN port
  const sender = await Peer.open('127.0.0.4'); // its hashed source port
  const p1 = await Peer.open('127.0.0.2');
  try {
    const dev = await vxlan(stack, { remote: [p1.endpoint], dstport: listener.port });
    const sock = stack.openPacketSocket({ dev });
    const fromX = buildFrame({ dst: dev, src: MAC_X, seq: 1 });
    await sender.send(datagram(42, fromX), localPort(dev));
    assert.deepEqual(await nextFrame(sock), fromX);
    const toX = buildFrame({ dst: MAC_X, src: dev, seq: 2 });
    sock.send(toX);
    assert.deepEqual(await innerAt(listener), toX);
    await listener.send(Buffer.from('sentinel'), sender.port, '127.0.0.4');
    assert.equal((await sender.next()).toString(), 'sentinel', 'nothing went to the source port');
  } finally {
    stack.close();
    for (const p of [listener, sender, p1]) p.close();
  }
});

test('learned entries age out on the stack clock; with learning off nothing is learned', async () => {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  const p1 = await Peer.open('127.0.0.2');
  const p2 = await Peer.open('127.0.0.3');
  try {
    const dev = await vxlan(stack, { remote: [p1.endpoint, p2.endpoint], ageing: 300 });
    const quiet = await vxlan(stack, { name: 'vxq', remote: [p1.endpoint, p2.endpoint], learning: false });
    const sock = stack.openPacketSocket({ dev });
    const qsock = stack.openPacketSocket({ dev: quiet });
    const fromX = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: MAC_X, seq: 1 });
    await p1.send(datagram(42, fromX), localPort(dev));
    await p1.send(datagram(42, fromX), localPort(quiet));
    assert.deepEqual(await nextFrame(sock), fromX);
    assert.deepEqual(await nextFrame(qsock), fromX);
    assert.equal(vxlanOf(quiet).fdb.size, 0, 'learning off: nothing learned');

    const toX = buildFrame({ dst: MAC_X, src: dev, seq: 2 });
    const bcast = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: dev, seq: 3 });
    await clock.advance(299_000);
    sock.send(toX);
    sock.send(bcast);
    assert.deepEqual(await innerAt(p1), toX);
    assert.deepEqual(await innerAt(p1), bcast);
    assert.deepEqual(await innerAt(p2), bcast, 'still learned after 299 s');

    await clock.advance(1_001);
    sock.send(toX);
    assert.deepEqual(await innerAt(p1), toX);
    assert.deepEqual(await innerAt(p2), toX, 'aged out after 300 s: flooded again');
    assert.equal(vxlanOf(dev).fdb.size, 0);

    // A multicast source is no reason to drop when nothing is learned (vxlan_snoop does not run).
    const odd = buildFrame({ dst: quiet, src: '03:00:00:00:00:01', seq: 4 });
    await p1.send(datagram(42, odd), localPort(quiet));
    assert.deepEqual(await nextFrame(qsock), odd);
  } finally {
    stack.close();
    p1.close();
    p2.close();
  }
});

test('the learned table stops growing at its bound, and expired entries make room again', async () => {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  const peer = await Peer.open('127.0.0.2');
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint] });
    const sources = VXLAN_FDB_MAX_LEARNED + 100;
    const src = Buffer.from('020000000000', 'hex');
    for (let i = 0; i < sources; i++) {
      src.writeUInt32BE(i, 2);
      await peer.send(datagram(42, buildFrame({ dst: dev, src, seq: i })), localPort(dev));
      // Paced by the device's own count, so the loopback socket never overflows.
      if (i % 200 === 199) await waitUntil(() => dev.stats.rxPackets === i + 1, `${i + 1} datagrams received`, { intervalMs: 2 });
    }
    await waitUntil(() => dev.stats.rxPackets === sources, 'every datagram received', { intervalMs: 2 });
    assert.equal(vxlanOf(dev).fdb.size, VXLAN_FDB_MAX_LEARNED, 'learning stopped at the bound; frames were still delivered');
    await clock.advance(301_000);
    src.writeUInt32BE(sources + 1, 2);
    await peer.send(datagram(42, buildFrame({ dst: dev, src })), localPort(dev));
    await waitUntil(() => dev.stats.rxPackets === sources + 1, 'one more datagram', { intervalMs: 2 });
    assert.equal(vxlanOf(dev).fdb.size, 1, 'the full table was swept of expired entries and the new MAC learned');
  } finally {
    stack.close();
    peer.close();
  }
});

test('a remote name that does not resolve does not fail creation; its frames are counted', async () => {
  const stack = new NetStack();
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: ['peer.invalid:4789', `localhost:${peer.port}`] });
    const fdb = describeDevice(dev).linkinfo.info_data!.fdb as Record<string, unknown>[];
    assert.equal(fdb[0]!.resolved, null);
    assert.equal(fdb[1]!.resolved, '127.0.0.1');
    const sock = stack.openPacketSocket({ dev });
    const frame = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: dev, seq: 1 });
    assert.equal(sock.send(frame), 'sent');
    assert.deepEqual(await innerAt(peer), frame, 'the resolvable name got its copy');
    assert.equal(dev.stats.txErrors, 1);
    assert.equal(dev.stats.txCarrierErrors, 1);
    assert.equal(dev.stats.txPackets, 1);
    assert.equal(stack.drops.IP_OUTNOROUTES, 1);
    await waitUntil(() => stack.pool.stats.inUse === 0, 'the frame was freed', { intervalMs: 2 });
  } finally {
    stack.close();
    peer.close();
  }
});

test('without a remote or a learned entry a frame has nowhere to go: VXLAN_NO_REMOTE', async () => {
  const stack = new NetStack();
  try {
    const dev = await vxlan(stack, {});
    const sock = stack.openPacketSocket({ dev });
    assert.equal(sock.send(buildFrame({ dst: MAC_X, src: dev })), 'sent');
    assert.equal(stack.drops.VXLAN_NO_REMOTE, 1);
    assert.equal(dev.stats.txDropped, 1);
    sock.close();
    assertQuiet(stack);
  } finally {
    stack.close();
  }
});

test('a burst stops the queue at the in-flight limit; completions wake it and every skb is freed', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.wmem_max': 64 << 20 } });
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint] });
    const sock = stack.openPacketSocket({ dev, sndbuf: 32 << 20 });
    const total = VXLAN_MAX_INFLIGHT + 500;
    for (let i = 0; i < total; i++) {
      // All in one turn of the event loop: no send completion can run in between.
      assert.equal(sock.send(buildFrame({ dst: MAC_X, src: dev, seq: i })), 'sent');
    }
    assert.equal(vxlanOf(dev).inflight, VXLAN_MAX_INFLIGHT);
    assert.equal(dev.queueStopped, true, 'the queue stopped at the limit');
    assert.equal(dev.qdisc!.qlen, total - VXLAN_MAX_INFLIGHT, 'the qdisc holds the rest');
    await waitUntil(() => stack.pool.stats.inUse === 0, 'every frame was sent and freed', { intervalMs: 2 });
    assert.equal(dev.queueStopped, false);
    assert.equal(dev.stats.txPackets, total);
    assert.equal(stack.totalDrops(), 0);
    assert.equal(sock.sk.wmemAlloc, 0);
  } finally {
    stack.close();
    peer.close();
  }
});

test('deleting a device with sends in flight frees them all and closes the socket', async () => {
  const stack = new NetStack({ sysctl: { 'net.core.wmem_max': 64 << 20 } });
  const peer = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [peer.endpoint] });
    const port = localPort(dev);
    const sock = stack.openPacketSocket({ dev, sndbuf: 32 << 20 });
    for (let i = 0; i < 2000; i++) sock.send(buildFrame({ dst: MAC_X, src: dev, seq: i }));
    deleteDevice(stack, dev.name);
    await waitUntil(() => stack.pool.stats.inUse === 0, 'in-flight skbs freed after the delete', { intervalMs: 2 });
    assert.equal(sock.sk.wmemAlloc, 0);
    await settle();
    const again = await Peer.open('127.0.0.1', port);
    again.close();
  } finally {
    stack.close();
    peer.close();
  }
});

test('the frame type survives: an ETH_P_TEST frame sent one way is read as such on a second device', async () => {
  // Two devices in one stack joined back to back over loopback UDP.
  const stack = new NetStack();
  try {
    const a = await vxlan(stack, { name: 'vxa' });
    const b = await vxlan(stack, { name: 'vxb', remote: [`127.0.0.1:${localPort(a)}`] });
    const sa = stack.openPacketSocket({ dev: a, protocol: ETH_P_TEST });
    const sb = stack.openPacketSocket({ dev: b, protocol: ETH_P_TEST });
    const frame = buildFrame({ dst: a, src: b, size: 1464, seq: 9 });
    assert.equal(sb.send(frame), 'sent');
    const got = await waitUntil(() => sa.queued > 0, 'a got the frame', { intervalMs: 2 }).then(() => sa.recvFrame()!);
    assert.deepEqual(got.data, frame);
    assert.equal(got.ifname, 'vxa');
    assert.equal(got.protocol, ETH_P_TEST);
    // b is no configured remote of a, so a learned b's MAC at dstport, not at b's source port.
    const fdb = describeDevice(a).linkinfo.info_data!.fdb as Record<string, unknown>[];
    assert.deepEqual(fdb, [{ mac: describeDevice(b).address, dst: '127.0.0.1', port: 4789, state: 'dynamic', age_s: 0 }]);
    sa.close();
    sb.close();
    await waitUntil(() => stack.pool.stats.inUse === 0, 'quiet', { intervalMs: 2 });
  } finally {
    stack.close();
  }
});

test('the forwarding table through the device ops: dump, add a remote and a static entry, delete them', async () => {
  const stack = new NetStack();
  const a = await Peer.open();
  const b = await Peer.open();
  try {
    const dev = await vxlan(stack, { remote: [a.endpoint] });
    const ops = dev.ops;
    assert.deepEqual(ops.fdbDump!(dev), [{ mac: '00:00:00:00:00:00', ifname: dev.name, dst: a.endpoint, state: 'permanent', flags: [] }]);
    // A second flooding remote, then a static entry that sends MAC_X to b alone.
    ops.fdbAdd!(dev, { mac: '00:00:00:00:00:00', dst: b.endpoint });
    throwsErrno(() => ops.fdbAdd!(dev, { mac: '00:00:00:00:00:00', dst: b.endpoint }), 'EEXIST');
    throwsErrno(() => ops.fdbAdd!(dev, { mac: MAC_X, dst: 'not-an-ip' }), 'EINVAL');
    throwsErrno(() => ops.fdbAdd!(dev, { mac: MAC_X }), 'EINVAL');
    ops.fdbAdd!(dev, { mac: MAC_X, dst: b.endpoint, state: 'static' });
    assert.deepEqual(ops.fdbDump!(dev).map((e) => [e.mac, e.dst, e.state]), [
      ['00:00:00:00:00:00', a.endpoint, 'permanent'],
      ['00:00:00:00:00:00', b.endpoint, 'permanent'],
      [MAC_X, b.endpoint, 'static'],
    ]);
    const sock = stack.openPacketSocket({ dev });
    assert.equal(sock.send(buildFrame({ dst: MAC_X, src: dev, seq: 1 })), 'sent');
    assert.equal((await b.next()).length, 8 + 60, 'unicast to MAC_X went to b');
    assert.equal(sock.send(buildFrame({ dst: MAC_Y, src: dev, seq: 2 })), 'sent');
    await a.next();
    await b.next();
    assert.equal(a.got.length + b.got.length, 0, 'unknown unicast floods to both remotes, once each');
    // The state file keeps the added remote.
    assert.deepEqual(describeDevice(dev).linkinfo.info_data!.remote, [a.endpoint, b.endpoint]);
    ops.fdbDel!(dev, MAC_X);
    throwsErrno(() => ops.fdbDel!(dev, MAC_X), 'ENOENT');
    ops.fdbDel!(dev, '00:00:00:00:00:00', b.endpoint);
    throwsErrno(() => ops.fdbDel!(dev, '00:00:00:00:00:00'), 'EINVAL');
    assert.deepEqual(ops.fdbDump!(dev).map((e) => e.dst), [a.endpoint]);
    sock.close();
    await waitUntil(() => stack.pool.stats.inUse === 0, 'every send completed', { intervalMs: 2 });
  } finally {
    stack.close();
    a.close();
    b.close();
  }
});
