// The transmit path: dev_queue_xmit -> qdisc -> hard_start_xmit while the
// queue runs. A driver that cannot take more stops the queue and wakes it on
// completion; for a driver with a tx_timeout method the watchdog tells it
// when its queue stayed stopped too long, and the driver recovers (the core
// never wakes a queue by force).

import type { SkBuff } from '../skb/skbuff.ts';
import { skbTrace, skbTraceSampled, skbTraceStart } from '../skb/trace.ts';
import type { NetDevice } from './netdevice.ts';
import { NETDEV_TX_BUSY, NET_XMIT_DROP, NET_XMIT_SUCCESS, type NetdevTx } from './ops.ts';
import { NoQueue } from './qdisc/noqueue.ts';
import { PfifoFast } from './qdisc/pfifo-fast.ts';
import { readEthType } from '../wire/eth.ts';
import { frameFitsDevice } from './frame-size.ts';

export { frameFitsDevice } from './frame-size.ts';

/** Frames one qdisc run may send before yielding (dev_tx_weight). */
export const QDISC_QUOTA = 64;

/**
 * dev_queue_xmit: `skb.dev` says where. Never throws; returns NET_XMIT_*.
 * The sending stack receives nothing inside it (rcu_read_lock_bh): what the
 * transmit makes arrive here waits for this stack's bottom half.
 */
export function devQueueXmit(skb: SkBuff): number {
  const dev = skb.dev;
  if (dev === null) {
    throw new Error('devQueueXmit: skb.dev is not set');
  }
  const core = dev.core;
  core.xmitBegin();
  try {
    return queueXmit(dev, skb);
  } finally {
    core.xmitEnd();
  }
}

function queueXmit(dev: NetDevice, skb: SkBuff): number {
  const core = dev.core;
  if (core.traceNeeded > 0) {
    if (dev.traceUsers > 0 && skbTraceSampled(dev, core.clock.now())) skbTraceStart(skb);
    if (skb.trace !== null) skbTrace(skb, 'dev_queue_xmit', core.clock.wallNow());
  }
  if (!dev.isUp()) {
    dev.stats.txDropped++;
    skb.drop('DEV_READY');
    return NET_XMIT_DROP;
  }
  if (skb.len > dev.mtu + dev.hardHeaderLen && !frameFitsDevice(dev, skb.len, readEthType(skb.buf, skb.data))) {
    dev.stats.txDropped++;
    skb.drop('PKT_TOO_BIG');
    return NET_XMIT_DROP;
  }
  const q = dev.qdisc;
  if (q === null || q.kind === 'noqueue') {
    if (!dev.queueStopped && xmitOne(dev, skb) !== NETDEV_TX_BUSY) return NET_XMIT_SUCCESS;
    // A queueless device that is busy has nowhere to keep the frame.
    dev.stats.txDropped++;
    skb.drop('DEV_READY');
    return NET_XMIT_DROP;
  }
  // TCQ_F_CAN_BYPASS: an empty work-conserving queue on a running device
  // hands the frame straight to the driver, as sch_direct_xmit does.
  if (q.qlen === 0 && !dev.queueStopped && !dev.txScheduled) {
    const len = skb.len;
    if (xmitOne(dev, skb) !== NETDEV_TX_BUSY) {
      q.stats.packets++;
      q.stats.bytes += len;
      return NET_XMIT_SUCCESS;
    }
    q.stats.requeues++;
  }
  if (!q.enqueue(skb)) {
    skb.drop('QDISC_DROP');
    return NET_XMIT_DROP;
  }
  qdiscRun(dev);
  return NET_XMIT_SUCCESS;
}

function xmitOne(dev: NetDevice, skb: SkBuff): NetdevTx {
  if (dev.core.outgoingTaps > 0) dev.core.xmitNit(dev, skb);
  if (skb.trace !== null) skbTrace(skb, 'ndo_start_xmit', dev.core.clock.wallNow());
  return dev.ops.hardStartXmit(dev, skb);
}

/**
 * __qdisc_run: feed the driver until the queue empties, stops, or the quota
 * is spent. Called from a timer (netem, a slow link) as well as from
 * dev_queue_xmit and the bottom half: nothing is received inside it either.
 */
