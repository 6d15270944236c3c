// Change throughput with durable acknowledgements: PATCH /v1/devices/{name}
// (an MTU change each) answered only once the state file holding it has been
// fsync'd (file and directory; group commit folds concurrent changes into one
// write), against the same server, same changes, whose saver writes the file
// and renames it without any fsync (what "saved" meant before: nothing
// durable). Rounds alternate so machine noise hits both alike.
//
//   node --expose-gc --import tsx bench/durable.bench.ts
//   DURABLE_BENCH_CONCURRENCY=32 DURABLE_BENCH_ROUNDS=3 DURABLE_BENCH_MS=2000

import { mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { NetStack, createDevice } from '../src/stack/index.ts';
import { buildApp } from '../src/api/http/app.ts';
import { StateSaver } from '../src/config/state-saver.ts';
import { writeFileAtomic } from '../src/config/atomic-write.ts';
import { benchResult, emitResults, envNumber, fmt, log, machineInfo, median } from './lib.ts';

const CONCURRENCY = envNumber('DURABLE_BENCH_CONCURRENCY', 32);
const ROUNDS = envNumber('DURABLE_BENCH_ROUNDS', 3);
const ROUND_MS = envNumber('DURABLE_BENCH_MS', 2000);
const DEVICES = 64;

const m = machineInfo();
log(`durable: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; ${CONCURRENCY} concurrent clients, ${ROUNDS} x ${ROUND_MS} ms per variant`);

/** Same replacement as writeFileAtomic, without the fsyncs. */
async function writeNoSync(file: string, text: string): Promise<void> {
  const tmp = `${file}.nosync.tmp`;
  const h = await open(tmp, 'w', 0o644);
  try {
    await h.writeFile(text);
  } finally {
    await h.close();
  }
  await rename(tmp, file);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-durable-bench-'));

async function serverWith(write: (file: string, text: string) => Promise<void>, file: string) {
  const stack = new NetStack();
  for (let i = 0; i < DEVICES; i++) await createDevice(stack, { kind: 'dummy', name: `d${i}` });
  let saver: StateSaver | null = null;
  const app = await buildApp({ stack, commit: () => saver!.commit() });
  saver = new StateSaver(stack, file, { write });
  await saver.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    port,
    saver,
    async close() {
      await app.close();
      await saver!.stop();
      stack.close();
    },
  };
}

function patch(agent: Agent, port: number, dev: string, mtu: number): Promise<number> {
  const body = JSON.stringify({ mtu });
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'PATCH', path: `/v1/devices/${dev}`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Changes acknowledged per second over one round. */
async function round(port: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let done = 0;
  const end = performance.now() + ROUND_MS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      for (let k = 0; performance.now() < end; k++) {
        const status = await patch(agent, port, `d${c % DEVICES}`, 1000 + (k % 500));
        if (status !== 200) throw new Error(`PATCH answered ${status}`);
        done++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  return done / secs;
}

const durable = await serverWith(writeFileAtomic, path.join(dir, 'durable.json'));
const nosync = await serverWith(writeNoSync, path.join(dir, 'nosync.json'));
await round(durable.port);
await round(nosync.port);
const w0 = { durable: durable.saver.writes, nosync: nosync.saver.writes };
const rates = { durable: [] as number[], nosync: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  rates.durable.push(await round(durable.port));
  rates.nosync.push(await round(nosync.port));
  log(`  round ${r + 1}: durable ${fmt(rates.durable.at(-1)!)} changes/s, no fsync ${fmt(rates.nosync.at(-1)!)} changes/s`);
}
const writes = { durable: durable.saver.writes - w0.durable, nosync: nosync.saver.writes - w0.nosync };
await durable.close();
await nosync.close();
rmSync(dir, { recursive: true, force: true });

const d = median(rates.durable);
const n = median(rates.nosync);
const changes = (rates.durable.reduce((a, b) => a + b, 0) * ROUND_MS) / 1000;
log(`  durable ${fmt(d)} changes/s, ${writes.durable} fsync'd writes (~${fmt(changes / Math.max(1, writes.durable))} changes per write); no fsync ${fmt(n)} changes/s`);

emitResults([
  benchResult({
    bench: 'durable-ack-changes',
    value: d,
    unit: 'changes/s',
    baseline: { name: 'nosync-ack-changes', value: n },
    note: `PATCH mtu answered after the state file holding it is fsync'd (file + directory), group commit, ${CONCURRENCY} concurrent keep-alive clients in the same process, ${DEVICES} dummy devices; baseline: the same server whose saver writes + renames without fsync; median of ${ROUNDS} alternating rounds of ${ROUND_MS} ms`,
    extra: { writes: writes.durable, changes_per_write: Math.round(changes / Math.max(1, writes.durable)) },
  }),
]);
