// Loss recovery as Linux does it: Proportional Rate Reduction during fast
// recovery (RFC 6937, tcp_cwnd_reduction), tail loss probes (RFC 8985 §7,
// tcp_send_loss_probe), D-SACK (RFC 2883) and the undo of a spurious
// retransmission. Each test fails without the behaviour it names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcp } from '../../../src/wire/tcp.ts';
import { connectPair, drain, makePair, pattern, reader, runUntil, type Conn, type Pair } from './harness.ts';

const CA_RECOVERY = 3;

/** Data segments from `seg` (raw TCP bytes), numbered from 1 in the order the sender sent them. */
function dataLen(seg: Buffer): number {
  return parseTcp(seg)?.payloadLength ?? 0;
}

async function finish(p: Pair, conn: { c: { close(): void }; s: { close(): void }; l: { close(): void } }): Promise<void> {
  conn.c.close();
  conn.s.close();
  conn.l.close();
  await drain(p.clock);
  assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0, 'nothing left in use');
  assert.equal(p.link.sent, p.link.delivered + p.link.dropped);
}

test('PRR: a burst of losses in one window is repaired without a burst of sending; cwnd ends at ssthresh', async () => {
  const p = makePair(11);
  let n = 0;
  // Forty consecutive full segments lost, half of a window of about eighty.
  p.link.set(p.a, { delayMs: 20, filter: (seg) => dataLen(seg) > 1000 && ++n >= 80 && n < 120 });
  p.link.set(p.b, { delayMs: 20 });
  const conn = await connectPair(p);
  const { c, s } = conn;
  const rs = reader(s);
  const data = pattern(400_000, 3);
  void c.write(data).then(() => c.shutdownSock(2));
  // Per ACK during recovery: what the sender sends against what PRR-SSRB allows (RFC 6937 §3.1):
  // at most MAX(prr_delivered - prr_out, DeliveredData) + 1 segments, where DeliveredData is what
  // this ACK newly acknowledged or SACKed, prr_delivered and prr_out the totals since recovery began.
  p.a.sent = [];
  const rcv = p.a.proto.rcv.bind(p.a.proto);
  let worst = -Infinity;
  let acksInRecovery = 0;
  let prrDelivered = 0;
  let prrOut = 0;
  let exitCwnd = -1;
  let exitSsthresh = -1;
  p.a.proto.rcv = (skb, src, dst) => {
    const before = p.a.sent!.length;
    const packets = c.packetsOut;
    const sacked = c.sackedOut;
    const nxt = c.sndNxt;
    const was = c.caState;
    rcv(skb, src, dst);
    const out = p.a.sent!.slice(before).filter((x) => dataLen(x) > 0);
    const sent = out.length;
    // New segments sent in answer count in packets_out: take them out of the ACK's balance.
    const fresh = out.filter((x) => ((parseTcp(x)!.seq - nxt) | 0) >= 0).length;
    if (c.caState === CA_RECOVERY) {
      if (was !== CA_RECOVERY) prrDelivered = prrOut = 0;
      acksInRecovery++;
      const delivered = Math.max(0, packets + fresh - c.packetsOut + c.sackedOut - sacked);
      prrDelivered += delivered;
      const allowed = Math.max(prrDelivered - prrOut, delivered) + 1;
      worst = Math.max(worst, sent - allowed);
      prrOut += sent;
    } else if (was === CA_RECOVERY && exitCwnd < 0) {
      exitCwnd = c.cwnd;
      exitSsthresh = c.ssthresh;
    }
  };
  await runUntil(p.clock, () => rs.done(), 'EOF');
  assert.ok(rs.bytes().equals(data));
  const ext = p.a.proto.mib.ext;
  assert.equal(ext.TCPSackRecovery, 1);
  assert.equal(ext.TCPTimeouts, 0, 'no RTO');
  assert.ok(acksInRecovery >= 10);
  assert.ok(worst <= 0, `no ACK in recovery sends more than PRR allows; worst excess ${worst} segments`);
  assert.equal(exitCwnd, exitSsthresh, 'cwnd is ssthresh when recovery ends (tcp_end_cwnd_reduction)');
  await finish(p, conn);
});

