// The stack's event bus: listeners hear every event in order, a listener that
// throws is isolated (and reported), and the stack builds no event while no
// one listens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, NetStack, createDevice, setLink, deleteDevice } from '../../src/stack/index.ts';

test('listeners hear events in order; a throwing one is reported and the others still hear', () => {
  const errors: string[] = [];
  const bus = new EventBus((_err, type) => errors.push(type));
  const heard: string[] = [];
  assert.equal(bus.listening, false);
  const offBad = bus.subscribe(() => {
    throw new Error('boom');
  });
  const off = bus.subscribe((type, action, object) => heard.push(`${type} ${action} ${JSON.stringify(object)}`));
  assert.equal(bus.listening, true);
  bus.publish('addr', 'new', { local: '192.0.2.1' });
  bus.publish('route', 'del', { dst: '198.51.100.0/24' });
  assert.deepEqual(heard, ['addr new {"local":"192.0.2.1"}', 'route del {"dst":"198.51.100.0/24"}']);
  assert.deepEqual(errors, ['addr', 'route']);
  offBad();
  off();
  assert.equal(bus.listening, false);
});

test('the stack publishes link changes from its notifier, and only while someone listens', async () => {
  const stack = new NetStack();
  await createDevice(stack, { kind: 'dummy', name: 'quiet0' });
  const heard: string[] = [];
  const off = stack.events.subscribe((type, action, object) => {
    if (type === 'link') heard.push(`${action} ${(object as { name: string }).name}`);
  });
  await createDevice(stack, { kind: 'dummy', name: 'ev0' });
  setLink(stack, 'ev0', { up: true });
  setLink(stack, 'ev0', { mtu: 1400 });
  deleteDevice(stack, 'ev0');
  off();
  setLink(stack, 'quiet0', { mtu: 1400 });
  assert.deepEqual(heard.slice(0, 2), ['new ev0', 'change ev0']);
  assert.equal(heard.at(-1), 'del ev0');
  assert.ok(!heard.some((h) => h.includes('quiet0')));
  stack.close();
});
