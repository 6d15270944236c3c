// TCP between two stacks of one process joined by a veth pair whose ends
// live one in each (createVethPair's peerCore), the path bench/tcp.bench.ts
// measures: the bytes arrive intact and nothing is left in use; segments the
// sending TCP built cross as CHECKSUM_PARTIAL and are trusted, while netem's
// corruption on the way makes them CHECKSUM_NONE again, so the receiver
// verifies and drops what was damaged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { setLink } from '../../src/stack/index.ts';
import { getNetem } from '../../src/dev/wrappers/netem.ts';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, allocSkbFrom, skbCsumUnnecessary } from '../../src/skb/skbuff.ts';
import { runFor } from '../helpers/inet.ts';
import { vethStacks } from '../helpers/veth-stacks.ts';

function pair() {
  const clock = new VirtualClock();
  return { clock, ...vethStacks({ a: { clock }, b: { clock } }) };
}

const netstat = (inet: { netstat(): unknown }) => inet.netstat() as Record<string, Record<string, number>>;

async function transfer(p: ReturnType<typeof pair>, size: number): Promise<Buffer> {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >> 9)) & 255;
  const l = await p.tb.open({ bind: '0.0.0.0:9', listen: 4 });
  let got: Promise<Buffer> | undefined;
  p.tb.setAcceptHook(l, (child) => {
    got = (async () => {
      const chunks: Buffer[] = [];
      for (let x = await child.sk.read(); x !== null; x = await child.sk.read()) chunks.push(x);
      child.sk.close();
      return Buffer.concat(chunks);
    })();
  });
  const c = await runFor(p.clock, p.ta.open({ connect: '192.0.2.2:9' }));
  assert.equal(await runFor(p.clock, c.sk.write(data)), size);
  c.sk.close();
  await runFor(p.clock, (async () => { while (got === undefined) await new Promise((r) => setImmediate(r)); })());
  const out = await runFor(p.clock, got!);
  p.tb.close(l);
  return out;
}

test('veth between two stacks: 300 kB intact, segments trusted as CHECKSUM_PARTIAL, nothing left in use', async () => {
  const p = pair();
  const size = 300_000;
  const data = await transfer(p, size);
  assert.equal(data.length, size);
  for (let i = 0; i < size; i++) if (data[i] !== ((i * 13 + (i >> 9)) & 255)) assert.fail(`byte ${i} differs`);
  assert.ok(netstat(p.ib).Tcp!.InSegs! > 200, 'the segments crossed the veth');
  assert.equal(netstat(p.ib).Tcp!.InCsumErrors, 0);
  await p.clock.advance(120_000); // TIME-WAIT ends
  assert.equal(p.sa.pool.stats.inUse + p.sb.pool.stats.inUse, 0, 'every buffer came back to its pool');
  assert.equal(p.sa.totalDrops() + p.sb.totalDrops(), 0);
  p.sa.close();
  p.sb.close();
});

test('netem corruption on the veth: the damaged segments are verified and dropped (TCP_CSUM), the bytes still arrive intact', async () => {
  const p = pair();
  setLink(p.sa, 'veth0', { netem: { corrupt: 10, seed: 7 } });
  const size = 200_000;
  const data = await transfer(p, size);
  assert.equal(data.length, size);
  for (let i = 0; i < size; i++) if (data[i] !== ((i * 13 + (i >> 9)) & 255)) assert.fail(`byte ${i} differs`);
  const corrupted = getNetem(p.va)!.stats.corrupted;
  assert.ok(corrupted > 5, `netem corrupted frames (${corrupted})`);
  const csum = netstat(p.ib).Tcp!.InCsumErrors!;
  assert.ok(csum > 0, 'a corrupted segment is verified, never trusted');
  assert.equal(p.sa.drops.TCP_CSUM + p.sb.drops.TCP_CSUM, csum, 'each counted with its drop reason (in the pool the frame came from)');
  p.sa.close();
  p.sb.close();
});

test('ip_summed: a new buffer is CHECKSUM_NONE, clones and copies keep what is known', () => {
  const p = pair();
  const before = p.sa.pool.stats.inUse;
  const skb = allocSkbFrom(p.sa.pool, 100)!;
  assert.equal(skb.ipSummed, CHECKSUM_NONE);
  assert.equal(skbCsumUnnecessary(skb), false);
  skb.ipSummed = CHECKSUM_PARTIAL;
  const c = skb.clone()!;
  const k = skb.copy()!;
  assert.equal(skbCsumUnnecessary(c), true);
  assert.equal(k.ipSummed, CHECKSUM_PARTIAL);
  for (const b of [skb, c, k]) b.free();
  assert.equal(p.sa.pool.stats.inUse, before);
  p.sa.close();
  p.sb.close();
});
