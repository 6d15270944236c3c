// The per-stack backlog and its bottom half (softnet_data, net_rx_action,
// net_tx_action). netif_rx only queues; the frames are processed when the
// raising context ends (local_bh_enable at the end of a veth transmit from
// process context, else when the task ends), with a budget per run as NAPI
// has, so a flood cannot starve timers, sockets and the HTTP server that
// share the thread.

import { SkbQueue } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { Sysctl } from '../sysctl.ts';

export interface SoftnetHooks {
  sysctl: Sysctl;
  /** netif_receive_skb: process one frame taken from the backlog. */
  receive(skb: SkBuff): void;
  /** qdisc_run for a device put on the transmit list. */
  runTx(dev: NetDevice): void;
}

export interface SoftnetStats {
  /** Frames taken off the backlog and processed. */
  processed: number;
  /** Frames refused because the backlog was full. */
  dropped: number;
  /** Runs that ended with work left (budget or time spent). */
  timeSqueeze: number;
  /** Bottom-half runs. */
  runs: number;
}

/**
 * __do_softirq's bound (MAX_SOFTIRQ_RESTART): bottom halves run back to back
 * at most this many times before the event loop gets a turn.
 */
const MAX_SOFTIRQ_RESTART = 10;
/** Bottom-half runs since the event loop last turned, over every stack of the process (one CPU). */
let restarts = 0;
let resetArmed = false;
/**
 * Bottom halves are off, over every stack of the process (one CPU, as
 * in_softirq() says): one is running, or a caller holds local_bh_disable
 * (bhDisabled). A frame raised meanwhile waits for its bottom half instead of
 * being received at once.
 */
let bhDepth = 0;
const resetRestarts = (): void => {
  resetArmed = false;
  restarts = 0;
};

/**
 * local_bh_disable() ... local_bh_enable() around `fn`: what `fn` sends over a
 * veth waits in the receiver's backlog for its bottom half (run when the task
 * ends) instead of being received within each send. This is how frames
 * arrive from a NIC, a burst per interrupt; tests use it to build a backlog.
 */
export function bhDisabled<T>(fn: () => T): T {
  bhDepth++;
  try {
    return fn();
  } finally {
    bhDepth--;
  }
}

export class Softnet {
  readonly backlog = new SkbQueue();
  readonly stats: SoftnetStats = { processed: 0, dropped: 0, timeSqueeze: 0, runs: 0 };
  private scheduled = false;
  /** Generation of the latest raise: a queued callback of an older one is stale. */
  private gen = 0;
  /** Transmits into this stack in progress (localBhDisable), and a run they raised. */
  private bhOff = 0;
  private pending = false;
  /** This stack's dev_queue_xmit calls in progress (xmitBegin). */
  private xmitting = 0;
  /** A veth delivered a frame during them: the last xmitEnd runs the bottom half. */
  private peerWaiting = false;
  private txList: NetDevice[] = [];
  private closed = false;

  constructor(private readonly hooks: SoftnetHooks) {}

  /**
   * enqueue_to_backlog: false when full; the caller drops. Linux accepts while
   * qlen <= netdev_max_backlog, so the backlog holds max_backlog + 1 frames.
   */
  enqueue(skb: SkBuff): boolean {
    if (this.backlog.length > this.hooks.sysctl.values['net.core.netdev_max_backlog']) {
      this.stats.dropped++;
      return false;
    }
    this.backlog.queueTail(skb);
    this.raise();
    return true;
  }

  /** __netif_schedule: run this device's qdisc in the next bottom half. */
  scheduleTx(dev: NetDevice): void {
    if (dev.txScheduled) return;
    dev.txScheduled = true;
    this.txList.push(dev);
    this.raise();
  }

  /** Process everything now (tests, shutdown); respects nothing but emptiness. */
  drain(): void {
    while (this.backlog.length > 0 || this.txList.length > 0) this.run(true);
    // A run already raised finds nothing to do: it is not run (nor counted).
    this.scheduled = false;
  }

  close(dispose: (skb: SkBuff) => void): void {
    this.closed = true;
    this.backlog.purge(dispose);
    for (const dev of this.txList) dev.txScheduled = false;
    this.txList = [];
  }

  /**
   * raise_softirq: schedule one bottom-half run. Linux runs a raised softirq
   * when the context that raised it ends (local_bh_enable, irq_exit), so a
   * frame sent over veth is received before the sender's system call
   * returns. A veth transmit outside a bottom half does that at once
   * (localBhEnable); otherwise it is a microtask, run as soon as the task
   * that raised it (a timer, a socket call, another stack's bottom half) is
   * done, not a turn of the event loop later. After MAX_SOFTIRQ_RESTART runs without the
   * loop turning, or when a run stopped on its budget (`squeezed`), the next
   * run waits for the loop (setImmediate), as Linux hands over to
   * ksoftirqd, so timers, sockets and HTTP are never starved.
   */
  private raise(squeezed = false): void {
    if (this.scheduled || this.closed) return;
    if (this.bhOff > 0) {
      // raise_softirq with bottom halves off only marks it pending: the
      // local_bh_enable that follows runs it (no task queued per frame).
      this.pending = true;
      return;
    }
    this.scheduled = true;
    const gen = ++this.gen;
    if (!squeezed && restarts < MAX_SOFTIRQ_RESTART) {
      restarts++;
      if (!resetArmed) {
        resetArmed = true;
        setImmediate(resetRestarts);
      }
      queueMicrotask(() => this.bottomHalf(gen));
    } else {
      setImmediate(() => this.bottomHalf(gen));
    }
  }

