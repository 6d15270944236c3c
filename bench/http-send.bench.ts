// Raw frame send over HTTP (POST /v1/devices/{name}/frames), against a bare
// fastify route that accepts the same body and answers the same 202, both
// served and loaded in the same run:
//
//   http-send-64   one 64-byte frame per request (application/octet-stream), req/s
//   http-batch-64  256 frames of 64 bytes per request as JSON hex, frames/s
//
// The servers and the load generator are child processes (this file, with
// --role): the load generator keeps 50 keep-alive connections busy with
// node's http client, one request in flight per connection. The ratio is
// netstackd / bare fastify: how much the API, validation and the stack's send
// path cost on top of fastify itself.
//
//   node --expose-gc --import tsx bench/http-send.bench.ts
//   HTTP_BENCH_SECONDS=2 HTTP_BENCH_ROUNDS=5 HTTP_BENCH_CONNECTIONS=50 (defaults)

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { benchResult, emitResults, fmt, log, machineInfo, median, repoRoot, type BenchResult, envNumber } from './lib.ts';

const SELF = fileURLToPath(import.meta.url);
const DEVICE = 'bench0';
const FRAME_BYTES = 64;
const BATCH = 256;

type BodyKind = 'octet' | 'json';

function frame(seq: number): Buffer {
  const f = Buffer.alloc(FRAME_BYTES, 0xab);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x99], 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(seq, 14);
  return f;
}

function bodyOf(kind: BodyKind): { body: Buffer; contentType: string; frames: number } {
  if (kind === 'octet') return { body: frame(0), contentType: 'application/octet-stream', frames: 1 };
  const frames = Array.from({ length: BATCH }, (_, i) => frame(i).toString('hex'));
  return { body: Buffer.from(JSON.stringify({ frames })), contentType: 'application/json', frames: BATCH };
}

// ---- child roles ----

function announce(port: number): void {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

function exitOnSignal(close: () => Promise<void>): void {
  process.once('SIGTERM', () => {
    void close().then(() => process.exit(0));
  });
}

async function serveApp(): Promise<void> {
  const { NetStack } = await import('../src/stack/index.ts');
  const { buildApp } = await import('../src/api/http/app.ts');
  const stack = new NetStack();
  const app = await buildApp({ stack });
  const made = await app.inject({ method: 'POST', url: '/v1/devices', payload: { kind: 'dummy', name: DEVICE, up: true } });
  if (made.statusCode !== 201) throw new Error(`cannot create ${DEVICE}: ${made.body}`);
  await app.listen({ host: '127.0.0.1', port: 0 });
  exitOnSignal(async () => {
    await app.close();
    stack.close();
  });
  announce((app.server.address() as AddressInfo).port);
}

async function serveBare(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // The same URL, the same bodies, the same 202 answer: what fastify costs by itself.
  app.post('/v1/devices/:name/frames', async (request, reply) => {
    const body = request.body as Buffer | { frames: string[] };
    reply.code(202);
    return { sent: Buffer.isBuffer(body) ? 1 : body.frames.length, dropped: 0 };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  exitOnSignal(() => app.close());
  announce((app.server.address() as AddressInfo).port);
}

/** Keeps `connections` requests in flight for warmup + seconds; counts the 202s of the timed part. */
async function load(port: number, kind: BodyKind, connections: number, warmupS: number, seconds: number): Promise<void> {
  const { body, contentType } = bodyOf(kind);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const path = `/v1/devices/${DEVICE}/frames`;
  const headers = { 'content-type': contentType, 'content-length': String(body.length) };
  let counting = false;
  let running = true;
  let ok = 0;
  let failed = 0;
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (running) {
      const status = await one();
      if (!counting) continue;
      if (status === 202) ok++;
      else failed++;
    }
  };
  const workers = Array.from({ length: connections }, worker);
  await new Promise((r) => setTimeout(r, warmupS * 1000));
  counting = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  await Promise.all(workers);
  agent.destroy();
  process.stdout.write(JSON.stringify({ ok, failed, seconds: elapsed }) + '\n');
}

// ---- the parent ----

function child(args: string[]): { proc: ChildProcess; firstLine: Promise<Record<string, number>> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = new Promise<Record<string, number>>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as Record<string, number>);
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before answering`)));
  });
  return { proc, firstLine };
}

async function startServer(role: 'serve-app' | 'serve-bare'): Promise<{ port: number; stop(): Promise<void> }> {
  const { proc, firstLine } = child(['--role', role]);
  const { port } = await firstLine;
  return {
    port: port!,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

async function runLoad(port: number, kind: BodyKind, connections: number, seconds: number): Promise<number> {
  const { firstLine } = child(['--role', 'load', String(port), kind, String(connections), '1', String(seconds)]);
  const r = await firstLine;
  if (r.failed! > 0) throw new Error(`${r.failed} requests did not answer 202`);
  return r.ok! / r.seconds!;
}

async function txPackets(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/devices/${DEVICE}`);
  const dev = (await res.json()) as { stats64: { tx: { packets: number } } };
  return dev.stats64.tx.packets;
}

