// The real tshark as the judge of capture files. CI installs it; where it is
// missing, the tests that need it skip and say so.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const TSHARK_MISSING: string | false = (() => {
  const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'tshark is not installed (apt-get install tshark)';
})();

/** The fields the tests compare, in this order. */
export const FIELDS = [
  'frame.interface_name',
  'eth.src',
  'eth.dst',
  'eth.type',
  'vlan.id',
  'frame.len',
  'frame.packet_flags_direction',
] as const;

export type Row = Record<(typeof FIELDS)[number], string>;

function fieldArgs(fields: readonly string[]): string[] {
  return ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])];
}

function toRow(line: string): Row {
  const cells = line.split('\t');
  return Object.fromEntries(FIELDS.map((f, i) => [f, cells[i] ?? ''])) as Row;
}

/** tshark -r FILE -T fields ...: one row per packet. Throws with tshark's stderr when it fails. */
export function readCapture(bytes: Buffer, extraFields: readonly string[] = []): { rows: Row[]; extra: string[][] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'netstack-capture-'));
  try {
    const file = path.join(dir, 'capture');
    writeFileSync(file, bytes);
    const r = spawnSync('tshark', ['-n', '-r', file, ...fieldArgs([...FIELDS, ...extraFields])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    return { rows: lines.map(toRow), extra: lines.map((l) => l.split('\t').slice(FIELDS.length)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `… | tshark -l -r -`: a tshark reading a live stream from a pipe, printing
 * one row per packet as it arrives. tshark refuses a socket as its input, and
 * Node's child stdin is one, so `cat` puts a real pipe in between, as the
 * shell's `curl -N URL | tshark -r -` would.
 */
export class LiveTshark {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly rows: Row[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  constructor() {
    const cmd = `cat | exec tshark -n -l -r - ${fieldArgs(FIELDS).map((a) => `'${a}'`).join(' ')}`;
    this.child = spawn('sh', ['-c', cmd]);
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.rows.push(toRow(line));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the n-th row (0-based) once tshark has printed it. */
  async row(n: number, timeoutMs = 10_000): Promise<Row> {
    for (let polls = Math.ceil(timeoutMs / 100); this.rows.length <= n; polls--) {
      if (polls <= 0) throw new Error(`tshark printed ${this.rows.length} rows, waited for ${n + 1}; stderr: ${this.stderr}`);
      if (this.child.exitCode !== null) throw new Error(`tshark exited (${this.child.exitCode}): ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.rows[n]!;
  }

  stop(): void {
    this.child.stdin.destroy();
    this.child.kill('SIGTERM');
  }
}
