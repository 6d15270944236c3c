// `tc qdisc show` and `tc qdisc replace dev X root KIND [limit N]`: the root
// qdisc of a device, in the words and shape of `tc -s -j qdisc show`.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { Qdisc, QdiscKind } from '../dev/qdisc/qdisc.ts';
import { NoQueue } from '../dev/qdisc/noqueue.ts';
import { PfifoFast } from '../dev/qdisc/pfifo-fast.ts';
import { Fifo } from '../dev/qdisc/fifo.ts';
import { qdiscRun } from '../dev/xmit.ts';
import type { NetStack } from './netstack.ts';

export const QDISC_KINDS = ['pfifo_fast', 'pfifo', 'bfifo', 'noqueue'] as const satisfies readonly QdiscKind[];

/** One entry of `tc -s -j qdisc show`. */
export interface QdiscView {
  kind: QdiscKind;
  handle: string;
  dev: string;
  parent: 'root';
  root: true;
  refcnt: number;
  options: Record<string, unknown>;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  backlog: number;
  qlen: number;
}

export interface QdiscSpec {
  kind: QdiscKind;
  /** Frames for pfifo, bytes for bfifo; pfifo_fast and noqueue take none. */
  limit?: number;
}

/** What a device has as root qdisc when none is attached yet (down): what dev_activate will choose. */
function defaultKind(dev: NetDevice): QdiscKind {
  return dev.noQueue || dev.txQueueLen === 0 ? 'noqueue' : 'pfifo_fast';
}

export function qdiscView(dev: NetDevice): QdiscView {
  const q = dev.qdisc;
  const kind = q?.kind ?? defaultKind(dev);
  const handle = q?.handle ?? 0;
  return {
    kind,
    handle: `${handle.toString(16)}:`,
    dev: dev.name,
    parent: 'root',
    root: true,
    // tc shows 2 for the default qdisc and 3 for one the user attached.
    refcnt: dev.qdiscPinned ? 3 : 2,
    options: q?.options() ?? (kind === 'pfifo_fast' ? new PfifoFast(() => 0).options() : {}),
    bytes: q?.stats.bytes ?? 0,
    packets: q?.stats.packets ?? 0,
    drops: q?.stats.drops ?? 0,
    overlimits: q?.stats.overlimits ?? 0,
    requeues: q?.stats.requeues ?? 0,
    backlog: q?.backlog ?? 0,
    qlen: q?.qlen ?? 0,
  };
}

/** Check a spec before anything changes (a refused request changes nothing). */
export function checkQdiscSpec(dev: NetDevice, spec: QdiscSpec): Qdisc {
  const { kind, limit } = spec;
  if (!(QDISC_KINDS as readonly string[]).includes(kind)) {
    throw new NetError('EINVAL', `qdisc kind must be one of ${QDISC_KINDS.join(', ')}`);
  }
  if (limit !== undefined) {
    if (kind === 'pfifo_fast' || kind === 'noqueue') throw new NetError('EINVAL', `${kind} takes no limit`);
    if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) {
      throw new NetError('EINVAL', 'limit must be an integer within 0..4294967295');
    }
  }
  switch (kind) {
    case 'noqueue':
      return new NoQueue();
    case 'pfifo_fast':
      return new PfifoFast(() => dev.txQueueLen);
    case 'pfifo':
      // fifo_init: tx_queue_len frames (at least 1) unless told.
      return new Fifo('pfifo', limit ?? Math.max(dev.txQueueLen, 1));
    case 'bfifo':
      // fifo_init: tx_queue_len * psched_mtu (mtu + link header) bytes unless told.
      return new Fifo('bfifo', limit ?? Math.max(dev.txQueueLen, 1) * (dev.mtu + dev.hardHeaderLen));
  }
}

/**
 * tc qdisc replace dev X root KIND [limit N]: the old root qdisc is reset
 * (its frames dropped as QUEUE_PURGE, crediting their senders) and the new
 * one takes its place with a fresh handle, kept across down and up.
 */
export function qdiscReplace(stack: NetStack, name: string, spec: QdiscSpec): QdiscView {
  const dev = stack.devices.require(name);
  const q = checkQdiscSpec(dev, spec);
  q.handle = stack.nextQdiscHandle();
  dev.qdisc?.reset((skb) => skb.drop('QUEUE_PURGE'));
  dev.qdisc = q;
  dev.qdiscPinned = true;
  stack.notifier.emit('CHANGE', dev);
  // A queue left stopped by a driver stays so; a running one may have work.
  if (dev.isUp()) qdiscRun(dev);
  return qdiscView(dev);
}
