import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetError } from '../../../src/errno.ts';
import { TcpState, TCP_STATE_NAMES, type TcpSock } from '../../../src/inet/tcp/sock.ts';
import { encodeTcp, parseTcp, TCP_ACK, TCP_RST, TCP_SYN } from '../../../src/wire/tcp.ts';
import { tcpV4Err } from '../../../src/inet/tcp/proto.ts';
import { allocSkbFrom } from '../../../src/skb/skbuff.ts';
import { A_ADDR, B_ADDR, connectPair, drain, makePair, pattern, reader, runUntil, type Host, type Pair } from './harness.ts';

/** Record every state a socket passes through, by ss name. */
function track(sk: TcpSock): string[] {
  const seen = [sk.stateName];
  sk.onStateChange = (s) => seen.push(TCP_STATE_NAMES[s.state]);
  return seen;
}

async function settled<T>(p: Pair, promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const out: { value?: T; error?: unknown; done?: boolean } = {};
  promise.then((v) => ((out.value = v), (out.done = true)), (e) => ((out.error = e), (out.done = true)));
  await runUntil(p.clock, () => out.done === true, 'promise');
  return out;
}

function assertQuiet(...hosts: Host[]): void {
  for (const h of hosts) {
    assert.equal(h.pool.stats.inUse, 0, 'no skb left in use');
    assert.equal(h.pool.stats.bytes, 0);
    assert.equal(h.proto.sockets.size, 0, 'no socket left in the tables');
    assert.equal(h.proto.mib.tcp.CurrEstab, 0);
  }
}

/** Inject a crafted segment into a host as if it came from the wire. */
function inject(to: Host, src: number, dst: number, fields: Parameters<typeof encodeTcp>[0], payload = Buffer.alloc(0)): void {
  const seg = encodeTcp(fields, null, payload, { srcAddr: src, dstAddr: dst });
  const skb = allocSkbFrom(to.pool, seg.length + 64)!;
  skb.reserve(64);
  skb.putData(seg);
  to.proto.rcv(skb, src, dst);
}

