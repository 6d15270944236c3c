// The 802.1Q receive side. A parent with channels has vlanHandleFrame as its
// rx handler: a frame tagged with a channel's VID is untagged and received
// again as the channel's (vlan_do_receive, RX_HANDLER_ANOTHER). A tagged
// frame no channel takes meets vlanEncap: a priority-tagged frame (VID 0) is
// untagged and delivered on the device it came in on; another VID is
// untagged and marked for another host, as __netif_receive_skb_core does
// after vlan_do_receive found no channel.

import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { RX_HANDLER_ANOTHER, RX_HANDLER_CONSUMED, RX_HANDLER_PASS, type RxHandlerResult } from '../dev/rx-handler.ts';
import type { EncapHandler, ProtocolTable } from '../proto/ptype.ts';
import { ETH_HLEN, ETH_P_8021Q } from '../wire/eth.ts';
import { macEquals } from '../wire/mac.ts';
import { VLAN_HLEN, VLAN_VID_MASK, readVlanInnerType, readVlanTci, vlanTagRemove } from '../wire/vlan.ts';
import type { VlanGroup } from './device.ts';

/** The tag of a frame whose `data` is just past the outer ethertype starts 2 bytes before it (the TPID). */
function tciOf(skb: SkBuff): number {
  return readVlanTci(skb.buf, skb.data - 2);
}

/**
 * skb_vlan_untag + vlan_set_encap_proto: drop the 4-byte tag, slide the MAC
 * addresses up over it, and take the inner ethertype as the protocol. The
 * frame looks untagged afterwards, with `data` at the network header.
 */
function vlanUntag(skb: SkBuff): boolean {
  if (!skb.cow(0)) return false;
  const b = skb.buf;
  const move = vlanTagRemove(skb.macHeader);
  // data points at the TCI; the inner ethertype follows it.
  skb.protocol = readVlanInnerType(b, skb.data - 2);
  b.copyWithin(move.to, move.from, move.from + move.length);
  skb.macHeader = move.frameOffset;
  skb.data += VLAN_HLEN;
  skb.networkHeader = skb.data;
  return true;
}

/** The parent's rx handler: frames for a channel move to it. */
export function vlanHandleFrame(skb: SkBuff): RxHandlerResult {
  if (skb.protocol !== ETH_P_8021Q || skb.len < VLAN_HLEN) return RX_HANDLER_PASS;
  const parent = skb.dev!;
  const vdev = (parent.rxHandlerData as VlanGroup).byVid.get(tciOf(skb) & VLAN_VID_MASK);
  if (vdev === undefined) return RX_HANDLER_PASS;
  if (!vdev.isUp()) {
    vdev.stats.rxDropped++;
    skb.drop('DEV_READY');
    return RX_HANDLER_CONSUMED;
  }
  if (!vlanUntag(skb)) {
    vdev.stats.rxDropped++;
    skb.drop('NOMEM');
    return RX_HANDLER_CONSUMED;
  }
  skb.dev = vdev;
  vdev.stats.rxPackets++;
  vdev.stats.rxBytes += skb.len + ETH_HLEN;
  // vlan_do_receive: a frame for the channel's own address is for this host.
  if (skb.pktType === PacketType.OTHERHOST && macEquals(skb.buf, skb.macHeader, vdev.devAddr, 0)) skb.pktType = PacketType.HOST;
  if (skb.pktType === PacketType.MULTICAST) vdev.stats.multicast++;
  return RX_HANDLER_ANOTHER;
}

/**
 * A tagged frame no channel took (__netif_receive_skb_core after
 * vlan_do_receive found no device): the tag comes off and the frame goes to
 * the handlers of the inner protocol on the device it came in on. VID 0 is
 * priority tagging, so the frame is this device's; any other VID was meant
 * for a channel this device does not have, so it goes on as OTHERHOST.
 * Claimed only when a handler for the inner type exists, so a frame nobody
 * wants is counted as today (the taps own it, or UNHANDLED_PROTO).
 */
export const vlanEncap: EncapHandler = {
  claims(skb: SkBuff, table: ProtocolTable): boolean {
    if (skb.len < VLAN_HLEN) return false;
    return table.base.has(readVlanInnerType(skb.buf, skb.data - 2));
  },
  strip(skb: SkBuff): boolean {
    const vid = tciOf(skb) & VLAN_VID_MASK;
    if (!vlanUntag(skb)) return false;
    if (vid !== 0) skb.pktType = PacketType.OTHERHOST;
    return true;
  },
};
