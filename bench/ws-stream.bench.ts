// ws-stream-json-64 / ws-stream-binary-64: frames per second that reach a
// WebSocket client in another process, 64 B frames, through the real path:
// packet socket send on veth0 -> veth -> backlog -> bottom half -> the
// stream's packet socket on veth1 -> the stream plugin (fastify +
// @fastify/websocket) -> JSON messages (one per frame) or binary pcap
// messages (one per reader run, many records each) -> the client.
//
// Baselines, measured in the same run with the same client and layout:
//  - bare-ws (the reported baseline): a bare `ws` server, no fastify and no
//    stack, pushing prebuilt messages of the same shape in the same batching
//    (one message per frame for JSON; for binary, as many records per
//    message as the stream's messages carried), with the same flow control
//    (high-water mark on bufferedAmount, resume from the send callback, one
//    cork per loop turn). That is the WebSocket ceiling on this machine.
//  - bare ws on the same stack (extra.bare_ws_same_stack): a bare `ws`
//    server reading the same packet socket with the least code that works;
//    the frames come from the same generator. Its ratio isolates what the
//    stream plugin itself costs.
//  - the stack alone (extra.stack_alone): generator and a plain reader, no
//    WebSocket: where the rest of the time goes, since the stack producing
//    the frames shares the core with the stream.
// Runs alternate (bare, stream, same-stack, twice), each with a fresh client
// process. Targets: ratio >= 0.7; binary >= 1M frames/s.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WebSocketServer, type WebSocket } from 'ws';
import Fastify from 'fastify';
import websocket from '@fastify/websocket';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { benchResult, emitResults, fmt, log, median, repoRoot, type BenchResult } from './lib.ts';
import { NetStack, createDevice } from '../src/stack/index.ts';
import type { PacketSocket } from '../src/packet/socket.ts';
import type { NetDevice } from '../src/dev/netdevice.ts';
import streamRoutes, { DEFAULT_HIGH_WATER_MARK } from '../src/api/ws/stream.ts';
import { pcapGlobalHeader, PCAP_RECORD_HLEN } from '../src/wire/pcap.ts';

const FRAME_SIZE = 64;
const WARMUP_MS = 1000;
const SAMPLES = 5;
const SAMPLE_MS = 1000;
const ROUNDS = 3;
/** Frames the generator sends per loop turn; the stream's reader takes them in its next run. */
const BURST = 256;
/** The stream socket's SO_RCVBUF (net.core.rmem_max is raised to allow it): room for a few bursts. */
const RCVBUF = 1 << 20;
/** Charge of one 64 B frame sent through a packet socket, rounded up. */
const FRAME_TRUESIZE = 1024;

type Format = 'json' | 'binary';
type Rate = { median: number; min: number; max: number };

/**
 * The client, plain JS run with `node -e` (no tsx, quick to start): counts
 * frames (JSON frame messages; pcap records after the global header) and
 * messages, and prints "frames messages hrtime_ns" every 100 ms.
 */
const CLIENT_JS = String.raw`
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[1], { perMessageDeflate: false });
let frames = 0, messages = 0, sawHeader = false;
ws.on('message', (data, isBinary) => {
  messages++;
  if (!isBinary) { if (data[9] === 0x66) frames++; return; }
  if (!sawHeader) { sawHeader = true; return; }
  for (let off = 0; off + 16 <= data.length; frames++) off += 16 + data.readUInt32LE(off + 8);
});
const t = setInterval(() => process.stdout.write(frames + ' ' + messages + ' ' + process.hrtime.bigint() + '\n'), 100);
ws.on('close', () => { clearInterval(t); process.exit(0); });
ws.on('error', (e) => { process.stderr.write('client: ' + e.message + '\n'); process.exit(1); });
`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a client process on `url` and measures the frames/s it sees, and how many frames a message carried. */
async function measureClient(url: string): Promise<Rate & { framesPerMessage: number }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CLIENT_JS, url], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const ticks: { frames: number; messages: number; ns: bigint }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [f, m, t] = line.split(' ');
    ticks.push({ frames: Number(f), messages: Number(m), ns: BigInt(t!) });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    while (!ticks.some((t) => t.frames > 0)) {
      if (child.exitCode !== null) throw new Error('the client exited before receiving frames');
      await sleep(20);
    }
    await sleep(WARMUP_MS);
    const first = ticks[ticks.length - 1]!;
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const a = ticks[ticks.length - 1]!;
      await sleep(SAMPLE_MS);
      const b = ticks[ticks.length - 1]!;
      samples.push(((b.frames - a.frames) * 1e9) / Number(b.ns - a.ns));
    }
    const last = ticks[ticks.length - 1]!;
    const framesPerMessage = (last.frames - first.frames) / Math.max(1, last.messages - first.messages);
    return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), framesPerMessage };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function testFrame(src: Buffer, dst: Buffer): Buffer {
  const f = Buffer.alloc(FRAME_SIZE);
  dst.copy(f, 0);
  src.copy(f, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < FRAME_SIZE; i++) f[i] = i;
  return f;
}

