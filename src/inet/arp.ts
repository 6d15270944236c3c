// ARP (net/ipv4/arp.c), the neighbour table's resolver for IPv4 on
// Ethernet-like devices. Requests are answered only for our own addresses
// (arp_ignore 0: any local address, whichever device it is on); what we hear
// updates entries we already have, and a request for us creates one (STALE),
// as arp_process does. Gratuitous ARP announces an address when it is added
// and when its device comes up.

import { IFF } from '../dev/flags.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { devQueueXmit } from '../dev/xmit.ts';
import { PacketType, allocSkbFrom, type SkBuff } from '../skb/skbuff.ts';
import { ARP_F, ARP_HLEN, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST } from '../wire/arp.ts';
import { ETH_P_ARP, ETH_P_IP } from '../wire/eth.ts';
import { isIpv4Multicast } from '../wire/ipv4.ts';
import { NEIGH_UPDATE, NUD, type Neighbour, type NeighResolver } from '../neigh/neighbour.ts';
import type { InetStack } from './inet.ts';
import { ICMP_HOST_UNREACH, MAX_HEADER, readU32, writeU32 } from './ipv4.ts';
import { ICMP_DEST_UNREACH } from '../wire/icmp.ts';

/** neigh_parms locktime: an entry is not overridden by another answer within 1 s (arp_process). */
const LOCKTIME_MS = 1000;
const ZERO_MAC = Buffer.alloc(6);

export function arpNeeded(dev: NetDevice): boolean {
  return (dev.flags & (IFF.NOARP | IFF.LOOPBACK)) === 0;
}

export class Arp implements NeighResolver {
  readonly protocol = ETH_P_IP;

  constructor(readonly inet: InetStack) {}

  /** arp_constructor. */
  construct(n: Neighbour): void {
    const dev = n.dev;
    if (!arpNeeded(dev)) {
      n.state = NUD.NOARP;
      n.ha.set(dev.devAddr);
    } else if (n.key === 0xffffffff || this.inet.localType(n.key, dev) === 'broadcast') {
      n.state = NUD.NOARP;
      n.ha.set(dev.broadcast);
    } else if (isIpv4Multicast(n.key)) {
      // ip_eth_mc_map: 01:00:5e + the low 23 bits of the group.
      n.state = NUD.NOARP;
      n.ha.set([0x01, 0x00, 0x5e, (n.key >>> 16) & 0x7f, (n.key >>> 8) & 0xff, n.key & 0xff]);
    }
  }

  /** arp_solicit: broadcast while INCOMPLETE, unicast to the known address while PROBE. */
  solicit(n: Neighbour, skb: SkBuff | null): void {
    const inet = this.inet;
    let saddr = 0;
    // arp_announce 0: the queued datagram's source, if it is ours.
    if (skb !== null && skb.networkHeader >= 0) {
      const s = readU32(skb.buf, skb.networkHeader + 12);
      if (inet.localType(s, null) === 'local') saddr = s;
    }
    if (saddr === 0) saddr = inet.selectAddr(n.dev, n.key, 'link');
    const unicast = (n.state & NUD.PROBE) !== 0;
    this.send(ARPOP_REQUEST, n.dev, n.key, saddr, unicast ? n.ha : null, null);
  }

  /** arp_error_report: a queued datagram's sender hears EHOSTUNREACH. */
  errorReport(_n: Neighbour, skb: SkBuff): void {
    this.inet.linkFailure(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH);
  }

