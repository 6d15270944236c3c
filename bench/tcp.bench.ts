// TCP between two stacks in one process, each row beside the Linux
// kernel's TCP measured in the same run (bench/kernel-tcp.ts: two network
// namespaces over veth, MTU 1500, TSO/GSO/GRO off, a small C program at both
// ends):
//
// - tcp-stream-1500: bulk transfer over veth at MTU 1500, Gbit/s of payload
//   read by the receiving application. The full path of both stacks: TCP ->
//   IPv4 -> neighbour -> qdisc -> veth -> netif_rx -> softnet -> IPv4 -> TCP
//   -> socket read, on the real clock. Target >= 2 Gbit/s and >= 0.35x.
// - tcp-rr: 1-byte request / 1-byte response on one connection over the same
//   veth, TCP_NODELAY, transactions per second. Target >= 2x.
// - tcp-stream-1500-tcp-only: the stream with TCP alone, its segments handed
//   straight to the other TCP (no IPv4, no device): what the layers below
//   cost is the difference. No baseline.
// - tcp-idle-conns: heap bytes per idle ESTABLISHED socket with 10,000
//   connections (20,000 sockets: both ends live in this process), TCP alone.
//
// The veth's ends live in the two stacks (createVethPair's peerCore), as a
// veth between two namespaces of one kernel: the skb itself crosses.
//
//   node --expose-gc --import tsx bench/tcp.bench.ts
//   (TCP_BENCH_SECONDS=2 per in-process run, TCP_BENCH_RUNS=3 of them, the
//   median reported; TCP_KERNEL_SECONDS=3,
//   TCP_KERNEL_RUNS=3 for the baseline)

import { benchResult, emitResults, envNumber, fmt, forceGc, log, median } from './lib.ts';
import { isKernelTcpUnavailable, kernelTcpBaseline } from './kernel-tcp.ts';
import { RealClock } from '../src/clock.ts';
import { vethStacks } from '../test/helpers/veth-stacks.ts';
import { SkbPool } from '../src/skb/pool.ts';
import type { SkBuff } from '../src/skb/skbuff.ts';
import { Sysctl } from '../src/sysctl.ts';
import type { TcpIpOps } from '../src/inet/tcp/ip-ops.ts';
import { TcpProto } from '../src/inet/tcp/proto.ts';
import type { TcpSock } from '../src/inet/tcp/sock.ts';
import { TcpSysctl } from '../src/inet/tcp/sysctl.ts';

const SECONDS = envNumber('TCP_BENCH_SECONDS', 2);
const RUNS = envNumber('TCP_BENCH_RUNS', 3);
const KERNEL_SECONDS = envNumber('TCP_KERNEL_SECONDS', 3);
const KERNEL_RUNS = envNumber('TCP_KERNEL_RUNS', 3);
// The stack's timers are unref'd (a pending RTO never keeps a finished
// process alive); this one keeps the process up while a run waits on one.
const keepAlive = setInterval(() => {}, 1 << 30);

const A = 0xc0000201;
const B = 0xc0000202;

interface Pair {
  a: TcpProto;
  b: TcpProto;
  /** Frames that crossed the link (segments and anything else). */
  frames(): number;
  /** Frames dropped anywhere (CPU_BACKLOG when a burst outruns the bottom half). */
  drops(): number;
  /** Buffers still in use in either pool. */
  inUse(): number;
  close(): void;
}

/**
 * Two NetStacks with IPv4 and TCP, joined by a veth pair whose ends live one
 * in each (veth0 192.0.2.1/24 in A, veth0 192.0.2.2/24 in B), both up: the
 * tests' vethStacks() on the real clock, with the counters this bench reads.
 */
function vethPair(): Pair {
  const { sa, sb, va, vb, ta, tb } = vethStacks();
  return {
    a: ta.proto,
    b: tb.proto,
    frames: () => vb.stats.rxPackets + va.stats.rxPackets,
    drops: () => sa.totalDrops() + sb.totalDrops(),
    inUse: () => sa.pool.stats.inUse + sb.pool.stats.inUse,
    close: () => {
      sa.close();
      sb.close();
    },
  };
}

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

/** The old link: each segment's skb handed straight to the other TCP from a queue (no IPv4, no device). */
function tcpOnly(): Pair & { pool: SkbPool } {
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
  return { a, b, pool, frames: () => wire.frames, drops: () => 0, inUse: () => pool.stats.inUse, close: () => {} };
}

async function establish(a: TcpProto, b: TcpProto, port: number, nodelay = false): Promise<{ c: TcpSock; s: TcpSock }> {
  const l = b.listen({ port, nodelay });
  const c = a.connect({ dst: B, dport: port, nodelay });
  await c.waitConnected();
  const s = await l.accept();
  l.close();
  return { c, s };
}

