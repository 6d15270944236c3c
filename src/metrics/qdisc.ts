// The root qdisc of each device (pfifo_fast, pfifo, bfifo, or noqueue) and
// what netem holds back: where frames wait, and where they are
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

// Names in tc's words (`tc -s qdisc show`): qlen and backlog are what waits
// now; sent bytes/packets, drops, overlimits and requeues count since the
// root qdisc was attached.
const QDISC_FAMILIES: readonly QdiscNumber[] = [
  {
    name: 'netstack_qdisc_qlen',
    help: 'Frames waiting in this device root qdisc now (tc qlen), 0 for a device without a queue.',
    kind: 'gauge',
    read: (q) => q?.qlen ?? 0,
  },
  {
    name: 'netstack_qdisc_backlog_bytes',
    help: 'Bytes of the frames waiting in this device root qdisc now (tc backlog), 0 for a device without a queue.',
    kind: 'gauge',
    read: (q) => q?.backlog ?? 0,
  },
  {
    name: 'netstack_qdisc_sent_packets_total',
    help: 'Frames this device root qdisc passed to the driver (tc Sent ... pkt).',
    kind: 'counter',
    read: (q) => q?.stats.packets ?? 0,
  },
  {
    name: 'netstack_qdisc_sent_bytes_total',
    help: 'Bytes this device root qdisc passed to the driver (tc Sent ... bytes).',
    kind: 'counter',
    read: (q) => q?.stats.bytes ?? 0,
  },
  {
    name: 'netstack_qdisc_drops_total',
    help: 'Frames this device root qdisc refused because it was full (tc dropped; drop reason qdisc_drop).',
    kind: 'counter',
    read: (q) => q?.stats.drops ?? 0,
  },
  {
    name: 'netstack_qdisc_overlimits_total',
    help: 'Frames this device root qdisc held back over a rate or limit (tc overlimits); the fifo qdiscs count none.',
    kind: 'counter',
    read: (q) => q?.stats.overlimits ?? 0,
  },
  {
    name: 'netstack_qdisc_requeues_total',
    help: 'Frames the driver refused as busy and that were put back at the head of this device root qdisc (tc requeues).',
    kind: 'counter',
    read: (q) => q?.stats.requeues ?? 0,
  },
  {
    name: 'netstack_qdisc_stopped',
    help: '1 while the driver has stopped this device transmit queue (busy, or its TX ring full), else 0; frames then wait in the qdisc.',
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
