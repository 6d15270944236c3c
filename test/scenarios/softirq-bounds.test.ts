// Scenario: many stacks of one process joined by bridged veths. The process
// is one CPU: a veth transmit is received at once only from process context
// (local_bh_enable with no bottom half running); from a bottom half the
// frame waits for its own stack's run. So a chain of stacks never nests one
// bottom half in another (no call-stack growth), and a broadcast storm
// around a loop of bridges runs in bounded bottom halves: the event loop
// gets its turn, however many stacks keep raising each other. (A storm that
// kept the event loop would hang these tests: they time out instead.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { createVethPair } from '../../src/dev/drivers/veth.ts';
import { registerNetdevice } from '../../src/dev/register.ts';
import { devOpen } from '../../src/dev/control.ts';
import { createDevice, NetStack, setLink } from '../../src/stack/index.ts';
import { until } from '../helpers/wait.ts';

/** `n` stacks, each with a bridge br0; stack i's port r cabled to stack i+1's port l (and back to 0 when `ring`). */
async function bridgedStacks(n: number, ring: boolean): Promise<NetStack[]> {
  const stacks: NetStack[] = [];
  for (let i = 0; i < n; i++) {
    const s = new NetStack();
    await createDevice(s, { kind: 'bridge', name: 'br0', up: true });
    stacks.push(s);
  }
  for (let i = 0; i < (ring ? n : n - 1); i++) link(stacks[i]!, 'r', stacks[(i + 1) % n]!, 'l');
  return stacks;
}

function link(a: NetStack, an: string, b: NetStack, bn: string): void {
  const [va, vb] = createVethPair(a, b);
  registerNetdevice(a.devices, va, an);
  registerNetdevice(b.devices, vb, bn);
  devOpen(va);
  devOpen(vb);
  setLink(a, an, { master: 'br0' });
  setLink(b, bn, { master: 'br0' });
}

/** A broadcast of an unused ethertype: every bridge floods it, no stack takes it. */
function broadcast(): Buffer {
  const f = Buffer.alloc(60, 0);
  f.fill(0xff, 0, 6);
  f[6] = 2;
  f[11] = 1;
  f.writeUInt16BE(0x88b5, 12);
  return f;
}

const inUse = (stacks: NetStack[]): number => stacks.reduce((n, s) => n + s.pool.stats.inUse, 0);
const processed = (stacks: NetStack[]): number => stacks.reduce((n, s) => n + s.softnet.stats.processed, 0);

test('a broadcast crosses a chain of 1,000 bridged stacks: one bottom half at a time, nothing left in use', async () => {
  const n = 1000;
  const stacks = await bridgedStacks(n, false);
  await settle();
  const tx = stacks[0]!.openPacketSocket({ dev: stacks[0]!.devices.get('br0')! });
  assert.equal(tx.send(broadcast()), 'sent');
  // At once only the first hop (process context); each further hop is its own stack's run.
  assert.equal(stacks[1]!.softnet.stats.processed, 1);
  assert.equal(stacks[2]!.softnet.stats.processed, 0);
  await until(() => stacks[n - 1]!.softnet.stats.processed === 1, 'the broadcast at the last stack');
  await settle();
  assert.equal(inUse(stacks), 0, 'every clone freed');
  // Each stack past the first hears it once on br0 (no one takes ethertype 0x88b5).
  assert.equal(stacks.reduce((d, s) => d + s.drops.UNHANDLED_PROTO, 0), n - 1);
  tx.close();
  for (const s of stacks) s.close();
});

test('a broadcast storm around a loop of three bridges with parallel links: the event loop still turns within bounded work', { timeout: 60_000 }, async () => {
  const stacks = await bridgedStacks(3, true);
  link(stacks[0]!, 'x0', stacks[1]!, 'y0');
  link(stacks[0]!, 'x1', stacks[1]!, 'y1');
  await settle();
  const tx = stacks[0]!.openPacketSocket({ dev: stacks[0]!.devices.get('br0')! });
  let atTurn = -1;
  setImmediate(() => (atTurn = processed(stacks)));
  tx.send(broadcast());
  await until(() => atTurn >= 0, 'a turn of the event loop');
  // Before the loop turned: the run at once (one budget) and at most ten
  // bottom halves in a row (MAX_SOFTIRQ_RESTART), each within its budget.
  const budget = stacks[0]!.sysctl.get('net.core.netdev_budget');
  assert.ok(atTurn > 0, 'the storm was running');
  assert.ok(atTurn <= 11 * budget, `${atTurn} frames before the loop turned`);
  // It keeps multiplying; the loop keeps turning.
  let turns = 0;
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  assert.equal(turns, 5);
  assert.ok(processed(stacks) > atTurn, 'and the storm went on between the turns');
  tx.close();
  for (const s of stacks) s.close();
  assert.equal(inUse(stacks), 0, 'closing the stacks frees every frame of the storm');
});

test('many sends from one task into a running storm: no stale bottom-half callbacks pile up, the work per turn stays bounded', { timeout: 60_000 }, async () => {
  const stacks = await bridgedStacks(3, true);
  link(stacks[0]!, 'x0', stacks[1]!, 'y0');
  link(stacks[0]!, 'x1', stacks[1]!, 'y1');
  await settle();
  const tx = stacks[0]!.openPacketSocket({ dev: stacks[0]!.devices.get('br0')! });
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  tx.send(broadcast());
  await turn();
  // Each send from process context takes the stacks' raised runs at once;
  // the callbacks those raises had queued must not run them a second time.
  for (let i = 0; i < 50; i++) tx.send(broadcast());
  await turn();
  const before = processed(stacks);
  await turn();
  const budget = stacks[0]!.sysctl.get('net.core.netdev_budget');
  // Between two of our callbacks: at most two turns of ten bottom halves in
  // a row plus one deferred run per stack, each within its budget.
  const bound = 2 * (10 + stacks.length) * budget;
  assert.ok(processed(stacks) - before <= bound, `${processed(stacks) - before} frames in a turn (bound ${bound})`);
  tx.close();
  for (const s of stacks) s.close();
  assert.equal(inUse(stacks), 0);
});

