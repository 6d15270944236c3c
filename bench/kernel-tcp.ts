// The Linux kernel's TCP as the baseline for bench/tcp.bench.ts, measured in
// the same run: two network namespaces joined by a veth pair (MTU 1500) with
// TSO, GSO and GRO off (ethtool -K), so the kernel, too, handles one
// 1448-byte segment at a time. bench/kernel/tcpbench.c runs at both ends
// (built with gcc into the gitignored bench/bin/, rebuilt when its source is
// newer): plain blocking sockets, as netperf's TCP_STREAM and TCP_RR.
//
// - stream: `send` writes 128 KiB buffers for SECONDS, `sink` reads them;
//   Gbit/s of payload counted at the reader, first byte to EOF.
// - rr: 1-byte request / 1-byte response on one connection, TCP_NODELAY at
//   both ends; transactions per second at the client.
//
// Namespaces are named tcpkb-PID-N and always deleted (also those a killed
// run left behind). Without root, gcc or `ip netns` the result says why and
// carries no number.

import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cannotRun, removeStale, run, runAsync, tryRun } from '../test/helpers/netns.ts';
import { ensureBinary, lastJson, startReady, vethPair } from './kernel/netns.ts';
import { median, repoRoot } from './lib.ts';

export type KernelTcpResult = {
  /** Medians over the runs. */
  streamGbps: number;
  rrTps: number;
  streamRuns: number[];
  rrRuns: number[];
};

export type KernelTcpUnavailable = { unavailable: string };

const source = path.join(repoRoot, 'bench', 'kernel', 'tcpbench.c');
const binary = path.join(repoRoot, 'bench', 'bin', 'tcpbench');
const header = path.join(repoRoot, 'bench', 'kernel', 'bench.h');

/**
 * `runs` stream runs of `seconds` each, then `runs` rr runs, over one fresh
 * namespace pair; medians. Throws when the setup worked but a run failed.
 */
export async function kernelTcpBaseline(seconds: number, runs: number): Promise<KernelTcpResult | KernelTcpUnavailable> {
  const why = cannotRun(['ethtool']) ?? ensureBinary(source, binary, [header]);
  if (why !== null) return { unavailable: why };
  removeStale('tcpkb-', () => []);
  const ns1 = `tcpkb-${process.pid}-1`;
  const ns2 = `tcpkb-${process.pid}-2`;
  const children: ChildProcess[] = [];
  const teardown = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    for (const ns of [ns1, ns2]) tryRun('ip', ['netns', 'del', ns]);
  };
  process.once('exit', teardown);
  try {
    try {
      run('ip', ['netns', 'add', ns1]);
      run('ip', ['netns', 'add', ns2]);
    } catch (err) {
      return { unavailable: `ip netns add: ${(err as Error).message}` };
    }
    vethPair(ns1, ns2, true);
    const stream: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sink = await startReady(ns2, binary, ['sink', String(5001 + i)]);
      children.push(sink.child);
      const s = await runAsync('ip', ['netns', 'exec', ns1, binary, 'send', '192.0.2.2', String(5001 + i), String(seconds)], { timeoutMs: seconds * 1000 + 30_000 });
      if (s.status !== 0) throw new Error(`tcpbench send: ${s.stderr.trim()}`);
      const r = lastJson(await sink.done);
      stream.push((r.bytes! * 8) / r.seconds! / 1e9);
    }
    const rr: number[] = [];
    for (let i = 0; i < runs; i++) {
      const server = await startReady(ns2, binary, ['rr-server', String(6001 + i)]);
      children.push(server.child);
      const c = await runAsync('ip', ['netns', 'exec', ns1, binary, 'rr-client', '192.0.2.2', String(6001 + i), String(seconds)], { timeoutMs: seconds * 1000 + 30_000 });
      if (c.status !== 0) throw new Error(`tcpbench rr-client: ${c.stderr.trim()}`);
      await server.done;
      const r = lastJson(c.stdout);
      rr.push(r.transactions! / r.seconds!);
    }
    return { streamGbps: median(stream), rrTps: median(rr), streamRuns: stream, rrRuns: rr };
  } finally {
    teardown();
    process.removeListener('exit', teardown);
  }
}

export function isKernelTcpUnavailable(r: KernelTcpResult | KernelTcpUnavailable): r is KernelTcpUnavailable {
  return 'unavailable' in r;
}
