// GET /v1/devices/{name}/stream over a real listening server and the real
// `ws` client: frames arrive byte-exact and in order (JSON and pcap), the
// socket options do what they say, frames the client sends are transmitted
// (with back-pressure, errors as messages), and the stream's life follows
// the client, the device and the server's limits.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice, deleteDevice, setLink } from '../../../src/stack/index.ts';
import type { NetDevice } from '../../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../../src/packet/socket.ts';
import { parsePcap, PCAP_MAGIC_NS } from '../../../src/wire/pcap.ts';
import { describeFrame } from '../../../src/wire/describe.ts';
import { buildFrame, seqOf } from '../../helpers/frames.ts';
import { startServer, type TestServer } from './server.ts';
import { RefusedUpgrade, StreamClient, waitUntil } from './client.ts';
import type { StreamPluginOptions } from '../../../src/api/ws/stream.ts';

interface Lab {
  stack: NetStack;
  server: TestServer;
  veth0: NetDevice;
  veth1: NetDevice;
  /** Sends on veth0 (towards veth1). */
  tx: PacketSocket;
}

async function lab(t: TestContext, opts: Omit<StreamPluginOptions, 'stack'> = {}): Promise<Lab> {
  const stack = new NetStack();
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const server = await startServer(stack, opts);
  const tx = stack.openPacketSocket({ dev: veth0!, protocol: 0, sndbuf: 4 << 20 });
  t.after(async () => {
    await server.close();
    stack.close();
  });
  return { stack, server, veth0: veth0!, veth1: veth1!, tx };
}

function streamUrl(l: Lab, dev: string, query = ''): string {
  return `${l.server.wsUrl}/v1/devices/${dev}/stream${query}`;
}

/** Sockets the streams opened (owner "ws ..."). */
function streamSockets(stack: NetStack): PacketSocket[] {
  return stack.packetSockets().filter((s) => s.owner.startsWith('ws '));
}

async function connected(l: Lab, url: string): Promise<StreamClient> {
  const before = streamSockets(l.stack).length;
  const c = await StreamClient.open(url);
  // The upgrade answer reaches the client before the handler has opened the socket.
  await waitUntil(() => streamSockets(l.stack).length > before, 'stream socket opened');
  return c;
}

function sizes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => [60, 61, 64, 127, 128, 500, 1514][i % 7]!);
}

test('JSON: frames sent on veth0 arrive on a veth1 stream byte-exact, in order, with their metadata', async (t) => {
  const l = await lab(t);
  const c = await connected(l, streamUrl(l, 'veth1'));
  const before = Date.now();
  const sent = sizes(70).map((size, seq) => buildFrame({ dst: seq % 10 === 9 ? 'ff:ff:ff:ff:ff:ff' : l.veth1, src: l.veth0, size, seq, type: 0x88b5 }));
  for (const f of sent) assert.equal(l.tx.send(f), 'sent');
  await c.waitFor(() => c.frames.length === sent.length, `${sent.length} frames`);
  const after = Date.now();
  c.frames.forEach((m, i) => {
    const f = sent[i]!;
    assert.equal(m.data, f.toString('hex'), `frame ${i} bytes`);
    assert.equal(m.len, f.length);
    assert.equal(m.ifname, 'veth1');
    assert.equal(m.protocol, 0x88b5);
    assert.equal(m.pkt_type, i % 10 === 9 ? 1 : 0, 'host, or broadcast');
    assert.ok(m.ts >= before - 1 && m.ts <= after + 1, `ts ${m.ts} within ${before}..${after}`);
    assert.equal(m.info, describeFrame(f), `frame ${i} info is the CLI's one-line decode`);
  });
  assert.deepEqual(c.drops, []);
  await c.close();
});

test('JSON: the first message is ready, once the socket is bound; a frame sent right after it arrives', async (t) => {
  const l = await lab(t);
  const c = await StreamClient.open(streamUrl(l, 'veth1'));
  await c.waitFor(() => c.ready !== null, 'ready message');
  assert.equal(c.readyAfter, 0, 'ready comes before anything else');
  assert.equal(c.ready!.ifname, 'veth1');
  const sock = l.stack.sockets.get(c.ready!.socket);
  assert.ok(sock !== undefined && String(sock.describe().owner).startsWith('ws '), 'ready names the stream\'s bound socket');
  // No wait for the socket: the ready message is the signal.
  const ipv6 = Buffer.from(
    '333300000001020000000001' + '86dd' + '6000000000083aff' + 'fe800000000000000000000000000001' + 'ff020000000000000000000000000001' + '8000' + '0000' + '00010001',
    'hex',
  );
  Buffer.from(l.veth1.devAddr).copy(ipv6, 0); // unicast to veth1: no multicast filter in the way
  assert.equal(l.tx.send(ipv6), 'sent');
  await c.waitFor(() => c.frames.length === 1, 'the frame');
  assert.match(c.frames[0]!.info, /IPv6 \(0x86dd\)/);
  assert.match(c.frames[0]!.info, /ICMP6, echo request/);
  await c.close();
});