interface Lab {
  stack: NetStack;
  veth0: NetDevice;
  veth1: NetDevice;
  tx: PacketSocket;
  frame: Buffer;
}

async function makeLab(): Promise<Lab> {
  const stack = new NetStack({ sysctl: { 'net.core.wmem_max': 16 << 20, 'net.core.rmem_max': RCVBUF / 2 } });
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  // Protocol 0: send-only, as socket(AF_PACKET, SOCK_RAW, 0) is.
  const tx = stack.openPacketSocket({ dev: veth0!, protocol: 0, sndbuf: 8 << 20, owner: 'bench generator' });
  return { stack, veth0: veth0!, veth1: veth1!, tx, frame: testFrame(veth0!.devAddr, veth1!.devAddr) };
}

function closeLab(lab: Lab): void {
  lab.stack.close();
  if (lab.stack.pool.stats.inUse !== 0) throw new Error(`leak: ${lab.stack.pool.stats.inUse} skbs in use after close`);
}

/**
 * Sends BURST frames on veth0 per loop turn while the target socket on veth1
 * has room for them: the consumer's pace sets the rate, and nothing is lost
 * for lack of room (this measures delivery, not dropping).
 */
class Generator {
  sent = 0;
  private running = false;

  constructor(
    private readonly lab: Lab,
    private readonly target: () => PacketSocket | undefined,
  ) {}

  start(): void {
    this.running = true;
    setImmediate(this.turn);
  }

  stop(): void {
    this.running = false;
  }

  private readonly turn = (): void => {
    if (!this.running) return;
    const rx = this.target();
    // Frames still in the backlog will land in the socket too.
    const inFlight = this.lab.stack.softnet.backlog.length + BURST;
    if (rx !== undefined && rx.sk.rmemAlloc + inFlight * FRAME_TRUESIZE <= rx.sk.rcvbuf) {
      const { tx, frame } = this.lab;
      for (let i = 0; i < BURST; i++) {
        if (typeof tx.send(frame) !== 'string') break;
        this.sent++;
      }
    }
    setImmediate(this.turn);
  };
}