test('tail loss: the last segment lost is recovered by a loss probe, not an RTO', async () => {
  for (const sack of [1, 0]) {
    const p = makePair(12);
    for (const h of [p.a, p.b]) h.tcpSysctl.set({ 'net.ipv4.tcp_sack': sack });
    let lost = 0;
    // The first write's last segment (100_000 = 69 * 1448 + 88) is lost once.
    p.link.set(p.a, { delayMs: 10, filter: (seg) => dataLen(seg) === 88 && lost++ === 0 });
    p.link.set(p.b, { delayMs: 10 });
    const conn = await connectPair(p);
    const { c, s } = conn;
    const rs = reader(s);
    const data = pattern(150_000, 4);
    let first = false;
    void c.write(data.subarray(0, 100_000)).then(() => (first = true));
    await runUntil(p.clock, () => first && rs.total() === 100_000, 'the first 100 kB');
    const ext = p.a.proto.mib.ext;
    assert.equal(lost, 2, 'the segment went twice: lost, then repaired');
    if (sack === 1) {
      assert.equal(ext.TCPTimeouts, 0, 'the probe found the loss: no RTO');
      assert.equal(ext.TCPLossProbes, 1);
    } else {
      // Without SACK there is no probe (tcp_schedule_loss_probe needs it): the RTO repairs it.
      assert.equal(ext.TCPLossProbes, 0);
      assert.equal(ext.TCPTimeouts, 1);
    }
    // More data: the ACK beyond the probe ends the episode as a repaired loss (TCPLossProbeRecovery).
    void c.write(data.subarray(100_000)).then(() => c.shutdownSock(2));
    await runUntil(p.clock, () => rs.done() && c.info().unacked === 0, 'EOF, and the FIN acknowledged');
    assert.ok(rs.bytes().equals(data));
    assert.equal(ext.TCPLossProbeRecovery, sack, 'the ACK beyond the probe');
    await finish(p, conn);
  }
});

/** The last three segments of a 100 kB write lost once each; what it took to repair them. */
async function tailLoss(sysctls: Record<string, number>) {
  const p = makePair(13);
  for (const h of [p.a, p.b]) h.tcpSysctl.set(sysctls);
  let base = 0;
  const lostOnce = new Set<number>();
  // Lose the first transmission of every segment in the last 2984 bytes (two full segments and the 88-byte tail).
  p.link.set(p.a, {
    delayMs: 10,
    filter: (seg) => {
      const t = parseTcp(seg)!;
      const off = (t.seq - base) >>> 0;
      if (t.payloadLength === 0 || off < 100_000 - 2984 || off >= 100_000 || lostOnce.has(off)) return false;
      lostOnce.add(off);
      return true;
    },
  });
  p.link.set(p.b, { delayMs: 10 });
  const conn = await connectPair(p);
  const { c, s } = conn;
  base = c.sndNxt;
  const rs = reader(s);
  const data = pattern(100_000, 5);
  void c.write(data);
  await runUntil(p.clock, () => rs.total() === data.length && c.info().unacked === 0, 'all delivered and acknowledged');
  assert.equal(lostOnce.size, 3);
  assert.ok(rs.bytes().equals(data));
  c.shutdownSock(2);
  await runUntil(p.clock, () => rs.done(), 'EOF');
  await finish(p, conn);
  return { ext: p.a.proto.mib.ext, retrans: p.a.proto.mib.tcp.RetransSegs };
}

test('RACK: the last three segments lost; the probe is SACKed and RACK marks the rest lost after a reordering window, no RTO', async () => {
  const { ext, retrans } = await tailLoss({});
  assert.equal(ext.TCPTimeouts, 0, 'no RTO: the probe, then RACK');
  assert.equal(ext.TCPLossProbes, 1);
  assert.equal(ext.TCPSackRecovery, 1, 'RACK started fast recovery');
  assert.equal(retrans, 3, 'the probe and the two segments RACK found lost');
  assert.equal(ext.TCPLostRetransmit, 0);
});

test('the same tail loss with RACK off (tcp_recovery = 0: RFC 6675 DUPTHRESH) or probes off (tcp_early_retrans = 0) takes an RTO', async () => {
  const dupthresh = await tailLoss({ 'net.ipv4.tcp_recovery': 0 });
  assert.equal(dupthresh.ext.TCPLossProbes, 1, 'the probe went, but one SACKed segment is not DUPTHRESH');
  assert.equal(dupthresh.ext.TCPTimeouts, 1);
  const noProbe = await tailLoss({ 'net.ipv4.tcp_early_retrans': 0 });
  assert.equal(noProbe.ext.TCPLossProbes, 0);
  assert.equal(noProbe.ext.TCPTimeouts, 1);
});