test('binary: the pcap global header, then messages of several records; together a pcap file of exactly what was sent', async (t) => {
  const l = await lab(t);
  const c = await connected(l, streamUrl(l, 'veth1', '?format=binary'));
  await c.waitFor(() => c.binary.length === 1, 'global header');
  assert.equal(c.binary[0]!.length, 24);
  assert.equal(c.binary[0]!.readUInt32LE(0), PCAP_MAGIC_NS);
  const sent = sizes(200).map((size, seq) => buildFrame({ dst: l.veth1, src: l.veth0, size, seq }));
  // One burst: the stream takes the whole queue in one run.
  for (const f of sent) assert.equal(l.tx.send(f), 'sent');
  const records = (): number => {
    const p = parsePcap(Buffer.concat(c.binary));
    return p.ok ? p.records.length : -1;
  };
  await c.waitFor(() => records() === sent.length, `${sent.length} records`);
  const parsed = parsePcap(Buffer.concat(c.binary));
  assert.ok(parsed.ok);
  assert.equal(parsed.truncated, false, 'every message ends on a record boundary');
  assert.deepEqual(
    parsed.records.map((r) => r.data.toString('hex')),
    sent.map((f) => f.toString('hex')),
  );
  assert.deepEqual(parsed.records.map((r) => r.origLen), sent.map((f) => f.length));
  assert.ok(c.binary.length - 1 < sent.length / 4, `${sent.length} frames came in ${c.binary.length - 1} messages`);
  await c.close();
});

test('socket options: direction and protocol select what the stream sees', async (t) => {
  const l = await lab(t);
  const outOnly = await connected(l, streamUrl(l, 'veth0', '?direction=out'));
  const inOnly = await connected(l, streamUrl(l, 'veth0', '?direction=in'));
  const ipv4 = await connected(l, streamUrl(l, 'veth1', '?protocol=0x0800'));
  const tx1 = l.stack.openPacketSocket({ dev: l.veth1, protocol: 0 });
  l.tx.send(buildFrame({ dst: l.veth1, src: l.veth0, type: 0x0800, seq: 1 })); // out of veth0, into veth1
  l.tx.send(buildFrame({ dst: l.veth1, src: l.veth0, type: 0x86dd, seq: 2 }));
  tx1.send(buildFrame({ dst: l.veth0, src: l.veth1, type: 0x0800, seq: 3 })); // into veth0
  await outOnly.waitFor(() => outOnly.frames.length === 2, 'two outgoing');
  await inOnly.waitFor(() => inOnly.frames.length === 1, 'one incoming');
  await ipv4.waitFor(() => ipv4.frames.length === 1, 'one IPv4');
  assert.deepEqual(outOnly.frames.map((m) => [seqOf(Buffer.from(m.data, 'hex')), m.pkt_type, m.ifname]), [
    [1, 4, 'veth0'],
    [2, 4, 'veth0'],
  ]);
  assert.deepEqual(inOnly.frames.map((m) => [seqOf(Buffer.from(m.data, 'hex')), m.pkt_type]), [[3, 0]]);
  // IPv4 only, and only what arrives: seq 1 arrived on veth1; seq 3, which left
  // it, is not seen, since outgoing frames reach ETH_P_ALL taps only
  // (dev_queue_xmit_nit); the IPv6 frame is not there.
  await outOnly.waitFor(() => outOnly.frames.length === 2, 'settled');
  assert.deepEqual(
    ipv4.frames.map((m) => [seqOf(Buffer.from(m.data, 'hex')), m.protocol, m.pkt_type]),
    [[1, 0x0800, 0]],
  );
});

