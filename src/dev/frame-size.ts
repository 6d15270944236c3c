// The one rule for how long a frame a device takes, used by the transmit
// path, packet sockets and the HTTP frames route alike: mtu plus the link
// header, and VLAN_HLEN more for a frame that carries an 802.1Q tag (a
// channel's mtu equals its parent's), as is_skb_forwardable and packet_snd
// (packet_extra_vlan_len_allowed) allow.

import { ETH_P_8021Q } from '../wire/eth.ts';
import { VLAN_HLEN } from '../wire/vlan.ts';
import type { NetDevice } from './netdevice.ts';

/** The longest frame of this ethertype `dev` sends. */
export function maxFrameLen(dev: NetDevice, ethertype: number): number {
  return dev.mtu + dev.hardHeaderLen + (ethertype === ETH_P_8021Q ? VLAN_HLEN : 0);
}

export function frameFitsDevice(dev: NetDevice, len: number, ethertype: number): boolean {
  return len <= dev.mtu + dev.hardHeaderLen || len <= maxFrameLen(dev, ethertype);
}
