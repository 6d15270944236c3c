// The Linux kernel's UDP and IPv4 forwarding as the baselines of
// bench/inet.bench.ts, measured in the same run with bench/kernel/udpbench.c
// (built with gcc into the gitignored bench/bin/, rebuilt when its source is
// newer): sendmmsg at one end, recvmmsg at the other, 64 datagrams per call,
// as issue 8 defines its benchmarks.
//
// - hops 1 (udp-pipeline-64): two namespaces joined by a veth pair,
//   192.0.2.1/24 -> 192.0.2.2/24.
// - hops 2 (ip-forward-64): three namespaces in a row, C -- R -- F, each link
//   a veth pair; R forwards (net.ipv4.ip_forward=1) between 198.51.100.0/24
//   and 203.0.113.0/24; C and F have R as their default gateway.
//
// The receiver counts what arrives over a fixed time from its first datagram;
// the sender sends flat out for a second longer. Median of `runs`.
// Also: the kernel's ping between the first two namespaces (median RTT).
//
// Namespaces are named udpkb-PID-N and always deleted (also those a killed
// run left behind). Without root, gcc or `ip netns` the result says why and
// carries no number.

import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cannotRun, removeStale, run, runAsync, tryRun } from '../test/helpers/netns.ts';
import { ensureBinary, lastJson, startReady, vethPair } from './kernel/netns.ts';
import { median, repoRoot } from './lib.ts';

export type KernelUdpRun = { datagrams: number; seconds: number; drops: number; rate: number };
export type KernelUdpResult = {
  /** Median datagrams/s over the runs, counted at the receiver. */
  rate: number;
  runs: KernelUdpRun[];
};
export type KernelUnavailable = { unavailable: string };

const source = path.join(repoRoot, 'bench', 'kernel', 'udpbench.c');
const binary = path.join(repoRoot, 'bench', 'bin', 'udpbench');
const header = path.join(repoRoot, 'bench', 'kernel', 'bench.h');

/** The namespaces of one topology; `dst` is the receiver's address, in `rx`. */
interface Topology {
  names: string[];
  tx: string;
  rx: string;
  dst: string;
}

let seq = 0;
function build(hops: 1 | 2): Topology {
  const base = `udpkb-${process.pid}-${++seq}`;
  if (hops === 1) {
    const [a, b] = [`${base}-a`, `${base}-b`];
    run('ip', ['netns', 'add', a]);
    run('ip', ['netns', 'add', b]);
    vethPair(a, b);
    return { names: [a, b], tx: a, rx: b, dst: '192.0.2.2' };
  }
  const [c, r, f] = [`${base}-c`, `${base}-r`, `${base}-f`];
  for (const ns of [c, r, f]) run('ip', ['netns', 'add', ns]);
  run('ip', ['-n', c, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', r]);
  run('ip', ['-n', f, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', r]);
  for (const [ns, dev, addr] of [[c, 'v0', '198.51.100.1'], [r, 'v0', '198.51.100.254'], [r, 'v1', '203.0.113.254'], [f, 'v0', '203.0.113.1']] as const) {
    run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  for (const ns of [c, r, f]) run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', c, 'route', 'add', 'default', 'via', '198.51.100.254']);
  run('ip', ['-n', f, 'route', 'add', 'default', 'via', '203.0.113.254']);
  run('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { names: [c, r, f], tx: c, rx: f, dst: '203.0.113.1' };
}

/**
 * `runs` runs of `seconds` each over one fresh topology of `hops` links;
 * `size`-byte UDP payloads. Throws when the setup worked but a run failed.
 */
export async function kernelUdpBaseline(hops: 1 | 2, size: number, seconds: number, runs: number): Promise<KernelUdpResult | KernelUnavailable> {
  const why = cannotRun(['sysctl']) ?? ensureBinary(source, binary, [header]);
  if (why !== null) return { unavailable: why };
  removeStale('udpkb-', () => []);
  const children: ChildProcess[] = [];
  let names: string[] = [];
  const teardown = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    for (const ns of names) tryRun('ip', ['netns', 'del', ns]);
  };
  process.once('exit', teardown);
  try {
    let topo: Topology;
    try {
      topo = build(hops);
    } catch (err) {
      return { unavailable: `namespaces: ${(err as Error).message}` };
    } finally {
      // what build() created before a failure is deleted too
      names = (run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!)).filter((n) => n.startsWith(`udpkb-${process.pid}-${seq}-`));
    }
    const out: KernelUdpRun[] = [];
    for (let i = 0; i < runs; i++) {
      const port = 7001 + i;
      const rx = await startReady(topo.rx, binary, ['recv', String(port), String(seconds)]);
      children.push(rx.child);
      const s = await runAsync('ip', ['netns', 'exec', topo.tx, binary, 'send', topo.dst, String(port), String(size), String(seconds + 1)], { timeoutMs: seconds * 1000 + 30_000 });
      if (s.status !== 0) throw new Error(`udpbench send: ${s.stderr.trim()}`);
      const r = lastJson(await rx.done);
      out.push({ datagrams: r.datagrams!, seconds: r.seconds!, drops: r.drops!, rate: r.datagrams! / r.seconds! });
    }
    return { rate: median(out.map((r) => r.rate)), runs: out };
  } finally {
    teardown();
    process.removeListener('exit', teardown);
  }
}

/** The kernel's ping between two namespaces over veth: median of the per-ping RTTs, ms. */
export async function kernelPingRtt(count: number, intervalS: number): Promise<{ rttMs: number; rtts: number[] } | KernelUnavailable> {
  const why = cannotRun(['ping']);
  if (why !== null) return { unavailable: why };
  removeStale('udpkb-', () => []);
  let names: string[] = [];
  try {
    let topo: Topology;
    try {
      topo = build(1);
    } catch (err) {
      return { unavailable: `namespaces: ${(err as Error).message}` };
    } finally {
      names = (run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!)).filter((n) => n.startsWith(`udpkb-${process.pid}-${seq}-`));
    }
    const r = await runAsync('ip', ['netns', 'exec', topo.tx, 'ping', '-n', '-c', String(count), '-i', String(intervalS), topo.dst], { timeoutMs: count * intervalS * 1000 + 30_000 });
    const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    if (rtts.length === 0) throw new Error(`ping: ${r.stderr.trim() || r.stdout.trim()}`);
    return { rttMs: median(rtts), rtts };
  } finally {
    for (const ns of names) tryRun('ip', ['netns', 'del', ns]);
  }
}

export function isKernelUnavailable<T extends object>(r: T | KernelUnavailable): r is KernelUnavailable {
  return 'unavailable' in r;
}
