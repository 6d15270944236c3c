// Drop counters by reason: the stack's answer to "where did my frame go?".

import { DROP_REASONS, type DropReason } from '../skb/drop-reason.ts';

export type DropCounts = Record<DropReason, number>;

export function emptyDropCounts(): DropCounts {
  const counts = {} as DropCounts;
  for (const r of DROP_REASONS) counts[r] = 0;
  return counts;
}

export function totalDrops(counts: DropCounts): number {
  let n = 0;
  for (const r of DROP_REASONS) n += counts[r];
  return n;
}
