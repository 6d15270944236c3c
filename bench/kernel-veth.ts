// The Linux kernel's own veth path as the baseline for netstackd's veth
// benchmarks: AF_PACKET -> veth -> AF_PACKET between two network namespaces
// (perf-anchors.md §1). Other benchmarks call kernelVethBaseline() in the
// same run as their own measurement, because this machine kind is too noisy
// to compare against a number measured at another time.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinary, mtime } from './kernel/netns.ts';
import { median } from './lib.ts';

export type KernelVethSize = 64 | 1500;

export type KernelVethResult = {
  /** Frames per second counted at the receiver, first to last frame. */
  pps: number;
  /** Frame bytes (14 B header included, no preamble/FCS) per second, in Gbit/s. */
  gbps: number;
  /** Receive-socket overflows (PACKET_STATISTICS tp_drops). */
  drops: number;
  /** The sender's own rate: above pps when frames were lost on the way. */
  txPps: number;
  rxFrames: number;
  txFrames: number;
  seconds: number;
};

export type KernelVethUnavailable = { unavailable: string };

export type KernelVethSummary = {
  /** Median over the runs. */
  pps: number;
  ppsMin: number;
  ppsMax: number;
  gbps: number;
  /** Sum over the runs. */
  drops: number;
  runs: KernelVethResult[];
};

/** sendmmsg/recvmmsg frames per call, as in the perf-anchors table. */
export const KERNEL_VETH_BATCH = 64;

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, 'kernel', 'pktbench.c');
// bench/bin/ is gitignored: the binary is rebuilt from source on each machine.
const binDir = path.join(here, 'bin');
const binary = path.join(binDir, 'pktbench');

// Namespace names carry our pid so concurrent runs never collide and stale
// ones (from a killed run) can be recognised as ours and removed.
const NS_PATTERN = /^nsbench-[ab]-(\d+)-\d+$/;
let nsSeq = 0;

export function isUnavailable(r: KernelVethResult | KernelVethSummary | KernelVethUnavailable): r is KernelVethUnavailable {
  return 'unavailable' in r;
}

type Cmd = { code: number | null; stdout: string; stderr: string; error?: Error };

function sh(cmd: string, args: readonly string[]): Cmd {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const out: Cmd = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (r.error !== undefined) out.error = r.error;
  return out;
}

function describe(c: Cmd): string {
  if (c.error !== undefined) return c.error.message;
  return (c.stderr.trim() || c.stdout.trim() || `exit ${c.code}`).split('\n')[0] ?? '';
}

