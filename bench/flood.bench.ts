// A flood into a device watched by one slow WebSocket client. 1M frames go
// into veth fa0 (sent as binary messages on a WebSocket stream of fa0, the
// fastest way in), so its peer fb0 receives them all; fb0's only stream
// client reads 10 messages a second. The difference must be absorbed where
// DESIGN §2 says: the client's own packet socket fills its receive queue and
// drops the rest (counted), and the service's memory stays bounded.
// Measured: the service's RSS growth, idle -> peak during the flood, against
// a 64 MiB bound.
//
// The slow client speaks WebSocket by hand over a raw TCP socket, reading
// one message per 100 ms from a paused socket: what it has not read stays
// in its kernel buffer and TCP pushes back on the server, as a real slow
// reader does. (ws's pause() still emits every message of a chunk already
// read, so it cannot read "10 a second".) The service is the real one
// (`node --import tsx src/main.ts`) in a child process; its RSS is read from
// /proc/PID/status every 100 ms.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { benchResult, emitResults, fmt, log, repoRoot } from './lib.ts';

const FRAMES = Number(process.env['FLOOD_FRAMES'] ?? 1_000_000);
const READS_PER_SECOND = 10;
const LIMIT_MIB = 64;
const MiB = 1024 * 1024;
/** The sender waits while this much is queued in its own WebSocket. */
const SENDER_HWM = 1 * MiB;

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function startService(): Promise<{ pid: number; url: string; stop: () => Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--listen', '127.0.0.1:0'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; address?: string; level?: number };
        if (rec.msg === 'listening' && typeof rec.address === 'string') resolve(rec.address);
        else if ((rec.level ?? 0) >= 40) log(`service: ${line}`);
      } catch {
        log(`service: ${line}`);
      }
    });
    void exited.then((code) => reject(new Error(`the service exited (${code}) before listening`)));
  });
  return {
    pid: proc.pid!,
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** A 60-byte broadcast frame, ethertype 0x88B5 (local experimental). */
function testFrame(): Buffer {
  const frame = Buffer.alloc(60);
  frame.fill(0xff, 0, 6);
  Buffer.from([0x02, 0, 0, 0, 0, 1]).copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  for (let i = 14; i < 60; i++) frame[i] = i;
  return frame;
}

/** One server-to-client WebSocket frame (unmasked, unfragmented), or null while incomplete. */
function parseWsFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (buf.length < at + len) return null;
  return { opcode, payload: buf.subarray(at, at + len), size: at + len };
}

