// eth_type_trans: find the protocol and who a received frame is for. Called
// by the receive path on Ethernet-like devices; leaves `data` at the network
// header and `macHeader` at the Ethernet header.

import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_802_3_MIN, readEthType } from '../wire/eth.ts';
import { isBroadcastMac, macEquals } from '../wire/mac.ts';

/** Returns the ethertype (host order); the caller has checked len >= ETH_HLEN. */
export function ethTypeTrans(skb: SkBuff, dev: NetDevice): number {
  const buf = skb.buf;
  const m = skb.data;
  skb.dev = dev;
  skb.macHeader = m;
  skb.data = m + ETH_HLEN;
  skb.networkHeader = skb.data;
  if ((buf[m]! & 1) !== 0) skb.pktType = isBroadcastMac(buf, m) ? PacketType.BROADCAST : PacketType.MULTICAST;
  else skb.pktType = macEquals(buf, m, dev.devAddr, 0) ? PacketType.HOST : PacketType.OTHERHOST;
  const proto = readEthType(buf, m);
  if (proto >= ETH_P_802_3_MIN) return proto;
  // A length field: raw 802.3 (Novell's 0xFFFF hack) or 802.2 LLC.
  const data = skb.data;
  if (skb.tail - data >= 2 && buf[data] === 0xff && buf[data + 1] === 0xff) return ETH_P_802_3;
  return ETH_P_802_2;
}
