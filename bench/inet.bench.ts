// The internet layer end to end, each figure beside the Linux kernel doing
// the same in the same run (bench/kernel-udp.ts, bench/kernel/udpbench.c):
//
// - udp-pipeline-64: 64-byte UDP datagrams from one stack's socket to
//   another's (two NetStacks in this process joined by a veth pair, ARP,
//   IPv4, UDP both ways, a receiver reading as data arrives), against the
//   kernel's UDP between two network namespaces joined by a veth pair
//   (sendmmsg/recvmmsg, 64 per call). The older node:dgram baseline is kept
//   in `extra.node_dgram`.
// - ip-forward-64: the same datagrams from C through R to F, three stacks in
//   a row joined by two veth pairs, R forwarding (ip_forward=1) between
//   198.51.100.0/24 and 203.0.113.0/24; against three namespaces wired the
//   same way, the middle one forwarding. Counted at F's socket; median of 3.
// - ping-rtt: the median of the single round trips of 100 pings 10 ms apart
//   between two stacks over veth, in µs, after 3000 warm-up pings (the cold
//   median of the first 100 is in the note), against the median of the
//   kernel's ping over veth between two namespaces, 100 pings 10 ms apart.
//
//   node --import tsx bench/inet.bench.ts       (INET_BENCH_SECONDS=2, INET_BENCH_RUNS=3)

import { spawn, spawnSync } from 'node:child_process';
import { NetStack } from '../src/stack/netstack.ts';
import { registerNetdevice } from '../src/dev/register.ts';
import { devOpen } from '../src/dev/control.ts';
import { createVethPair } from '../src/dev/drivers/veth.ts';
import { attachInet, type Inet } from '../src/inet/control.ts';
import { benchResult, emitResults, envNumber, fmt, log, median, type BenchResult } from './lib.ts';
import { isKernelUnavailable, kernelPingRtt, kernelUdpBaseline } from './kernel-udp.ts';
import { removeStale } from '../test/helpers/netns.ts';

const SECONDS = envNumber('INET_BENCH_SECONDS', 2);
const RUNS = envNumber('INET_BENCH_RUNS', 3);
const PAYLOAD = 64;
const PINGS = 100;

interface H {
  stack: NetStack;
  inet: Inet;
}

function hostOf(): H {
  const stack = new NetStack();
  return { stack, inet: attachInet(stack) };
}

/** A veth pair with one end in each stack (ip link add na type veth peer name nb netns B). */
function join(a: H, b: H, na: string, nb: string): void {
  const [da, db] = createVethPair(a.stack, b.stack);
  registerNetdevice(a.stack.devices, da, na);
  registerNetdevice(b.stack.devices, db, nb);
  devOpen(da);
  devOpen(db);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Datagrams per second read by the receiver while the sender sends flat out. */
async function pipeline(tx: Inet, rx: Inet, dst: string): Promise<number> {
  const r = rx.udpOpen({ bind: '0.0.0.0:9000', rcvbuf: 1 << 20 });
  const s = tx.udpOpen({ connect: `${dst}:9000`, sndbuf: 1 << 20 });
  let got = 0;
  // The reader is a process woken by the data: one wakeup drains what is
  // queued by then, as the kernel's reader does with recvmmsg, instead of
  // one wakeup (and one EAGAIN) per datagram.
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    for (;;) {
      try {
        r.recv({ nonblock: true });
        got++;
      } catch {
        return;
      }
    }
  };
  r.onReadable(() => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(drain);
  });
  const data = Buffer.alloc(PAYLOAD, 0x61);
  let running = true;
  const sender = (async () => {
    while (running) {
      for (let i = 0; i < 256; i++) {
        try {
          s.sendTo(data, undefined, { nonblock: true });
        } catch {
          break;
        }
      }
      await new Promise<void>((res) => setImmediate(res));
    }
  })();
  await sleep(300);
  const g0 = got;
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const rate = (got - g0) / (Number(process.hrtime.bigint() - t0) / 1e9);
  running = false;
  await sender;
  r.close();
  s.close();
  return rate;
}

