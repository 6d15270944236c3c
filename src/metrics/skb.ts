// The buffer pool: the counters show_net_buffers() printed in the seed's
// kernel (buffers in use, their memory, allocations, frees, clones, copies),
// plus misuse the pool detects and refuses to hide.

import type { NetStack } from '../stack/index.ts';
import type { SkbPool } from '../skb/pool.ts';
import { type FamilySet, noLabels, NO_LABELS, type FamilySpec } from './family.ts';

interface SkbNumber {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  read(pool: SkbPool): number;
}

const SKB_FAMILIES: readonly SkbNumber[] = [
  {
    name: 'netstack_skb_in_use',
    help: 'sk_buffs allocated and not yet freed now (queued, in flight or held by a reader); 0 once all traffic is drained and read.',
    kind: 'gauge',
    read: (p) => p.stats.inUse,
  },
  {
    name: 'netstack_skb_bytes',
    help: 'Memory held by the sk_buffs in use now, as truesize (buffer plus bookkeeping), the amount sockets are charged.',
    kind: 'gauge',
    read: (p) => p.stats.bytes,
  },
  {
    name: 'netstack_skb_idle_bytes',
    help: 'Bytes of freed buffers kept on the pool free lists for reuse (not in use, not yet returned to the garbage collector).',
    kind: 'gauge',
    read: (p) => p.idle().bytes,
  },
  {
    name: 'netstack_skb_allocs_total',
    help: 'sk_buffs allocated (alloc_skb).',
    kind: 'counter',
    read: (p) => p.stats.allocs,
  },
  {
    name: 'netstack_skb_frees_total',
    help: 'sk_buffs freed at their last reference (kfree_skb); allocs minus frees is the number in use.',
    kind: 'counter',
    read: (p) => p.stats.frees,
  },
  {
    name: 'netstack_skb_clones_total',
    help: 'sk_buff clones made (skb_clone: a new header sharing the data, e.g. one per packet socket tap).',
    kind: 'counter',
    read: (p) => p.stats.clones,
  },
  {
    name: 'netstack_skb_copies_total',
    help: 'sk_buff copies made (skb_copy, or unsharing a cloned buffer before writing to it).',
    kind: 'counter',
    read: (p) => p.stats.copies,
  },
  {
    name: 'netstack_skb_alloc_failures_total',
    help: 'sk_buff allocations refused because the buffer memory limit was reached (or the size was impossible).',
    kind: 'counter',
    read: (p) => p.stats.allocFailures,
  },
  {
    name: 'netstack_skb_double_frees_total',
    help: 'Attempts to free an sk_buff that was already freed: a bug, detected and reported instead of corrupting the pool.',
    kind: 'counter',
    read: (p) => p.stats.doubleFrees,
  },
];

export function registerSkbMetrics(set: FamilySet, stack: NetStack): void {
  for (const f of SKB_FAMILIES) {
    const spec: FamilySpec<never> = { name: f.name, help: f.help, labelNames: NO_LABELS, read: (emit) => emit(noLabels, f.read(stack.pool)) };
    if (f.kind === 'counter') set.counter(spec);
    else set.gauge(spec);
  }
}
