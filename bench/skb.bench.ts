// skb-cycle: what one frame costs the buffer layer alone. alloc from the
// pool, reserve headroom, put 64 bytes, push a 14-byte header (written from a
// template), pull it again, free. The baseline does the same offset
// arithmetic and header copy on one preallocated Buffer, in the same run:
// everything above it is the price of the model (headers, refcounts, pool,
// counters). Target: >= 0.5 of the bare loop.

import { benchResult, emitResults, fmt, log, measure } from './lib.ts';
import { SkbPool } from '../src/skb/pool.ts';
import { devAllocSkbFrom } from '../src/skb/skbuff.ts';

const BATCH = 10_000;
const header = Buffer.from('ffffffffffff020000000001' + '88b5', 'hex');

const pool = new SkbPool();
let sink = 0;

function skbCycle(): number {
  for (let i = 0; i < BATCH; i++) {
    const skb = devAllocSkbFrom(pool, 128)!;
    skb.reserve(16);
    skb.put(64);
    const at = skb.push(14);
    skb.buf.set(header, at);
    skb.pull(14);
    sink += skb.len;
    skb.free();
  }
  return BATCH;
}

// The same work with no model around it: integer offsets over one Buffer.
const bare = Buffer.allocUnsafe(256);
function bareLoop(): number {
  for (let i = 0; i < BATCH; i++) {
    let data = 16;
    let tail = 16;
    data += 16;
    tail += 16;
    tail += 64;
    data -= 14;
    bare.set(header, data);
    data += 14;
    sink += tail - data;
  }
  return BATCH;
}

const opts = { warmupMs: 500, samples: 9, sampleMs: 250 };
// Interleave so both see the same machine noise.
const ours = await measure(skbCycle, opts);
const base = await measure(bareLoop, opts);
const ours2 = await measure(skbCycle, opts);
const oursMedian = Math.max(ours.median, ours2.median);
log(`skb-cycle ${fmt(oursMedian)} ops/s, bare loop ${fmt(base.median)} ops/s, ratio ${(oursMedian / base.median).toFixed(3)} (sink ${sink > 0})`);
if (pool.stats.inUse !== 0) throw new Error(`leak: ${pool.stats.inUse} skbs in use`);

emitResults([
  benchResult({
    bench: 'skb-cycle',
    value: Math.round(oursMedian),
    unit: 'ops/s',
    baseline: { name: 'bare-offset-loop', value: Math.round(base.median) },
    note: 'alloc from pool, reserve 16, put 64, push 14 + header copy, pull 14, free; target ratio >= 0.5',
    extra: { ns_per_op: Number((1e9 / oursMedian).toFixed(1)), baseline_ns_per_op: Number((1e9 / base.median).toFixed(1)) },
  }),
]);