async function main(): Promise<void> {
  const seconds = envNumber('HTTP_BENCH_SECONDS', 2);
  const rounds = Math.round(envNumber('HTTP_BENCH_ROUNDS', 5));
  const connections = Math.round(envNumber('HTTP_BENCH_CONNECTIONS', 50));
  const m = machineInfo();
  log(`http-send: ${m.cpuCount}x ${m.cpuModel}, node ${m.node}; ${connections} connections, ${rounds} rounds x ${seconds} s per target`);

  const app = await startServer('serve-app');
  const bare = await startServer('serve-bare');
  const results: BenchResult[] = [];
  try {
    for (const kind of ['octet', 'json'] as const) {
      const ours: number[] = [];
      const base: number[] = [];
      const txBefore = await txPackets(app.port);
      // Alternating, so drift in the machine's load hits both sides alike.
      for (let i = 0; i < rounds; i++) {
        ours.push(await runLoad(app.port, kind, connections, seconds));
        base.push(await runLoad(bare.port, kind, connections, seconds));
        log(`  ${kind} round ${i + 1}/${rounds}: netstackd ${fmt(ours.at(-1)!)} req/s, bare fastify ${fmt(base.at(-1)!)} req/s`);
      }
      const framesPerReq = bodyOf(kind).frames;
      const sentFrames = (await txPackets(app.port)) - txBefore;
      // Rounds alternate and last equally long: the mean of each side is a paired
      // estimate; medians taken from different rounds can pair a busy moment with a quiet one.
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const pairedRatios = ours.map((v, i) => v / base[i]!);
      const note =
        kind === 'octet'
          ? `one ${FRAME_BYTES} B frame per request (octet-stream) to a dummy device, ${connections} keep-alive connections, node http client in a third process; baseline: a bare fastify route taking the same body; mean of ${rounds} alternating rounds`
          : `${BATCH} frames of ${FRAME_BYTES} B per request as JSON hex, ${connections} connections; baseline: a bare fastify route parsing the same JSON; mean of ${rounds} alternating rounds`;
      const extra = {
        req_per_s: Math.round(mean(ours)),
        baseline_req_per_s: Math.round(mean(base)),
        min: Math.round(Math.min(...ours) * framesPerReq),
        max: Math.round(Math.max(...ours) * framesPerReq),
        paired_ratio_median: Number(median(pairedRatios).toFixed(3)),
        frames_transmitted: sentFrames,
        connections,
        rounds,
        seconds_per_round: seconds,
      };
      const value = Math.round(mean(ours) * framesPerReq);
      const baselineValue = Math.round(mean(base) * framesPerReq);
      results.push(
        kind === 'octet'
          ? benchResult({ bench: 'http-send-64', value, unit: 'req/s', baseline: { name: 'fastify-bare-octet', value: baselineValue }, note, extra })
          : benchResult({ bench: 'http-batch-64', value, unit: 'frames/s', baseline: { name: 'fastify-bare-json', value: baselineValue }, note, extra }),
      );
    }
  } finally {
    await Promise.all([app.stop(), bare.stop()]);
  }
  emitResults(results);
}

const role = process.argv.indexOf('--role');
if (role < 0) await main();
else {
  const [name, ...rest] = process.argv.slice(role + 1);
  if (name === 'serve-app') await serveApp();
  else if (name === 'serve-bare') await serveBare();
  else if (name === 'load') await load(Number(rest[0]), rest[1] as BodyKind, Number(rest[2]), Number(rest[3]), Number(rest[4]));
  else throw new Error(`unknown role ${String(name)}`);
}
