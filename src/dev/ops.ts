// The device method table (the seed's "series of methods that are filled into
// a structure") and what the device layer needs from the stack around it.
// Every method takes the device first, as the C original does.

import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { SkbPool } from '../skb/pool.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { NetDevice, DeviceStats, IfMap } from './netdevice.ts';
import type { Notifier } from './notifier.ts';
import type { FdbAddRequest, FdbView } from './fdb.ts';

/** hard_start_xmit verdicts: OK means the driver owns (and will free) the buffer. */
export const NETDEV_TX_OK = 0;
export const NETDEV_TX_BUSY = 1;
export type NetdevTx = typeof NETDEV_TX_OK | typeof NETDEV_TX_BUSY;

/** netif_rx / dev_queue_xmit verdicts. */
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;
export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;

export interface DeviceOps {
  /** Called once at register time; a throw keeps the device unregistered. */
  init?(dev: NetDevice): void;
  /** Bring the hardware up; a throw keeps the device down. */
  open?(dev: NetDevice): void;
  /** Bring it down; cannot fail. */
  stop?(dev: NetDevice): void;
  /** Called when the device is unregistered, after it is down. */
  uninit?(dev: NetDevice): void;
  /** Transmit one frame: NETDEV_TX_OK takes ownership; NETDEV_TX_BUSY hands it back. */
  hardStartXmit(dev: NetDevice, skb: SkBuff): NetdevTx;
  /** Build the link header in the headroom; returns the header length. */
  hardHeader?(dev: NetDevice, skb: SkBuff, type: number, daddr: Uint8Array | null, saddr: Uint8Array | null): number;
  setMacAddress?(dev: NetDevice, addr: Buffer): void;
  changeMtu?(dev: NetDevice, mtu: number): void;
  /** set_multicast_list: reprogram the address filter after promisc/allmulti/list changes. */
  setRxMode?(dev: NetDevice): void;
  /** SIOCDEVPRIVATE..+15: driver-private requests. */
  doIoctl?(dev: NetDevice, cmd: number, arg: Record<string, unknown>): Record<string, unknown>;
  setConfig?(dev: NetDevice, map: Partial<IfMap>): void;
  getStats?(dev: NetDevice): DeviceStats;
  /** The watchdog found the queue stopped too long. */
  txTimeout?(dev: NetDevice): void;
  /** ethtool get_link_ksettings + get_ringparam. */
  getLinkSettings?(dev: NetDevice): LinkSettings;
  /** ethtool set_link_ksettings + set_ringparam; throws NetError EINVAL on a bad value. */
  setLinkSettings?(dev: NetDevice, s: Partial<LinkSettings>): void;
  /** rtnl_link_ops->fill_info: kind-specific details for `ip -d link` (linkinfo.info_data). */
  fillInfo?(dev: NetDevice): Record<string, unknown> | undefined;
  /** ndo_fdb_dump: the forwarding table, as `bridge -j fdb show`. */
  fdbDump?(dev: NetDevice): FdbView[];
  /** ndo_fdb_add: a static entry; throws NetError (EINVAL, EEXIST...). */
  fdbAdd?(dev: NetDevice, entry: FdbAddRequest): void;
  /** ndo_fdb_del: ENOENT when there is no such entry. */
  fdbDel?(dev: NetDevice, mac: string, dst?: string): void;
}

/** ethtool's link settings for drivers with a wire of their own (veth, dummy). */
export interface LinkSettings {
  /** Link speed in Mbit/s (ethtool `speed`); 0: no wire time, frames complete at once. */
  speedMbps: number;
  /** TX ring descriptors (ethtool -g `tx`); a full ring stops the device queue. */
  txRing: number;
}

/** What the stack provides to every device: memory, time, the receive path. */
export interface NetCore {
  readonly pool: SkbPool;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly log: Logger;
  /** netif_rx: hand a received frame (skb.dev set) to the backlog. */
  netifRx(skb: SkBuff): number;
  /** local_bh_disable before a transmit hands this stack a frame (netif_rx then only marks its bottom half pending). */
  localBhDisable(): void;
  /** local_bh_enable after it: receive now what it queued, unless this stack's bottom half is running. */
  localBhEnable(): void;
  /** dev_queue_xmit of this stack begins / ends: nothing is received here inside it. */
  xmitBegin(): void;
  xmitEnd(): void;
  /**
   * kfree_skb_reason. Deprecated: call skb.drop(reason), which counts where
   * the buffer dies; kept so drivers not yet converted still build.
   */
  kfreeSkb(skb: SkBuff, reason: DropReason): void;
  /** Run this device's qdisc soon (NET_TX_SOFTIRQ). */
  scheduleTx(dev: NetDevice): void;
  /** Traced devices; no frame starts a trace while it is zero (skb/trace.ts). */
  readonly traceNeeded: number;
  /** Taps that want outgoing frames; dev_queue_xmit_nit runs only when non-zero. */
  readonly outgoingTaps: number;
  /** dev_queue_xmit_nit: give the taps a clone of a frame about to go out. */
  xmitNit(dev: NetDevice, skb: SkBuff): void;
}
