// Ethernet II / IEEE 802.3 MAC header (IEEE Std 802.3 §3.2), constants from
// include/uapi/linux/if_ether.h. A type field below ETH_P_802_3_MIN is an
// 802.3 length, not an EtherType.
//
//   0        6        12   14
//   +--------+--------+----+---------- ... payload (46..1500) ---+
//   |  dst   |  src   |type|                                      |
//   +--------+--------+----+--------------------------------------+
//
// imports: errno, mac, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { MAC_LEN } from './mac.ts';

export const ETH_ALEN = 6;
export const ETH_TLEN = 2;
export const ETH_HLEN = 14;
/** Minimum frame length without FCS; shorter frames are padded on transmit. */
export const ETH_ZLEN = 60;
export const ETH_DATA_LEN = 1500;
export const ETH_FRAME_LEN = 1514;
export const ETH_FCS_LEN = 4;

export const ETH_P_LOOP = 0x0060;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021AD = 0x88a8;
/** Values at or above this are EtherTypes; below it, 802.3 payload lengths. */
export const ETH_P_802_3_MIN = 0x0600;
// Pseudo-protocols: never on the wire, used by packet sockets and handlers.
export const ETH_P_802_3 = 0x0001;
export const ETH_P_ALL = 0x0003;
export const ETH_P_802_2 = 0x0004;

/** Field offsets from the start of the frame. */
export const ETH_F = { DST: 0, SRC: 6, TYPE: 12, PAYLOAD: 14 } as const;

export interface EthHeader {
  dst: Uint8Array;
  src: Uint8Array;
  /** EtherType, or an 802.3 length when below ETH_P_802_3_MIN. */
  type: number;
}

export interface EthRepr extends EthHeader {
  dst: Buffer;
  src: Buffer;
  /** Absolute offset of the first payload byte in the parsed buffer. */
  payloadOffset: number;
}

/** The type field of a frame starting at `off`, or -1 if the header is cut short. */
export function readEthType(buf: Uint8Array, off = 0): number {
  if (off < 0 || off + ETH_HLEN > buf.length) return -1;
  return (buf[off + ETH_F.TYPE]! << 8) | buf[off + ETH_F.TYPE + 1]!;
}

/**
 * Writes a 14-byte header at `off` and returns the offset just past it.
 * Throws EINVAL when the header does not fit or an argument is malformed.
 */
export function writeEthHeader(buf: Uint8Array, off: number, dst: Uint8Array, src: Uint8Array, type: number): number {
  if (off < 0 || off + ETH_HLEN > buf.length) throw new NetError('EINVAL', 'no room for an Ethernet header');
  if (dst.length < MAC_LEN || src.length < MAC_LEN) throw new NetError('EINVAL', 'MAC address must be 6 bytes');
  if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new NetError('EINVAL', `bad ethertype ${type}`);
  for (let i = 0; i < MAC_LEN; i++) {
    buf[off + i] = dst[i]!;
    buf[off + ETH_F.SRC + i] = src[i]!;
  }
  buf[off + ETH_F.TYPE] = type >>> 8;
  buf[off + ETH_F.TYPE + 1] = type & 0xff;
  return off + ETH_HLEN;
}

/** Value-level form of writeEthHeader(), for symmetry with parseEth(). */
export function emitEth(repr: EthHeader, buf: Uint8Array, off = 0): number {
  return writeEthHeader(buf, off, repr.dst, repr.src, repr.type);
}

/** Parses the header of a frame at `off`; undefined when it is cut short. */
export function parseEth(buf: Uint8Array, off = 0): EthRepr | undefined {
  if (off < 0 || off + ETH_HLEN > buf.length) return undefined;
  return {
    dst: Buffer.from(buf.subarray(off, off + MAC_LEN)),
    src: Buffer.from(buf.subarray(off + ETH_F.SRC, off + ETH_F.SRC + MAC_LEN)),
    type: (buf[off + ETH_F.TYPE]! << 8) | buf[off + ETH_F.TYPE + 1]!,
    payloadOffset: off + ETH_HLEN,
  };
}

// tcpdump's names (print-ethertype.c), so describeFrame() reads like it.
const ETH_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [ETH_P_IP, 'IPv4'],
  [ETH_P_ARP, 'ARP'],
  [0x8035, 'Reverse ARP'],
  [ETH_P_8021Q, '802.1Q'],
  [ETH_P_8021AD, '802.1Q-QinQ'],
  [ETH_P_IPV6, 'IPv6'],
  [0x8847, 'MPLS unicast'],
  [0x8848, 'MPLS multicast'],
  [0x8863, 'PPPoE D'],
  [0x8864, 'PPPoE S'],
  [0x888e, 'EAPOL'],
  [0x88cc, 'LLDP'],
  [0x88f7, 'PTP'],
  [0x9000, 'Loopback'],
]);

/** 'IPv4', 'ARP', '802.1Q', ... or the hex value, e.g. '0x88b5'. */
export function ethTypeName(type: number): string {
  return ETH_TYPE_NAMES.get(type) ?? ethTypeHex(type);
}

/** The type in the `0x0806` form tcpdump prints in parentheses. */
export function ethTypeHex(type: number): string {
  return '0x' + (type & 0xffff).toString(16).padStart(4, '0');
}
