// What the kernel baselines (bench/kernel-tcp.ts, bench/kernel-udp.ts,
// bench/kernel-veth.ts) share: building a C program of bench/kernel/ with gcc
// into the gitignored bench/bin/, starting it inside a namespace and waiting
// for its "ready", reading its last JSON line, and joining two namespaces
// with a veth pair.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../test/helpers/netns.ts';

export function mtime(p: string): number | null {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * `binary` built from `source` when missing or older than the source or one
 * of `deps` (headers it includes); null, or why it cannot run.
 */
export function ensureBinary(source: string, binary: string, deps: readonly string[] = []): string | null {
  const bin = mtime(binary);
  const newest = Math.max(mtime(source) ?? 0, ...deps.map((d) => mtime(d) ?? 0));
  if (bin !== null && bin >= newest) return null;
  mkdirSync(path.dirname(binary), { recursive: true });
  // A private name, then rename: a concurrent run never executes a half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  const c = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, source], { encoding: 'utf8' });
  if (c.error !== undefined) return bin === null ? `gcc: ${c.error.message}` : null;
  if (c.status !== 0) return `gcc failed: ${(c.stderr ?? '').trim().split('\n')[0]}`;
  renameSync(tmp, binary);
  return null;
}

/**
 * `binary args` in namespace `ns`; resolves once it printed "ready" on stdout.
 * `done` resolves to its whole stdout at exit 0 and rejects otherwise.
 */
export async function startReady(ns: string, binary: string, args: string[]): Promise<{ child: ChildProcess; done: Promise<string> }> {
  // ip netns exec execs the program: the pid is the benchmark's own.
  const child = spawn('ip', ['netns', 'exec', ns, binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const name = `${path.basename(binary)} ${args[0]}`;
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name}: exit ${code}: ${err.trim()}`))));
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

/** The last line of a benchmark's stdout, its JSON result. */
export function lastJson(text: string): Record<string, number> {
  const line = text.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, number>;
}

/**
 * A veth pair `v0` -- `v0` between the existing namespaces `a` and `b`,
 * 192.0.2.1/24 in `a` and 192.0.2.2/24 in `b`, both ends and both loopbacks
 * up. `offloadsOff` turns TSO, GSO and GRO off at both ends (ethtool -K), so
 * the kernel handles one MTU-sized segment at a time.
 */
export function vethPair(a: string, b: string, offloadsOff = false): void {
  run('ip', ['-n', a, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', b]);
  for (const [ns, addr] of [[a, '192.0.2.1'], [b, '192.0.2.2']] as const) {
    run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'v0']);
    if (offloadsOff) run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'v0', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
}