/** A client-to-server control frame: clients must mask. */
function maskedControl(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

interface SlowReader {
  messages: number;
  frames: number;
  dropsTotal: number;
  closeCode: number | null;
  stop(): void;
}

/** Upgrade by hand, then read one message per tick from a paused socket. */
async function slowReader(base: string, path: string): Promise<SlowReader> {
  const url = new URL(path, base);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
    });
    req.on('upgrade', (_res, sock: Socket, head: Buffer) => {
      sock.pause();
      if (head.length > 0) sock.unshift(head);
      resolve(sock);
    });
    req.on('response', (res) => reject(new Error(`stream refused: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  const reader: SlowReader = { messages: 0, frames: 0, dropsTotal: 0, closeCode: null, stop: () => undefined };
  let pending: Buffer = Buffer.alloc(0);
  const next = (): { opcode: number; payload: Buffer } | null => {
    for (;;) {
      const f = parseWsFrame(pending);
      if (f !== null) {
        pending = pending.subarray(f.size);
        return f;
      }
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return null;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    }
  };
  const timer = setInterval(() => {
    const m = next();
    if (m === null) return;
    reader.messages++;
    if (m.opcode === 0x1) {
      const msg = JSON.parse(m.payload.toString()) as { type: string; total?: number };
      if (msg.type === 'frame') reader.frames++;
      else if (msg.type === 'drops' && typeof msg.total === 'number') reader.dropsTotal = msg.total;
    } else if (m.opcode === 0x9) {
      socket.write(maskedControl(0xa, m.payload));
    } else if (m.opcode === 0x8) {
      reader.closeCode = m.payload.length >= 2 ? m.payload.readUInt16BE(0) : 1005;
    }
  }, 1000 / READS_PER_SECOND);
  socket.on('error', () => undefined);
  reader.stop = () => {
    clearInterval(timer);
    socket.destroy();
  };
  return reader;
}

/** Send `count` frames as binary messages, never letting more than SENDER_HWM queue on this side. */
async function flood(base: string, count: number, onProgress: (sent: number) => void): Promise<{ errors: number }> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/devices/fa0/stream?direction=in`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`sender refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  let errors = 0;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && (JSON.parse(data.toString()) as { type: string }).type === 'error') errors++;
  });
  const frame = testFrame();
  for (let i = 0; i < count; i++) {
    ws.send(frame, { binary: true });
    if ((i & 1023) === 1023) {
      // Yield every batch, so the slow reader's timer keeps its pace in this same process.
      await new Promise((resolve) => setImmediate(resolve));
      while (ws.bufferedAmount > SENDER_HWM) await sleep(1);
      if ((i & 0x1ffff) === 0x1ffff) onProgress(i + 1);
    }
  }
  while (ws.bufferedAmount > 0) await sleep(5);
  // Let the server work through what it has read before the sender goes.
  await sleep(500);
  ws.close();
  return { errors };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as unknown };
}

const service = await startService();
let reader: SlowReader | null = null;
try {
  const created = await json(`${service.url}/v1/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'veth', name: 'fa0', peer: 'fb0', up: true }),
  });
  if (created.status !== 201) throw new Error(`cannot create the veth pair: ${JSON.stringify(created.body)}`);
  reader = await slowReader(service.url, '/v1/devices/fb0/stream?direction=in');

  const idle = rssBytes(service.pid);
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(service.pid));
  }, 100);

  const start = process.hrtime.bigint();
  const { errors } = await flood(service.url, FRAMES, (sent) => log(`${fmt(sent)} frames sent, service RSS ${fmt(rssBytes(service.pid) / MiB)} MiB`));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await sleep(1000);
  clearInterval(sampler);
  const final = rssBytes(service.pid);
  peak = Math.max(peak, final);

  const devices = (await json(`${service.url}/v1/devices`)).body as { ifname: string; stats64: { rx: { packets: number } } }[];
  const received = devices.find((d) => d.ifname === 'fb0')?.stats64.rx.packets ?? 0;
  const sockets = (await json(`${service.url}/v1/sockets`)).body as { device: string | null; drops: number }[];
  const streamDrops = sockets.find((s) => s.device === 'fb0')?.drops ?? -1;
  const stackDrops = ((await json(`${service.url}/v1/stack`)).body as { drops?: Record<string, number> }).drops ?? {};
  const stillOpen = reader.closeCode === null;
  reader.stop();

  const growthMiB = (peak - idle) / MiB;
  const within = growthMiB < LIMIT_MIB;
  log(
    `${fmt(FRAMES)} frames in ${seconds.toFixed(1)} s (${fmt(FRAMES / seconds)} frames/s), fb0 received ${fmt(received)}; ` +
      `slow client read ${reader.frames} frames (${reader.messages} messages), stream socket drops ${fmt(streamDrops)}; ` +
      `RSS idle ${fmt(idle / MiB)} MiB, peak ${fmt(peak / MiB)} MiB, growth ${growthMiB.toFixed(1)} MiB ` +
      `(bound ${LIMIT_MIB} MiB: ${within ? 'within' : 'EXCEEDED'})`,
  );
  log(`stack drops: ${JSON.stringify(Object.fromEntries(Object.entries(stackDrops).filter(([, n]) => n > 0)))}`);
  const code = await service.stop();
  if (code !== 0) log(`the service exited ${code} after SIGTERM`);
  const r1 = (n: number): number => Math.round(n * 10) / 10;
  emitResults([
    benchResult({
      bench: 'flood-slow-ws-rss-growth',
      value: r1(growthMiB),
      unit: 'MiB',
      baseline: null,
      note:
        `service RSS growth (idle -> peak) while ${fmt(FRAMES)} frames flood a device whose only WebSocket client reads ` +
        `${READS_PER_SECOND} messages/s; bound ${LIMIT_MIB} MiB (${within ? 'met' : 'NOT met'}); no baseline: a bound, not a ratio`,
      extra: {
        frames: FRAMES,
        fb0_rx_packets: received,
        send_errors: errors,
        client_frames_read: reader.frames,
        client_still_connected: stillOpen ? 'yes' : `no (close ${reader.closeCode})`,
        stream_socket_drops: streamDrops,
        flood_frames_per_s: Math.round(FRAMES / seconds),
        rss_idle_mib: r1(idle / MiB),
        rss_peak_mib: r1(peak / MiB),
        rss_final_mib: r1(final / MiB),
        limit_mib: LIMIT_MIB,
        service_exit_code: code ?? -1,
      },
    }),
  ]);
} catch (err) {
  reader?.stop();
  await service.stop();
  throw err;
}
