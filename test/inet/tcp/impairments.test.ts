// Bulk transfers through a link that loses, duplicates, reorders and
// corrupts, over many fast-check seeds: the bytes arrive intact and in
// order, every frame is delivered or counted dropped, and afterwards nothing
// is left in use on either host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectPair, drain, makePair, pattern, reader, runUntil, type Pair } from './harness.ts';

async function transfer(p: Pair, size: number, both: boolean): Promise<void> {
  const { c, s, l } = await connectPair(p);
  const up = pattern(size, 1);
  const down = pattern(both ? size >> 1 : 0, 2);
  const rs = reader(s);
  const rc = reader(c);
  let upDone = false;
  let downDone = false;
  void c.write(up).then(() => {
    upDone = true;
    c.shutdownSock(2);
  });
  void s.write(down).then(() => {
    downDone = true;
    s.shutdownSock(2);
  });
  let bad: string | null = null;
  await runUntil(
    p.clock,
    () => {
      bad ??= c.scoreboardError() ?? s.scoreboardError();
      return (rs.done() && rc.done()) || rs.error() !== undefined || rc.error() !== undefined;
    },
    'both directions at EOF',
  );
  assert.equal(bad, null, 'the scoreboard counts agree with the queue');
  assert.equal(rs.error(), undefined);
  assert.equal(rc.error(), undefined);
  assert.ok(upDone && downDone);
  assert.ok(rs.bytes().equals(up), 'client -> server bytes intact and in order');
  assert.ok(rc.bytes().equals(down), 'server -> client bytes intact and in order');
  c.close();
  s.close();
  l.close();
  await drain(p.clock);
  for (const h of [p.a, p.b]) {
    assert.equal(h.pool.stats.inUse, 0, 'no skb left');
    assert.equal(h.proto.sockets.size, 0);
    assert.equal(h.proto.mib.tcp.CurrEstab, 0);
  }
  assert.equal(c.rmemAlloc + c.wmemAlloc + s.rmemAlloc + s.wmemAlloc, 0);
  // Conservation on the link: every frame sent was delivered or dropped.
  assert.equal(p.link.sent, p.link.delivered + p.link.dropped);
  // And every delivered frame was consumed by TCP or dropped with a reason;
  // corrupted ones as TCP_CSUM.
  assert.equal(p.a.drops.TCP_CSUM + p.b.drops.TCP_CSUM, p.link.corrupted);
}

/** Random netem-style impairments, each between none and the given most. */
function impairments(most: { loss: number; duplicate: number; reorder: number; corrupt: number; delayMs: number }) {
  const rate = (max: number) => fc.double({ min: 0, max, noNaN: true });
  return fc.record({
    loss: rate(most.loss),
    duplicate: rate(most.duplicate),
    reorder: rate(most.reorder),
    corrupt: rate(most.corrupt),
    delayMs: fc.integer({ min: 1, max: most.delayMs }),
  });
}

test('property: bulk transfers survive loss, duplication, reordering and corruption', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      impairments({ loss: 0.1, duplicate: 0.05, reorder: 0.1, corrupt: 0.03, delayMs: 30 }),
      fc.integer({ min: 1, max: 120_000 }),
      fc.boolean(),
      fc.constantFrom('cubic', 'reno'),
      fc.boolean(),
      // Loss detection as Linux's sysctls choose it: RACK (1), RACK without the DUPTHRESH shortcut (5) or RFC 6675 (0); tail loss probes on or off; D-SACK on or off.
      fc.record({ recovery: fc.constantFrom(1, 5, 0), earlyRetrans: fc.constantFrom(3, 0), dsack: fc.constantFrom(1, 0) }),
      async (seed, imp, size, both, cc, sack, lr) => {
        const p = makePair(seed);
        for (const h of [p.a, p.b]) {
          h.tcpSysctl.setCongestionControl(cc);
          h.tcpSysctl.set({
            'net.ipv4.tcp_sack': sack ? 1 : 0,
            'net.ipv4.tcp_recovery': lr.recovery,
            'net.ipv4.tcp_early_retrans': lr.earlyRetrans,
            'net.ipv4.tcp_dsack': lr.dsack,
          });
        }
        p.link.set(p.a, imp);
        p.link.set(p.b, imp);
        await transfer(p, size, both);
      },
    ),
    { numRuns: 40 },
  );
});

