import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { parseExposition, sendFrames, valueOf } from './helpers.ts';
import { startMetricsServer } from './server.ts';

test('GET /metrics over a real socket serves the exposition with the Prometheus content type', async (t) => {
  const stack = new NetStack();
  const server = await startMetricsServer(stack);
  t.after(async () => {
    await server.app.close();
    stack.close();
  });
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  sendFrames(stack.openPacketSocket({ dev: veth0! }), 11);
  stack.drain();

  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const samples = parseExposition(text);
  assert.equal(valueOf(samples, 'netstack_network_transmit_packets_total', { device: 'veth0' }), 11);
  assert.equal(valueOf(samples, 'netstack_network_receive_packets_total', { device: 'veth1' }), 11);
  assert.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'));
  // Not JSON-encoded on the way out: the body is the exposition itself.
  assert.ok(text.startsWith('# HELP '));
});

test('the OpenAPI document describes GET /metrics as text/plain', async (t) => {
  const stack = new NetStack();
  const server = await startMetricsServer(stack);
  t.after(async () => {
    await server.app.close();
    stack.close();
  });
  const doc = server.app.swagger() as { paths?: Record<string, Record<string, { description?: string; responses?: Record<string, { content?: Record<string, { schema?: { type?: string } }> }> }>> };
  const op = doc.paths?.['/metrics']?.get;
  assert.ok(op, 'GET /metrics is missing from the OpenAPI document');
  assert.ok((op.description ?? '').length > 20);
  assert.equal(op.responses?.['200']?.content?.['text/plain']?.schema?.type, 'string');
});