/** Builds bench/bin/pktbench when missing or older than its source. */
function ensurePktbench(): string | null {
  const bin = mtime(binary);
  const src = mtime(source);
  if (src === null) return `source missing: ${source}`;
  if (bin !== null && bin >= src) return null;
  if (sh('gcc', ['--version']).code !== 0) return bin === null ? 'gcc not found' : null;
  return ensureBinary(source, binary);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM means it exists but is not ours to signal: still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces left by runs that were killed before their cleanup ran. */
function removeStaleNamespaces(): void {
  const list = sh('ip', ['netns', 'list']);
  if (list.code !== 0) return;
  for (const line of list.stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = NS_PATTERN.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !pidAlive(pid)) sh('ip', ['netns', 'del', name]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until linkwatch has marked the device up. Until then the device may
 * still sit on the noop qdisc and refuse frames, which would count as sender
 * errors rather than as the path being measured.
 */
async function waitLinkUp(ns: string, dev: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const c = sh('ip', ['-n', ns, '-o', 'link', 'show', dev]);
    if (c.code === 0 && /\bstate UP\b/.test(c.stdout)) return true;
    await sleep(20);
  }
  return false;
}

type PktOut = { frames: number; bytes: number; seconds: number; drops?: number; errors?: number };

function parsePktOut(stdout: string, who: string): PktOut {
  const last = stdout.trim().split('\n').pop() ?? '';
  let v: unknown;
  try {
    v = JSON.parse(last);
  } catch {
    throw new Error(`pktbench ${who}: no JSON on stdout (got ${JSON.stringify(last)})`);
  }
  const o = v as Record<string, unknown>;
  if (typeof o.frames !== 'number' || typeof o.bytes !== 'number' || typeof o.seconds !== 'number') {
    throw new Error(`pktbench ${who}: unexpected output ${last}`);
  }
  return v as PktOut;
}

type Running = { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> };

function start(args: readonly string[], onStderr?: (s: string) => void): Running {
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    onStderr?.(stderr);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * One run: `size`-byte frames (header included) from netns A to netns B over
 * a fresh veth pair for `seconds`, batch 64. Returns `{ unavailable }` when
 * the machine cannot do it (not root, no gcc, no netns), never a made-up
 * number; throws when the setup worked but the measurement failed.
 */
export async function kernelVethBaseline(
  size: KernelVethSize,
  seconds: number,
): Promise<KernelVethResult | KernelVethUnavailable> {
  if (process.platform !== 'linux') return { unavailable: `needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { unavailable: 'needs root (ip netns, AF_PACKET)' };
  if (!(seconds > 0)) throw new RangeError(`seconds must be > 0, got ${seconds}`);
  const ipv = sh('ip', ['-V']);
  if (ipv.code !== 0) return { unavailable: `iproute2 'ip' not usable: ${describe(ipv)}` };
  const buildErr = ensurePktbench();
  if (buildErr !== null) return { unavailable: buildErr };

  removeStaleNamespaces();
  const seq = nsSeq++;
  const nsA = `nsbench-a-${process.pid}-${seq}`;
  const nsB = `nsbench-b-${process.pid}-${seq}`;
  const children: ChildProcess[] = [];
  const created: string[] = [];

  // Synchronous so it also works from the 'exit' event and signal handlers.
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Deleting a namespace destroys the veth end inside it, and with it the peer.
    for (const ns of created.splice(0)) sh('ip', ['netns', 'del', ns]);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    detach();
    // Re-raise so the process ends (or other handlers run) as without us.
    process.kill(process.pid, sig);
  };
  const detach = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', cleanup);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanup);

  try {
    for (const ns of [nsA, nsB]) {
      const c = sh('ip', ['netns', 'add', ns]);
      if (c.code !== 0) return { unavailable: `ip netns add failed: ${describe(c)}` };
      created.push(ns);
    }
    const steps: string[][] = [
      ['-n', nsA, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', nsB],
      ['-n', nsA, 'link', 'set', 'va', 'up'],
      ['-n', nsB, 'link', 'set', 'vb', 'up'],
    ];
    for (const s of steps) {
      const c = sh('ip', s);
      if (c.code !== 0) return { unavailable: `ip ${s.join(' ')} failed: ${describe(c)}` };
    }
    if (!(await waitLinkUp(nsA, 'va', 5000)) || !(await waitLinkUp(nsB, 'vb', 5000))) {
      throw new Error('veth pair did not come up within 5 s');
    }

    const secs = String(seconds);
    const batch = String(KERNEL_VETH_BATCH);
    let markReady: () => void = () => {};
    const ready = new Promise<void>((r) => (markReady = r));
    const rx = start(['netns', 'exec', nsB, binary, 'recv', 'vb', secs, batch], (err) => {
      if (err.includes('ready')) markReady();
    });
    children.push(rx.child);
    // The receiver exits on its own if it fails before binding.
    await withTimeout(Promise.race([ready, rx.done.then(() => undefined)]), 10_000, 'receiver start');
    if (rx.child.exitCode !== null) {
      const r = await rx.done;
      throw new Error(`receiver failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }

    const tx = start(['netns', 'exec', nsA, binary, 'send', 'va', String(size), secs, batch]);
    children.push(tx.child);
    // The receiver stops 0.5 s after the last frame; START_GRACE in the C is
    // 10 s, so this bound only trips on a real hang.
    const limit = seconds * 1000 + 20_000;
    const [txOut, rxOut] = await withTimeout(Promise.all([tx.done, rx.done]), limit, 'pktbench');
    if (txOut.code !== 0) throw new Error(`sender failed: ${txOut.stderr.trim() || `exit ${txOut.code}`}`);
    if (rxOut.code !== 0) throw new Error(`receiver failed: ${rxOut.stderr.trim() || `exit ${rxOut.code}`}`);
    const t = parsePktOut(txOut.stdout, 'send');
    const r = parsePktOut(rxOut.stdout, 'recv');
    if (r.frames === 0 || r.seconds <= 0) {
      throw new Error(`receiver saw no frames (sender sent ${t.frames}, ${t.errors ?? 0} send errors)`);
    }
    return {
      pps: r.frames / r.seconds,
      gbps: (r.bytes * 8) / r.seconds / 1e9,
      drops: r.drops ?? 0,
      txPps: t.frames / t.seconds,
      rxFrames: r.frames,
      txFrames: t.frames,
      seconds: r.seconds,
    };
  } finally {
    cleanup();
    detach();
  }
}

/**
 * Several runs of kernelVethBaseline, median pps: single runs here swing by
 * tens of percent, and the first of a series is often the slow one.
 */
export async function kernelVethRuns(
  size: KernelVethSize,
  seconds: number,
  runs: number,
  onRun?: (i: number, r: KernelVethResult) => void,
): Promise<KernelVethSummary | KernelVethUnavailable> {
  const all: KernelVethResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await kernelVethBaseline(size, seconds);
    if (isUnavailable(r)) return r;
    all.push(r);
    onRun?.(i, r);
  }
  const pps = all.map((r) => r.pps);
  return {
    pps: median(pps),
    ppsMin: Math.min(...pps),
    ppsMax: Math.max(...pps),
    gbps: median(all.map((r) => r.gbps)),
    drops: all.reduce((s, r) => s + r.drops, 0),
    runs: all,
  };
}
