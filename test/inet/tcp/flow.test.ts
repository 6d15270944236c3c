import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetError } from '../../../src/errno.ts';
import { parseTcp } from '../../../src/wire/tcp.ts';
import { ETH_HLEN } from '../../../src/wire/eth.ts';
import { NET_SKB_PAD, skbTruesize } from '../../../src/skb/skbuff.ts';
import { connectPair, drain, makePair, pattern, reader, runUntil, type Host } from './harness.ts';

function assertQuiet(...hosts: Host[]): void {
  for (const h of hosts) {
    assert.equal(h.pool.stats.inUse, 0, 'no skb left in use');
    assert.equal(h.proto.sockets.size, 0, 'no socket left');
  }
}

test('a reader that stops closes the window to zero; the sender probes; reading reopens it and nothing is lost', async () => {
  const p = makePair();
  p.link.set(p.a, { delayMs: 5 });
  p.link.set(p.b, { delayMs: 5 });
  const { c, s, l } = await connectPair(p, { server: { rcvbuf: 32768 } });
  // The receive buffer is 64 KiB (SO_RCVBUF doubles), so half of it is window.
  assert.equal(s.rcvbuf, 65536);
  // A user-set buffer sizes the window scale, and the SYN-ACK announced the child's.
  assert.equal(s.rcvWscale, 1);
  assert.equal(c.sndWscale, 1);
  const rs = reader(s);
  rs.pause();
  await runUntil(p.clock, () => true);
  const data = pattern(400_000);
  let written = -1;
  void c.write(data).then((n) => (written = n));
  // The window fills, closes, and the writer stops with its send buffer full.
  await runUntil(p.clock, () => c.sndWnd === 0 && c.packetsOut === 0, 'zero window seen by the sender');
  const ext = p.b.proto.mib.ext;
  assert.ok(ext.TCPToZeroWindowAdv >= 1, 'the receiver advertised a zero window');
  // As Linux's tcp_try_rmem_schedule, admission tests what is already charged:
  // the last segment the window promised may overshoot rcvbuf by its own
  // truesize, at most a full frame of this link (kmalloc class 2048 + sk_buff
  // = 2304 bytes; a partial segment costs as much as a full one).
  const frameTruesize = skbTruesize(NET_SKB_PAD + ETH_HLEN + 1500);
  assert.ok(s.rmemAlloc <= s.rcvbuf + frameTruesize, `rmem ${s.rmemAlloc} overshoots rcvbuf ${s.rcvbuf} by one frame at most`);
  assert.ok(s.recvQ > 0);
  // Persist: probes back off, the connection stays up for as long as it takes.
  const probes0 = c.info().zero_window_probes;
  await p.clock.advance(10_000);
  assert.ok(c.info().zero_window_probes > probes0, 'zero-window probes were sent');
  assert.equal(c.stateName, 'ESTAB');
  assert.equal(written, -1, 'the writer is still waiting');
  assert.ok(c.wmemAlloc >= c.sndbuf / 2, 'the send buffer holds the data the peer cannot take');
  assert.ok(c.waitingSenders >= 1);
  // Nothing was dropped for lack of room: the sender never sent into a closed window.
  assert.equal(p.b.drops.TCP_ZEROWINDOW, 0);
  assert.equal(p.b.drops.PROTO_MEM, 0);
  rs.resume();
  await runUntil(p.clock, () => rs.total() === data.length && written === data.length, 'transfer resumed');
  assert.ok(ext.TCPFromZeroWindowAdv >= 1, 'reading sent a window update');
  assert.ok(rs.bytes().equals(data));
  c.close();
  await runUntil(p.clock, () => rs.done());
  s.close();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
  assert.equal(c.rmemAlloc + c.wmemAlloc + s.rmemAlloc + s.wmemAlloc, 0);
});

test('a slow peer throttles the writer, never memory: wmem stays near sndbuf', async () => {
  const p = makePair();
  // 1 Mbit/s bottleneck with a short queue.
  p.link.set(p.a, { delayMs: 10, rateBps: 1_000_000, queueLimit: 20 });
  p.link.set(p.b, { delayMs: 10 });
  const { c, s, l } = await connectPair(p, { client: { sndbuf: 32768 } });
  const rs = reader(s);
  const data = pattern(300_000);
  let written = -1;
  void c.write(data).then((n) => (written = n));
  let maxWmem = 0;
  await runUntil(p.clock, () => {
    maxWmem = Math.max(maxWmem, c.wmemAlloc);
    return rs.total() === data.length;
  });
  assert.equal(written, data.length);
  // allocSendSkb may overshoot sndbuf by one buffer, as sock_alloc_send_pskb does.
  assert.ok(maxWmem <= c.sndbuf + 4096, `wmem peaked at ${maxWmem} with sndbuf ${c.sndbuf}`);
  assert.ok(rs.bytes().equals(data));
  c.close();
  s.close();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('write with nonblock takes what fits, then EAGAIN', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p, { client: { sndbuf: 8192 } });
  const first = await c.write(pattern(100_000), { nonblock: true });
  assert.ok(first > 0 && first < 100_000, `took ${first}`);
  await assert.rejects(c.write(pattern(100_000), { nonblock: true }), (e: NetError) => e.errno === 'EAGAIN');
  c.abort();
  s.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('read nonblock on an empty queue is EAGAIN; after the FIN it is EOF (null)', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  await assert.rejects(s.read(100, { nonblock: true }), (e: NetError) => e.errno === 'EAGAIN');
  c.close();
  await runUntil(p.clock, () => s.stateName === 'CLOSE-WAIT');
  assert.equal(await s.read(100, { nonblock: true }), null);
  s.close();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('receive-buffer autotuning grows rcvbuf for a fast reader (tcp_moderate_rcvbuf)', async () => {
  const p = makePair();
  p.link.set(p.a, { delayMs: 20 });
  p.link.set(p.b, { delayMs: 20 });
  const { c, s, l } = await connectPair(p);
  const rcvbuf0 = s.rcvbuf;
  const rs = reader(s);
  const data = pattern(3_000_000);
  void c.write(data);
  await runUntil(p.clock, () => rs.total() === data.length);
  assert.ok(s.rcvbuf > rcvbuf0, `rcvbuf ${rcvbuf0} -> ${s.rcvbuf}`);
  assert.ok(c.sndbuf > 16384, 'and sndbuf grew with cwnd (tcp_sndbuf_expand)');
  assert.ok(rs.bytes().equals(data));
  c.abort();
  s.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});

test('the advertised window closes without shrinking: the right edge never moves left', async () => {
  const p = makePair();
  p.link.set(p.a, { delayMs: 5 });
  p.link.set(p.b, { delayMs: 5 });
  const { c, s, l } = await connectPair(p, { server: { rcvbuf: 16384 } });
  const rs = reader(s);
  rs.pause();
  p.b.sent = [];
  void c.write(pattern(200_000));
  await runUntil(p.clock, () => c.sndWnd === 0 && c.packetsOut === 0);
  // Right edges (ack + window << scale) from the receiver never move left.
  let edge = -1;
  const base = parseTcp(p.b.sent[0]!)!.ack;
  for (const seg of p.b.sent) {
    const t = parseTcp(seg)!;
    const right = ((t.ack - base) >>> 0) + (t.window << s.rcvWscale);
    assert.ok(right >= edge, 'the right edge moved left');
    edge = right;
  }
  c.abort();
  s.abort();
  l.close();
  await drain(p.clock);
  assertQuiet(p.a, p.b);
});
