// 10,000 devices (issue 12, defect 9): how long the full GET /v1/devices
// takes, whether its time per device stays flat from 1,000 to 10,000, and the
// service's RSS before, with and after 10,000 devices.
//
// devices-list-10k: in this process, a node:http client reading (and
//   dropping) the body of GET /v1/devices with 10,001 devices; baseline: a
//   bare fastify route serving the same JSON text, prebuilt, so the ratio is
//   what building the list costs over moving its bytes. `extra` has the time
//   per device at 1,001 devices and at 10,001 (linear: about equal).
// devices-10k-rss: netstackd in its own process (dist/main.js when built,
//   else src/main.ts through tsx), driven over loopback from this one, two
//   rounds of: 5,000 veth pairs created, listed whole 3 times, deleted. RSS
//   idle, with them, after the lists, just after deleting and DEVICES_BENCH_
//   SETTLE_S later (the value: the second round's, so what a round leaves
//   behind shows as growth over the first); baseline: the RSS of a bare
//   `node` process holding nothing.
//
//   node --expose-gc --import tsx bench/devices.bench.ts
//   DEVICES_BENCH_REPS=7 (timed lists per size) DEVICES_BENCH_CONCURRENCY=8

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { NetStack, createDevice } from '../src/stack/index.ts';
import { buildApp } from '../src/api/http/app.ts';
import { deviceOut } from '../src/api/http/routes/devices.ts';
import { DeviceList } from '../src/api/http/schemas/index.ts';
import { benchResult, emitResults, envNumber, fmt, forceGc, log, machineInfo, median, repoRoot, type BenchResult } from './lib.ts';

const REPS = envNumber('DEVICES_BENCH_REPS', 7);
const CONCURRENCY = envNumber('DEVICES_BENCH_CONCURRENCY', 8);
const SETTLE_S = envNumber('DEVICES_BENCH_SETTLE_S', 5);
const SMALL = 1000;
const LARGE = 10_000;

const m = machineInfo();
log(`devices: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; lists of ${SMALL} and ${LARGE} devices, ${REPS} reps`);

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One request; the body is read and dropped (or kept when asked). */
function call(port: number, method: string, p: string, body?: unknown, keep = false): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, method, path: p, agent, headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let bytes = 0;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (keep) parts.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, text: keep ? Buffer.concat(parts).toString() : '' }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function timedGet(port: number, p: string): Promise<{ ms: number; bytes: number }> {
  const t0 = process.hrtime.bigint();
  const r = await call(port, 'GET', p);
  if (r.status !== 200) throw new Error(`GET ${p}: ${r.status}`);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: r.bytes };
}

async function medianGet(port: number, p: string, reps: number): Promise<{ ms: number; bytes: number }> {
  for (let i = 0; i < 2; i++) await timedGet(port, p);
  forceGc();
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const r = await timedGet(port, p);
    times.push(r.ms);
    bytes = r.bytes;
  }
  return { ms: median(times), bytes };
}