  /** local_bh_disable by a transmit into this stack (a veth's xmit around netif_rx). */
  localBhDisable(): void {
    this.bhOff++;
  }

  /**
   * dev_queue_xmit of this stack begins and ends (its rcu_read_lock_bh):
   * what a veth delivers here meanwhile (a peer stack's answer, received
   * there at once, or the frame itself over a veth pair within this stack)
   * is not received inside the transmit (its qdisc run, its bridge flood,
   * its neighbour's queue) but at its end, as Linux's rcu_read_unlock_bh
   * runs the raised softirq. What the stack sends itself over lo keeps its
   * bottom half at the end of the task, so a connection over lo shows every
   * state in its events.
   */
  xmitBegin(): void {
    this.xmitting++;
  }

  xmitEnd(): void {
    if (--this.xmitting > 0 || !this.peerWaiting) return;
    this.peerWaiting = false;
    if (!this.scheduled || !this.mayRunNow()) return;
    this.scheduled = false;
    this.run(false);
  }

  /**
   * A raised bottom half may run inside the caller: no bottom half of any
   * stack is running (nor held off), and this stack is neither inside its
   * own transmit nor inside a netif_rx.
   */
  private mayRunNow(): boolean {
    return bhDepth === 0 && this.xmitting === 0 && this.bhOff === 0 && !this.closed;
  }

  /**
   * local_bh_enable after a veth transmit: the frame just queued for this
   * stack is received now, before the sender's call returns, as Linux's
   * dev_queue_xmit ends in local_bh_enable, which runs the raised softirq.
   * The process is one CPU: when the transmit comes from a bottom half (any
   * stack's: a reply, a forward, TCP sending as ACKs arrive) or bottom
   * halves are held off (bhDisabled), the frame waits for its own stack's
   * bottom half, raised as usual. A run already handed to the event loop
   * after a squeeze is taken now too: Linux no longer leaves pending
   * softirqs to a woken ksoftirqd (the revert of "softirq: Let ksoftirqd do
   * its job", 2023).
   */
  localBhEnable(): void {
    if (this.bhOff > 0 && --this.bhOff > 0) return;
    if (!this.pending && !this.scheduled) return;
    if (!this.mayRunNow()) {
      // Inside our own transmit: taken at its end (xmitEnd).
      if (this.xmitting > 0) this.peerWaiting = true;
      if (this.pending) {
        this.pending = false;
        this.raise();
      }
      return;
    }
    this.pending = false;
    this.scheduled = false;
    this.run(false);
  }

  /**
   * The raised run, unless it was taken early (localBhEnable, xmitEnd,
   * drain) and raised again since: each raise has its generation, so an
   * older callback still queued does nothing instead of running the newer
   * raise a second time.
   */
  private bottomHalf(gen: number): void {
    if (!this.scheduled || gen !== this.gen) return;
    this.scheduled = false;
    this.run(false);
  }

  private run(unbounded: boolean): void {
    bhDepth++;
    try {
      this.runLocked(unbounded);
    } finally {
      bhDepth--;
    }
  }

  private runLocked(unbounded: boolean): void {
    this.stats.runs++;
    // net_tx_action first: freeing transmitted frames makes room for senders.
    if (this.txList.length > 0) {
      const devs = this.txList;
      this.txList = [];
      for (const dev of devs) {
        dev.txScheduled = false;
        this.hooks.runTx(dev);
      }
    }
    const sysctl = this.hooks.sysctl;
    const budget = unbounded ? Infinity : sysctl.values['net.core.netdev_budget'];
    // netdev_budget_usecs, on the clock read every 32 frames: the first
    // reading starts it, so a run of one frame (a veth transmit received at
    // once) reads no clock at all.
    let deadline = 0;
    const backlog = this.backlog;
    let n = 0;
    for (let skb = backlog.dequeue(); skb !== null; skb = backlog.dequeue()) {
      this.stats.processed++;
      this.hooks.receive(skb);
      n++;
      if (n >= budget) break;
      if ((n & 31) === 0 && !unbounded) {
        const now = performance.now();
        if (deadline === 0) deadline = now + sysctl.values['net.core.netdev_budget_usecs'] / 1000;
        else if (now > deadline) break;
      }
    }
    if (backlog.length > 0 || this.txList.length > 0) {
      const squeezed = backlog.length > 0 && !unbounded;
      if (squeezed) this.stats.timeSqueeze++;
      this.raise(squeezed);
    }
  }
}