// node:dgram between two namespaces: the baseline this row had before the C program.
const NS1 = `inetb-${process.pid}-1`;
const NS2 = `inetb-${process.pid}-2`;
const RECV = `const d=require('node:dgram').createSocket('udp4');let n=0;d.on('message',()=>n++);d.bind(9000,'192.0.2.2',()=>{console.log('ready');setTimeout(()=>{const n0=n,t0=process.hrtime.bigint();setTimeout(()=>{console.log(JSON.stringify({rate:(n-n0)/(Number(process.hrtime.bigint()-t0)/1e9)}));process.exit(0)},${SECONDS * 1000})},300)});`;
const SEND = `const d=require('node:dgram').createSocket('udp4');const b=Buffer.alloc(${PAYLOAD},0x61);let inflight=0;function go(){while(inflight<256){inflight++;d.send(b,9000,'192.0.2.2',()=>{inflight--;if(inflight===0)setImmediate(go)})}}go();setTimeout(()=>process.exit(0),${SECONDS * 1000 + 1500});`;
async function nodeDgram(): Promise<number> {
  removeStale('inetb-', () => []);
  const sh = (args: string[]): boolean => spawnSync(args[0]!, args.slice(1), { stdio: 'ignore' }).status === 0;
  const ok = [
    ['ip', 'netns', 'add', NS1], ['ip', 'netns', 'add', NS2],
    ['ip', '-n', NS1, 'link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'b1', 'netns', NS2],
    ['ip', '-n', NS1, 'addr', 'add', '192.0.2.1/24', 'dev', 'b0'], ['ip', '-n', NS2, 'addr', 'add', '192.0.2.2/24', 'dev', 'b1'],
    ['ip', '-n', NS1, 'link', 'set', 'b0', 'up'], ['ip', '-n', NS2, 'link', 'set', 'b1', 'up'],
  ].every(sh);
  try {
    if (!ok) return NaN;
    const recv = spawn('ip', ['netns', 'exec', NS2, process.execPath, '-e', RECV], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    recv.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    while (!out.includes('ready') && recv.exitCode === null) await sleep(20);
    const send = spawn('ip', ['netns', 'exec', NS1, process.execPath, '-e', SEND], { stdio: 'ignore' });
    await new Promise<void>((r) => recv.on('close', () => r()));
    send.kill();
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { rate: number }).rate : NaN;
  } finally {
    sh(['ip', 'netns', 'del', NS1]);
    sh(['ip', 'netns', 'del', NS2]);
  }
}

/** Median of `runs` pipelines: every run opens fresh sockets on the same stacks. */
async function pipelines(tx: Inet, rx: Inet, dst: string, runs: number): Promise<number[]> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) rates.push(await pipeline(tx, rx, dst));
  return rates;
}

const results: BenchResult[] = [];
const a = hostOf();
const b = hostOf();
join(a, b, 'veth0', 'veth0');
a.inet.addrAdd('veth0', '192.0.2.1/24');
b.inet.addrAdd('veth0', '192.0.2.2/24');
const r1 = hostOf();
const c = hostOf();
const f = hostOf();
join(c, r1, 'v0', 'v0');
join(f, r1, 'v0', 'v1');
r1.inet.addrAdd('v0', '198.51.100.254/24');
r1.inet.addrAdd('v1', '203.0.113.254/24');
c.inet.addrAdd('v0', '198.51.100.1/24');
f.inet.addrAdd('v0', '203.0.113.1/24');
c.inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
f.inet.routeAdd({ dst: 'default', gateway: '203.0.113.254' });
r1.stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
const keep = setInterval(() => {}, 1000);
const stacks = [a, b, r1, c, f];
const dropsOf = (hs: H[]): number => hs.reduce((n, h) => n + h.stack.totalDrops(), 0);
const kernelNote = (k: object): string => ('unavailable' in k ? `no kernel baseline: ${(k as { unavailable: string }).unavailable}` : '');

