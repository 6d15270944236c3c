// ICMP (net/ipv4/icmp.c): echo answered unless icmp_echo_ignore_all (and
// broadcast echo unless icmp_echo_ignore_broadcasts is 0); errors heard are
// handed to the protocol that sent the quoted datagram (its err handler, as
// icmp_socket_deliver does); errors we send (port/net/host/protocol
// unreachable, fragmentation needed, time exceeded) follow RFC 1122's
// "never about": ICMP errors, non-first fragments, broadcasts, bad sources.
// Errors are rate limited as Linux does: a token bucket per destination
// (icmp_ratelimit ms per message, bursts of 6, inet_peer_xrlim_allow) behind a
// global one (icmp_msgs_per_sec, icmp_msgs_burst, icmp_global_allow); echo
// replies and messages to ourselves are never limited (icmp_ratemask 0x1818).

import type { ErrnoName } from '../errno.ts';
import { IFF } from '../dev/flags.ts';
import { PacketType, allocSkbFrom, type SkBuff } from '../skb/skbuff.ts';
import { checksumAdd, checksumFold, internetChecksum } from '../wire/checksum.ts';
import { IP_OFFSET, IPPROTO_ICMP, IPV4_HLEN, isIpv4Multicast } from '../wire/ipv4.ts';
import { ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, ICMP_PARAMETERPROB, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { InetStack } from './inet.ts';
import {
  ICMP_FRAG_NEEDED, ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH,
  MAX_HEADER, readU32, type IcmpError, type IpProtocolHandler,
} from './ipv4.ts';

const ICMP_SOURCE_QUENCH = 4;
/** Types whose sending is rate limited: dest unreach, source quench, time exceeded, parameter problem. */
const ICMP_RATEMASK = 0x1818;
/** XRLIM_BURST_FACTOR: a peer may receive this many errors at once before the rate applies. */
const XRLIM_BURST_FACTOR = 6;
/** RFC 1812: an error quotes no more than makes the reply 576 bytes. */
const ICMP_ERROR_MAX = 576;
const NR_ICMP_TYPES = 18;

/** Error types (icmp_pointers[].error). */
function isErrorType(t: number): boolean {
  return t === ICMP_DEST_UNREACH || t === ICMP_SOURCE_QUENCH || t === 5 || t === ICMP_TIME_EXCEEDED || t === ICMP_PARAMETERPROB;
}

/** icmp_err_convert: what an unreachable code means to a socket, and whether it is a hard error. */
function unreachErrno(code: number): { errno: ErrnoName; fatal: boolean } {
  switch (code) {
    case ICMP_NET_UNREACH: return { errno: 'ENETUNREACH', fatal: true };
    case ICMP_HOST_UNREACH: return { errno: 'EHOSTUNREACH', fatal: true };
    case ICMP_PROT_UNREACH: return { errno: 'EPROTONOSUPPORT', fatal: true };
    case ICMP_PORT_UNREACH: return { errno: 'ECONNREFUSED', fatal: true };
    case ICMP_FRAG_NEEDED: return { errno: 'EMSGSIZE', fatal: false };
    default: return { errno: 'EHOSTUNREACH', fatal: code === 9 || code === 10 || code === 13 };
  }
}

interface PeerBucket {
  tokens: number;
  last: number;
}

export class Icmp implements IpProtocolHandler {
  readonly protocol = IPPROTO_ICMP;
  private readonly peers = new Map<number, PeerBucket>();
  private globalCredit = -1;
  private globalStamp = 0;

  constructor(readonly inet: InetStack) {}

  /** An error quoting an ICMP message we sent: only ping's echo requests care. */
  err(e: IcmpError): void {
    this.inet.pings.err(e);
  }

  /** icmp_rcv. */
  rcv(skb: SkBuff): void {
    const inet = this.inet;
    const mib = inet.mib;
    const b = skb.buf;
    const d = skb.data;
    const len = skb.len;
    if (len < ICMP_HLEN) {
      mib.icmp.InErrors++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    if (checksumFold(checksumAdd(0, b, d, len)) !== 0xffff) {
      mib.icmp.InCsumErrors++;
      mib.icmp.InErrors++;
      inet.drop(skb, 'ICMP_CSUM');
      return;
    }
    const type = b[d]!;
    if (type > NR_ICMP_TYPES) {
      mib.icmp.InErrors++;
      inet.drop(skb, 'UNHANDLED_PROTO');
      return;
    }
    mib.icmpInType(type);
    if (type === ICMP_ECHO) {
      this.echo(skb);
      return;
    }
    if (type === ICMP_ECHOREPLY) {
      inet.pings.rcvReply(skb);
      return;
    }
    if (isErrorType(type) && type !== 5) {
      this.unreach(skb);
      return;
    }
    // Redirects, timestamps, address masks: heard and let go (icmp_discard).
    inet.consume(skb);
  }

  /** icmp_echo: answer with the same identifier, sequence and data. */
  private echo(skb: SkBuff): void {
    const inet = this.inet;
    if (inet.sysctl('net.ipv4.icmp_echo_ignore_all') !== 0) {
      inet.consume(skb);
      return;
    }
    const b = skb.buf;
    const nh = skb.networkHeader;
    const saddr = readU32(b, nh + 12);
    const daddr = readU32(b, nh + 16);
    const toBroadcast = skb.pktType !== PacketType.HOST || inet.localType(daddr, skb.dev) === 'broadcast';
    if (toBroadcast && inet.sysctl('net.ipv4.icmp_echo_ignore_broadcasts') !== 0) {
      inet.mib.icmp.InErrors++;
      inet.drop(skb, 'NOT_SPECIFIED');
      return;
    }
    const len = skb.len;
    const r = allocSkbFrom(inet.stack.pool, MAX_HEADER + len);
    if (r === null) {
      inet.mib.icmp.OutErrors++;
      inet.drop(skb, 'NOMEM');
      return;
    }
    r.reserve(MAX_HEADER);
    const at = r.put(len);
    b.copy(r.buf, at, skb.data, skb.tail);
    r.buf[at] = ICMP_ECHOREPLY;
    r.buf[at + 1] = 0;
    r.buf[at + 2] = 0;
    r.buf[at + 3] = 0;
    const c = internetChecksum(r.buf, at, len);
    r.buf[at + 2] = c >>> 8;
    r.buf[at + 3] = c & 0xff;
    const tos = b[nh + 1]!;
    inet.consume(skb);
    inet.mib.icmpOutType(ICMP_ECHOREPLY);
    const src = toBroadcast ? 0 : daddr;
    inet.ip.output(r, { src, dst: saddr, protocol: IPPROTO_ICMP, tos });
  }

  /** icmp_unreach + icmp_socket_deliver: the quoted datagram's protocol hears of it. */
  private unreach(skb: SkBuff): void {
    const inet = this.inet;
    const b = skb.buf;
    const d = skb.data;
    const type = b[d]!;
    const code = b[d + 1]!;
    const q = d + ICMP_HLEN;
    const avail = skb.tail - q;
    if (avail < IPV4_HLEN) {
      inet.mib.icmp.InErrors++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    const qihl = (b[q]! & 0x0f) << 2;
    if (b[q]! >>> 4 !== 4 || qihl < IPV4_HLEN || avail < qihl + 8) {
      inet.mib.icmp.InErrors++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    let errno: ErrnoName = 'EHOSTUNREACH';
    let fatal = false;
    let info = 0;
    if (type === ICMP_DEST_UNREACH) {
      ({ errno, fatal } = unreachErrno(code));
      if (code === ICMP_FRAG_NEEDED) info = (b[d + 6]! << 8) | b[d + 7]!;
    } else if (type === ICMP_PARAMETERPROB) {
      errno = 'EPROTO';
      fatal = true;
    }
    const e: IcmpError = {
      type,
      code,
      info,
      from: readU32(b, skb.networkHeader + 12),
      errno,
      fatal,
      local: false,
      src: readU32(b, q + 12),
      dst: readU32(b, q + 16),
      protocol: b[q + 9]!,
      transport: Buffer.from(b.subarray(q + qihl, q + qihl + Math.min(avail - qihl, 64))),
    };
    if (code === ICMP_FRAG_NEEDED && type === ICMP_DEST_UNREACH) inet.learnPmtu(e.dst, info);
    inet.ip.protocols.get(e.protocol)?.err?.(e);
    inet.consume(skb);
  }

  /**
   * icmp_send: an error about `skbIn` (network header set) to its sender.
   * Silently does nothing where RFC 1122 forbids an error or the rate limit
   * says no; the caller still owns and frees `skbIn`.
   */
  send(skbIn: SkBuff, type: number, code: number, info: number): void {
    const inet = this.inet;
    const nh = skbIn.networkHeader;
    if (nh < 0 || nh + IPV4_HLEN > skbIn.tail) return;
    const b = skbIn.buf;
    const ihl = (b[nh]! & 0x0f) << 2;
    const saddr = readU32(b, nh + 12);
    const daddr = readU32(b, nh + 16);
    if (skbIn.pktType !== PacketType.HOST && skbIn.pktType !== PacketType.OUTGOING) return;
    if (daddr === 0xffffffff || isIpv4Multicast(daddr) || inet.localType(daddr, skbIn.dev) === 'broadcast') return;
    if (((b[nh + 6]! << 8) | b[nh + 7]!) & IP_OFFSET) return;
    if (saddr === 0 || saddr === 0xffffffff || isIpv4Multicast(saddr)) return;
    if (b[nh + 9] === IPPROTO_ICMP && nh + ihl < skbIn.tail) {
      const inner = b[nh + ihl]!;
      if (inner > NR_ICMP_TYPES || isErrorType(inner)) return;
    }
    const local = inet.localType(daddr, null) === 'local';
    const rt = inet.routeOutput(saddr, local ? daddr : 0);
    if (typeof rt === 'string') return;
    if (((1 << type) & ICMP_RATEMASK) !== 0 && (rt.dev.flags & IFF.LOOPBACK) === 0 && !this.allow(saddr)) return;
    const quoted = Math.min(skbIn.tail - nh, ICMP_ERROR_MAX - IPV4_HLEN - ICMP_HLEN);
    const skb = allocSkbFrom(inet.stack.pool, MAX_HEADER + ICMP_HLEN + quoted);
    if (skb === null) {
      inet.mib.icmp.OutErrors++;
      return;
    }
    skb.reserve(MAX_HEADER);
    const at = skb.put(ICMP_HLEN + quoted);
    const o = skb.buf;
    o[at] = type;
    o[at + 1] = code;
    o.fill(0, at + 2, at + 8);
    if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) {
      o[at + 6] = (info >>> 8) & 0xff;
      o[at + 7] = info & 0xff;
    } else if (type === ICMP_PARAMETERPROB) {
      o[at + 4] = info & 0xff;
    }
    b.copy(o, at + ICMP_HLEN, nh, nh + quoted);
    const c = internetChecksum(o, at, ICMP_HLEN + quoted);
    o[at + 2] = c >>> 8;
    o[at + 3] = c & 0xff;
    inet.mib.icmpOutType(type);
    // IPTOS_PREC_INTERNETCONTROL with the original's TOS bits.
    const tos = 0xc0 | (b[nh + 1]! & 0x1e);
    inet.ip.output(skb, { src: local ? daddr : rt.src, dst: saddr, protocol: IPPROTO_ICMP, tos, rt });
  }

  /** icmp_global_allow, then inet_peer_xrlim_allow for this destination. */
  private allow(dst: number): boolean {
    const inet = this.inet;
    const now = inet.stack.clock.now();
    const perSec = inet.sysctl('net.ipv4.icmp_msgs_per_sec');
    const burst = inet.sysctl('net.ipv4.icmp_msgs_burst');
    if (perSec > 0) {
      if (this.globalCredit < 0) this.globalCredit = burst;
      const delta = now - this.globalStamp;
      if (delta >= 20) {
        this.globalCredit = Math.min(burst, this.globalCredit + Math.floor((delta * perSec) / 1000));
        this.globalStamp = now;
      }
      if (this.globalCredit <= 0) {
        inet.mib.icmp.OutRateLimitGlobal++;
        return false;
      }
      this.globalCredit--;
    }
    const timeout = inet.sysctl('net.ipv4.icmp_ratelimit');
    if (timeout === 0) return true;
    let p = this.peers.get(dst);
    if (p === undefined) {
      if (this.peers.size >= 4096) this.peers.clear();
      p = { tokens: XRLIM_BURST_FACTOR * timeout, last: now };
      this.peers.set(dst, p);
    }
    p.tokens = Math.min(XRLIM_BURST_FACTOR * timeout, p.tokens + (now - p.last));
    p.last = now;
    if (p.tokens >= timeout) {
      p.tokens -= timeout;
      return true;
    }
    inet.mib.icmp.OutRateLimitHost++;
    return false;
  }
}