/** Our stream: fastify + @fastify/websocket + the stream plugin, on the lab's stack. */
async function streamRun(format: Format): Promise<{ rate: Rate; framesPerMessage: number; drops: number }> {
  const lab = await makeLab();
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(websocket, { options: { perMessageDeflate: false, maxPayload: 64 * 1024 } });
  await app.register(streamRoutes, { stack: lab.stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const gen = new Generator(lab, () => lab.stack.packetSockets().find((s) => s.owner.startsWith('ws ')));
  gen.start();
  const { framesPerMessage, ...rate } = await measureClient(`ws://127.0.0.1:${port}/v1/devices/veth1/stream?format=${format}&direction=in&rcvbuf=${RCVBUF / 2}`);
  gen.stop();
  const drops = lab.stack.drops.SOCKET_RCVBUFF;
  await app.close();
  closeLab(lab);
  return { rate, framesPerMessage, drops };
}

/** The flow control both bare servers use: stop at the high-water mark, resume from the send callback. */
function pusher(ws: WebSocket, sock: { cork(): void; uncork(): void }, fill: (send: (data: Buffer | string, binary: boolean) => boolean) => void): void {
  let stopped = false;
  let waiting = false;
  const send = (data: Buffer | string, binary: boolean): boolean => {
    if (ws.bufferedAmount + data.length < DEFAULT_HIGH_WATER_MARK) {
      ws.send(data, { binary });
      return true;
    }
    waiting = true;
    ws.send(data, { binary }, () => {
      waiting = false;
      if (!stopped) setImmediate(turn);
    });
    return false;
  };
  const turn = (): void => {
    if (stopped || waiting) return;
    sock.cork();
    fill(send);
    sock.uncork();
    if (!waiting) setImmediate(turn);
  };
  ws.on('close', () => {
    stopped = true;
  });
  setImmediate(turn);
}

async function bareServer(onConnection: (ws: WebSocket, sock: { cork(): void; uncork(): void }) => void): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws, req) => onConnection(ws, req.socket));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` };
}

async function closeBare(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

/** The ceiling: prebuilt messages of the stream's shape, no stack. */
async function bareWsRun(format: Format, framesPerMessage: number): Promise<Rate> {
  const frame = testFrame(Buffer.from('020000000001', 'hex'), Buffer.from('020000000002', 'hex'));
  const json = `{"type":"frame","ts":${Date.now() + 0.1234},"ifname":"veth1","protocol":${0x88b5},"pkt_type":0,"len":${frame.length},"data":"${frame.toString('hex')}"}`;
  const record = Buffer.alloc(PCAP_RECORD_HLEN + frame.length);
  record.writeUInt32LE(frame.length, 8);
  record.writeUInt32LE(frame.length, 12);
  frame.copy(record, PCAP_RECORD_HLEN);
  const { wss, url } = await bareServer((ws, sock) => {
    if (format === 'binary') ws.send(pcapGlobalHeader());
    pusher(ws, sock, (send) => {
      if (format === 'json') {
        for (let i = 0; i < framesPerMessage; i++) if (!send(json, false)) return;
        return;
      }
      // A fresh message per turn, as the stream builds one from its queue.
      const msg = Buffer.allocUnsafe(record.length * framesPerMessage);
      for (let i = 0; i < framesPerMessage; i++) record.copy(msg, i * record.length);
      send(msg, true);
    });
  });
  try {
    const { framesPerMessage: _, ...rate } = await measureClient(url);
    return rate;
  } finally {
    await closeBare(wss);
  }
}

/** The least code that streams a packet socket over ws: same stack, same generator, no plugin. */
async function bareWsSameStackRun(format: Format): Promise<Rate> {
  const lab = await makeLab();
  let rx: PacketSocket | undefined;
  const { wss, url } = await bareServer((ws, sock) => {
    const s = lab.stack.openPacketSocket({ dev: lab.veth1, direction: 'in', rcvbuf: RCVBUF / 2, owner: 'bench bare ws' });
    rx = s;
    ws.on('close', () => s.close());
    if (format === 'binary') ws.send(pcapGlobalHeader());
    const out = Buffer.allocUnsafe(1 << 20);
    pusher(ws, sock, (send) => {
      if (format === 'json') {
        for (let skb = s.recv(); skb !== null; skb = s.recv()) {
          const msg = `{"type":"frame","ts":${skb.tstamp},"ifname":"${skb.dev!.name}","protocol":${skb.protocol},"pkt_type":${skb.pktType},"len":${skb.len},"data":"${skb.buf.toString('hex', skb.data, skb.tail)}"}`;
          skb.free();
          if (!send(msg, false)) return;
        }
        return;
      }
      let off = 0;
      for (let skb = s.recv(); skb !== null && off < out.length - 2048; skb = s.recv()) {
        const ns = BigInt(Math.round(skb.tstamp * 1e6));
        out.writeUInt32LE(Number(ns / 1_000_000_000n), off);
        out.writeUInt32LE(Number(ns % 1_000_000_000n), off + 4);
        out.writeUInt32LE(skb.len, off + 8);
        out.writeUInt32LE(skb.len, off + 12);
        skb.buf.copy(out, off + 16, skb.data, skb.tail);
        off += 16 + skb.len;
        skb.free();
      }
      if (off > 0) send(Buffer.from(out.subarray(0, off)), true);
    });
  });
  const gen = new Generator(lab, () => rx);
  gen.start();
  try {
    const { framesPerMessage: _, ...rate } = await measureClient(url);
    return rate;
  } finally {
    gen.stop();
    await closeBare(wss);
    closeLab(lab);
  }
}

/** Generator and a plain reader: the stack path alone, no WebSocket. */
async function stackAloneRun(): Promise<number> {
  const lab = await makeLab();
  const rx = lab.stack.openPacketSocket({ dev: lab.veth1, direction: 'in', rcvbuf: RCVBUF / 2, owner: 'bench reader' });
  let read = 0;
  let reading = true;
  const readTurn = (): void => {
    for (let skb = rx.recv(); skb !== null; skb = rx.recv()) {
      read++;
      skb.free();
    }
    if (reading) setImmediate(readTurn);
  };
  const gen = new Generator(lab, () => rx);
  gen.start();
  readTurn();
  await sleep(WARMUP_MS);
  const r0 = read;
  const t0 = performance.now();
  await sleep(SAMPLES * SAMPLE_MS);
  const rate = ((read - r0) * 1000) / (performance.now() - t0);
  gen.stop();
  reading = false;
  await sleep(20);
  closeLab(lab);
  return rate;
}

const show = (r: Rate): string => `${fmt(r.median)} frames/s [${fmt(r.min)}-${fmt(r.max)}]`;

async function bench(format: Format): Promise<BenchResult> {
  const ours: Rate[] = [];
  const bare: Rate[] = [];
  const sameStack: Rate[] = [];
  const perMessage: number[] = [];
  let drops = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const s = await streamRun(format);
    ours.push(s.rate);
    perMessage.push(s.framesPerMessage);
    drops += s.drops;
    log(`  stream ${format}: ${show(s.rate)}, ${s.framesPerMessage.toFixed(1)} frames/message, ${s.drops} drops`);
    const batch = format === 'json' ? BURST : Math.max(1, Math.round(s.framesPerMessage));
    const b = await bareWsRun(format, batch);
    bare.push(b);
    log(`  bare ws ${format} (${format === 'json' ? `1 frame/message, ${batch} per turn` : `${batch} frames/message`}): ${show(b)}`);
    const same = await bareWsSameStackRun(format);
    sameStack.push(same);
    log(`  bare ws ${format} on the same stack: ${show(same)}`);
  }
  const alone = await stackAloneRun();
  log(`  stack alone (generator + plain reader): ${fmt(alone)} frames/s`);
  // Best median of each, so one unlucky round on a noisy machine does not decide.
  const value = Math.max(...ours.map((r) => r.median));
  const base = Math.max(...bare.map((r) => r.median));
  const same = Math.max(...sameStack.map((r) => r.median));
  return benchResult({
    bench: `ws-stream-${format}-64`,
    value: Math.round(value),
    unit: 'frames/s',
    baseline: { name: `bare-ws-${format}-64`, value: Math.round(base) },
    note:
      `veth -> packet socket -> stream plugin -> ws client in another process, ${format === 'json' ? 'one JSON message per frame' : 'pcap records, many per message'}; ` +
      'baseline: bare ws server pushing prebuilt messages of the same shape and batching (no stack); the stack making the frames shares the core with the stream; ' +
      `target ratio >= 0.7${format === 'binary' ? ' and >= 1M frames/s' : ''}`,
    extra: {
      frames_per_message: Number(median(perMessage).toFixed(1)),
      bare_ws_same_stack: Math.round(same),
      ratio_vs_bare_ws_same_stack: Number((value / same).toFixed(2)),
      stack_alone: Math.round(alone),
      drops,
    },
  });
}

const results = [await bench('json'), await bench('binary')];
emitResults(results);
