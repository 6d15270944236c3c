// The transmit queue of each device (pfifo_fast, or nothing for queueless
// devices) and what netem holds back: where frames wait, and where they are
// lost when a slow device cannot keep up.

import type { NetStack } from '../stack/index.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { Qdisc } from '../dev/qdisc/qdisc.ts';
import { getNetem } from '../dev/wrappers/netem.ts';
import type { FamilySet, Emit } from './family.ts';
import { deviceLabels } from './labels.ts';

interface QdiscNumber {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  /** A device without a queue (noqueue, or down) reads as null and shows 0. */
  read(q: Qdisc | null, dev: NetDevice): number;
}

const QDISC_FAMILIES: readonly QdiscNumber[] = [
  {
    name: 'netstack_qdisc_packets',
    help: 'Frames waiting in this device transmit queue now (its backlog), 0 for a device without a queue.',
    kind: 'gauge',
    read: (q) => q?.length ?? 0,
  },
  {
    name: 'netstack_qdisc_bytes',
    help: 'Bytes of the frames waiting in this device transmit queue now (its backlog), 0 for a device without a queue.',
    kind: 'gauge',
    read: (q) => q?.bytes ?? 0,
  },
  {
    name: 'netstack_qdisc_drops_total',
    help: 'Frames this device transmit queue refused because it already held txqueuelen frames (drop reason qdisc_drop).',
    kind: 'counter',
    read: (q) => q?.stats.drops ?? 0,
  },
  {
    name: 'netstack_qdisc_requeues_total',
    help: 'Frames the driver refused as busy and that were put back at the head of this device transmit queue.',
    kind: 'counter',
    read: (q) => q?.stats.requeues ?? 0,
  },
  {
    name: 'netstack_qdisc_stopped',
    help: '1 while the driver has stopped this device transmit queue (busy, or netem full), else 0; frames then wait in the queue.',
    kind: 'gauge',
    read: (_q, dev) => (dev.queueStopped ? 1 : 0),
  },
];

export function registerQdiscMetrics(set: FamilySet, stack: NetStack): void {
  for (const f of QDISC_FAMILIES) {
    const read = (emit: Emit<'device'>): void => {
      for (const dev of stack.devices.list()) emit(deviceLabels(dev), f.read(dev.qdisc, dev));
    };
    const spec = { name: f.name, help: f.help, labelNames: ['device'] as const, read };
    if (f.kind === 'counter') set.counter(spec);
    else set.gauge(spec);
  }
  set.gauge({
    name: 'netstack_netem_held_packets',
    help: 'Frames netem holds back on this device (delayed, rate-limited or reordered) and has not yet passed to the driver; only devices with netem.',
    labelNames: ['device'],
    read(emit) {
      for (const dev of stack.devices.list()) {
        const netem = getNetem(dev);
        if (netem !== undefined) emit(deviceLabels(dev), netem.length);
      }
    },
  });
}