try {
  // udp-pipeline-64
  const oursUdp = await pipelines(a.inet, b.inet, '192.0.2.2', RUNS);
  const kUdp = await kernelUdpBaseline(1, PAYLOAD, SECONDS, RUNS);
  const dgram = process.getuid?.() === 0 ? await nodeDgram() : NaN;
  log(`udp-pipeline-64: netstack ${oursUdp.map((x) => fmt(x)).join(' / ')} dgrams/s, kernel ${isKernelUnavailable(kUdp) ? kUdp.unavailable : kUdp.runs.map((r) => fmt(r.rate)).join(' / ')}, node:dgram ${fmt(dgram)}`);
  results.push(benchResult({
    bench: 'udp-pipeline-64', value: median(oursUdp), unit: 'datagrams/s',
    baseline: isKernelUnavailable(kUdp) ? null : { name: 'kernel UDP between two netns over veth (sendmmsg/recvmmsg)', value: kUdp.rate },
    note: `two stacks in one process over veth; median of ${RUNS} x ${SECONDS} s each side${isKernelUnavailable(kUdp) ? `; ${kernelNote(kUdp)}` : ''}`,
    extra: { runs: oursUdp.map((x) => Math.round(x)).join(' / '), ...(isKernelUnavailable(kUdp) ? {} : { kernel_runs: kUdp.runs.map((r) => Math.round(r.rate)).join(' / ') }), ...(Number.isFinite(dgram) ? { node_dgram: Math.round(dgram) } : {}) },
  }));

  // ip-forward-64
  const fwdHosts = [c, r1, f];
  const d0 = dropsOf(fwdHosts);
  const oursFwd = await pipelines(c.inet, f.inet, '203.0.113.1', RUNS);
  const fwdDrops = dropsOf(fwdHosts) - d0;
  const kFwd = await kernelUdpBaseline(2, PAYLOAD, SECONDS, RUNS);
  log(`ip-forward-64: netstack ${oursFwd.map((x) => fmt(x)).join(' / ')} dgrams/s, kernel ${isKernelUnavailable(kFwd) ? kFwd.unavailable : kFwd.runs.map((r) => fmt(r.rate)).join(' / ')}`);
  results.push(benchResult({
    bench: 'ip-forward-64', value: median(oursFwd), unit: 'datagrams/s',
    baseline: isKernelUnavailable(kFwd) ? null : { name: 'kernel forwarding between two veths in a netns (ip_forward=1, sendmmsg/recvmmsg)', value: kFwd.rate },
    note: `three stacks in one process, C -veth- R -veth- F, R forwarding; datagrams read at F; median of ${RUNS} x ${SECONDS} s each side${isKernelUnavailable(kFwd) ? `; ${kernelNote(kFwd)}` : ''}`,
    extra: { runs: oursFwd.map((x) => Math.round(x)).join(' / '), drops: fwdDrops, ...(isKernelUnavailable(kFwd) ? {} : { kernel_runs: kFwd.runs.map((r) => Math.round(r.rate)).join(' / '), kernel_socket_drops: kFwd.runs.map((r) => r.drops).join(' / ') }) },
  }));

  // ping-rtt
  // Cold: the first pings run the path before V8 has compiled it (the
  // kernel's code is always compiled); then a warm-up, then the measurement.
  const cold = await a.inet.ping({ dst: '192.0.2.2', count: PINGS, intervalMs: 10 });
  await a.inet.ping({ dst: '192.0.2.2', count: 3000, intervalMs: 0 });
  const p = await a.inet.ping({ dst: '192.0.2.2', count: PINGS, intervalMs: 10 });
  const rtts = p.replies.map((r) => r.time_ms * 1000);
  const coldUs = median(cold.replies.map((r) => r.time_ms * 1000));
  const kPing = await kernelPingRtt(PINGS, 0.01);
  const ours = median(rtts);
  log(`ping-rtt: netstack ${fmt(ours)} us (${p.received}/${p.transmitted}), kernel ${isKernelUnavailable(kPing) ? kPing.unavailable : `${fmt(kPing.rttMs * 1000)} us`}`);
  results.push(benchResult({
    bench: 'ping-rtt', value: ours, unit: 'µs',
    baseline: isKernelUnavailable(kPing) ? null : { name: 'kernel ping between two netns over veth', value: kPing.rttMs * 1000 },
    note: `median single round trip of ${PINGS} pings 10 ms apart after 3000 warm-up pings, two stacks in one process over veth (the first ${PINGS}, cold: ${Math.round(coldUs)} µs); lower is better, so a ratio above 1 is slower than the kernel${isKernelUnavailable(kPing) ? `; ${kernelNote(kPing)}` : ''}`,
    extra: { received: p.received, min_us: Math.min(...rtts), max_us: Math.max(...rtts), cold_median_us: coldUs },
  }));
} finally {
  clearInterval(keep);
  for (const h of stacks) h.stack.close();
}
emitResults(results);