test('three-way handshake, data both ways, orderly close: every state on the way', async () => {
  const p = makePair();
  const l = p.b.proto.listen({ port: 80 });
  assert.equal(l.stateName, 'LISTEN');
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 80 });
  const cs = track(c);
  assert.equal(c.stateName, 'SYN-SENT');
  const accepted = settled(p, l.accept());
  await settled(p, c.waitConnected());
  const s = (await accepted).value!;
  const ss = track(s);
  assert.equal(s.stateName, 'ESTAB');
  assert.equal(p.a.proto.mib.tcp.ActiveOpens, 1);
  assert.equal(p.b.proto.mib.tcp.PassiveOpens, 1);
  assert.equal(p.a.proto.mib.tcp.CurrEstab + p.b.proto.mib.tcp.CurrEstab, 2);
  // Options were agreed: timestamps, SACK, window scale 7, MSS 1460 - 12.
  assert.equal(c.tsOn && c.sackOn && c.wsOn, true);
  assert.equal(c.rcvWscale, 7);
  assert.equal(c.mss, 1448);

  const rs = reader(s);
  const rc = reader(c);
  assert.equal(await c.write(Buffer.from('hello')), 5);
  assert.equal(await s.write(Buffer.from('world!')), 6);
  await runUntil(p.clock, () => rs.total() === 5 && rc.total() === 6);
  assert.equal(rs.bytes().toString(), 'hello');
  assert.equal(rc.bytes().toString(), 'world!');

  c.close();
  await runUntil(p.clock, () => rs.done() && c.state === TcpState.FIN_WAIT2);
  assert.equal(s.stateName, 'CLOSE-WAIT');
  s.close();
  await runUntil(p.clock, () => c.state === TcpState.TIME_WAIT && s.state === TcpState.CLOSE);
  const twAt = p.clock.now();
  await runUntil(p.clock, () => c.state === TcpState.CLOSE);
  // TIME-WAIT lasts 2MSL = 60 s, as Linux's TCP_TIMEWAIT_LEN.
  assert.ok(p.clock.now() - twAt >= 60_000 - 1);
  assert.deepEqual(cs, ['SYN-SENT', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN']);
  assert.deepEqual(ss, ['ESTAB', 'CLOSE-WAIT', 'LAST-ACK', 'UNCONN']);
  assert.equal(p.a.proto.mib.ext.TW, 1);
  l.close();
  c.close();
  s.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('simultaneous open: SYN-SENT -> SYN-RECV -> ESTAB on both sides', async () => {
  const p = makePair();
  const x = p.a.proto.connect({ dst: B_ADDR, dport: 5001, sport: 5000 });
  const y = p.b.proto.connect({ dst: A_ADDR, dport: 5000, sport: 5001 });
  const xs = track(x);
  const ys = track(y);
  await settled(p, Promise.all([x.waitConnected(), y.waitConnected()]));
  assert.deepEqual(xs, ['SYN-SENT', 'SYN-RECV', 'ESTAB']);
  assert.deepEqual(ys, ['SYN-SENT', 'SYN-RECV', 'ESTAB']);
  const ry = reader(y);
  await x.write(Buffer.from('crossed'));
  await runUntil(p.clock, () => ry.total() === 7);
  assert.equal(ry.bytes().toString(), 'crossed');
  x.close();
  y.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('simultaneous close: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  l.close();
  const cs = track(c);
  const ss = track(s);
  c.close();
  s.close();
  await runUntil(p.clock, () => c.state === TcpState.TIME_WAIT && s.state === TcpState.TIME_WAIT);
  assert.deepEqual(cs, ['ESTAB', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  assert.deepEqual(ss, ['ESTAB', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('a closed port answers RST: connect fails with ECONNREFUSED at once', async () => {
  const p = makePair();
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 9 });
  const r = await settled(p, c.waitConnected());
  assert.ok(r.error instanceof NetError);
  assert.equal((r.error as NetError).errno, 'ECONNREFUSED');
  assert.ok(p.clock.now() < 10, 'refused on the first round trip');
  assert.equal(p.b.drops.NO_SOCKET, 1);
  assert.equal(p.b.proto.mib.tcp.OutRsts, 1);
  assert.equal(p.a.proto.mib.tcp.AttemptFails, 1);
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('no answer to SYNs: ETIMEDOUT after tcp_syn_retries with backoff', async () => {
  const p = makePair();
  p.a.tcpSysctl.set({ 'net.ipv4.tcp_syn_retries': 2 });
  p.link.set(p.a, { down: true });
  p.a.sent = [];
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 80 });
  const r = await settled(p, c.waitConnected());
  assert.equal((r.error as NetError).errno, 'ETIMEDOUT');
  // SYN at 0, 1 s, 3 s; gives up at 7 s (1 + 2 + 4).
  assert.equal(p.a.sent.length, 3);
  assert.equal(p.clock.now(), 7000);
  assert.equal(p.a.proto.mib.ext.TCPAbortOnTimeout, 1);
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('a peer that vanishes: data retransmitted tcp_retries2 times, then ETIMEDOUT', async () => {
  const p = makePair();
  p.a.tcpSysctl.set({ 'net.ipv4.tcp_retries2': 3 });
  const { c, s, l } = await connectPair(p);
  p.link.set(p.a, { down: true });
  await c.write(Buffer.from('lost'));
  const rc = reader(c);
  await runUntil(p.clock, () => c.state === TcpState.CLOSE);
  assert.equal((rc.error() as NetError).errno, 'ETIMEDOUT');
  assert.equal(c.info().total_retrans, 3);
  assert.equal(p.a.proto.mib.tcp.RetransSegs, 3);
  assert.equal(p.a.proto.mib.tcp.EstabResets, 1);
  l.close();
  s.abort();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('abort sends RST: the peer read fails with ECONNRESET', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const rs = reader(s);
  c.abort();
  await runUntil(p.clock, () => rs.error() !== undefined);
  assert.equal((rs.error() as NetError).errno, 'ECONNRESET');
  assert.equal(s.stateName, 'UNCONN');
  assert.equal(p.b.proto.mib.tcp.EstabResets, 1);
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('close with unread data sends RST instead of FIN (TCPAbortOnClose)', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  await c.write(Buffer.from('never read'));
  await runUntil(p.clock, () => s.recvQ === 10);
  const rc = reader(c);
  s.close();
  await runUntil(p.clock, () => rc.error() !== undefined);
  assert.equal((rc.error() as NetError).errno, 'ECONNRESET');
  assert.equal(p.b.proto.mib.ext.TCPAbortOnClose, 1);
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('RFC 5961: a RST or SYN in the window but not at rcv_nxt gets a challenge ACK and changes nothing', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const base = { srcPort: c.lport, dstPort: s.lport, ack: s.sndNxt, window: 1000 };
  inject(p.b, A_ADDR, B_ADDR, { ...base, seq: (s.rcvNxt + 100) >>> 0, flags: TCP_RST });
  assert.equal(p.b.proto.mib.ext.TCPChallengeACK, 1);
  assert.equal(p.b.drops.TCP_RESET, 1);
  inject(p.b, A_ADDR, B_ADDR, { ...base, seq: (s.rcvNxt + 100) >>> 0, flags: TCP_SYN });
  assert.equal(p.b.proto.mib.ext.TCPSYNChallenge, 1);
  assert.equal(p.b.drops.TCP_INVALID_SYN, 1);
  // Out of the window altogether: dropped, answered with a duplicate ACK.
  inject(p.b, A_ADDR, B_ADDR, { ...base, seq: (s.rcvNxt + 10_000_000) >>> 0, flags: TCP_ACK }, Buffer.from('x'));
  assert.equal(p.b.drops.TCP_INVALID_SEQUENCE, 1);
  assert.equal(s.stateName, 'ESTAB');
  // The exact sequence number resets.
  inject(p.b, A_ADDR, B_ADDR, { ...base, seq: s.rcvNxt, flags: TCP_RST });
  assert.equal(s.stateName, 'UNCONN');
  c.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('tcp_challenge_ack_limit: off by default (as since Linux 6.0); a set limit gives a budget drawn each second from [limit/2, 3*limit/2)', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const base = { srcPort: c.lport, dstPort: s.lport, ack: s.sndNxt, window: 1000 };
  const challenge = () => inject(p.b, A_ADDR, B_ADDR, { ...base, seq: (s.rcvNxt + 100) >>> 0, flags: TCP_RST });
  for (let i = 0; i < 200; i++) challenge();
  assert.equal(p.b.proto.mib.ext.TCPChallengeACK, 200, 'no host-wide limit by default');
  p.b.tcpSysctl.set({ 'net.ipv4.tcp_challenge_ack_limit': 10 });
  const budgets = new Set<number>();
  for (let second = 0; second < 12; second++) {
    await p.clock.advance(1000);
    const before = p.b.proto.mib.ext.TCPChallengeACK;
    for (let i = 0; i < 40; i++) challenge();
    const sent = p.b.proto.mib.ext.TCPChallengeACK - before;
    assert.ok(sent >= 5 && sent <= 14, `a budget of ${sent} in one second`);
    budgets.add(sent);
  }
  assert.ok(budgets.size > 1, 'the budget changes from one second to the next');
  assert.equal(s.stateName, 'ESTAB');
  c.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('a corrupted segment is dropped as TCP_CSUM and counted InCsumErrors', async () => {
  const p = makePair();
  const seg = encodeTcp({ srcPort: 1, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 100 }, null, Buffer.alloc(0), { srcAddr: A_ADDR, dstAddr: B_ADDR });
  seg[5] = seg[5]! ^ 1;
  const skb = allocSkbFrom(p.b.pool, 100)!;
  skb.putData(seg);
  p.b.proto.rcv(skb, A_ADDR, B_ADDR);
  assert.equal(p.b.drops.TCP_CSUM, 1);
  assert.equal(p.b.proto.mib.tcp.InCsumErrors, 1);
  assert.equal(p.b.proto.mib.tcp.InErrs, 1);
  assertQuiet(p.b);
});

test('shutdown(SHUT_WR) half-closes: the peer sees EOF and can still send', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const rs = reader(s);
  const rc = reader(c);
  await c.write(Buffer.from('request'));
  c.shutdownSock(2);
  await runUntil(p.clock, () => rs.done());
  assert.equal(rs.bytes().toString(), 'request');
  await assert.rejects(c.write(Buffer.from('more')), (e: NetError) => e.errno === 'EPIPE');
  await s.write(Buffer.from('response'));
  s.close();
  await runUntil(p.clock, () => rc.done());
  assert.equal(rc.bytes().toString(), 'response');
  c.close();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('TIME-WAIT answers a retransmitted FIN with an ACK and restarts its 60 s timer', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const rs = reader(s);
  c.close();
  await runUntil(p.clock, () => rs.done());
  // The client's last ACK is lost: the server in LAST-ACK retransmits its FIN.
  p.link.set(p.a, { down: true });
  s.close();
  await runUntil(p.clock, () => c.state === TcpState.TIME_WAIT);
  p.a.sent = [];
  await runUntil(p.clock, () => p.a.sent!.length === 2, 'the second re-ACK');
  assert.ok(p.a.sent.every((b) => parseTcp(b)!.flags === TCP_ACK));
  const lastFin = p.clock.now();
  assert.equal(s.stateName, 'LAST-ACK');
  p.link.set(p.a, {});
  await runUntil(p.clock, () => c.state === TcpState.CLOSE && s.state === TcpState.CLOSE);
  assert.ok(p.clock.now() - lastFin >= 60_000 - 1, 'TIME-WAIT restarted at the last FIN');
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('Nagle holds small writes while one is unacknowledged; TCP_NODELAY sends each', async () => {
  for (const nodelay of [false, true]) {
    const p = makePair();
    p.link.set(p.a, { delayMs: 10 });
    p.link.set(p.b, { delayMs: 10 });
    const { c, s, l } = await connectPair(p, { client: { nodelay } });
    const rs = reader(s);
    p.a.sent = [];
    for (let i = 0; i < 10; i++) await c.write(Buffer.from([i]));
    await runUntil(p.clock, () => rs.total() === 10);
    const dataSegs = p.a.sent.filter((b) => parseTcp(b)!.payloadLength > 0).length;
    if (nodelay) assert.equal(dataSegs, 10);
    else assert.equal(dataSegs, 2, 'the first byte, then the other nine together');
    c.abort();
    s.abort();
    l.close();
    await drain(p.clock);
    assertQuiet(p.a, p.b);
  }
});

test('delayed ACK: a lone segment is acknowledged after 40 ms; quick ACKs at the start', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  const rs = reader(s);
  // Use up the quick-ACK budget with a bulk transfer first.
  void c.write(pattern(200_000));
  await runUntil(p.clock, () => rs.total() === 200_000 && c.packetsOut === 0);
  p.b.sent = [];
  await c.write(Buffer.from('x'));
  const t0 = p.clock.now();
  await runUntil(p.clock, () => c.packetsOut === 0);
  assert.equal(p.b.sent.length, 1);
  assert.ok(p.clock.now() - t0 >= 40, `ACK came after ${p.clock.now() - t0} ms`);
  assert.ok(p.b.proto.mib.ext.DelayedACKs >= 1);
  c.abort();
  s.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('keepalive: an idle connection whose peer is gone ends in ETIMEDOUT', async () => {
  const p = makePair();
  p.a.tcpSysctl.set({ 'net.ipv4.tcp_keepalive_time': 10, 'net.ipv4.tcp_keepalive_intvl': 2, 'net.ipv4.tcp_keepalive_probes': 3 });
  const { c, s, l } = await connectPair(p, { client: { keepalive: true } });
  // While the peer answers, probes keep it alive.
  await p.clock.advance(30_000);
  assert.equal(c.stateName, 'ESTAB');
  assert.ok(p.a.proto.mib.ext.TCPKeepAlive >= 2);
  p.link.set(p.b, { down: true });
  const rc = reader(c);
  await runUntil(p.clock, () => c.state === TcpState.CLOSE);
  assert.equal((rc.error() as NetError).errno, 'ETIMEDOUT');
  s.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('an ICMP host unreachable quoting our SYN fails the connect with EHOSTUNREACH', async () => {
  const p = makePair();
  p.link.set(p.a, { down: true });
  const c = p.a.proto.connect({ dst: B_ADDR, dport: 80 });
  const quoted = Buffer.alloc(8);
  quoted.writeUInt16BE(c.lport, 0);
  quoted.writeUInt16BE(80, 2);
  quoted.writeUInt32BE(c.iss, 4);
  // A quote with a sequence number outside snd_una..snd_nxt is ignored (RFC 5927 §4.1).
  const wrong = Buffer.from(quoted);
  wrong.writeUInt32BE((c.iss + 1000) >>> 0, 4);
  tcpV4Err(p.a.proto, 'EHOSTUNREACH', A_ADDR, B_ADDR, wrong);
  assert.equal(c.stateName, 'SYN-SENT');
  tcpV4Err(p.a.proto, 'EHOSTUNREACH', A_ADDR, B_ADDR, quoted);
  const r = await settled(p, c.waitConnected());
  assert.equal((r.error as NetError).errno, 'EHOSTUNREACH');
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('an orphaned FIN-WAIT-2 ends after tcp_fin_timeout; data arriving afterwards is answered with RST', async () => {
  const p = makePair();
  p.a.tcpSysctl.set({ 'net.ipv4.tcp_fin_timeout': 5 });
  const { c, s, l } = await connectPair(p);
  c.close();
  await runUntil(p.clock, () => c.state === TcpState.FIN_WAIT2);
  const t0 = p.clock.now();
  await runUntil(p.clock, () => c.state === TcpState.CLOSE);
  assert.ok(p.clock.now() - t0 >= 5000 - 1);
  assert.equal(s.stateName, 'CLOSE-WAIT');
  await s.write(Buffer.from('too late'));
  await runUntil(p.clock, () => s.state === TcpState.CLOSE);
  assert.ok(p.a.drops.NO_SOCKET >= 1);
  // A reset in CLOSE-WAIT reports EPIPE to the next call (tcp_reset).
  await assert.rejects(s.write(Buffer.from('x')), (e: NetError) => e.errno === 'EPIPE');
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('sequence numbers wrap through 2^32 in both directions without a hiccup', async () => {
  const p = makePair();
  // Start both ISNs just below the wrap.
  p.a.proto.isn = () => ({ isn: 0xffff_f000, tsOffset: 0xffff_ff00 });
  p.b.proto.isn = () => ({ isn: 0xffff_e000, tsOffset: 0xffff_fff0 });
  p.link.set(p.a, { delayMs: 3, loss: 0.02 });
  p.link.set(p.b, { delayMs: 3 });
  const { c, s, l } = await connectPair(p);
  const rs = reader(s);
  const rc = reader(c);
  const up = pattern(200_000, 3);
  const down = pattern(100_000, 4);
  void c.write(up).then(() => c.shutdownSock(2));
  void s.write(down).then(() => s.shutdownSock(2));
  await runUntil(p.clock, () => rs.done() && rc.done());
  assert.ok(rs.bytes().equals(up));
  assert.ok(rc.bytes().equals(down));
  assert.ok(c.sndNxt < 0x1000_0000 && s.sndNxt < 0x1000_0000, 'both wrapped');
  c.close();
  s.close();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});
