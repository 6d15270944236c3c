// `promtool check metrics` on the whole exposition, as DESIGN §3 requires:
// the netstack_ families and the process_*/nodejs_* metrics beside them
// (prom-client's three `_total` gauges are left out by createMetrics).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { sendFrames } from './helpers.ts';

const OUR_LINES = /^(# (HELP|TYPE) )?netstack_/;

function promtoolMissing(): string | null {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.error ? `promtool is not installed (${r.error.message}); apt-get install prometheus provides it` : null;
}

function promtoolCheck(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

test('promtool check metrics finds nothing to complain about in the whole /metrics text', async (t) => {
  const missing = promtoolMissing();
  if (missing !== null) {
    t.diagnostic(missing);
    t.skip(missing);
    return;
  }
  const stack = new NetStack();
  t.after(() => stack.close());
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true, netem: { delayMs: 1 } });
  await createDevice(stack, { kind: 'dummy', name: 'dummy0', up: true });
  const sock = stack.openPacketSocket({ dev: veth0! });
  stack.openPacketSocket({});
  sendFrames(sock, 3);
  const text = await createMetrics(stack).metrics();
  const ours = text.split('\n').filter((l) => OUR_LINES.test(l)).join('\n') + '\n';
  assert.ok(ours.split('\n').length > 100, 'expected the netstack_ families in the exposition');

  assert.match(text, /^process_cpu_user_seconds_total /m, 'the process metrics are part of it');
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  const result = await promtoolCheck(text);
  assert.equal(result.output, '');
  assert.equal(result.code, 0);
});

test('promtool does complain about a badly named family (the lint is live)', async (t) => {
  const missing = promtoolMissing();
  if (missing !== null) {
    t.skip(missing);
    return;
  }
  const result = await promtoolCheck('# HELP netstack_rx_packets Frames.\n# TYPE netstack_rx_packets counter\nnetstack_rx_packets 1\n');
  assert.match(result.output, /_total/);
  assert.notEqual(result.code, 0);
});
