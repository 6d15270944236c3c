// capture-tshark-64: the highest rate of 64 B frames that a live capture
// carries to tshark with no frame lost, through the real path: veth ->
// capture packet socket -> CaptureSession (pcapng) -> fastify response ->
// `curl -sN URL | tshark -r -` (a Node HTTP client where curl is missing). A trial offers a steady rate for a
// few seconds with `count` set to the frames sent; it passes when the
// capture socket dropped nothing and tshark counted every frame. The rate
// is searched (doubling, then bisection). When tshark falls behind, the pipe,
// the HTTP client and TCP push back, the capture stops reading its socket,
// and the socket drops: so the figure is where that chain starts to lose.
//
// Baseline, same run: tshark's own ceiling, reading a pcapng of the same
// frames from a pipe as fast as it can (the time for 1.2M frames minus the
// time for 0.2M, so its start-up cost cancels out). The ratio says how much
// of tshark's speed the live capture keeps.
//
// The capture socket gets rcvbuf=8 MiB (net.core.rmem_max raised), as one
// would give tcpdump -B: the generator sends in bursts each loop turn.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { benchResult, emitResults, fmt, log, repoRoot } from './lib.ts';
import { NetStack, createDevice } from '../src/stack/index.ts';
import type { PacketSocket } from '../src/packet/socket.ts';
import type { NetDevice } from '../src/dev/netdevice.ts';
import captureRoutes from '../src/api/http/routes/capture.ts';
import { PcapngStreamWriter } from '../src/capture/pcapng-writer.ts';
import { devAllocSkbFrom } from '../src/skb/skbuff.ts';

const FRAME_SIZE = 64;
const TRIAL_SECONDS = 2;
/** tshark needs a moment to start reading; frames sent before that would only fill the pipe. */
const TSHARK_START_MS = 2500;
const RCVBUF = 8 << 20;
/** Frames sent per loop turn at most: below netdev_budget (300), so one bottom-half run takes a burst. */
const MAX_BURST = 256;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const TSHARK = `tshark -n -r - -q -z io,stat,0`;

/** Without curl, the client is a plain Node HTTP GET written to stdout. */
const CLIENT_JS = String.raw`
require('http').get(process.argv[1], (res) => res.pipe(process.stdout)).on('error', (e) => { process.stderr.write(e.message); process.exit(1); });
`;
const HAVE_CURL = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
/** `curl -sN URL | tshark -r -`, as a user would type it; $1 is the URL. */
const PIPELINE = HAVE_CURL ? `curl -sN "$1" | ${TSHARK}` : `"$0" -e "$2" "$1" | ${TSHARK}`;


/** Frames tshark reports in its io,stat table ("| 0.000 <> 2.412 | 1000000 | 64000000 |"). */
function tsharkFrames(out: string): number {
  const m = /<>\s*[\d.]+\s*\|\s*(\d+)\s*\|/.exec(out);
  return m === null ? -1 : Number(m[1]);
}

interface Trial {
  ok: boolean;
  offered: number;
  achieved: number;
  /** Frames the stack dropped during the trial, by any reason (the capture socket's are socket_rcvbuff). */
  drops: number;
  /** Drop counters of the stack so far, by reason. */
  reasons: string;
  tsharkFrames: number;
}