test('promisc=1 holds promiscuity while the stream lasts; rcvbuf sets the socket\'s receive buffer', async (t) => {
  const l = await lab(t);
  assert.equal(l.veth1.promiscuity, 0);
  const c = await connected(l, streamUrl(l, 'veth1', '?promisc=1&rcvbuf=4096'));
  assert.equal(l.veth1.promiscuity, 1);
  const [sock] = streamSockets(l.stack);
  assert.equal(sock!.sk.rcvbuf, 8192, 'SO_RCVBUF is doubled, as setsockopt does');
  // A frame for another host reaches a promiscuous stream.
  l.tx.send(buildFrame({ dst: '02:00:00:00:00:42', src: l.veth0, seq: 9 }));
  await c.waitFor(() => c.frames.length === 1, 'otherhost frame');
  assert.equal(c.frames[0]!.pkt_type, 3);
  await c.close();
  await waitUntil(() => streamSockets(l.stack).length === 0, 'socket closed');
  assert.equal(l.veth1.promiscuity, 0, 'released with the stream');
});

test('client binary messages are transmitted on the device, in order; bad ones come back as error messages', async (t) => {
  const l = await lab(t);
  const rx = l.stack.openPacketSocket({ dev: l.veth0, direction: 'in', rcvbuf: 1 << 20 });
  const c = await connected(l, streamUrl(l, 'veth1'));
  const frames = sizes(50).map((size, seq) => buildFrame({ dst: l.veth0, src: l.veth1, size, seq }));
  for (const f of frames) c.ws.send(f);
  const got: Buffer[] = [];
  await waitUntil(() => {
    for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) got.push(f.data);
    return got.length === frames.length;
  }, 'frames at veth0');
  assert.deepEqual(got.map((b) => b.toString('hex')), frames.map((b) => b.toString('hex')));
  // The stream's own transmissions are not echoed back to it.
  assert.equal(c.frames.length, 0);

  c.ws.send(Buffer.alloc(1515)); // mtu 1500 + 14
  c.ws.send(Buffer.alloc(10)); // shorter than the Ethernet header
  c.ws.send('not a frame');
  await c.waitFor(() => c.errors.length === 3, 'three errors');
  assert.deepEqual(c.errors.map((e) => e.errno), ['EMSGSIZE', 'EINVAL', 'EINVAL']);
  setLink(l.stack, 'veth1', { up: false });
  // The reader hears it at once (packet_notifier: ENETDOWN), and a send while down is refused.
  await c.waitFor(() => c.errors.length === 4, 'ENETDOWN when the device went down');
  assert.equal(c.errors[3]!.errno, 'ENETDOWN');
  assert.match(c.errors[3]!.detail, /veth1 went down/);
  c.ws.send(frames[0]!);
  await c.waitFor(() => c.errors.length === 5, 'ENETDOWN');
  assert.equal(c.errors[4]!.errno, 'ENETDOWN');
  assert.match(c.errors[4]!.detail, /veth1 is down/);
  // Still open and working.
  setLink(l.stack, 'veth1', { up: true });
  c.ws.send(frames[1]!);
  await waitUntil(() => rx.queued === 1, 'frame after the errors');
  assert.equal(c.closed, null);
  rx.close();
});

test('a client sending faster than the device: its reads pause on a full send buffer, nothing is lost or queued without bound', async (t) => {
  const l = await lab(t);
  // A 16 Mbit/s link: about 2 ms of wire time per 4 KiB, so the send buffer fills at once.
  setLink(l.stack, 'veth1', { speed_mbps: 16 });
  const rx = l.stack.openPacketSocket({ dev: l.veth0, direction: 'in', rcvbuf: 16 << 20 });
  const c = await connected(l, streamUrl(l, 'veth1'));
  const [sock] = streamSockets(l.stack);
  const serverWs = [...l.server.app.websocketServer.clients][0]!;
  const frames = Array.from({ length: 1500 }, (_, seq) => buildFrame({ dst: l.veth0, src: l.veth1, size: 500, seq }));
  for (const f of frames) c.ws.send(f);
  let sawPaused = false;
  let maxWmem = 0;
  const got: number[] = [];
  await waitUntil(() => {
    sawPaused ||= serverWs.isPaused;
    maxWmem = Math.max(maxWmem, sock!.sk.wmemAlloc);
    for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) got.push(seqOf(f.data));
    return got.length === frames.length;
  }, 'every frame through the slow link', 20_000);
  assert.deepEqual(got, frames.map((_, i) => i), 'all, in order');
  assert.ok(sawPaused, 'the server stopped reading the client while its send buffer was full');
  assert.ok(maxWmem <= sock!.sk.sndbuf + 2048, `send memory ${maxWmem} stayed within sndbuf ${sock!.sk.sndbuf} (+ one buffer)`);
  assert.deepEqual(c.errors, []);
  assert.equal(serverWs.isPaused, false, 'reading resumed');
  rx.close();
});

