// Shared helpers for the benchmarks under bench/. Every *.bench.ts file runs
// in its own Node process (runIsolated) so that one benchmark's garbage, JIT
// state and heap growth never leak into the next one's numbers.

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';

/** One line of bench/results.json. */
export type BenchResult = {
  bench: string;
  value: number;
  unit: string;
  baseline_name: string | null;
  baseline_value: number | null;
  /** value / baseline_value, measured in the same run; null without a baseline. */
  ratio: number | null;
  note?: string;
  extra?: Record<string, number | string>;
};

export type MachineInfo = {
  cpuModel: string;
  cpuCount: number;
  memGiB: number;
  node: string;
  os: string;
  kernel: string;
  date: string;
};

export type MeasureOptions = {
  /** Time spent running the batch before any sample counts (JIT, caches). */
  warmupMs?: number;
  samples?: number;
  sampleMs?: number;
  /** Ops one call stands for when the batch returns nothing. */
  opsPerCall?: number;
};

export type MeasureResult = {
  /** Median over the samples, in ops per second. */
  median: number;
  min: number;
  max: number;
  /** ops/s of every sample, in the order taken. */
  samples: number[];
  /** Total ops run in the timed samples (not the warm-up). */
  ops: number;
};

/**
 * One op-batch: does some work and returns how many ops it did. Returning
 * nothing means `opsPerCall` ops. May be async; a sync batch is never awaited,
 * so it pays no microtask per call.
 */
export type OpBatch = () => number | void | Promise<number | void>;

export type HeapGrowthOptions = {
  frames: number;
  /** Frames run first and not counted: pools fill, code gets optimised. */
  warmupFrames?: number;
};

export type HeapGrowthResult = {
  /** heapUsed growth in bytes per million frames after warm-up. */
  bytesPerMillion: number;
  heapBefore: number;
  heapAfter: number;
  frames: number;
  /** False when node ran without --expose-gc: the figure is then noisy. */
  gcForced: boolean;
};

/** The repository root (bench/..), used as cwd so `--import tsx` resolves. */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
    date: new Date().toISOString(),
  };
}