  /**
   * arp_send: one ARP packet from `dev`. `dstHw` null = broadcast; `targetHw`
   * null = zeros (a request). Returns false when it could not be sent.
   */
  send(op: number, dev: NetDevice, tip: number, sip: number, dstHw: Uint8Array | null, targetHw: Uint8Array | null): boolean {
    const inet = this.inet;
    if (!arpNeeded(dev) || !dev.isUp()) return false;
    const skb = allocSkbFrom(inet.stack.pool, MAX_HEADER + ARP_HLEN);
    if (skb === null) return false;
    skb.reserve(MAX_HEADER);
    const at = skb.put(ARP_HLEN);
    const b = skb.buf;
    b[at] = 0;
    b[at + 1] = ARPHRD_ETHER;
    b[at + 2] = ETH_P_IP >>> 8;
    b[at + 3] = ETH_P_IP & 0xff;
    b[at + 4] = 6;
    b[at + 5] = 4;
    b[at + 6] = op >>> 8;
    b[at + 7] = op & 0xff;
    b.set(dev.devAddr, at + ARP_F.SHA);
    writeU32(b, at + ARP_F.SPA, sip);
    b.set(targetHw ?? ZERO_MAC, at + ARP_F.THA);
    writeU32(b, at + ARP_F.TPA, tip);
    skb.networkHeader = at;
    skb.protocol = ETH_P_ARP;
    skb.dev = dev;
    dev.ops.hardHeader?.(dev, skb, ETH_P_ARP, dstHw ?? dev.broadcast, null);
    devQueueXmit(skb);
    return true;
  }

  /** A gratuitous request: our address as sender and target, to everyone. */
  announce(dev: NetDevice, addr: number): void {
    this.send(ARPOP_REQUEST, dev, addr, addr, null, null);
  }

  /** arp_rcv + arp_process. `skb.data` is at the ARP header. */
  rcv(skb: SkBuff, dev: NetDevice): void {
    const inet = this.inet;
    if (!arpNeeded(dev)) {
      inet.drop(skb, 'NOT_SPECIFIED');
      return;
    }
    if (skb.pktType === PacketType.OTHERHOST) {
      inet.drop(skb, 'OTHERHOST');
      return;
    }
    const b = skb.buf;
    const a = skb.data;
    if (skb.len < ARP_HLEN) {
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    // arp_hdr_len and the Ethernet/IPv4 pair only (hln 6, pln 4).
    if (b[a] !== 0 || b[a + 1] !== ARPHRD_ETHER || b[a + 2] !== 0x08 || b[a + 3] !== 0x00 || b[a + 4] !== 6 || b[a + 5] !== 4) {
      inet.drop(skb, 'NOT_SPECIFIED');
      return;
    }
    const op = (b[a + 6]! << 8) | b[a + 7]!;
    const sha = Buffer.from(b.subarray(a + ARP_F.SHA, a + ARP_F.SHA + 6));
    const sip = readU32(b, a + ARP_F.SPA);
    const tip = readU32(b, a + ARP_F.TPA);
    // Neither side may be multicast; a sender must not claim a multicast/broadcast MAC.
    if (isIpv4Multicast(tip) || (sha[0]! & 1) !== 0 || (op !== ARPOP_REQUEST && op !== ARPOP_REPLY)) {
      inet.drop(skb, 'NOT_SPECIFIED');
      return;
    }
    const targetIsOurs = inet.localType(tip, dev) === 'local';
    // Duplicate address detection probe (sip 0): answer, learn nothing.
    if (sip === 0) {
      if (op === ARPOP_REQUEST && targetIsOurs) this.send(ARPOP_REPLY, dev, sip, tip, sha, sha);
      inet.consume(skb);
      return;
    }
    if (op === ARPOP_REQUEST && targetIsOurs) {
      // neigh_event_ns: the asker is a neighbour now (STALE), then answer it.
      const n = inet.neigh.lookupOrCreate(dev, sip);
      if (n !== null) inet.neigh.update(n, sha, NUD.STALE, NEIGH_UPDATE.OVERRIDE);
      this.send(ARPOP_REPLY, dev, sip, tip, sha, sha);
      inet.consume(skb);
      return;
    }
    const n = inet.neigh.lookup(dev, sip);
    if (n !== undefined) {
      const isGarp = op === ARPOP_REQUEST && tip === sip;
      const now = inet.stack.clock.now();
      const override = now > n.updated + LOCKTIME_MS || isGarp;
      // A reply sent to us confirms reachability; anything else only tells us an address.
      const state = op === ARPOP_REPLY && skb.pktType === PacketType.HOST ? NUD.REACHABLE : NUD.STALE;
      inet.neigh.update(n, sha, state, override ? NEIGH_UPDATE.OVERRIDE : 0);
    }
    inet.consume(skb);
  }
}
