// netif_receive_skb: what the bottom half does with each frame. Find the
// protocol and the packet type, apply the device's hardware address filter
// if it has one (a NIC's: frames for other hosts only in promiscuous mode;
// software devices have none, so their taps see frames for other hosts as
// pkt_type otherhost), hand the frame to the taps, to the device's rx
// handler (an upper device: a VLAN channel's parent, a bridge port), strip
// an encapsulation a protocol registered (a VLAN tag no channel took), then
// to the handlers of its protocol. Every handler but the last gets a clone;
// the last gets the original. A frame nobody takes is dropped as OTHERHOST
// if it was for another host (where ip_rcv drops it in Linux), else as
// UNHANDLED_PROTO.

import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { skbTrace } from '../skb/trace.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { devMcAccepts } from '../dev/control.ts';
import { ethTypeTrans } from '../proto/eth.ts';
import type { PacketHandler, ProtocolTable } from '../proto/ptype.ts';
import { RX_HANDLER_ANOTHER, RX_HANDLER_CONSUMED } from '../dev/rx-handler.ts';
import { ETH_HLEN } from '../wire/eth.ts';

export interface ReceiveContext {
  readonly ptypes: ProtocolTable;
  readonly clock: { wallNow(): number };
}

/** Give `pt` a clone; if memory is short, that one receiver loses the frame. */
function deliverClone(ctx: ReceiveContext, pt: PacketHandler, skb: SkBuff, dev: NetDevice, orig: NetDevice): void {
  const c = skb.clone();
  if (c === null) {
    skb.pool.countDrop('NOMEM');
    return;
  }
  pt.func(c, dev, pt, orig);
}

export function netifReceiveSkb(ctx: ReceiveContext, skb: SkBuff): void {
  let dev = skb.dev;
  if (dev === null || !dev.isUp() || !dev.registered) {
    skb.drop('DEV_READY');
    return;
  }
  const orig = dev;
  skb.inputDev = orig;
  if (skb.trace !== null) skbTrace(skb, 'netif_receive_skb', ctx.clock.wallNow());
  if (skb.len < ETH_HLEN) {
    dev.stats.rxLengthErrors++;
    dev.stats.rxErrors++;
    skb.drop('PKT_TOO_SMALL');
    return;
  }
  skb.protocol = ethTypeTrans(skb, dev);
  if (skb.trace !== null) skbTrace(skb, 'eth_type_trans', ctx.clock.wallNow());
  if (dev.hwAddrFilter) {
    if (!passesAddressFilter(skb, dev)) {
      skb.drop('OTHERHOST');
      return;
    }
  } else if (skb.pktType === PacketType.MULTICAST) {
    dev.stats.multicast++;
  }
  let prev: PacketHandler | null = null;
  // another_round: an rx handler that moved the frame to an upper device.
  for (;;) {
    const taps = ctx.ptypes.all;
    for (let i = 0; i < taps.length; i++) {
      const pt = taps[i]!;
      if (pt.dev !== null && pt.dev !== dev) continue;
      if (prev !== null) deliverClone(ctx, prev, skb, dev, orig);
      prev = pt;
    }
    const rxHandler = dev.rxHandler;
    if (rxHandler === null) break;
    // The taps so far get their copy before the handler may change the frame.
    if (prev !== null) {
      deliverClone(ctx, prev, skb, dev, orig);
      prev = null;
    }
    const r = rxHandler(skb);
    if (r === RX_HANDLER_CONSUMED) return;
    if (r !== RX_HANDLER_ANOTHER) break;
    const next = skb.dev;
    if (next === null || next === dev) break;
    dev = next;
  }
  // A header nobody above took (a VLAN tag with no channel for it) comes off
  // when a handler waits for what it carries; the taps keep the frame as it was.
  for (let encap = ctx.ptypes.encap.get(skb.protocol); encap !== undefined; encap = ctx.ptypes.encap.get(skb.protocol)) {
    if (!encap.claims(skb, ctx.ptypes)) break;
    if (prev !== null) {
      deliverClone(ctx, prev, skb, dev, orig);
      prev = null;
    }
    if (!encap.strip(skb)) {
      dev.stats.rxDropped++;
      skb.drop('NOMEM');
      return;
    }
  }
  const handlers = ctx.ptypes.base.get(skb.protocol);
  if (handlers !== undefined) {
    for (let i = 0; i < handlers.length; i++) {
      const pt = handlers[i]!;
      if (pt.dev !== null && pt.dev !== dev) continue;
      if (prev !== null) deliverClone(ctx, prev, skb, dev, orig);
      prev = pt;
    }
  }
  if (prev !== null) {
    prev.func(skb, dev, prev, orig);
    return;
  }
  // A frame for another host that no tap wanted: the protocol layer would
  // drop it (ip_rcv_core: SKB_DROP_REASON_OTHERHOST), not count it lost.
  if (skb.pktType === PacketType.OTHERHOST) {
    skb.drop('OTHERHOST');
    return;
  }
  // Linux counts rx_nohandler only for exact-match delivery; a frame of a
  // protocol nobody handles is an rx_dropped (__netif_receive_skb_core).
  dev.stats.rxDropped++;
  skb.drop('UNHANDLED_PROTO');
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