test('D-SACK: a reordered segment triggers a fast retransmit, the peer reports the duplicate, and the reduction is undone', async () => {
  const p = makePair(14);
  const conn = await reordered(p);
  const ext = p.a.proto.mib.ext;
  assert.ok(p.b.proto.mib.ext.TCPDSACKOldSent >= 1, 'the receiver reported the duplicate');
  assert.ok(ext.TCPDSACKRecv >= 1);
  assert.equal(ext.TCPDSACKUndo + ext.TCPFullUndo, 1, 'the reduction was undone');
  assert.equal(conn.c.ssthresh, 0x7fffffff, 'ssthresh is back where it was (slow start never ended)');
  await finish(p, conn);
});

test('D-SACK off at the receiver (tcp_dsack = 0): nothing reports the duplicate, and the reduction stands', async () => {
  const p = makePair(14);
  p.b.tcpSysctl.set({ 'net.ipv4.tcp_dsack': 0 });
  const conn = await reordered(p);
  assert.equal(p.b.proto.mib.ext.TCPDSACKOldSent, 0);
  assert.equal(p.a.proto.mib.ext.TCPDSACKRecv, 0);
  assert.equal(p.a.proto.mib.ext.TCPDSACKUndo + p.a.proto.mib.ext.TCPFullUndo, 0);
  assert.ok(conn.c.ssthresh < 0x7fffffff);
  await finish(p, conn);
});

/** 300 kB with the 20th full segment held 15 ms: a spurious fast retransmit. */
async function reordered(p: Pair): Promise<Conn> {
  let n = 0;
  // The 20th full segment (mid-flight) is held 15 ms: three later ones are SACKed first (a spurious fast retransmit),
  // yet it still arrives before its retransmission, which the receiver then reports as a D-SACK.
  p.link.set(p.a, { delayMs: 10, hold: (seg) => (dataLen(seg) > 1000 && ++n === 20 ? 15 : 0) });
  p.link.set(p.b, { delayMs: 10 });
  const conn = await connectPair(p);
  const { c, s } = conn;
  const rs = reader(s);
  const data = pattern(300_000, 6);
  void c.write(data).then(() => c.shutdownSock(2));
  await runUntil(p.clock, () => rs.done() && c.info().unacked === 0, 'EOF, all acknowledged');
  assert.ok(rs.bytes().equals(data));
  assert.equal(p.a.proto.mib.ext.TCPSackRecovery, 1, 'the reordering looked like a loss');
  assert.equal(p.a.proto.mib.tcp.RetransSegs, 1);
  return conn;
}

test('spurious RTO: ACKs stalled longer than the RTO; the timestamps they echo show the original arrived, and the RTO is undone', async () => {
  const p = makePair(15);
  let stallFrom = Infinity;
  p.link.set(p.a, { delayMs: 10 });
  // Every ACK b sends for 400 ms is held until 1.5 s after the stall began (a stalled return path):
  // longer than the loss probe and the RTO.
  p.link.set(p.b, { delayMs: 10, hold: () => (p.clock.now() >= stallFrom && p.clock.now() < stallFrom + 400 ? stallFrom + 1500 - p.clock.now() : 0) });
  const conn = await connectPair(p);
  const { c, s } = conn;
  const rs = reader(s);
  const data = pattern(300_000, 7);
  void c.write(data).then(() => c.shutdownSock(2));
  await runUntil(p.clock, () => rs.total() > 50_000, '50 kB through');
  stallFrom = p.clock.now();
  await runUntil(p.clock, () => rs.done() && c.info().unacked === 0, 'EOF, all acknowledged');
  assert.ok(rs.bytes().equals(data));
  const ext = p.a.proto.mib.ext;
  assert.ok(ext.TCPTimeouts >= 1, 'the RTO fired');
  assert.equal(ext.TCPLossUndo, 1);
  assert.equal(ext.TCPSpuriousRTOs, 1);
  assert.equal(c.ssthresh, 0x7fffffff, 'ssthresh is back where it was');
  await finish(p, conn);
});
