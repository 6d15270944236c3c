// IEEE 802.1Q VLAN tag (IEEE Std 802.1Q-2018 §9.6), constants from
// include/linux/if_vlan.h. A tag is 4 bytes inserted after the source MAC:
// TPID (0x8100, or 0x88a8 for an 802.1ad S-tag) then the TCI, and the
// original EtherType follows the tag.
//
//   0      6      12     14     16     18
//   +------+------+------+------+------+---- payload
//   | dst  | src  | TPID | TCI  | type |
//   +------+------+------+------+------+
//                 ^ tag offset (`off` below)
//
//   TCI:  15..13 PCP | 12 DEI | 11..0 VID
//
// imports: errno, eth

import { NetError } from '../errno.ts';
import { ETH_ALEN, ETH_P_8021AD, ETH_P_8021Q } from './eth.ts';

export const VLAN_HLEN = 4;
/** Ethernet header plus one tag. */
export const VLAN_ETH_HLEN = 18;
export const VLAN_PRIO_MASK = 0xe000;
export const VLAN_PRIO_SHIFT = 13;
export const VLAN_DEI_MASK = 0x1000;
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_N_VID = 4096;
/** 0 means "priority tag only" and 4095 is reserved, so hosts use 1..4094. */
export const VLAN_VID_MIN = 1;
export const VLAN_VID_MAX = 4094;

/** Offsets from the start of the tag (the TPID), which sits at 12 in a frame. */
export const VLAN_F = { TPID: 0, TCI: 2, INNER_TYPE: 4, PAYLOAD: 6 } as const;

export interface VlanTci {
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator (was CFI). */
  dei: boolean;
  /** VLAN identifier, 0..4095 on the wire. */
  vid: number;
}

export interface VlanTag extends VlanTci {
  tpid: number;
  innerType: number;
  /** Absolute offset of the byte after the inner EtherType. */
  payloadOffset: number;
}

/** A VID an interface can be configured with (1..4094). */
export function isValidVlanId(vid: number): boolean {
  return Number.isInteger(vid) && vid >= VLAN_VID_MIN && vid <= VLAN_VID_MAX;
}

/** TPIDs that mark a tag: 802.1Q C-tag and 802.1ad S-tag. */
export function isVlanTpid(type: number): boolean {
  return type === ETH_P_8021Q || type === ETH_P_8021AD;
}

export function parseVlanTci(tci: number): VlanTci {
  return { pcp: (tci >>> VLAN_PRIO_SHIFT) & 7, dei: (tci & VLAN_DEI_MASK) !== 0, vid: tci & VLAN_VID_MASK };
}

/** Throws EINVAL for a PCP outside 0..7 or a VID outside 0..4095. */
export function encodeVlanTci(tci: VlanTci): number {
  if (!Number.isInteger(tci.pcp) || tci.pcp < 0 || tci.pcp > 7) throw new NetError('EINVAL', `bad VLAN priority ${tci.pcp}`);
  if (!Number.isInteger(tci.vid) || tci.vid < 0 || tci.vid > VLAN_VID_MASK) throw new NetError('EINVAL', `bad VLAN id ${tci.vid}`);
  return (tci.pcp << VLAN_PRIO_SHIFT) | (tci.dei ? VLAN_DEI_MASK : 0) | tci.vid;
}

/** The TCI of the tag at `off`, or -1 when the tag is cut short. */
export function readVlanTci(buf: Uint8Array, off: number): number {
  if (off < 0 || off + VLAN_F.PAYLOAD > buf.length) return -1;
  return (buf[off + VLAN_F.TCI]! << 8) | buf[off + VLAN_F.TCI + 1]!;
}

/** The EtherType after the tag at `off`, or -1 when it is cut short. */
export function readVlanInnerType(buf: Uint8Array, off: number): number {
  if (off < 0 || off + VLAN_F.PAYLOAD > buf.length) return -1;
  return (buf[off + VLAN_F.INNER_TYPE]! << 8) | buf[off + VLAN_F.INNER_TYPE + 1]!;
}