test('property: a bottleneck queue that tail-drops is recovered from (cwnd-driven loss)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 5, max: 40 }), fc.boolean(), async (seed, queueLimit, sack) => {
      const p = makePair(seed);
      for (const h of [p.a, p.b]) h.tcpSysctl.set({ 'net.ipv4.tcp_sack': sack ? 1 : 0 });
      p.link.set(p.a, { delayMs: 10, rateBps: 20_000_000, queueLimit });
      p.link.set(p.b, { delayMs: 10 });
      await transfer(p, 600_000, false);
      assert.ok(p.link.dropped > 0, 'the queue overflowed');
      assert.ok(p.a.proto.mib.tcp.RetransSegs > 0);
    }),
    { numRuns: 8 },
  );
});

test('one lost segment with SACK: fast retransmit in SACK recovery, no RTO', async () => {
  for (const sack of [true, false]) {
    const p = makePair(3);
    for (const h of [p.a, p.b]) h.tcpSysctl.set({ 'net.ipv4.tcp_sack': sack ? 1 : 0 });
    let n = 0;
    p.link.set(p.a, { delayMs: 10, filter: (seg) => seg.length > 1000 && ++n === 20 });
    p.link.set(p.b, { delayMs: 10 });
    await transfer(p, 200_000, false);
    const ext = p.a.proto.mib.ext;
    assert.equal(ext.TCPTimeouts, 0, 'recovered without a timeout');
    assert.equal(sack ? ext.TCPSackRecovery : ext.TCPRenoRecovery, 1);
    assert.equal(ext.TCPFastRetrans, 1);
    assert.equal(p.a.proto.mib.tcp.RetransSegs, 1, 'exactly the lost segment was resent');
  }
});

test('NewReno: several losses in one window are repaired by partial ACKs without a timeout', async () => {
  const p = makePair(4);
  for (const h of [p.a, p.b]) h.tcpSysctl.set({ 'net.ipv4.tcp_sack': 0 });
  let n = 0;
  const lose = new Set([30, 33, 36]);
  p.link.set(p.a, { delayMs: 10, filter: (seg) => seg.length > 1000 && lose.has(++n) });
  p.link.set(p.b, { delayMs: 10 });
  await transfer(p, 300_000, false);
  const ext = p.a.proto.mib.ext;
  assert.equal(ext.TCPTimeouts, 0);
  assert.equal(ext.TCPRenoRecovery, 1, 'one recovery episode for the whole window');
  assert.equal(p.a.proto.mib.tcp.RetransSegs, 3);
});

test('a link that delivers synchronously (output re-enters TCP) still carries everything intact', async () => {
  const p = makePair(5);
  p.link.set(p.a, { sync: true });
  p.link.set(p.b, { sync: true });
  await transfer(p, 500_000, true);
});

test('property: a small receive buffer, a reader that stalls and reads a few bytes at a time, any option set', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      impairments({ loss: 0.15, duplicate: 0.05, reorder: 0.2, corrupt: 0.03, delayMs: 50 }),
      fc.integer({ min: 2304, max: 60_000 }),
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      async (seed, imp, rcvbuf, chunk, size, sack, ts, ws) => {
        const p = makePair(seed);
        for (const h of [p.a, p.b]) {
          h.tcpSysctl.set({ 'net.ipv4.tcp_sack': sack ? 1 : 0, 'net.ipv4.tcp_timestamps': ts ? 1 : 0, 'net.ipv4.tcp_window_scaling': ws ? 1 : 0 });
        }
        p.link.set(p.a, imp);
        p.link.set(p.b, imp);
        const { c, s, l } = await connectPair(p, { server: { rcvbuf } });
        assert.equal(s.rcvbuf, Math.max(2 * rcvbuf, 4608), 'the child keeps the listener SO_RCVBUF (and no autotuning)');
        // The scale the SYN-ACK announced is the one the child uses.
        assert.equal(c.sndWscale, s.rcvWscale);
        assert.equal(s.sndWscale, c.rcvWscale);
        const rs = reader(s, chunk);
        const up = pattern(size, seed);
        let stalls = 0;
        void c.write(up).then(() => c.shutdownSock(2));
        await runUntil(
          p.clock,
          () => {
            // Stall the reader for 3 s at 1 s, 5 s and 9 s.
            if (stalls < 3 && p.clock.now() > 1000 + 4000 * stalls) {
              stalls++;
              rs.pause();
              p.clock.setTimer(3000, () => rs.resume());
            }
            return rs.done() || rs.error() !== undefined;
          },
          'EOF',
          2_000_000,
        );
        assert.equal(rs.error(), undefined);
        assert.ok(rs.bytes().equals(up));
        assert.ok(s.rcvbuf === Math.max(2 * rcvbuf, 4608));
        c.close();
        s.close();
        l.close();
        await drain(p.clock);
        assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
        assert.equal(p.a.proto.sockets.size + p.b.proto.sockets.size, 0);
      },
    ),
    { numRuns: 25 },
  );
});