async function trial(port: number, stack: NetStack, tx: PacketSocket, frame: Buffer, rate: number): Promise<Trial> {
  const count = Math.round(rate * TRIAL_SECONDS);
  const url = `http://127.0.0.1:${port}/v1/devices/veth1/capture?count=${count}&direction=in&rcvbuf=${RCVBUF / 2}`;
  // Its own process group, so that a lossy trial can end the whole pipeline (client and tshark) at once.
  const child: ChildProcess = spawn('sh', ['-c', PIPELINE, process.execPath, url, CLIENT_JS], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const capture = async (): Promise<PacketSocket> => {
    for (;;) {
      const s = stack.packetSockets().find((x) => x.owner.startsWith('capture'));
      if (s !== undefined) return s;
      await sleep(10);
    }
  };
  const sock = await capture();
  await sleep(TSHARK_START_MS);
  // Token bucket: each loop turn sends what the rate allows since the start.
  const drops0 = stack.totalDrops();
  const lost = (): boolean => stack.totalDrops() > drops0;
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (let n = 0; sent < due && n < MAX_BURST; n++) {
        if (typeof tx.send(frame) !== 'string') break;
        sent++;
      }
      if (sent >= count || lost()) resolve();
      else setImmediate(turn);
    };
    turn();
  });
  const achieved = (sent * 1000) / (performance.now() - t0);
  // With no drop the capture ends by itself at `count`, and tshark prints its table.
  const deadline = Date.now() + 30_000;
  while (child.exitCode === null && !lost() && Date.now() < deadline) await sleep(20);
  const drops = stack.totalDrops() - drops0;
  const reasons = Object.entries(stack.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r.toLowerCase()} ${n}`).join(', ');
  if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
  await exited;
  // Let the server notice the client is gone before the next trial.
  while (stack.packetSockets().some((x) => x.owner.startsWith('capture'))) await sleep(10);
  const frames = tsharkFrames(out);
  return { ok: drops === 0 && frames === count && achieved >= rate * 0.95, offered: rate, achieved, drops, reasons, tsharkFrames: frames };
}

/** tshark reading a pcapng of n frames from a pipe: seconds, start-up included. */
function tsharkSeconds(file: string): { seconds: number; frames: number } {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `cat "$0" | ${TSHARK}`, file], { encoding: 'utf8' });
  return { seconds: (performance.now() - t0) / 1000, frames: tsharkFrames(r.stdout) };
}

async function tsharkCeiling(dev: NetDevice, frame: Buffer, stack: NetStack): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'netstack-bench-'));
  try {
    const write = (n: number): string => {
      const w = new PcapngStreamWriter();
      w.writeHeader([dev]);
      const parts: Buffer[] = [w.take()!];
      const t = Date.now();
      for (let i = 0; i < n; i++) {
        const skb = devAllocSkbFrom(stack.pool, frame.length)!;
        skb.putData(frame);
        skb.dev = dev;
        skb.tstamp = t + i / 1000;
        w.add(skb);
        skb.free();
        if (w.pending > 1 << 20) parts.push(w.take()!);
      }
      parts.push(w.take() ?? Buffer.alloc(0));
      const file = path.join(dir, `${n}.pcapng`);
      writeFileSync(file, Buffer.concat(parts));
      return file;
    };
    const small = write(200_000);
    const large = write(1_200_000);
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = tsharkSeconds(small);
      const b = tsharkSeconds(large);
      if (a.frames !== 200_000 || b.frames !== 1_200_000) throw new Error('tshark did not read the baseline files');
      rates.push(1_000_000 / (b.seconds - a.seconds));
    }
    return Math.max(...rates);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status !== 0) {
    log('tshark is not installed: capture-tshark-64 left out');
    emitResults([]);
    return;
  }
  const stack = new NetStack({ sysctl: { 'net.core.rmem_max': RCVBUF / 2, 'net.core.wmem_max': 16 << 20 } });
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const tx = stack.openPacketSocket({ dev: veth0!, protocol: 0, sndbuf: 8 << 20 });
  const frame = Buffer.alloc(FRAME_SIZE);
  veth1!.devAddr.copy(frame, 0);
  veth0!.devAddr.copy(frame, 6);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(captureRoutes, { stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;

  const ceiling = await tsharkCeiling(veth1!, frame, stack);
  log(`  tshark ceiling (pcapng from a pipe): ${fmt(ceiling)} frames/s`);

  // Search: double from 25k until a trial loses frames, then bisect between the last pass and that.
  let good = 0;
  let bad = 0;
  const trials: Trial[] = [];
  for (let rate = 25_000; bad === 0 && rate <= 8_000_000; rate *= 2) {
    const r = await trial(port, stack, tx, frame, rate);
    trials.push(r);
    log(`  offered ${fmt(rate)}/s: ${r.ok ? 'no loss' : 'LOST'} (sent at ${fmt(r.achieved)}/s, drops ${r.drops}${r.drops > 0 ? ` [${r.reasons}]` : ''}, tshark read ${r.tsharkFrames})`);
    if (r.ok) good = rate;
    else bad = rate;
  }
  for (let i = 0; i < 4 && bad > 0 && bad - good > good * 0.05; i++) {
    const rate = Math.round((good + bad) / 2);
    const r = await trial(port, stack, tx, frame, rate);
    trials.push(r);
    log(`  offered ${fmt(rate)}/s: ${r.ok ? 'no loss' : 'LOST'} (sent at ${fmt(r.achieved)}/s, drops ${r.drops}${r.drops > 0 ? ` [${r.reasons}]` : ''}, tshark read ${r.tsharkFrames})`);
    if (r.ok) good = rate;
    else bad = rate;
  }
  await app.close();
  stack.close();
  if (stack.pool.stats.inUse !== 0) throw new Error(`leak: ${stack.pool.stats.inUse} skbs in use after close`);
  log(`  capture -> tshark without loss: ${fmt(good)} frames/s, ratio ${(good / ceiling).toFixed(2)} of tshark's ceiling`);
  emitResults([
    benchResult({
      bench: 'capture-tshark-64',
      value: good,
      unit: 'frames/s',
      baseline: { name: 'tshark-pipe-ceiling-64', value: Math.round(ceiling) },
      note:
        `highest offered rate (doubling, then bisection) at which a live pcapng capture over HTTP into tshark -r - lost nothing (no drop anywhere in the stack, tshark counted every frame), ${TRIAL_SECONDS} s trials, rcvbuf 8 MiB; ` +
        `baseline: tshark reading the same pcapng from a pipe as fast as it can; client ${HAVE_CURL ? 'curl' : 'node http'}`,
      extra: { trials: trials.length, first_lossy_rate: bad },
    }),
  ]);
}

await main();
