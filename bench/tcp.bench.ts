// TCP between two stacks in one process (src/inet/tcp), on the real clock:
//
// - tcp-stream-1500: bulk transfer, MSS 1460 (MTU 1500), Gbit/s of payload
//   read by the receiving application.
// - tcp-rr: 1-byte request / 1-byte response on one connection, TCP_NODELAY,
//   transactions per second.
// - tcp-idle-conns: heap bytes per idle ESTABLISHED socket with 10,000
//   connections (20,000 sockets: both ends live in this process).
//
// The "link" hands each segment's skb straight to the other stack, as veth
// does (veth_xmit passes the skb itself), from a queue drained in a loop, so
// the cost measured is TCP's own plus the skb layer's: no IPv4, no device,
// no qdisc. The kernel baselines (two namespaces over veth with TSO/GSO/GRO
// off) are not measured here yet: these entries carry no ratio.

import { benchResult, emitResults, fmt, forceGc, log } from './lib.ts';
import { RealClock } from '../src/clock.ts';
import { SkbPool } from '../src/skb/pool.ts';
import type { SkBuff } from '../src/skb/skbuff.ts';
import { Sysctl } from '../src/sysctl.ts';
import type { TcpIpOps } from '../src/inet/tcp/ip-ops.ts';
import { TcpProto } from '../src/inet/tcp/proto.ts';
import type { TcpSock } from '../src/inet/tcp/sock.ts';
import { TcpSysctl } from '../src/inet/tcp/sysctl.ts';

const A = 0xc0000201;
const B = 0xc0000202;

class Wire {
  private readonly q: (SkBuff | number | TcpProto)[] = [];
  private pumping = false;
  frames = 0;

  send(to: TcpProto, skb: SkBuff, src: number, dst: number): void {
    this.q.push(to, skb, src, dst);
    if (this.pumping) return;
    this.pumping = true;
    try {
      const q = this.q;
      let i = 0;
      while (i < q.length) {
        const p = q[i] as TcpProto;
        const s = q[i + 1] as SkBuff;
        const a = q[i + 2] as number;
        const b = q[i + 3] as number;
        i += 4;
        this.frames++;
        p.rcv(s, a, b);
        if (i > 4096) {
          q.splice(0, i);
          i = 0;
        }
      }
      q.length = 0;
    } finally {
      this.pumping = false;
    }
  }
}

function hosts(): { a: TcpProto; b: TcpProto; pool: SkbPool; wire: Wire } {
  const pool = new SkbPool();
  const clock = new RealClock();
  const wire = new Wire();
  const mk = (addr: number): TcpProto => {
    let self: TcpProto;
    const ops: TcpIpOps = {
      output: (skb, src, dst) => wire.send(self === a ? b : a, skb, src, dst),
      mssFor: () => 1460,
      sourceFor: () => addr,
      clock,
      sysctl: new Sysctl(),
      tcpSysctl: new TcpSysctl(),
      pool,
      countDrop: () => {},
    };
    self = new TcpProto(ops);
    return self;
  };
  const a: TcpProto = mk(A);
  const b: TcpProto = mk(B);
  return { a, b, pool, wire };
}

async function establish(a: TcpProto, b: TcpProto, port: number, nodelay = false): Promise<{ c: TcpSock; s: TcpSock }> {
  const l = b.listen({ port, nodelay });
  const c = a.connect({ dst: B, dport: port, nodelay });
  await c.waitConnected();
  const s = await l.accept();
  l.close();
  return { c, s };
}

async function stream(seconds: number): Promise<{ gbps: number; bytes: number; frames: number }> {
  const { a, b, pool, wire } = hosts();
  const { c, s } = await establish(a, b, 5001);
  let received = 0;
  s.onDataReady = () => {
    for (;;) {
      const r = s.readNow(1 << 20);
      if (r === undefined || r === null) return;
      received += r.length;
    }
  };
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const warmEnd = performance.now() + 500;
  while (performance.now() < warmEnd) await c.write(chunk);
  const r0 = received;
  const f0 = wire.frames;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) await c.write(chunk);
  const dt = (performance.now() - t0) / 1000;
  const bytes = received - r0;
  s.onDataReady = null;
  c.abort();
  s.abort();
  if (pool.stats.inUse !== 0) log(`note: ${pool.stats.inUse} skbs still in use after abort`);
  return { gbps: (bytes * 8) / dt / 1e9, bytes, frames: wire.frames - f0 };
}

async function rr(seconds: number): Promise<number> {
  const { a, b } = hosts();
  const { c, s } = await establish(a, b, 5002, true);
  const one = Buffer.from([1]);
  s.onDataReady = () => {
    while (s.readNow(64) instanceof Buffer) void s.write(one);
  };
  let n = 0;
  let stopAt = Infinity;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  // Each response read sends the next request; every 1000 the loop yields so
  // the clock can be checked without a timer per transaction.
  c.onDataReady = () => {
    while (c.readNow(64) instanceof Buffer) {
      n++;
      if (n % 1000 === 0) {
        setImmediate(() => {
          if (performance.now() >= stopAt) finish();
          else void c.write(one);
        });
        return;
      }
      void c.write(one);
    }
  };
  // Warm up, then measure.
  stopAt = performance.now() + 500;
  void c.write(one);
  await done;
  const n0 = n;
  const t0 = performance.now();
  stopAt = t0 + seconds * 1000;
  const again = new Promise<void>((r) => (finish = r));
  void c.write(one);
  await again;
  const tps = (n - n0) / ((performance.now() - t0) / 1000);
  s.onDataReady = null;
  c.onDataReady = null;
  c.abort();
  s.abort();
  return tps;
}

async function idle(count: number): Promise<{ perSocket: number; perConnection: number }> {
  const { a, b, pool } = hosts();
  const l = b.listen({ port: 5003, backlog: 4096 });
  const socks: TcpSock[] = [];
  forceGc();
  pool.shrink();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const c = a.connect({ dst: B, dport: 5003 });
    await c.waitConnected();
    socks.push(c, await l.accept());
  }
  // Let every delayed timer settle, then measure what stays.
  await new Promise((r) => setTimeout(r, 300));
  pool.shrink();
  forceGc();
  const after = process.memoryUsage().heapUsed;
  const perSocket = (after - before) / socks.length;
  for (const sk of socks) sk.abort();
  l.close();
  return { perSocket, perConnection: perSocket * 2 };
}

const s1 = await stream(2);
log(`tcp-stream-1500: ${fmt(s1.gbps)} Gbit/s of payload (${s1.bytes} bytes, ${s1.frames} segments)`);
const t1 = await rr(2);
log(`tcp-rr: ${fmt(t1)} transactions/s`);
const i1 = await idle(10_000);
log(`tcp-idle-conns: ${fmt(i1.perSocket)} heap bytes per idle socket (${fmt(i1.perConnection)} per connection, both ends)`);

const note = 'in-process: two TCP stacks joined by a zero-copy skb queue (no IPv4/device layer yet); kernel baseline not yet measured';
emitResults([
  benchResult({ bench: 'tcp-stream-1500', value: s1.gbps, unit: 'Gbit/s', note, extra: { bytes: s1.bytes, segments: s1.frames } }),
  benchResult({ bench: 'tcp-rr', value: t1, unit: 'transactions/s', note }),
  benchResult({
    bench: 'tcp-idle-conns',
    value: i1.perSocket,
    unit: 'heap bytes per idle socket',
    note: '10,000 established connections; both ends in this process, so per connection is twice this',
    extra: { per_connection_both_ends: Math.round(i1.perConnection), target_per_socket: 4096 },
  }),
]);
