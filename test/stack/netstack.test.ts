import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, dropReasonLabel } from '../../src/skb/drop-reason.ts';
import { createDevice, emptyDropCounts, NetStack, totalDrops } from '../../src/stack/index.ts';
import { buildFrame } from '../helpers/frames.ts';
import { assertQuiet } from '../helpers/conservation.ts';
import { sendNow, vethWithSockets, virtualStack } from '../helpers/stack.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';

test('a new stack: lo only, nothing in use, every drop reason at zero', () => {
  const stack = new NetStack();
  assert.deepEqual(stack.devices.list().map((d) => d.name), ['lo']);
  assert.equal(stack.pool.stats.inUse, 0);
  assert.equal(stack.totalDrops(), 0);
  assert.deepEqual(Object.keys(stack.drops).sort(), [...DROP_REASONS].sort());
  assert.equal(dropReasonLabel('SOCKET_RCVBUFF'), 'socket_rcvbuff');
  const counts = emptyDropCounts();
  counts.OTHERHOST = 2;
  counts.CPU_BACKLOG = 3;
  assert.equal(totalDrops(counts), 5);
  stack.close();
});

test('close() with frames everywhere in flight: sockets, qdisc, netem, backlog all freed, nothing charged', async () => {
  const { stack, clock } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack, { netem: { delayMs: 10 } });
  const [c, d] = await createDevice(stack, { kind: 'veth', up: true });
  const tx2 = stack.openPacketSocket({ dev: c! });
  const rx2 = stack.openPacketSocket({ dev: d! });
  for (let i = 0; i < 5; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  await clock.advance(10);
  for (let i = 0; i < 5; i++) sendNow(tx, buildFrame({ dst: b, src: a, seq: i }));
  // As from a NIC's interrupt: these wait in the backlog.
  bhDisabled(() => {
    for (let i = 0; i < 5; i++) sendNow(tx2, buildFrame({ dst: d!, src: c!, seq: i }));
  });
  assert.equal(rx.queued, 5, 'some delivered and not read');
  assert.ok(stack.softnet.backlog.length > 0, 'some in the backlog');
  assert.ok(stack.pool.stats.inUse > 0);
  const sockets = [tx, rx, tx2, rx2];
  stack.close();
  assert.equal(stack.sockets.size, 0);
  assert.deepEqual(stack.devices.list().map((x) => x.name), ['lo']);
  assert.equal(stack.lo.isUp(), false);
  assert.equal(clock.pending, 0, 'no timers left');
  assertQuiet(stack, sockets);
  assert.equal(stack.totalDrops(), 15, 'every frame sent and not read is counted under a reason');
  stack.close();
});
