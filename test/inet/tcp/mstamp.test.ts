// The socket reads the clock once per event (tcp_mstamp) and everything in
// the event uses that stamp. A stamp left over from an earlier event would
// show on the wire: the TSval of a segment is the stamp plus the
// connection's offset, so every segment's TSval must be the clock of the
// moment it left. On the virtual clock no time passes inside an event, so
// the check is exact; the scenario goes through every kind of event that
// sends: connect, write, read (window update), segment arrival (ACKs, fast
// retransmit), the RTO, the loss probe, RACK's reordering timer, the delayed
// ACK, zero-window probes, keepalive and close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcp } from '../../../src/wire/tcp.ts';
import { LazyTimer } from '../../../src/inet/tcp/timer.ts';
import { VirtualClock } from '../../../src/clock.ts';
import { connectPair, drain, makePair, pattern, reader, runUntil, type Host } from './harness.ts';

test('every segment carries the TSval of the moment it was sent, from every kind of event', async () => {
  const p = makePair(3);
  for (const h of [p.a, p.b]) h.tcpSysctl.set({ 'net.ipv4.tcp_keepalive_time': 1, 'net.ipv4.tcp_keepalive_intvl': 1 });
  // TSval - floor(now) per sender, for every segment with a timestamp.
  const offsets = new Map<Host, number[]>([
    [p.a, []],
    [p.b, []],
  ]);
  const send = p.link.send.bind(p.link);
  p.link.send = (from, skb, src, dst) => {
    const th = parseTcp(skb.bytes);
    if (th?.options.ts !== undefined) offsets.get(from)!.push((th.options.ts.val - Math.floor(p.clock.now())) >>> 0);
    send(from, skb, src, dst);
  };
  p.link.set(p.a, { delayMs: 5, loss: 0.03, reorder: 0.05 });
  p.link.set(p.b, { delayMs: 5 });
  const { c, s, l } = await connectPair(p, { server: { rcvbuf: 32768 } });
  c.setKeepalive(true);
  const rs = reader(s);
  rs.pause();
  const data = pattern(300_000);
  let written = -1;
  void c.write(data).then((n) => (written = n));
  await runUntil(p.clock, () => c.sndWnd === 0 && c.packetsOut === 0, 'zero window');
  await p.clock.advance(3_000);
  rs.resume();
  await runUntil(p.clock, () => written === data.length && rs.total() === data.length, 'transfer');
  // Idle: keepalive probes go out from the timer and are answered.
  await p.clock.advance(5_000);
  c.close();
  await runUntil(p.clock, () => rs.done(), 'EOF');
  s.close();
  l.close();
  await drain(p.clock);
  assert.ok(rs.bytes().equals(data));

  const a = p.a.proto.mib;
  const b = p.b.proto.mib;
  // The scenario did reach the events it means to check.
  assert.ok(c.info().zero_window_probes > 0, 'zero-window probes');
  assert.ok(b.ext.TCPFromZeroWindowAdv > 0, 'a window update sent from read()');
  assert.ok(a.tcp.RetransSegs > 0, 'retransmissions');
  assert.ok(a.ext.TCPKeepAlive > 0, 'keepalive probes');
  assert.ok(b.ext.DelayedACKs > 0, 'delayed ACKs');
  const ca = offsets.get(p.a)!;
  const cb = offsets.get(p.b)!;
  assert.ok(ca.length > 200 && cb.length > 100, `${ca.length} and ${cb.length} segments with timestamps`);
  assert.deepEqual(new Set(ca), new Set([c.tsOffset >>> 0]), 'client: TSval = now + offset on every segment');
  assert.deepEqual(new Set(cb), new Set([s.tsOffset >>> 0]), 'server: TSval = now + offset on every segment');
});

test('LazyTimer.arm takes the caller\'s stamp as now: due at stamp + delay', async () => {
  const clock = new VirtualClock();
  let fired = -1;
  const t = new LazyTimer(clock, () => (fired = clock.now()));
  await clock.advance(10);
  // A stamp 4 ms old: the deadline counts from the stamp; the clock timer
  // under it counts from the clock (no second read), so it fires between
  // the two, never before stamp + delay.
  t.arm(20, 6);
  assert.equal(t.deadline, 26);
  await clock.advance(100);
  assert.ok(fired >= 26 && fired <= 30, `fired at ${fired}`);
  // Re-armed later under a pending clock timer: only the deadline moves, and
  // the pending timer sleeps on to exactly stamp + delay.
  fired = -1;
  t.arm(50, 110);
  t.arm(60, 108);
  assert.equal(t.deadline, 168);
  await clock.advance(100);
  assert.equal(fired, 168);
  // Without a stamp it reads the clock.
  t.arm(5);
  assert.equal(t.deadline, clock.now() + 5);
});
