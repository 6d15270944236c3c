// IPv4 in and out (net/ipv4/ip_input.c, ip_output.c, ip_forward.c).
//
// In: ip_rcv checks the header (version, IHL, checksum, total length) and
// drops with Linux's reasons; the route decides local delivery (our address,
// a broadcast), forwarding (only with net.ipv4.ip_forward=1: TTL decremented,
// ICMP time exceeded at 0, ICMP fragmentation needed for DF frames too big),
// or a drop. Local delivery reassembles fragments, then hands the datagram to
// the protocol registered for its number (Linux's inet_protos): 1 ICMP,
// 17 UDP, 6 TCP when it comes.
//
// Out: ipOutput pushes the header in front of a transport segment, fragments
// to the route's MTU and hands each frame to the neighbour layer. Frames to
// our own addresses leave through lo and come back in, as in Linux.
// Nothing here throws: a verdict is returned and every drop is counted.

import type { ErrnoName } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { IFF } from '../dev/flags.ts';
import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { allocSkbFrom } from '../skb/skbuff.ts';
import { setOwnerW } from '../sock/sock.ts';
import { ETH_P_IP } from '../wire/eth.ts';
import { checksumAdd, checksumFold, checksumUpdate16, internetChecksum } from '../wire/checksum.ts';
import { IP_DF, IP_MF, IP_OFFSET, IPV4_HLEN, isIpv4Multicast } from '../wire/ipv4.ts';
import { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { InetStack, RouteResult } from './inet.ts';

/** ICMP codes used here (include/uapi/linux/icmp.h). */
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

/** What a transport protocol registers (struct net_protocol). */
export interface IpProtocolHandler {
  readonly protocol: number;
  /** Owns `skb`: data at the transport header, networkHeader at the IP header. */
  rcv(skb: SkBuff): void;
  /** An ICMP error about a datagram this protocol sent (err_handler). */
  err?(e: IcmpError): void;
}

/** An ICMP error as the protocol's err handler sees it. */
export interface IcmpError {
  type: number;
  code: number;
  /** Next-hop MTU for fragmentation needed; 0 otherwise. */
  info: number;
  /** Who sent the ICMP message. */
  from: number;
  /** The errno it means for a socket (icmp_err_convert). */
  errno: ErrnoName;
  /** Hard errors are reported even when not connected... only with IP_RECVERR in Linux. */
  fatal: boolean;
  /** Raised by this host (a neighbour never answered), not heard from the network. */
  local: boolean;
  /** The quoted datagram's header fields and its first transport bytes. */
  src: number;
  dst: number;
  protocol: number;
  /** At least 8 bytes of the quoted transport header (ports, ICMP id/seq). */
  transport: Buffer;
}

export interface IpOutputOptions {
  src: number;
  dst: number;
  protocol: number;
  ttl?: number;
  tos?: number;
  /** Don't fragment; default: set when the datagram fits the route's MTU (IP_PMTUDISC_WANT). */
  df?: boolean;
  /** A route already looked up for this destination. */
  rt?: RouteResult;
}

/** Headroom a locally built frame reserves in front of its IP header (LL_RESERVED_SPACE). */
export const MAX_HEADER = 64;

/** LL_RESERVED_SPACE: the device's link header in whole 16-byte units, plus one (HH_DATA_MOD). */
export function llReservedSpace(dev: NetDevice): number {
  return (dev.hardHeaderLen & ~15) + 16;
}

export class Ipv4 {
  readonly protocols = new Map<number, IpProtocolHandler>();
  private ident = Math.floor(Math.random() * 0x10000);

  constructor(readonly inet: InetStack) {}

  register(p: IpProtocolHandler): void {
    this.protocols.set(p.protocol, p);
  }

  unregister(p: IpProtocolHandler): void {
    if (this.protocols.get(p.protocol) === p) this.protocols.delete(p.protocol);
  }

  // ---------------------------------------------------------------- input

  /** ip_rcv + ip_rcv_core + ip_rcv_finish. `skb.data` is at the IP header. */
  rcv(skb: SkBuff, dev: NetDevice): void {
    const inet = this.inet;
    const mib = inet.mib.ip;
    if (skb.pktType === PacketType.OTHERHOST) {
      inet.drop(skb, 'OTHERHOST');
      return;
    }
    mib.InReceives++;
    inet.mib.ipExt.InOctets += skb.len;
    const b = skb.buf;
    const d = skb.data;
    const len = skb.len;
    if (len < IPV4_HLEN) {
      mib.InHdrErrors++;
      inet.drop(skb, 'IP_INHDR');
      return;
    }
    const vihl = b[d]!;
    const ihl = (vihl & 0x0f) << 2;
    if (vihl >>> 4 !== 4 || ihl < IPV4_HLEN || len < ihl) {
      mib.InHdrErrors++;
      inet.drop(skb, 'IP_INHDR');
      return;
    }
    if (checksumFold(checksumAdd(0, b, d, ihl)) !== 0xffff) {
      inet.mib.ipExt.InCsumErrors++;
      mib.InHdrErrors++;
      inet.drop(skb, 'IP_CSUM');
      return;
    }
    const totLen = (b[d + 2]! << 8) | b[d + 3]!;
    if (len < totLen) {
      inet.mib.ipExt.InTruncatedPkts++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    if (totLen < ihl) {
      mib.InHdrErrors++;
      inet.drop(skb, 'IP_INHDR');
      return;
    }
    // Link padding (a 60-byte Ethernet minimum) is not part of the datagram.
    skb.trim(totLen);
    skb.networkHeader = d;
    const saddr = readU32(b, d + 12);
    const daddr = readU32(b, d + 16);
    // Martian sources (ip_route_input_slow): nobody sends from a broadcast or multicast address.
    if (saddr === 0xffffffff || isIpv4Multicast(saddr) || (saddr >>> 24 === 127 && !isLoopback(dev))) {
      inet.drop(skb, 'IP_INVALID_SOURCE');
      return;
    }
    const local = inet.localType(daddr, dev);
    if (local === 'local') {
      this.localDeliver(skb);
      return;
    }
    if (local === 'broadcast') {
      inet.mib.ipExt.InBcastPkts++;
      this.localDeliver(skb);
      return;
    }
    if (isIpv4Multicast(daddr)) {
      // No group is ever joined here (no IGMP), so no multicast is ours.
      inet.mib.ipExt.InMcastPkts++;
      inet.drop(skb, 'NOT_SPECIFIED');
      return;
    }
    this.forward(skb, daddr);
  }

  /** ip_local_deliver: reassemble, then the protocol by number. */
  localDeliver(skb0: SkBuff): void {
    const inet = this.inet;
    let skb: SkBuff | null = skb0;
    let b = skb.buf;
    let nh = skb.networkHeader;
    const frag = (b[nh + 6]! << 8) | b[nh + 7]!;
    if ((frag & (IP_MF | IP_OFFSET)) !== 0) {
      skb = inet.frags.defrag(skb);
      if (skb === null) return;
      b = skb.buf;
      nh = skb.networkHeader;
    }
    const ihl = (b[nh]! & 0x0f) << 2;
    skb.data = nh + ihl;
    skb.transportHeader = skb.data;
    const proto = b[nh + 9]!;
    const handler = this.protocols.get(proto);
    if (handler === undefined) {
      inet.mib.ip.InUnknownProtos++;
      if (skb.pktType === PacketType.HOST) inet.icmp.send(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
      inet.drop(skb, 'IP_NOPROTO');
      return;
    }
    inet.mib.ip.InDelivers++;
    handler.rcv(skb);
  }

  /** ip_forward. */
  private forward(skb: SkBuff, daddr: number): void {
    const inet = this.inet;
    if (inet.sysctl('net.ipv4.ip_forward') === 0) {
      // ip_error without forwarding: counted, no ICMP.
      inet.mib.ip.InAddrErrors++;
      inet.drop(skb, 'IP_INADDRERRORS');
      return;
    }
    if (skb.pktType !== PacketType.HOST) {
      inet.drop(skb, 'OTHERHOST');
      return;
    }
    const rt = inet.routeForward(daddr);
    if (rt === null) {
      inet.mib.ipExt.InNoRoutes++;
      inet.icmp.send(skb, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0);
      inet.drop(skb, 'IP_INNOROUTES');
      return;
    }
    const b = skb.buf;
    const nh = skb.networkHeader;
    if (b[nh + 8]! <= 1) {
      inet.mib.ip.InHdrErrors++;
      inet.icmp.send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
      inet.drop(skb, 'IP_INHDR');
      return;
    }
    const mtu = rt.mtu;
    const frag = (b[nh + 6]! << 8) | b[nh + 7]!;
    if (skb.len > mtu && (frag & IP_DF) !== 0) {
      inet.mib.ip.FragFails++;
      inet.icmp.send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
      inet.drop(skb, 'PKT_TOO_BIG');
      return;
    }
    // The header is about to change: make the data ours (taps may hold clones),
    // with room for the next link's header in front (ip_forward's
    // skb_cow(skb, LL_RESERVED_SPACE(dev))). Asking for MAX_HEADER here
    // copied every forwarded frame: one that came in off a wire has only the
    // headroom its sender left, less the headers in front of IP.
    if (!skb.cow(llReservedSpace(rt.dev))) {
      inet.mib.ip.OutDiscards++;
      inet.drop(skb, 'NOMEM');
      return;
    }
    // ip_decrease_ttl: one header word changes, so the checksum is updated, not recomputed.
    const nb = skb.buf;
    const nnh = skb.networkHeader;
    const oldWord = (nb[nnh + 8]! << 8) | nb[nnh + 9]!;
    nb[nnh + 8] = nb[nnh + 8]! - 1;
    const newWord = (nb[nnh + 8]! << 8) | nb[nnh + 9]!;
    const check = checksumUpdate16((nb[nnh + 10]! << 8) | nb[nnh + 11]!, oldWord, newWord);
    nb[nnh + 10] = check >>> 8;
    nb[nnh + 11] = check & 0xff;
    skb.pktType = PacketType.HOST;
    inet.mib.ip.ForwDatagrams++;
    this.finishOutput(skb, rt);
  }

  // ---------------------------------------------------------------- output

  nextId(): number {
    this.ident = (this.ident + 1) & 0xffff;
    return this.ident;
  }

  /**
   * ip_queue_xmit / ip_send_skb: `skb.data` is at the transport header with
   * at least MAX_HEADER bytes of headroom. Returns null when the datagram was
   * handed on (sent, queued for resolution, or dropped after that point), or
   * the errno a socket would see; the buffer is consumed either way.
   */
  output(skb: SkBuff, o: IpOutputOptions): ErrnoName | null {
    const inet = this.inet;
    inet.mib.ip.OutRequests++;
    const rt = o.rt ?? inet.routeOutput(o.dst, o.src);
    if (typeof rt === 'string') {
      inet.mib.ip.OutNoRoutes++;
      inet.drop(skb, 'IP_OUTNOROUTES');
      return rt;
    }
    const total = skb.len + IPV4_HLEN;
    if (total > 0xffff) {
      inet.mib.ip.OutDiscards++;
      inet.drop(skb, 'PKT_TOO_BIG');
      return 'EMSGSIZE';
    }
    if (skb.headroom() < IPV4_HLEN + rt.dev.hardHeaderLen && !skb.cow(MAX_HEADER)) {
      inet.mib.ip.OutDiscards++;
      inet.drop(skb, 'NOMEM');
      return 'ENOBUFS';
    }
    const df = o.df ?? total <= rt.mtu;
    const at = skb.push(IPV4_HLEN);
    writeHeader(skb.buf, at, {
      tos: o.tos ?? 0,
      totalLength: total,
      id: this.nextId(),
      frag: df ? IP_DF : 0,
      ttl: o.ttl ?? inet.sysctl('net.ipv4.ip_default_ttl'),
      protocol: o.protocol,
      src: o.src === 0 ? rt.src : o.src,
      dst: o.dst,
    });
    skb.networkHeader = at;
    skb.protocol = ETH_P_IP;
    if (rt.type === 'broadcast') inet.mib.ipExt.OutBcastPkts++;
    return this.finishOutput(skb, rt);
  }

  /** ip_finish_output: fragment when too big for the route's MTU, unless DF says not to. */
  finishOutput(skb: SkBuff, rt: RouteResult): ErrnoName | null {
    const inet = this.inet;
    const mtu = rt.mtu;
    if (skb.len > mtu) {
      const b = skb.buf;
      const nh = skb.networkHeader;
      if ((((b[nh + 6]! << 8) | b[nh + 7]!) & IP_DF) !== 0) {
        inet.mib.ip.FragFails++;
        inet.drop(skb, 'PKT_TOO_BIG');
        return 'EMSGSIZE';
      }
      return this.fragment(skb, rt, mtu);
    }
    return this.finishOutput2(skb, rt);
  }

  /** ip_finish_output2: the next hop's neighbour entry takes it from here. */
  finishOutput2(skb: SkBuff, rt: RouteResult): ErrnoName | null {
    const inet = this.inet;
    const n = inet.neigh.lookupOrCreate(rt.dev, rt.nexthop);
    if (n === null) {
      inet.mib.ip.OutDiscards++;
      inet.drop(skb, 'NEIGH_CREATEFAIL');
      return 'ENOBUFS';
    }
    inet.mib.ip.OutTransmits++;
    inet.mib.ipExt.OutOctets += skb.len;
    inet.neigh.output(n, skb);
    return null;
  }

  /**
   * ip_fragment (the slow path: each fragment a fresh buffer). Fragments
   * carry the original's owner, so a slow link still throttles the sender.
   */
  private fragment(skb: SkBuff, rt: RouteResult, mtu: number): ErrnoName | null {
    const inet = this.inet;
    const b = skb.buf;
    const nh = skb.networkHeader;
    const ihl = (b[nh]! & 0x0f) << 2;
    const frag0 = (b[nh + 6]! << 8) | b[nh + 7]!;
    const baseOff = (frag0 & IP_OFFSET) << 3;
    const lastHasMf = (frag0 & IP_MF) !== 0;
    const payload = skb.len - ihl;
    const step = (mtu - ihl) & ~7;
    if (step < 8) {
      inet.mib.ip.FragFails++;
      inet.drop(skb, 'PKT_TOO_BIG');
      return 'EMSGSIZE';
    }
    const pieces: SkBuff[] = [];
    for (let off = 0; off < payload; off += step) {
      const n = Math.min(step, payload - off);
      const f = allocSkbFrom(inet.stack.pool, MAX_HEADER + ihl + n);
      if (f === null) {
        for (const p of pieces) p.free();
        inet.mib.ip.FragFails++;
        inet.drop(skb, 'NOMEM');
        return 'ENOBUFS';
      }
      f.reserve(MAX_HEADER);
      const at = f.put(ihl + n);
      b.copy(f.buf, at, nh, nh + ihl);
      b.copy(f.buf, at + ihl, nh + ihl + off, nh + ihl + off + n);
      const more = off + n < payload || lastHasMf;
      const word = (frag0 & IP_DF) | (more ? IP_MF : 0) | ((baseOff + off) >>> 3);
      const fb = f.buf;
      fb[at + 2] = (ihl + n) >>> 8;
      fb[at + 3] = (ihl + n) & 0xff;
      fb[at + 6] = word >>> 8;
      fb[at + 7] = word & 0xff;
      fb[at + 10] = 0;
      fb[at + 11] = 0;
      const c = internetChecksum(fb, at, ihl);
      fb[at + 10] = c >>> 8;
      fb[at + 11] = c & 0xff;
      f.networkHeader = at;
      f.protocol = ETH_P_IP;
      f.priority = skb.priority;
      if (skb.sk !== null) setOwnerW(f, skb.sk);
      pieces.push(f);
    }
    inet.mib.ip.FragOKs++;
    inet.mib.ip.FragCreates += pieces.length;
    inet.consume(skb);
    for (const f of pieces) this.finishOutput2(f, rt);
    return null;
  }
}

interface HeaderFields {
  tos: number;
  totalLength: number;
  id: number;
  /** The 16-bit flags + offset word. */
  frag: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/** A 20-byte header with its checksum, written in place (the per-packet cost of emitIpv4 without its checks). */
export function writeHeader(b: Buffer, at: number, h: HeaderFields): void {
  b[at] = 0x45;
  b[at + 1] = h.tos;
  b[at + 2] = h.totalLength >>> 8;
  b[at + 3] = h.totalLength & 0xff;
  b[at + 4] = h.id >>> 8;
  b[at + 5] = h.id & 0xff;
  b[at + 6] = h.frag >>> 8;
  b[at + 7] = h.frag & 0xff;
  b[at + 8] = h.ttl;
  b[at + 9] = h.protocol;
  b[at + 10] = 0;
  b[at + 11] = 0;
  writeU32(b, at + 12, h.src);
  writeU32(b, at + 16, h.dst);
  const c = internetChecksum(b, at, IPV4_HLEN);
  b[at + 10] = c >>> 8;
  b[at + 11] = c & 0xff;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function isLoopback(dev: NetDevice): boolean {
  return (dev.flags & IFF.LOOPBACK) !== 0;
}
