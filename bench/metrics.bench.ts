// /metrics scrape cost with 1000 devices (500 veth pairs) and some sockets,
// against a prom-client registry holding the same series with their values
// set directly (no collect()): the ratio is what reading the stack at
// scrape time costs over prom-client's own formatting.
//
//   node --expose-gc --import tsx bench/metrics.bench.ts
//   METRICS_BENCH_SCRAPES=40 (timed scrapes per variant, default)

import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { NetStack, createDevice } from '../src/stack/index.ts';
import type { NetDevice } from '../src/dev/netdevice.ts';
import { createMetrics } from '../src/metrics/index.ts';
import metricsRoutes from '../src/api/http/routes/metrics.ts';
import { benchResult, emitResults, fmt, forceGc, log, machineInfo, median, type BenchResult } from './lib.ts';

const VETH_PAIRS = 500;
const SOCKETS = 100;
const WARMUP_SCRAPES = 8;
const SCRAPES = Math.max(5, Math.round(Number(process.env.METRICS_BENCH_SCRAPES ?? 40)));

const m = machineInfo();
log(`metrics: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; ${VETH_PAIRS * 2} veth devices + lo, ${SOCKETS + 1} sockets`);

// ---- the stack: 1000 devices with traffic, sockets bound to some ----

const stack = new NetStack({ limits: { maxDevices: VETH_PAIRS * 2 + 16, maxSockets: SOCKETS + 16 } });
const ends: NetDevice[] = [];
for (let i = 0; i < VETH_PAIRS; i++) {
  ends.push(...(await createDevice(stack, { kind: 'veth', name: `va${i}`, peer: `vb${i}`, up: true })));
}
const frame = Buffer.alloc(60);
frame.fill(0xff, 0, 6);
frame[12] = 0x88;
frame[13] = 0xb5;
for (let i = 0; i < SOCKETS; i++) {
  const sock = stack.openPacketSocket({ dev: ends[(i * 7) % ends.length]! });
  for (let k = 0; k < 3; k++) sock.send(frame);
}
stack.openPacketSocket({});
stack.drain();

const deviceCount = stack.devices.size;
const socketCount = stack.sockets.size;
const ours = createMetrics(stack);

// ---- the baseline: the same families and series, values set directly ----

async function staticTwin(source: Registry): Promise<Registry> {
  const twin = new Registry();
  collectDefaultMetrics({ register: twin });
  for (const f of await source.getMetricsAsJSON()) {
    if (!f.name.startsWith('netstack_')) continue;
    const labelNames = Object.keys(f.values[0]?.labels ?? {});
    if (String(f.type) === 'counter') {
      const c = new Counter({ name: f.name, help: f.help, labelNames, registers: [twin] });
      for (const v of f.values) c.inc(v.labels, v.value);
    } else {
      const g = new Gauge({ name: f.name, help: f.help, labelNames, registers: [twin] });
      for (const v of f.values) g.set(v.labels, v.value);
    }
  }
  return twin;
}

const baseline = await staticTwin(ours.registry);
const text = await ours.metrics();
const baseText = await baseline.metrics();
const seriesOf = (t: string): number => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
const ourSeries = seriesOf(text);
const baseSeries = seriesOf(baseText);
log(`  exposition: ${ourSeries} series, ${fmt(text.length)} B (baseline ${baseSeries} series, ${fmt(baseText.length)} B)`);

// ---- timing: alternate ours and baseline so machine noise hits both alike ----

/** Wall-clock ms, and CPU ms of this process (user + system), which a loaded machine inflates less. */
async function timeOnce(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

interface Timings {
  wall: number[];
  cpu: number[];
}

async function compare(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: Timings; b: Timings }> {
  for (let i = 0; i < WARMUP_SCRAPES; i++) {
    await a();
    await b();
  }
  forceGc();
  const out = { a: { wall: [] as number[], cpu: [] as number[] }, b: { wall: [] as number[], cpu: [] as number[] } };
  for (let i = 0; i < SCRAPES; i++) {
    const ta = await timeOnce(a);
    out.a.wall.push(ta.wall);
    out.a.cpu.push(ta.cpu);
    const tb = await timeOnce(b);
    out.b.wall.push(tb.wall);
    out.b.cpu.push(tb.cpu);
  }
  return out;
}

const direct = await compare(() => ours.metrics(), () => baseline.metrics());

// ---- over HTTP: our route vs a bare fastify route serving the baseline ----

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${addr.port}/metrics`;
}

const ourApp = Fastify({ logger: false });
ourApp.setValidatorCompiler(validatorCompiler);
ourApp.setSerializerCompiler(serializerCompiler);
await ourApp.register(metricsRoutes, { stack });
const bareApp = Fastify({ logger: false });
bareApp.get('/metrics', async (_req, reply) => reply.type(baseline.contentType).send(await baseline.metrics()));
const ourUrl = await listen(ourApp);
const bareUrl = await listen(bareApp);

async function get(url: string): Promise<void> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  await res.text();
}

const http = await compare(() => get(ourUrl), () => get(bareUrl));
await ourApp.close();
await bareApp.close();
stack.close();

// ---- report ----

function summary(t: Timings): { median: number; min: number; max: number; cpu: number } {
  return { median: median(t.wall), min: Math.min(...t.wall), max: Math.max(...t.wall), cpu: median(t.cpu) };
}

const d = { ours: summary(direct.a), base: summary(direct.b) };
const h = { ours: summary(http.a), base: summary(http.b) };
const line = (x: ReturnType<typeof summary>): string =>
  `${x.median.toFixed(2)} ms [${x.min.toFixed(2)}-${x.max.toFixed(2)}], cpu ${x.cpu.toFixed(2)} ms`;
log(`  await metrics(): ${line(d.ours)}; static registry ${line(d.base)}`);
log(`  GET /metrics:    ${line(h.ours)}; bare fastify + static registry ${line(h.base)}`);
log(`  load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${m.cpuCount} cores`);

const extra = (x: { ours: ReturnType<typeof summary>; base: ReturnType<typeof summary> }): Record<string, number | string> => ({
  min_ms: x.ours.min,
  max_ms: x.ours.max,
  cpu_ms: x.ours.cpu,
  baseline_cpu_ms: x.base.cpu,
  series: ourSeries,
  bytes: text.length,
  devices: deviceCount,
  sockets: socketCount,
  scrapes: SCRAPES,
  target_ms: 50,
  loadavg_1m: os.loadavg()[0]!,
});

const results: BenchResult[] = [
  benchResult({
    bench: 'metrics-scrape-1000',
    value: d.ours.median,
    unit: 'ms',
    baseline: { name: 'prom-client-static-1000', value: d.base.median },
    note: 'median ms per await metrics() with 1000 veth devices + lo and 101 sockets; baseline: a prom-client registry with the same series set directly',
    extra: extra(d),
  }),
  benchResult({
    bench: 'metrics-scrape-1000-http',
    value: h.ours.median,
    unit: 'ms',
    baseline: { name: 'fastify-static-registry-1000', value: h.base.median },
    note: 'median ms per GET /metrics (body read) on 127.0.0.1; baseline: a bare fastify route serving the static registry',
    extra: extra(h),
  }),
];
emitResults(results);
