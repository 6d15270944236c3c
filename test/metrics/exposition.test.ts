// /metrics writes the netstack_ families itself for speed; prom-client's own
// formatter (registry.metrics(), fed by each family's collect()) is the
// reference it must match byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { parseExposition, sendFrames, valueOf } from './helpers.ts';

function netstackPart(text: string): string {
  const at = text.indexOf('# HELP netstack_');
  assert.ok(at >= 0, 'no netstack_ family in the exposition');
  return text.slice(at);
}

test('metrics() writes the same netstack_ text as prom-client, escaping included', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  await createDevice(stack, { kind: 'veth', name: 'slow0', peer: 'slow1', up: true, netem: { delayMs: 1 } });
  // Interface names may hold quotes and backslashes; label values must escape them.
  await createDevice(stack, { kind: 'dummy', name: 'q"uo\\te', up: true });
  const reader = stack.openPacketSocket({ dev: veth0!.link!, rcvbuf: 0 });
  stack.openPacketSocket({});
  const sender = stack.openPacketSocket({ dev: veth0! });
  sendFrames(sender, 9);
  stack.drain();
  assert.ok(reader.sk.drops > 0);

  const m = createMetrics(stack);
  for (let round = 0; round < 2; round++) {
    const fast = await m.metrics();
    const reference = await m.registry.metrics();
    assert.equal(netstackPart(fast), netstackPart(reference));
    assert.ok(fast.endsWith('\n') && !fast.endsWith('\n\n'));
    // The process metrics come along too, as prom-client writes them.
    assert.ok(fast.includes('\n# TYPE process_cpu_user_seconds_total counter\n'));
    assert.ok(fast.startsWith('# HELP '));

    const samples = parseExposition(fast);
    assert.equal(valueOf(samples, 'netstack_network_up', { device: 'q"uo\\te' }), 1);
    assert.ok(fast.includes('netstack_network_up{device="q\\"uo\\\\te"} 1\n'));
    // Different numbers (and one socket more) for the second round.
    stack.openPacketSocket({ dev: veth0! });
    sendFrames(sender, 2);
    stack.drain();
  }
});
