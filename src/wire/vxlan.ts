// VXLAN header (RFC 7348 §5): 8 bytes after the outer UDP header, an I flag
// that says the VNI is valid, and a 24-bit VNI. Reserved bits are written as
// zero and ignored on receipt, as §5 says (Linux is stricter and drops
// datagrams with unknown flags unless an extension claims them).
//
//   byte 0    1..3       4..6      7
//   +--------+----------+---------+--------+---- inner Ethernet frame
//   |RRRRIRRR| reserved |   VNI   |reserved|
//   +--------+----------+---------+--------+
//
// imports: errno, eth

import { NetError } from '../errno.ts';
import { ETH_HLEN } from './eth.ts';

export const VXLAN_HLEN = 8;
/** IANA-assigned UDP port (RFC 7348 §5); Linux's default is still 8472. */
export const VXLAN_PORT = 4789;
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_VNI_MIN = 0;
export const VXLAN_VNI_MAX = 0xffffff;
/** Shortest UDP payload that can hold a header and an inner Ethernet header. */
export const VXLAN_MIN_LEN = VXLAN_HLEN + ETH_HLEN;

/** Offsets from the start of the VXLAN header. */
export const VXLAN_F = { FLAGS: 0, VNI: 4, INNER: 8 } as const;

export type VxlanParse =
  | { ok: true; vni: number; /** Absolute offset of the inner Ethernet frame. */ payloadOffset: number }
  | { ok: false; error: 'runt' | 'no_i_flag' };

export function isValidVni(vni: number): boolean {
  return Number.isInteger(vni) && vni >= VXLAN_VNI_MIN && vni <= VXLAN_VNI_MAX;
}

/** Writes the header at `off` and returns the offset of the inner frame. Throws EINVAL on a bad VNI or no room. */
export function encodeVxlanHeader(buf: Uint8Array, off: number, vni: number): number {
  if (!isValidVni(vni)) throw new NetError('EINVAL', `VXLAN VNI ${vni} is outside 0..16777215`);
  if (off < 0 || off + VXLAN_HLEN > buf.length) throw new NetError('EINVAL', 'no room for a VXLAN header');
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = vni >>> 16;
  buf[off + 5] = (vni >>> 8) & 0xff;
  buf[off + 6] = vni & 0xff;
  buf[off + 7] = 0;
  return off + VXLAN_HLEN;
}

/**
 * Parses the header of the UDP payload `buf[off ..]`. A payload too short for
 * the header plus an inner Ethernet header is a runt; a clear I flag means the
 * VNI is not valid and the datagram must be dropped (§5).
 */
export function parseVxlanHeader(buf: Uint8Array, off = 0): VxlanParse {
  if (!Number.isInteger(off) || off < 0 || buf.length - off < VXLAN_MIN_LEN) return { ok: false, error: 'runt' };
  if ((buf[off]! & VXLAN_FLAG_I) === 0) return { ok: false, error: 'no_i_flag' };
  return { ok: true, vni: (buf[off + 4]! << 16) | (buf[off + 5]! << 8) | buf[off + 6]!, payloadOffset: off + VXLAN_HLEN };
}