/** Runs `jobs` with at most CONCURRENCY at a time. */
async function pool(count: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const results: BenchResult[] = [];

// ---- devices-list-10k: in process ----

{
  const stack = new NetStack({ limits: { maxDevices: LARGE + 16 } });
  const app = await buildApp({ stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  let pairs = 0;
  const grow = async (devices: number): Promise<void> => {
    for (; pairs * 2 < devices; pairs++) await createDevice(stack, { kind: 'veth', name: `a${pairs}`, peer: `b${pairs}`, up: true });
  };
  await grow(SMALL);
  const small = await medianGet(port, '/v1/devices', REPS);
  await grow(LARGE);
  const n = stack.devices.size;
  const large = await medianGet(port, '/v1/devices', REPS);
  const noStats = await medianGet(port, '/v1/devices?stats=0', REPS);
  const page = await medianGet(port, `/v1/devices?limit=100&after=${LARGE / 2}`, REPS);

  const text = (await call(port, 'GET', '/v1/devices', undefined, true)).text;
  const bare = Fastify();
  bare.get('/v1/devices', (_req, reply) => reply.type('application/json; charset=utf-8').send(text));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const barePort = (bare.server.address() as AddressInfo).port;
  const base = await medianGet(barePort, '/v1/devices', REPS);
  await bare.close();

  // The route as it was: every device described into one array, serialized by
  // the zod type provider (safeEncode, then JSON.stringify).
  const old = Fastify();
  old.setValidatorCompiler(validatorCompiler);
  old.setSerializerCompiler(serializerCompiler);
  old.withTypeProvider<ZodTypeProvider>().get('/v1/devices', { schema: { response: { 200: DeviceList } } }, async () =>
    stack.devices.list().map((dev) => deviceOut(dev)),
  );
  await old.listen({ host: '127.0.0.1', port: 0 });
  const zod = await medianGet((old.server.address() as AddressInfo).port, '/v1/devices', REPS);
  await old.close();
  await app.close();
  stack.close();

  const usSmall = (small.ms * 1000) / (SMALL + 1);
  const usLarge = (large.ms * 1000) / n;
  log(`  ${SMALL + 1} devices: ${fmt(small.ms)} ms (${fmt(usSmall)} µs/device); ${n}: ${fmt(large.ms)} ms (${fmt(usLarge)} µs/device), ${fmt(large.bytes)} B`);
  log(`  stats=0 ${fmt(noStats.ms)} ms; a page of 100 ${fmt(page.ms)} ms; bare route with the same text ${fmt(base.ms)} ms; through the zod serializer (as before) ${fmt(zod.ms)} ms`);
  results.push(
    benchResult({
      bench: 'devices-list-10k',
      value: large.ms,
      unit: 'ms',
      baseline: { name: 'bare fastify route serving the same JSON text', value: base.ms },
      note:
        `median of ${REPS} full GET /v1/devices with ${n} devices (veth, up; ${(large.bytes / 1048576).toFixed(1)} MiB), node:http client in the same process; ` +
        `per device ${fmt(usSmall)} µs at ${SMALL + 1} devices, ${fmt(usLarge)} µs at ${n} (x${fmt(usLarge / usSmall)}); ` +
        `stats=0 ${fmt(noStats.ms)} ms; a page of 100 ${fmt(page.ms)} ms; the same list through the zod response serializer (the route before) ${fmt(zod.ms)} ms`,
      extra: {
        devices: n,
        bytes: large.bytes,
        ms_1k: small.ms,
        us_per_device_1k: usSmall,
        us_per_device_10k: usLarge,
        per_device_ratio_10k_1k: usLarge / usSmall,
        ms_stats0: noStats.ms,
        ms_page_100: page.ms,
        ms_zod_serializer: zod.ms,
      },
    }),
  );
}

// ---- devices-10k-rss: the service in its own process ----

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (line === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(/(\d+)/.exec(line)![1]) / 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The RSS of a process doing nothing, measured the same way. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await sleep(500);
  const rss = rssMiB(child.pid!);
  await stop(child);
  return rss;
}

/** From prom-client's process metrics: heap total, used, external, new and old space, MiB. */
async function heapOf(port: number): Promise<number[]> {
  const text = (await call(port, 'GET', '/metrics', undefined, true)).text;
  const get = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN) / 1048576;
  return [
    get(/^nodejs_heap_size_total_bytes (\S+)/m),
    get(/^nodejs_heap_size_used_bytes (\S+)/m),
    get(/^nodejs_external_memory_bytes (\S+)/m),
    get(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m),
    get(/^nodejs_heap_space_size_total_bytes\{space="old"\} (\S+)/m),
  ];
}

{
  const compiled = path.join(repoRoot, 'dist', 'main.js');
  const fromDist = existsSync(compiled);
  const args = fromDist ? [compiled] : ['--import', 'tsx', path.join(repoRoot, 'src', 'main.ts')];
  const child = spawn(process.execPath, [...args, '--listen', '127.0.0.1:0', '--max-devices', String(LARGE + 16), '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const at = /"msg":"listening"[^\n]*/.exec(buf) ?? /listening[^\n]*/.exec(buf);
      const p = at === null ? null : /127\.0\.0\.1:(\d+)/.exec(at[0]);
      if (p !== null) resolve(Number(p[1]));
    });
    child.once('exit', (code) => reject(new Error(`netstackd exited with ${code} before listening: ${buf.slice(0, 500)}`)));
  });
  child.stdout!.resume();
  const pid = child.pid!;
  await call(port, 'GET', '/v1/devices');
  await sleep(1000);
  const idle = rssMiB(pid);
  const idleHeap = await heapOf(port);

  /** Create 10,000 devices, list them whole 3 times, delete them, wait SETTLE_S: RSS at each step. */
  const cycle = async (): Promise<{ withDevices: number; listed: number; deleted: number; settled: number }> => {
    await pool(LARGE / 2, async (i) => {
      const r = await call(port, 'POST', '/v1/devices', { kind: 'veth', name: `a${i}`, peer: `b${i}`, up: true });
      if (r.status !== 201) throw new Error(`create a${i}: ${r.status}`);
    });
    await sleep(1000);
    const withDevices = rssMiB(pid);
    for (let i = 0; i < 3; i++) await timedGet(port, '/v1/devices');
    await sleep(1000);
    const listed = rssMiB(pid);
    await pool(LARGE / 2, async (i) => {
      const r = await call(port, 'DELETE', `/v1/devices/a${i}`);
      if (r.status !== 200) throw new Error(`delete a${i}: ${r.status}`);
    });
    const deleted = rssMiB(pid);
    const trail: string[] = [];
    for (let s = 1; s <= SETTLE_S; s++) {
      await sleep(1000);
      trail.push(fmt(rssMiB(pid)));
    }
    log(`  RSS each second after deleting: ${trail.join(' ')}`);
    return { withDevices, listed, deleted, settled: rssMiB(pid) };
  };
  const first = await cycle();
  const second = await cycle();
  const settledHeap = await heapOf(port);
  log(`  heap MiB (total/used/external/new space/old space) idle: ${idleHeap.map((v) => fmt(v)).join('/')}; settled: ${settledHeap.map((v) => fmt(v)).join('/')}`);
  const { withDevices, listed, deleted, settled } = second;
  await stop(child);
  const bare = await bareNodeRss();
  log(
    `  netstackd (${fromDist ? 'dist' : 'tsx'}) RSS MiB: idle ${fmt(idle)}; first round settled ${fmt(first.settled)}; ` +
      `second: with ${LARGE} ${fmt(withDevices)}, listed x3 ${fmt(listed)}, deleted ${fmt(deleted)}, ${SETTLE_S} s later ${fmt(settled)}; bare node ${fmt(bare)}`,
  );
  results.push(
    benchResult({
      bench: 'devices-10k-rss',
      value: settled,
      unit: 'MiB',
      baseline: { name: 'bare node process holding nothing', value: bare },
      note:
        `netstackd (${fromDist ? 'dist/main.js' : 'src/main.ts through tsx'}) RSS ${SETTLE_S} s after deleting ${LARGE} devices the second time ` +
        `(each round: veth pairs, up, created ${CONCURRENCY} at a time over HTTP, listed whole 3 times, deleted); ` +
        `idle before ${fmt(idle)} MiB; first round settled at ${fmt(first.settled)}; second round: with them ${fmt(withDevices)}, after the lists ${fmt(listed)}, just after deleting ${fmt(deleted)}; ` +
        `heap total/used idle ${fmt(idleHeap[0]!)}/${fmt(idleHeap[1]!)} MiB, settled ${fmt(settledHeap[0]!)}/${fmt(settledHeap[1]!)}`,
      extra: {
        idle_mib: idle,
        first_settled_mib: first.settled,
        with_10k_mib: withDevices,
        listed_mib: listed,
        deleted_mib: deleted,
        settled_mib: settled,
        bare_node_mib: bare,
        heap_total_idle_mib: idleHeap[0]!,
        heap_total_settled_mib: settledHeap[0]!,
        heap_used_idle_mib: idleHeap[1]!,
        heap_used_settled_mib: settledHeap[1]!,
        runtime: fromDist ? 'dist' : 'tsx',
      },
    }),
  );
}

agent.destroy();
emitResults(results);
