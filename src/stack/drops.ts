// Drop counters by reason: the stack's answer to "where did my frame go?".
// They live with the buffer pool (skb/drop-reason.ts) so a buffer counts its
// own drop; this module keeps the stack's names for them.

export { emptyDropCounts, totalDrops, type DropCounts } from '../skb/drop-reason.ts';