/**
 * Writes TPID, TCI and the inner EtherType (6 bytes) at `off` and returns the
 * offset past them. Throws EINVAL when they do not fit or a value is out of range.
 */
export function writeVlanTag(buf: Uint8Array, off: number, tci: number, innerType: number, tpid: number = ETH_P_8021Q): number {
  if (off < 0 || off + VLAN_F.PAYLOAD > buf.length) throw new NetError('EINVAL', 'no room for a VLAN tag');
  if (!Number.isInteger(tci) || tci < 0 || tci > 0xffff) throw new NetError('EINVAL', `bad VLAN TCI ${tci}`);
  if (!Number.isInteger(innerType) || innerType < 0 || innerType > 0xffff) throw new NetError('EINVAL', `bad ethertype ${innerType}`);
  if (!Number.isInteger(tpid) || tpid < 0 || tpid > 0xffff) throw new NetError('EINVAL', `bad TPID ${tpid}`);
  buf[off] = tpid >>> 8;
  buf[off + 1] = tpid & 0xff;
  buf[off + 2] = tci >>> 8;
  buf[off + 3] = tci & 0xff;
  buf[off + 4] = innerType >>> 8;
  buf[off + 5] = innerType & 0xff;
  return off + VLAN_F.PAYLOAD;
}

/** Parses the tag at `off` (12 in an untagged-at-start frame); undefined when cut short. */
export function parseVlanTag(buf: Uint8Array, off: number): VlanTag | undefined {
  if (off < 0 || off + VLAN_F.PAYLOAD > buf.length) return undefined;
  const tci = (buf[off + 2]! << 8) | buf[off + 3]!;
  return {
    tpid: (buf[off]! << 8) | buf[off + 1]!,
    ...parseVlanTci(tci),
    innerType: (buf[off + 4]! << 8) | buf[off + 5]!,
    payloadOffset: off + VLAN_F.PAYLOAD,
  };
}

/**
 * Where bytes go when a tag is pushed onto (or popped off) a frame in place,
 * as vlan_insert_tag() and skb_vlan_pop() do: the two MAC addresses move and
 * the EtherType stays put, so the payload is never copied.
 */
export interface VlanMove {
  /** Where the frame starts after the move. */
  frameOffset: number;
  /** Copy `length` bytes from `from` to `to` (a memmove; Buffer.copyWithin). */
  from: number;
  to: number;
  length: number;
  /** Where the tag's TPID is (push: to be written; pop: was). */
  tagOffset: number;
}

/**
 * The move that tags a frame starting at `frameOff`, which needs VLAN_HLEN
 * bytes of headroom before it. After the caller moves the MACs, it writes the
 * tag with writeVlanTag(buf, tagOffset, tci, originalType). Throws EINVAL
 * without headroom.
 */
export function vlanTagInsert(frameOff: number): VlanMove {
  if (!Number.isInteger(frameOff) || frameOff < VLAN_HLEN) throw new NetError('EINVAL', 'a VLAN tag needs 4 bytes of headroom');
  const frameOffset = frameOff - VLAN_HLEN;
  return { frameOffset, from: frameOff, to: frameOffset, length: 2 * ETH_ALEN, tagOffset: frameOffset + 2 * ETH_ALEN };
}

/** The inverse move: untags a tagged frame starting at `frameOff`. */
export function vlanTagRemove(frameOff: number): VlanMove {
  if (!Number.isInteger(frameOff) || frameOff < 0) throw new NetError('EINVAL', `bad frame offset ${frameOff}`);
  return {
    frameOffset: frameOff + VLAN_HLEN,
    from: frameOff,
    to: frameOff + VLAN_HLEN,
    length: 2 * ETH_ALEN,
    tagOffset: frameOff + 2 * ETH_ALEN,
  };
}
