// The skb trace: for a device that asks, each layer a frame passes records
// where the buffer's pointers are, how long it is, what it costs and who pays,
// as the kernel's tracepoints (net_dev_queue, net_dev_start_xmit, netif_rx,
// netif_receive_skb, consume_skb...) let perf see. It answers the article's
// readers' question "at each layer the data and tail pointers change, right?"
// by showing them.
//
// Cost when nobody asks: a frame starts a trace only where the stack's
// `traceNeeded` counter is non-zero and its device is traced (one branch on a
// counter at the start points, as netstamp_needed gates timestamps); every
// later layer tests `skb.trace !== null`, a field of the skb it already holds.
// A clone takes a copy of its original's points so far (skb_clone copies the
// header), and each goes on alone from there.

import type { SkBuff } from './skbuff.ts';

/** The layers, by the kernel function (or tracepoint) that stands for each. */
export type SkbTraceLayer =
  | 'dev_queue_xmit'
  | 'ndo_start_xmit'
  | 'netif_rx'
  | 'netif_receive_skb'
  | 'eth_type_trans'
  | 'packet_rcv'
  | 'sock_queue_rcv_skb';

export interface SkbTracePoint {
  layer: SkbTraceLayer;
  /** Wall-clock ms, fractional. */
  ts: number;
  dev: string | null;
  head: number;
  data: number;
  tail: number;
  end: number;
  /** -1 when not set. */
  mac_header: number;
  network_header: number;
  transport_header: number;
  len: number;
  truesize: number;
  users: number;
  cloned: boolean;
  /** Who pays for the buffer: sock_rfree (a socket's rmem), sock_wfree (its wmem), or nobody. */
  charged: 'rmem' | 'wmem' | null;
  /** The owning socket's counters at this point, when there is one. */
  sk: { rmem: number; rcvbuf: number; wmem: number; sndbuf: number } | null;
}

/** Points per frame at most: a frame re-injected (VLAN, VXLAN) passes layers again, but not without end. */
export const MAX_TRACE_POINTS = 32;

/** Record one layer. Callers test `skb.trace !== null` first (the cost when off). */
export function skbTrace(skb: SkBuff, layer: SkbTraceLayer, wallNow: number): void {
  const trace = skb.trace;
  if (trace === null || trace.length >= MAX_TRACE_POINTS) return;
  const sk = skb.sk;
  const destructor = skb.destructor?.name;
  trace.push({
    layer,
    ts: wallNow,
    dev: skb.dev?.name ?? null,
    head: skb.head,
    data: skb.data,
    tail: skb.tail,
    end: skb.end,
    mac_header: skb.macHeader,
    network_header: skb.networkHeader,
    transport_header: skb.transportHeader,
    len: skb.tail - skb.data,
    truesize: skb.truesize,
    users: skb.users,
    cloned: skb.cloned,
    charged: sk === null ? null : destructor === 'sockRfree' ? 'rmem' : destructor === 'sockWfree' ? 'wmem' : null,
    sk: sk === null ? null : { rmem: sk.rmemAlloc, rcvbuf: sk.rcvbuf, wmem: sk.wmemAlloc, sndbuf: sk.sndbuf },
  });
}

/**
 * At most this many frames a second start a trace on one device: under a
 * flood the trace samples, as perf samples a busy tracepoint, so what a trace
 * costs stays bounded however fast frames come.
 */
export const TRACE_MAX_PER_SECOND = 1000;

/** A traced device's sampling window (NetDevice carries these fields). */
export interface TraceSampler {
  traceWindowStart: number;
  traceInWindow: number;
}

/** Whether one more frame of this device may start a trace now (`nowMs`: the stack's monotonic clock). */
export function skbTraceSampled(dev: TraceSampler, nowMs: number): boolean {
  if (nowMs - dev.traceWindowStart >= 1000) {
    dev.traceWindowStart = nowMs;
    dev.traceInWindow = 0;
  }
  return dev.traceInWindow++ < TRACE_MAX_PER_SECOND;
}

/** Start a trace on a frame of a traced device (the start points: transmit, netif_rx). */
export function skbTraceStart(skb: SkBuff): void {
  if (skb.trace === null) skb.trace = [];
}
