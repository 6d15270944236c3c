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

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { cannotRun, removeStale, run, runAsync, tryRun } from '../test/helpers/netns.ts';
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

function mtime(p: string): number | null {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return null;
  }
}

/** bench/bin/tcpbench, built when missing or older than its source; or why not. */
function ensureBinary(): string | null {
  const bin = mtime(binary);
  if (bin !== null && bin >= (mtime(source) ?? 0)) return null;
  mkdirSync(path.dirname(binary), { recursive: true });
  // A private name, then rename: a concurrent run never executes a half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  const c = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, source], { encoding: 'utf8' });
  if (c.error !== undefined) return bin === null ? `gcc: ${c.error.message}` : null;
  if (c.status !== 0) return `gcc failed: ${(c.stderr ?? '').trim().split('\n')[0]}`;
  renameSync(tmp, binary);
  return null;
}

/** A listener in `ns`; resolves once it printed "ready". */
async function listener(ns: string, args: string[]): Promise<{ child: ChildProcess; done: Promise<string> }> {
  // ip netns exec execs the program: the pid is tcpbench's own.
  const child = spawn('ip', ['netns', 'exec', ns, binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tcpbench ${args[0]}: exit ${code}: ${err.trim()}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    done.catch(reject);
  });
  return { child, done };
}

function lastJson(text: string): Record<string, number> {
  const line = text.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, number>;
}

/**
 * `runs` stream runs of `seconds` each, then `runs` rr runs, over one fresh
 * namespace pair; medians. Throws when the setup worked but a run failed.
 */
export async function kernelTcpBaseline(seconds: number, runs: number): Promise<KernelTcpResult | KernelTcpUnavailable> {
  const why = cannotRun(['ethtool']) ?? ensureBinary();
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
    run('ip', ['-n', ns1, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', ns2]);
    for (const [ns, addr] of [[ns1, '192.0.2.1'], [ns2, '192.0.2.2']] as const) {
      run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'v0']);
      run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'v0', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const stream: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sink = await listener(ns2, ['sink', String(5001 + i)]);
      children.push(sink.child);
      const s = await runAsync('ip', ['netns', 'exec', ns1, binary, 'send', '192.0.2.2', String(5001 + i), String(seconds)], { timeoutMs: seconds * 1000 + 30_000 });
      if (s.status !== 0) throw new Error(`tcpbench send: ${s.stderr.trim()}`);
      const r = lastJson(await sink.done);
      stream.push((r.bytes! * 8) / r.seconds! / 1e9);
    }
    const rr: number[] = [];
    for (let i = 0; i < runs; i++) {
      const server = await listener(ns2, ['rr-server', String(6001 + i)]);
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
