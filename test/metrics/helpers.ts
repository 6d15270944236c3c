// Shared by the metrics tests: a reader for the Prometheus text format (so the
// tests check what a scraper sees, not prom-client's internals) and a way to
// put known traffic through the stack.

import type { PacketSocket } from '../../src/packet/socket.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line of an exposition; comments and blank lines skipped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(LABEL_PAIR)) labels[p[1]!] = p[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function matches(s: Sample, name: string, labels: Record<string, string>): boolean {
  if (s.name !== name) return false;
  for (const [k, v] of Object.entries(labels)) if (s.labels[k] !== v) return false;
  return true;
}

/** The samples of `name` whose labels include `labels`. */
export function samplesOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => matches(s, name, labels));
}

/** The value of exactly one series; throws when it is absent or ambiguous. */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} series, expected 1`);
  return found[0]!.value;
}

/** A broadcast frame of `size` bytes with an experimental EtherType (0x88b5), so nothing in the stack consumes it. */
export function testFrame(size = 60): Buffer {
  const f = Buffer.alloc(size);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 1], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

/** Sends `n` frames, each of which must be accepted synchronously. */
export function sendFrames(sock: PacketSocket, n: number, frame: Buffer = testFrame()): void {
  for (let i = 0; i < n; i++) {
    const r = sock.send(frame);
    if (r !== 'sent') throw new Error(`frame ${i} was not sent: ${r instanceof Promise ? 'the send buffer is full' : r}`);
  }
}