test('bad query -> 400, unknown device -> 404, both problem+json, before any upgrade or socket', async (t) => {
  const l = await lab(t);
  const cases: [string, string, number, string][] = [
    ['veth1', '?format=xml', 400, 'EINVAL'],
    ['veth1', '?protocol=0x10000', 400, 'EINVAL'],
    ['veth1', '?protocol=ipv4', 400, 'EINVAL'],
    ['veth1', '?direction=up', 400, 'EINVAL'],
    ['veth1', '?promisc=yes', 400, 'EINVAL'],
    ['veth1', '?rcvbuf=-1', 400, 'EINVAL'],
    ['veth9', '', 404, 'ENODEV'],
  ];
  for (const [dev, query, status, errno] of cases) {
    const err = await StreamClient.open(streamUrl(l, dev, query)).then(
      () => assert.fail(`${dev}${query} was upgraded`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RefusedUpgrade, String(err));
    assert.equal(err.status, status, `${dev}${query}`);
    assert.match(String(err.headers['content-type']), /^application\/problem\+json/);
    assert.equal(err.problem.errno, errno);
  }
  assert.equal(streamSockets(l.stack).length, 0);
});

test('maxClients: the next upgrade is refused with 503 EAGAIN and Retry-After until a stream closes', async (t) => {
  const l = await lab(t, { maxClients: 2 });
  const a = await connected(l, streamUrl(l, 'veth1'));
  const b = await connected(l, streamUrl(l, 'veth0'));
  const err = await StreamClient.open(streamUrl(l, 'veth1')).then(
    () => assert.fail('a third stream was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RefusedUpgrade);
  assert.equal(err.status, 503);
  assert.equal(err.headers['retry-after'], '1');
  assert.equal(err.problem.errno, 'EAGAIN');
  await a.close();
  await waitUntil(() => streamSockets(l.stack).length === 1, 'first stream gone');
  const c = await connected(l, streamUrl(l, 'veth1'));
  assert.equal(streamSockets(l.stack).length, 2);
  await b.close();
  await c.close();
});

test('deleting the device closes its streams with 4004 and a reason; other streams stay', async (t) => {
  const l = await lab(t);
  const [dummy] = await createDevice(l.stack, { kind: 'dummy', name: 'dummy0', up: true });
  const onDummy = await connected(l, streamUrl(l, 'dummy0'));
  const onVeth = await connected(l, streamUrl(l, 'veth1'));
  deleteDevice(l.stack, dummy!.name);
  await onDummy.waitFor(() => onDummy.closed !== null, 'close');
  assert.deepEqual(onDummy.closed, { code: 4004, reason: 'device dummy0 was deleted' });
  await waitUntil(() => streamSockets(l.stack).length === 1, 'its socket closed');
  l.tx.send(buildFrame({ dst: l.veth1, src: l.veth0 }));
  await onVeth.waitFor(() => onVeth.frames.length === 1, 'the other stream still delivers');
  assert.equal(onVeth.closed, null);
});

test('the client going away closes the socket; nothing stays charged', async (t) => {
  const l = await lab(t);
  const c = await connected(l, streamUrl(l, 'veth1', '?rcvbuf=65536'));
  c.ws.pause(); // frames pile up in the socket while the client is not reading
  for (let i = 0; i < 40; i++) l.tx.send(buildFrame({ dst: l.veth1, src: l.veth0, seq: i }));
  c.ws.terminate();
  await waitUntil(() => streamSockets(l.stack).length === 0, 'socket closed');
  l.tx.close();
  await waitUntil(() => l.stack.pool.stats.inUse === 0, 'every buffer freed');
  assert.equal(l.stack.pool.stats.bytes, 0);
});

test('heartbeat: a client that answers pings stays, one that does not is dropped', async (t) => {
  const l = await lab(t, { heartbeatMs: 40 });
  const live = await connected(l, streamUrl(l, 'veth1'));
  const mute = await StreamClient.open(streamUrl(l, 'veth1'), { autoPong: false });
  await mute.waitFor(() => mute.closed !== null, 'the silent client dropped', 5000);
  assert.equal(mute.closed!.code, 1006, 'terminated without a close frame');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(live.closed, null);
  assert.equal(streamSockets(l.stack).length, 1);
  await live.close();
});
