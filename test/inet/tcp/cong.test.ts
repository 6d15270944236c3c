// Congestion control on a deep-buffered bottleneck: CUBIC's slow start ends
// by HyStart++ (RFC 9406) when the queue starts to build, before it
// overflows; Reno, which has no such exit (as in Linux), fills the queue
// until it drops on the same path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectPair, drain, makePair, pattern, reader, runUntil } from './harness.ts';

async function bulk(cc: 'cubic' | 'reno') {
  const p = makePair(21);
  for (const h of [p.a, p.b]) {
    h.tcpSysctl.setCongestionControl(cc);
    // Buffers big enough that only cwnd limits the flight.
    h.sysctl.set({ 'net.core.rmem_max': 8 << 20, 'net.core.wmem_max': 8 << 20 });
  }
  // 20 Mbit/s, 20 ms each way: a BDP of about 70 segments, and a queue of 700 more.
  p.link.set(p.a, { delayMs: 20, rateBps: 20_000_000, queueLimit: 700 });
  p.link.set(p.b, { delayMs: 20 });
  const conn = await connectPair(p, { server: { rcvbuf: 4 << 20 }, client: { sndbuf: 4 << 20 } });
  const { c, s, l } = conn;
  const rs = reader(s);
  const data = pattern(5_000_000, 9);
  void c.write(data).then(() => c.shutdownSock(2));
  await runUntil(p.clock, () => rs.done(), 'EOF', 2_000_000);
  assert.ok(rs.bytes().equals(data));
  const out = { drops: p.link.dropped, retrans: p.a.proto.mib.tcp.RetransSegs, ssthresh: c.ssthresh, ext: { ...p.a.proto.mib.ext } };
  c.close();
  s.close();
  l.close();
  await drain(p.clock);
  assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
  return out;
}

test('HyStart++: CUBIC leaves slow start before a deep queue overflows; Reno on the same path fills it until it drops', async () => {
  const cubic = await bulk('cubic');
  assert.equal(cubic.ext.TCPHystartDelayDetect, 1, 'slow start ended on the growing RTT');
  assert.ok(cubic.ext.TCPHystartDelayCwnd >= 10);
  assert.ok(cubic.ssthresh < 0x7fffffff);
  assert.equal(cubic.drops, 0, 'the queue never overflowed');
  assert.equal(cubic.retrans, 0);
  const reno = await bulk('reno');
  assert.equal(reno.ext.TCPHystartDelayDetect, 0);
  assert.ok(reno.drops > 0, `without the exit, slow start overflows the queue (${JSON.stringify({ ...reno, ext: undefined })})`);
});
