// A real Prometheus scrapes a listening app and answers queries with what
// the stack counted: the end-to-end check of DESIGN §4 ("metrics by promtool
// and a real Prometheus scrape").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetStack, createDevice, deleteDevice } from '../../src/stack/index.ts';
import { sendFrames } from './helpers.ts';
import { startMetricsServer } from './server.ts';

const DEADLINE_MS = 30_000;

function prometheusMissing(): string | null {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  return r.error ? `the prometheus binary is not installed (${r.error.message}); apt-get install prometheus provides it` : null;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(promUrl: string, expr: string): Promise<QueryResult['data']['result'] | null> {
  try {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (!res.ok) return null;
    const body = (await res.json()) as QueryResult;
    return body.status === 'success' ? body.data.result : null;
  } catch {
    // Prometheus is still starting.
    return null;
  }
}

/** Polls until `accept` holds for the query's result, or the deadline passes; returns the last result. */
async function waitForQuery(
  promUrl: string,
  expr: string,
  accept: (r: QueryResult['data']['result']) => boolean,
): Promise<QueryResult['data']['result'] | null> {
  let last: QueryResult['data']['result'] | null = null;
  // Polls every 250 ms (plus the query's own time), for at least DEADLINE_MS.
  for (let polls = Math.ceil(DEADLINE_MS / 250); polls > 0; polls--) {
    last = await query(promUrl, expr);
    if (last !== null && accept(last)) return last;
    await sleep(250);
  }
  return last;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // An unref'd timer: once Prometheus has exited, it must not keep the test process alive.
  const killed = await Promise.race([exited.then(() => true), sleep(5000, false, { ref: false })]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

test('a real Prometheus scrapes /metrics and reports the frames the stack sent', async (t) => {
  const missing = prometheusMissing();
  if (missing !== null) {
    t.diagnostic(missing);
    t.skip(missing);
    return;
  }
  const stack = new NetStack();
  const server = await startMetricsServer(stack);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netstack-prom-'));
  let prom: ChildProcess | null = null;
  let promLog = '';
  try {
    const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
    await createDevice(stack, { kind: 'dummy', name: 'dummy7', up: true });
    const promPort = await freePort();
    const promUrl = `http://127.0.0.1:${promPort}`;
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: netstackd',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${server.port}']`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (c: Buffer) => (promLog += c.toString()));
    prom.stderr?.on('data', (c: Buffer) => (promLog += c.toString()));

    const started = Date.now();
    sendFrames(stack.openPacketSocket({ dev: veth0! }), 123);
    stack.drain();

    const tx = await waitForQuery(promUrl, 'netstack_network_transmit_packets_total{device="veth0"}', (r) => r[0]?.value[1] === '123');
    assert.equal(tx?.[0]?.value[1], '123', `Prometheus did not report 123 frames in ${DEADLINE_MS} ms; its log:\n${promLog}`);
    assert.equal(tx?.[0]?.metric.job, 'netstackd');
    t.diagnostic(`Prometheus reported the frames ${Date.now() - started} ms after it was started`);
    const rx = await query(promUrl, 'netstack_network_receive_packets_total{device="veth1"}');
    assert.equal(rx?.[0]?.value[1], '123');
    const up = await query(promUrl, 'up{job="netstackd"}');
    assert.equal(up?.[0]?.value[1], '1');

    // Prometheus parsed the family as a counter, with our help text.
    const meta = (await (await fetch(`${promUrl}/api/v1/metadata?metric=netstack_network_transmit_packets_total`)).json()) as {
      data: Record<string, { type: string; help: string }[]>;
    };
    assert.equal(meta.data.netstack_network_transmit_packets_total?.[0]?.type, 'counter');

    // A deleted device goes stale in Prometheus once a scrape no longer has it.
    deleteDevice(stack, 'dummy7');
    const deleted = Date.now();
    const gone = await waitForQuery(promUrl, 'netstack_network_up{device="dummy7"}', (r) => r.length === 0);
    assert.deepEqual(gone, [], `dummy7 is still reported; Prometheus log:\n${promLog}`);
    t.diagnostic(`the deleted device went stale ${Date.now() - deleted} ms after deletion`);
  } finally {
    if (prom !== null) await stopProcess(prom);
    await server.app.close();
    stack.close();
    await rm(dir, { recursive: true, force: true });
  }
});
