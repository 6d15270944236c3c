// What TCP needs from the IP layer below it, and nothing more: the seam the
// lead wires to IPv4 (src/inet) at merge, and the one tests fill with an
// in-process link. TCP never builds an IP header; it hands over an skb whose
// data is the TCP segment (header + payload, checksum filled in) with
// headroom left for the layers below (MAX_TCP_HEADER), as tcp_transmit_skb
// hands one to ip_queue_xmit.

import type { Clock } from '../../clock.ts';
import type { DropReason } from '../../skb/drop-reason.ts';
import type { SkbPool } from '../../skb/pool.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import type { Sysctl } from '../../sysctl.ts';
import type { TcpSysctl } from './sysctl.ts';

/**
 * A connection's slot for the IP layer's route (sk_dst_cache): TCP only
 * carries it; the layer below fills it and checks it is still valid before
 * each use (__sk_dst_check).
 */
export interface DstHolder {
  dstCache: unknown;
}

export interface TcpIpOps {
  /**
   * ip_queue_xmit: send the segment at skb.data from `src` to `dst` (IPv4
   * addresses as unsigned 32-bit numbers). Takes ownership of the skb: the IP
   * layer transmits it or frees it with a drop reason. Never throws. `sk`,
   * the connection's, when the segment is one of a connection (not a reset
   * or SYN-ACK sent for no socket).
   */
  output(skb: SkBuff, src: number, dst: number, sk?: DstHolder): void;
  /** Largest TCP payload for a segment to `dst`: route MTU - 40 (tcp_mss_to_mtu's inverse). */
  mssFor(dst: number): number;
  /** The source address a connection to `dst` uses (inet_select_addr), or null: no route. */
  sourceFor(dst: number): number | null;
  /** True when `addr` is one of this host's addresses (a listener on 0.0.0.0 answers on it). */
  isLocal?(addr: number): boolean;
  clock: Clock;
  /** net.core.* (rmem_max, wmem_max for SO_RCVBUF/SO_SNDBUF). */
  sysctl: Sysctl;
  /** net.ipv4.tcp_* (see sysctl.ts here: folded into the stack's table at merge). */
  tcpSysctl: TcpSysctl;
  pool: SkbPool;
  /** kfree_skb_reason's count: the caller frees the skb itself. */
  countDrop(reason: DropReason): void;
}

/**
 * MAX_TCP_HEADER: headroom reserved in every skb TCP builds, so IPv4 (20 + 40
 * options), VLAN, Ethernet and the VXLAN encapsulation can be pushed in front
 * without a copy.
 */
export const MAX_TCP_HEADER = 192;
