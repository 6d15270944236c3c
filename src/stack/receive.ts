// netif_receive_skb: what the bottom half does with each frame. Find the
// protocol and the packet type, apply the device's hardware address filter
// if it has one (a NIC's: frames for other hosts only in promiscuous mode;
// software devices have none, so their taps see frames for other hosts as
// pkt_type otherhost), hand the frame to the taps, to a VLAN channel if it
// is tagged for one, then to the handlers of its protocol. Every handler but
// the last gets a clone; the last gets the original. A frame nobody takes is
// dropped as OTHERHOST if it was for another host (where ip_rcv drops it in
// Linux), else as UNHANDLED_PROTO.

import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { devMcAccepts } from '../dev/control.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import { ethTypeTrans } from '../proto/eth.ts';
import type { PacketHandler, ProtocolTable } from '../proto/ptype.ts';
import { ETH_HLEN, ETH_P_8021Q } from '../wire/eth.ts';
import { VLAN_HLEN } from '../wire/vlan.ts';

export interface ReceiveContext {
  readonly ptypes: ProtocolTable;
  kfreeSkb(skb: SkBuff, reason: DropReason): void;
  countDrop(reason: DropReason): void;
}

/** Give `pt` a clone; if memory is short, that one receiver loses the frame. */
function deliverClone(ctx: ReceiveContext, pt: PacketHandler, skb: SkBuff, dev: NetDevice, orig: NetDevice): void {
  const c = skb.clone();
  if (c === null) {
    ctx.countDrop('NOMEM');
    return;
  }
  pt.func(c, dev, pt, orig);
}

export function netifReceiveSkb(ctx: ReceiveContext, skb: SkBuff): void {
  let dev = skb.dev;
  if (dev === null || !dev.isUp() || !dev.registered) {
    ctx.kfreeSkb(skb, 'DEV_READY');
    return;
  }
  const orig = dev;
  skb.inputDev = orig;
  if (skb.len < ETH_HLEN) {
    dev.stats.rxLengthErrors++;
    dev.stats.rxErrors++;
    ctx.kfreeSkb(skb, 'PKT_TOO_SMALL');
    return;
  }
  let proto = ethTypeTrans(skb, dev);
  if (dev.hwAddrFilter) {
    if (!passesAddressFilter(skb, dev)) {
      ctx.kfreeSkb(skb, 'OTHERHOST');
      return;
    }
  } else if (skb.pktType === PacketType.MULTICAST) {
    dev.stats.multicast++;
  }
  let prev: PacketHandler | null = null;
  for (;;) {
    skb.protocol = proto;
    const taps = ctx.ptypes.all;
    for (let i = 0; i < taps.length; i++) {
      const pt = taps[i]!;
      if (pt.dev !== null && pt.dev !== dev) continue;
      if (prev !== null) deliverClone(ctx, prev, skb, dev, orig);
      prev = pt;
    }
    // The 802.1Q rx handler: a tag for a channel we have moves the frame there.
    if (proto === ETH_P_8021Q && dev.vlans.size > 0 && skb.len >= VLAN_HLEN) {
      const b = skb.buf;
      const vid = ((b[skb.data]! << 8) | b[skb.data + 1]!) & 0x0fff;
      const vdev = dev.vlans.get(vid);
      if (vdev !== undefined) {
        if (prev !== null) {
          deliverClone(ctx, prev, skb, dev, orig);
          prev = null;
        }
        if (!vdev.isUp()) {
          vdev.stats.rxDropped++;
          ctx.kfreeSkb(skb, 'DEV_READY');
          return;
        }
        if (!vlanUntag(skb)) {
          vdev.stats.rxDropped++;
          ctx.kfreeSkb(skb, 'NOMEM');
          return;
        }
        const nb = skb.buf;
        proto = (nb[skb.data - 2]! << 8) | nb[skb.data - 1]!;
        dev = vdev;
        skb.dev = vdev;
        vdev.stats.rxPackets++;
        vdev.stats.rxBytes += skb.len + ETH_HLEN;
        if (skb.pktType === PacketType.OTHERHOST && macIs(skb, vdev)) skb.pktType = PacketType.HOST;
        if (skb.pktType === PacketType.MULTICAST) vdev.stats.multicast++;
        continue;
      }
    }
    const handlers = ctx.ptypes.base.get(proto);
    if (handlers !== undefined) {
      for (let i = 0; i < handlers.length; i++) {
        const pt = handlers[i]!;
        if (pt.dev !== null && pt.dev !== dev) continue;
        if (prev !== null) deliverClone(ctx, prev, skb, dev, orig);
        prev = pt;
      }
    }
    break;
  }
  if (prev !== null) {
    prev.func(skb, dev, prev, orig);
    return;
  }
  // A frame for another host that no tap wanted: the protocol layer would
  // drop it (ip_rcv_core: SKB_DROP_REASON_OTHERHOST), not count it lost.
  if (skb.pktType === PacketType.OTHERHOST) {
    ctx.kfreeSkb(skb, 'OTHERHOST');
    return;
  }
  // Linux counts rx_nohandler only for exact-match delivery; a frame of a
  // protocol nobody handles is an rx_dropped (__netif_receive_skb_core).
  dev.stats.rxDropped++;
  ctx.kfreeSkb(skb, 'UNHANDLED_PROTO');
}

/** The NIC's filter: own address, broadcast, subscribed multicast; all of it when promiscuous. */
function passesAddressFilter(skb: SkBuff, dev: NetDevice): boolean {
  switch (skb.pktType) {
    case PacketType.HOST:
    case PacketType.BROADCAST:
      return true;
    case PacketType.MULTICAST:
      if (!devMcAccepts(dev, skb.buf, skb.macHeader)) return false;
      dev.stats.multicast++;
      return true;
    default:
      return dev.promiscuity > 0;
  }
}

function macIs(skb: SkBuff, dev: NetDevice): boolean {
  const b = skb.buf;
  const m = skb.macHeader;
  const a = dev.devAddr;
  return b[m] === a[0] && b[m + 1] === a[1] && b[m + 2] === a[2] && b[m + 3] === a[3] && b[m + 4] === a[4] && b[m + 5] === a[5];
}

/**
 * skb_vlan_untag: drop the 4-byte tag and slide the MAC addresses up over it,
 * so the channel sees an ordinary Ethernet header just before `data`.
 */
function vlanUntag(skb: SkBuff): boolean {
  if (!skb.cow(0)) return false;
  const b = skb.buf;
  const mac = skb.macHeader;
  // data points at the TCI; the inner ethertype follows it.
  b.copyWithin(mac + VLAN_HLEN, mac, mac + 12);
  skb.macHeader = mac + VLAN_HLEN;
  skb.data += VLAN_HLEN;
  skb.networkHeader = skb.data;
  return true;
}