test('property: both directions, small MTUs and buffers, a bottleneck queue, any congestion control and options', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.record({
        loss: fc.double({ min: 0, max: 0.2, noNaN: true }),
        duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
        reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
        corrupt: fc.double({ min: 0, max: 0.05, noNaN: true }),
        delayMs: fc.integer({ min: 1, max: 80 }),
        rateBps: fc.constantFrom(0, 1_000_000, 50_000_000),
        queueLimit: fc.integer({ min: 2, max: 50 }),
      }),
      fc.record({ rcvbuf: fc.integer({ min: 2304, max: 300_000 }), sndbuf: fc.integer({ min: 2304, max: 300_000 }) }),
      fc.integer({ min: 0, max: 150_000 }),
      fc.integer({ min: 0, max: 150_000 }),
      fc.record({ sack: fc.boolean(), ts: fc.boolean(), ws: fc.boolean(), nodelay: fc.boolean() }),
      fc.constantFrom('reno', 'cubic'),
      fc.integer({ min: 300, max: 1500 }),
      fc.option(fc.record({ at: fc.integer({ min: 0, max: 3000 }), mtu: fc.integer({ min: 200, max: 1400 }) }), { nil: undefined }),
      async (seed, imp, bufs, upN, downN, o, cc, mtu, shrink) => {
        const p = makePair(seed, mtu);
        for (const h of [p.a, p.b]) {
          h.tcpSysctl.set({ 'net.ipv4.tcp_sack': o.sack ? 1 : 0, 'net.ipv4.tcp_timestamps': o.ts ? 1 : 0, 'net.ipv4.tcp_window_scaling': o.ws ? 1 : 0 });
          h.tcpSysctl.setCongestionControl(cc);
        }
        p.link.set(p.a, imp);
        p.link.set(p.b, { ...imp, rateBps: 0 });
        const { c, s, l } = await connectPair(p, { server: { rcvbuf: bufs.rcvbuf, nodelay: o.nodelay }, client: { sndbuf: bufs.sndbuf, nodelay: o.nodelay } });
        if (shrink !== undefined) {
          // The path MTU drops mid-transfer, both ways: queued segments are cut to the new MSS.
          p.clock.setTimer(shrink.at, () => {
            p.link.set(p.a, { ...imp, mtu: shrink.mtu });
            p.link.set(p.b, { ...imp, rateBps: 0, mtu: shrink.mtu });
          });
        }
        let bad: string | null = null;
        const rs = reader(s, 7000);
        const rc = reader(c, 3000);
        const up = pattern(upN, seed);
        const down = pattern(downN, seed + 1);
        let werr: unknown;
        void (async () => {
          for (let i = 0; i < up.length; i += 10_000) await c.write(up.subarray(i, i + 10_000));
          c.shutdownSock(2);
        })().catch((e) => (werr = e));
        void s.write(down).then(() => s.shutdownSock(2)).catch((e) => (werr = e));
        await runUntil(
          p.clock,
          () => {
            bad ??= c.scoreboardError() ?? s.scoreboardError();
            return (rs.done() && rc.done()) || rs.error() !== undefined || rc.error() !== undefined || werr !== undefined;
          },
          'EOF both ways',
          3_000_000,
        );
        assert.equal(bad, null, 'the scoreboard counts agree with the queue');
        assert.equal(werr ?? rs.error() ?? rc.error(), undefined);
        assert.ok(rs.bytes().equals(up));
        assert.ok(rc.bytes().equals(down));
        c.close();
        s.close();
        l.close();
        await drain(p.clock);
        assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
        assert.equal(p.a.proto.sockets.size + p.b.proto.sockets.size, 0);
        assert.equal(p.link.sent, p.link.delivered + p.link.dropped);
      },
    ),
    { numRuns: 20 },
  );
});