async function stream(p: Pair, seconds: number): Promise<{ gbps: number; bytes: number; frames: number; drops: number }> {
  const { a, b } = p;
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
  const f0 = p.frames();
  const d0 = p.drops();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) await c.write(chunk);
  const dt = (performance.now() - t0) / 1000;
  const bytes = received - r0;
  s.onDataReady = null;
  c.abort();
  s.abort();
  const frames = p.frames() - f0;
  const drops = p.drops() - d0;
  // Let the bottom halves drain what was still on its way, then count what is left.
  for (let i = 0; i < 100 && p.inUse() !== 0; i++) await new Promise((r) => setImmediate(r));
  if (p.inUse() !== 0) log(`note: ${p.inUse()} skbs still in use after abort`);
  p.close();
  return { gbps: (bytes * 8) / dt / 1e9, bytes, frames, drops };
}

async function rr(p: Pair, seconds: number): Promise<number> {
  const { a, b } = p;
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
  p.close();
  return tps;
}

async function idle(count: number): Promise<{ perSocket: number; perConnection: number }> {
  const { a, b, pool } = tcpOnly();
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

// Each run on a fresh pair of stacks; the median run is reported, as the kernel's.
const streams: Awaited<ReturnType<typeof stream>>[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await stream(vethPair(), SECONDS);
  log(`tcp-stream-1500: ${fmt(r.gbps)} Gbit/s of payload over veth (${r.bytes} bytes, ${r.frames} frames, ${r.drops} dropped)`);
  streams.push(r);
}
const s1 = streams.sort((x, y) => x.gbps - y.gbps)[streams.length >> 1]!;
const rrs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  rrs.push(await rr(vethPair(), SECONDS));
  log(`tcp-rr: ${fmt(rrs[i]!)} transactions/s over veth`);
}
const t1 = median(rrs);
const s0 = await stream(tcpOnly(), SECONDS);
log(`tcp-stream-1500-tcp-only: ${fmt(s0.gbps)} Gbit/s of payload, TCP alone (${s0.frames} segments)`);
const i1 = await idle(10_000);
log(`tcp-idle-conns: ${fmt(i1.perSocket)} heap bytes per idle socket (${fmt(i1.perConnection)} per connection, both ends)`);
const kernel = await kernelTcpBaseline(KERNEL_SECONDS, KERNEL_RUNS);
if (isKernelTcpUnavailable(kernel)) log(`no kernel baseline: ${kernel.unavailable}`);
else log(`kernel: stream ${kernel.streamRuns.map((x) => fmt(x)).join(' / ')} Gbit/s, rr ${kernel.rrRuns.map((x) => fmt(x)).join(' / ')} transactions/s`);
const k = isKernelTcpUnavailable(kernel) ? null : kernel;
const why = isKernelTcpUnavailable(kernel) ? `; no kernel baseline: ${kernel.unavailable}` : '';
const kernelNote = `kernel: two netns over veth, MTU 1500, TSO/GSO/GRO off, bench/kernel/tcpbench.c at both ends, median of ${KERNEL_RUNS} x ${KERNEL_SECONDS} s`;

emitResults([
  benchResult({
    bench: 'tcp-stream-1500',
    value: s1.gbps,
    unit: 'Gbit/s',
    baseline: k === null ? null : { name: 'kernel-tcp-stream-1500', value: k.streamGbps },
    note: `two stacks in one process over veth (TCP, IPv4, neighbour, qdisc, veth, backlog), median of ${RUNS} x ${SECONDS} s; ${kernelNote}${why}`,
    extra: { runs: streams.map((r) => fmt(r.gbps)).join(' / '), ...(k === null ? {} : { kernel_runs: k.streamRuns.map((x) => fmt(x)).join(' / ') }), bytes: s1.bytes, frames: s1.frames, backlog_drops: s1.drops, target_gbps: 2, target_ratio: 0.35 },
  }),
  benchResult({
    bench: 'tcp-rr',
    value: t1,
    unit: 'transactions/s',
    baseline: k === null ? null : { name: 'kernel-tcp-rr', value: k.rrTps },
    note: `1-byte request/response, TCP_NODELAY, two stacks in one process over veth, median of ${RUNS} x ${SECONDS} s; ${kernelNote}${why}`,
    extra: { runs: rrs.map((r) => fmt(r)).join(' / '), ...(k === null ? {} : { kernel_runs: k.rrRuns.map((x) => fmt(x)).join(' / ') }), target_ratio: 2 },
  }),
  benchResult({
    bench: 'tcp-stream-1500-tcp-only',
    value: s0.gbps,
    unit: 'Gbit/s',
    note: 'TCP alone: two TCP stacks joined by a zero-copy skb queue (no IPv4, no device); the veth row less this is what the layers below cost',
    extra: { bytes: s0.bytes, segments: s0.frames },
  }),
  benchResult({
    bench: 'tcp-idle-conns',
    value: i1.perSocket,
    unit: 'heap bytes per idle socket',
    note: '10,000 established connections, TCP alone; both ends in this process, so per connection is twice this',
    extra: { per_connection_both_ends: Math.round(i1.perConnection), target_per_socket: 4096 },
  }),
]);
clearInterval(keepAlive);
