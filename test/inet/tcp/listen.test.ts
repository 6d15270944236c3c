import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetError } from '../../../src/errno.ts';
import { allocSkbFrom } from '../../../src/skb/skbuff.ts';
import { encodeTcp, parseTcp, TCP_SYN } from '../../../src/wire/tcp.ts';
import { A_ADDR, B_ADDR, drain, makePair, reader, runUntil, type Host } from './harness.ts';
import type { TcpSock } from '../../../src/inet/tcp/sock.ts';

/** A SYN from a spoofed source port, straight into the host (a flood needs no handshake). */
function synFrom(to: Host, sport: number, dport: number, seq: number): void {
  const seg = encodeTcp({ srcPort: sport, dstPort: dport, seq, ack: 0, flags: TCP_SYN, window: 64240 }, { mss: 1460 }, Buffer.alloc(0), { srcAddr: A_ADDR, dstAddr: B_ADDR });
  const skb = allocSkbFrom(to.pool, seg.length + 64)!;
  skb.reserve(64);
  skb.putData(seg);
  to.proto.rcv(skb, A_ADDR, B_ADDR);
}

test('a SYN flood on a small backlog: the SYN queue stays bounded, cookies answer, a real client still connects', async () => {
  const p = makePair();
  // The flood's SYN-ACKs go nowhere (the spoofed sources never answer).
  p.link.set(p.b, { filter: (seg) => parseTcp(seg)!.dstPort >= 10_000 });
  const l = p.b.proto.listen({ port: 80, backlog: 4 });
  const heap0 = p.b.pool.stats.bytes;
  for (let i = 0; i < 5000; i++) synFrom(p.b, 10_000 + i, 80, i * 7919);
  const ext = p.b.proto.mib.ext;
  assert.equal(p.b.proto.synQueueLength(l), 4, 'the SYN queue holds backlog entries, no more');
  assert.equal(ext.SyncookiesSent, 5000 - 4);
  assert.equal(ext.TCPReqQFullDoCookies, 5000 - 4);
  assert.equal(p.b.pool.stats.bytes, heap0, 'no buffer is kept per SYN');
  // A genuine client completes the handshake through a cookie.
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 80, sport: 5555 });
  let est = false;
  void c.waitConnected().then(() => (est = true));
  let s: TcpSock | undefined;
  void l.accept().then((x) => (s = x));
  await runUntil(p.clock, () => est && s !== undefined);
  assert.equal(ext.SyncookiesRecv, 1);
  // A cookie carries the MSS (1460 from its table) but no window scale or SACK.
  assert.equal(s!.wsOn, false);
  assert.equal(s!.mss, 1460);
  const rs = reader(s!);
  await c.write(Buffer.from('through the flood'));
  await runUntil(p.clock, () => rs.total() === 17);
  c.close();
  s!.close();
  l.close();
  await drain(p.clock);
  assert.equal(p.b.pool.stats.inUse, 0);
  assert.equal(p.b.proto.synQueueLength(l), 0);
});

test('without SYN cookies a full SYN queue drops SYNs (TCPReqQFullDrop, ListenDrops)', async () => {
  const p = makePair();
  p.b.tcpSysctl.set({ 'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_synack_retries': 1 });
  p.link.set(p.b, { down: true });
  const l = p.b.proto.listen({ port: 80, backlog: 2 });
  for (let i = 0; i < 10; i++) synFrom(p.b, 20_000 + i, 80, i);
  const ext = p.b.proto.mib.ext;
  assert.equal(p.b.proto.synQueueLength(l), 2);
  assert.equal(ext.TCPReqQFullDrop, 8);
  assert.equal(ext.ListenDrops, 8);
  assert.equal(p.b.drops.SOCKET_BACKLOG, 8);
  // Unanswered requests expire after tcp_synack_retries retransmissions (1 s, then 2 s).
  await drain(p.clock);
  assert.equal(p.b.proto.synQueueLength(l), 0);
  assert.equal(p.b.proto.mib.tcp.RetransSegs, 2);
  l.close();
  assert.equal(p.b.pool.stats.inUse, 0);
});

test('the accept queue holds backlog + 1 connections; more are dropped as ListenOverflows until accept()', async () => {
  const p = makePair();
  const l = p.b.proto.listen({ port: 80, backlog: 1 });
  const clients: TcpSock[] = [];
  for (let i = 0; i < 3; i++) {
    clients.push(p.a.proto.connect({ dst: B_ADDR, dport: 80, sport: 6000 + i }));
    await runUntil(p.clock, () => l.acceptQueue.length === Math.min(i + 1, 2) && (i < 2 || p.b.proto.mib.ext.ListenOverflows > 0));
  }
  assert.equal(l.recvQ, 2);
  assert.equal(l.sendQ, 1);
  assert.equal(clients[2]!.stateName, 'SYN-SENT');
  // The third keeps retrying its SYN; accepting one makes room.
  const first = await l.accept();
  let third = false;
  void clients[2]!.waitConnected().then(() => (third = true));
  await runUntil(p.clock, () => third && l.acceptQueue.length === 2);
  for (const c of clients) c.abort();
  first.abort();
  l.close();
  await drain(p.clock);
  assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
  assert.equal(p.a.proto.sockets.size + p.b.proto.sockets.size, 0);
});

test('closing a listener resets the connections nobody accepted', async () => {
  const p = makePair();
  const l = p.b.proto.listen({ port: 80 });
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 80 });
  await runUntil(p.clock, () => l.acceptQueue.length === 1);
  const rc = reader(c);
  l.close();
  await runUntil(p.clock, () => rc.error() !== undefined);
  assert.equal((rc.error() as NetError).errno, 'ECONNRESET');
  await drain(p.clock);
  assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
});

test('bad arguments are refused with an errno and change nothing', async () => {
  const p = makePair();
  assert.throws(() => p.b.proto.listen({ port: 0 }), (e: NetError) => e.errno === 'EINVAL');
  assert.throws(() => p.b.proto.listen({ port: 70000 }), (e: NetError) => e.errno === 'EINVAL');
  assert.throws(() => p.b.proto.listen({ port: 80, backlog: -1 }), (e: NetError) => e.errno === 'EINVAL');
  const l = p.b.proto.listen({ port: 80 });
  assert.throws(() => p.b.proto.listen({ port: 80 }), (e: NetError) => e.errno === 'EADDRINUSE');
  assert.throws(() => p.a.proto.connect({ dst: B_ADDR, dport: 0 }), (e: NetError) => e.errno === 'EINVAL');
  assert.throws(() => p.a.proto.connect({ dst: B_ADDR, dport: 80, sport: 1.5 }), (e: NetError) => e.errno === 'EINVAL');
  await assert.rejects(l.write(Buffer.from('x')), (e: NetError) => e.errno === 'ENOTCONN');
  assert.throws(() => l.readNow(), (e: NetError) => e.errno === 'ENOTCONN');
  assert.equal(p.b.proto.sockets.size, 1);
  l.close();
  assert.equal(p.b.proto.sockets.size, 0);
});
