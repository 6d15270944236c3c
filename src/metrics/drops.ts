// Every frame that enters the stack is delivered or dropped with a reason
// (Linux SKB_DROP_REASON_* names). Every reason is exported, zeros included,
// so rate() and alerts work from the first scrape.

import type { NetStack } from '../stack/index.ts';
import { DROP_REASONS, dropReasonLabel } from '../skb/drop-reason.ts';
import type { FamilySet } from './family.ts';
import { fixedLabels } from './labels.ts';

export function registerDropMetrics(set: FamilySet, stack: NetStack): void {
  const labels = DROP_REASONS.map((reason) => ({ reason, labels: fixedLabels({ reason: dropReasonLabel(reason) }) }));
  set.counter({
    name: 'netstack_drops_total',
    help: 'Frames the stack freed without delivering them, by reason (Linux SKB_DROP_REASON_* names in lower case: socket_rcvbuff, qdisc_drop, cpu_backlog, ...).',
    labelNames: ['reason'],
    read(emit) {
      for (const r of labels) emit(r.labels, stack.drops[r.reason]);
    },
  });
}