export function qdiscRun(dev: NetDevice): void {
  const q = dev.qdisc;
  if (q === null || dev.queueStopped || !dev.isUp()) return;
  const core = dev.core;
  core.xmitBegin();
  try {
    feedDriver(dev, q);
  } finally {
    core.xmitEnd();
  }
}

function feedDriver(dev: NetDevice, q: NonNullable<NetDevice['qdisc']>): void {
  for (let quota = QDISC_QUOTA; quota > 0; quota--) {
    const skb = q.dequeue();
    if (skb === null) return;
    if (xmitOne(dev, skb) === NETDEV_TX_BUSY) {
      q.requeue(skb);
      // dev_requeue_skb: a driver that said busy without stopping its queue
      // is retried in the next bottom half (__netif_schedule); one that
      // stopped it wakes it when it has room.
      if (!dev.queueStopped) dev.core.scheduleTx(dev);
      return;
    }
    if (dev.queueStopped) return;
  }
  dev.core.scheduleTx(dev);
}

/**
 * netif_stop_queue: the driver cannot take another frame now. The watchdog
 * is armed only for a driver that has a tx_timeout method, as
 * __netdev_watchdog_up starts it only when ndo_tx_timeout is set.
 */
export function netifStopQueue(dev: NetDevice): void {
  if (dev.queueStopped) return;
  dev.queueStopped = true;
  dev.transStart = dev.core.clock.now();
  armWatchdog(dev);
}

function armWatchdog(dev: NetDevice): void {
  dev.watchdog?.cancel();
  dev.watchdog = null;
  if (dev.ops.txTimeout === undefined || dev.watchdogTimeoMs <= 0) return;
  dev.watchdog = dev.core.clock.setTimer(dev.watchdogTimeoMs, () => devWatchdog(dev));
}

/** netif_wake_queue: room again; run the qdisc soon. */
export function netifWakeQueue(dev: NetDevice): void {
  if (!dev.queueStopped) return;
  dev.queueStopped = false;
  dev.watchdog?.cancel();
  dev.watchdog = null;
  dev.core.scheduleTx(dev);
}

/**
 * dev_watchdog: a queue stopped longer than watchdog_timeo is reported to
 * the driver's ndo_tx_timeout, which resets its hardware and wakes the queue
 * when it can. While the queue stays stopped the watchdog keeps watching
 * (dev_watchdog re-arms its timer), reporting once per period.
 */
function devWatchdog(dev: NetDevice): void {
  dev.watchdog = null;
  if (!dev.queueStopped || !dev.isUp()) return;
  dev.stats.txTimeouts++;
  dev.core.log.warn(
    { ifname: dev.name, stoppedMs: dev.core.clock.now() - dev.transStart },
    'NETDEV WATCHDOG: transmit queue timed out',
  );
  dev.transStart = dev.core.clock.now();
  dev.ops.txTimeout?.(dev);
  if (dev.queueStopped && dev.watchdog === null) armWatchdog(dev);
}

/**
 * dev_activate: choose the default qdisc when the device comes up (noqueue
 * for IFF_NO_QUEUE devices and txqlen 0, else pfifo_fast). A root qdisc the
 * user attached (`tc qdisc replace`) stays, as it does in Linux.
 */
export function devActivate(dev: NetDevice): void {
  const wantNoQueue = dev.noQueue || dev.txQueueLen === 0;
  if (!dev.qdiscPinned && (dev.qdisc === null || (dev.qdisc.kind === 'noqueue') !== wantNoQueue)) {
    dev.qdisc = wantNoQueue ? new NoQueue() : new PfifoFast(() => dev.txQueueLen);
  }
  dev.queueStopped = false;
}

/** dev_deactivate: flush the queue (the frames' senders are credited as they are freed). */
export function devDeactivate(dev: NetDevice): void {
  dev.qdisc?.reset((skb) => skb.drop('QUEUE_PURGE'));
  dev.watchdog?.cancel();
  dev.watchdog = null;
  dev.queueStopped = false;
}
