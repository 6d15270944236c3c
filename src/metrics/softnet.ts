// The stack's receive backlog and its bottom half (softnet_data and
// net_rx_action), like node_exporter's softnet collector for one CPU.

import type { NetStack } from '../stack/index.ts';
import { type FamilySet, noLabels, NO_LABELS } from './family.ts';

export function registerSoftnetMetrics(set: FamilySet, stack: NetStack): void {
  const stats = stack.softnet.stats;
  set.gauge({
    name: 'netstack_softnet_backlog_packets',
    help: 'Frames received by devices (netif_rx) and waiting in the backlog for the bottom half now; at most net.core.netdev_max_backlog.',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, stack.softnet.backlog.length),
  });
  set.counter({
    name: 'netstack_softnet_processed_total',
    help: 'Frames the bottom half took off the backlog and passed to the protocols and packet sockets.',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, stats.processed),
  });
  set.counter({
    name: 'netstack_softnet_dropped_total',
    help: 'Frames refused because the backlog already held net.core.netdev_max_backlog frames (drop reason cpu_backlog).',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, stats.dropped),
  });
  set.counter({
    name: 'netstack_softnet_times_squeezed_total',
    help: 'Bottom-half runs that ended with frames left in the backlog because their budget (net.core.netdev_budget frames or netdev_budget_usecs) was spent.',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, stats.timeSqueeze),
  });
  set.counter({
    name: 'netstack_softnet_runs_total',
    help: 'Bottom-half runs (net_rx_action), each processing the backlog up to its budget.',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, stats.runs),
  });
}