/** A positive number from the environment (a benchmark's knob), or the default. */
export function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!(n > 0)) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return n;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  // noUncheckedIndexedAccess: the indices are in range by construction.
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Compact human form: 1.23M, 438k, 12.5, 0.0123. For logs and tables. */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(digits)}G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(digits)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(digits)}k`;
  if (a >= 100) return String(Math.round(n));
  if (a === 0) return '0';
  return n.toPrecision(digits);
}

/** Progress goes to stderr: stdout is reserved for the final JSON line. */
export function log(...parts: unknown[]): void {
  process.stderr.write(format(...parts) + '\n');
}

function isThenable(x: unknown): x is PromiseLike<number | void> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

async function runFor(fn: OpBatch, ms: number, opsPerCall: number): Promise<{ ops: number; seconds: number }> {
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let t = start;
  // At least one call, so a batch slower than the sample still yields a rate.
  do {
    const r = fn();
    const n = isThenable(r) ? await r : r;
    ops += typeof n === 'number' ? n : opsPerCall;
    t = process.hrtime.bigint();
  } while (t < end);
  return { ops, seconds: Number(t - start) / 1e9 };
}

/**
 * Runs `fn` for warmupMs, then takes `samples` samples of about sampleMs each
 * and reports ops/s per sample. A median over several samples rather than one
 * long run, because on these VMs single samples swing by ±20-40 %.
 */
export async function measure(fn: OpBatch, opts: MeasureOptions = {}): Promise<MeasureResult> {
  const warmupMs = opts.warmupMs ?? 500;
  const sampleCount = opts.samples ?? 7;
  const sampleMs = opts.sampleMs ?? 250;
  const opsPerCall = opts.opsPerCall ?? 1;
  if (warmupMs > 0) await runFor(fn, warmupMs, opsPerCall);
  const samples: number[] = [];
  let ops = 0;
  for (let i = 0; i < sampleCount; i++) {
    const s = await runFor(fn, sampleMs, opsPerCall);
    ops += s.ops;
    samples.push(s.ops / s.seconds);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples, ops };
}

/** global.gc exists only under --expose-gc (which runIsolated passes). */
export function forceGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  // Twice: the first pass can leave objects only freed by the second
  // (weak callbacks, finalisation).
  gc();
  gc();
  return true;
}

/**
 * Runs `step` once per frame: warmupFrames first, then a forced GC and a
 * heapUsed reading, then `frames` more, another GC and reading. Whatever is
 * still live afterwards is what the steady state retains: a leak, or a cache
 * that grows per frame.
 */
export async function heapGrowthPerMillion(
  step: (i: number) => void | Promise<unknown>,
  opts: HeapGrowthOptions,
): Promise<HeapGrowthResult> {
  const warmup = opts.warmupFrames ?? Math.min(opts.frames, 100_000);
  for (let i = 0; i < warmup; i++) {
    const r = step(i);
    if (isThenable(r)) await r;
  }
  const gcForced = forceGc();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < opts.frames; i++) {
    const r = step(warmup + i);
    if (isThenable(r)) await r;
  }
  forceGc();
  const heapAfter = process.memoryUsage().heapUsed;
  return {
    bytesPerMillion: ((heapAfter - heapBefore) / opts.frames) * 1e6,
    heapBefore,
    heapAfter,
    frames: opts.frames,
    gcForced,
  };
}

/**
 * Builds a result, computing the ratio from the baseline so that every
 * benchmark computes it the same way: value / baseline_value (above 1 means
 * more of `unit` than the baseline).
 */
export function benchResult(r: {
  bench: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number } | null;
  note?: string;
  extra?: Record<string, number | string>;
}): BenchResult {
  const b = r.baseline ?? null;
  const out: BenchResult = {
    bench: r.bench,
    value: r.value,
    unit: r.unit,
    baseline_name: b?.name ?? null,
    baseline_value: b?.value ?? null,
    ratio: b !== null && b.value !== 0 && Number.isFinite(b.value) ? r.value / b.value : null,
  };
  if (r.note !== undefined) out.note = r.note;
  if (r.extra !== undefined) out.extra = r.extra;
  return out;
}

/** The convention every *.bench.ts follows: the LAST stdout line is the JSON array. */
export function emitResults(results: readonly BenchResult[]): void {
  process.stdout.write(JSON.stringify(results) + '\n');
}

function isRecordOfScalars(x: unknown): x is Record<string, number | string> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  return Object.values(x).every((v) => typeof v === 'number' || typeof v === 'string');
}

function isNumOrNull(x: unknown): x is number | null {
  return x === null || typeof x === 'number';
}

/** Checks one parsed JSON value against BenchResult; returns why not, or null. */
export function benchResultError(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'not an object';
  const o = x as Record<string, unknown>;
  if (typeof o.bench !== 'string' || o.bench === '') return 'bench must be a non-empty string';
  if (typeof o.value !== 'number') return `${o.bench}: value must be a number (NaN serialises as null)`;
  if (typeof o.unit !== 'string') return `${o.bench}: unit must be a string`;
  if (!(o.baseline_name === null || typeof o.baseline_name === 'string')) return `${o.bench}: bad baseline_name`;
  if (!isNumOrNull(o.baseline_value)) return `${o.bench}: bad baseline_value`;
  if (!isNumOrNull(o.ratio)) return `${o.bench}: bad ratio`;
  if (o.note !== undefined && typeof o.note !== 'string') return `${o.bench}: bad note`;
  if (o.extra !== undefined && !isRecordOfScalars(o.extra)) return `${o.bench}: extra must map to numbers/strings`;
  return null;
}

export function parseBenchResults(text: string): BenchResult[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of BenchResult');
  for (const x of parsed) {
    const err = benchResultError(x);
    if (err !== null) throw new Error(`invalid BenchResult: ${err}`);
  }
  return parsed as BenchResult[];
}

export class BenchProcessError extends Error {
  constructor(
    message: string,
    readonly script: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
    this.name = 'BenchProcessError';
  }
}

/**
 * Runs one benchmark file in a fresh `node --expose-gc --import tsx` child
 * and returns the BenchResult array from its last stdout line. The child's
 * stderr (progress) goes straight to ours; any earlier stdout lines are
 * passed on to stderr so they are seen but cannot be mistaken for results.
 */
export function runIsolated(scriptPath: string, args: readonly string[] = []): Promise<BenchResult[]> {
  const script = path.resolve(scriptPath);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    // A Ctrl-C reaches the child through the process group; we only need to
    // not leave it running if we are terminated some other way.
    const killChild = (): void => {
      child.kill('SIGTERM');
    };
    process.once('exit', killChild);
    child.on('error', (err) => {
      process.off('exit', killChild);
      reject(err);
    });
    child.on('close', (code, signal) => {
      process.off('exit', killChild);
      const lines = Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const last = lines.pop();
      for (const l of lines) process.stderr.write(`  [stdout] ${l}\n`);
      const name = path.basename(script);
      if (code !== 0) {
        reject(new BenchProcessError(`${name} exited with ${signal ?? code}`, script, code, signal));
        return;
      }
      if (last === undefined) {
        reject(new BenchProcessError(`${name} printed no JSON result line`, script, code, signal));
        return;
      }
      try {
        resolve(parseBenchResults(last));
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        reject(new BenchProcessError(`${name}: last stdout line is not a BenchResult array: ${why}`, script, code, signal));
      }
    });
  });
}
