// UDP (RFC 768) over IPv4. The checksum covers a pseudo-header (source and
// destination address, zero, protocol 17, UDP length), the UDP header and the
// data; 0 on the wire means "no checksum", so a computed 0 is sent as 0xffff.
//
//   0          2          4          6          8
//   +----------+----------+----------+----------+---- data
//   | src port | dst port |  length  | checksum |
//   +----------+----------+----------+----------+
//
// imports: errno, checksum, ipv4, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { checksumAdd, checksumAddU32, checksumFinish, checksumFold } from './checksum.ts';
import { IPPROTO_UDP } from './ipv4.ts';

export const UDP_HLEN = 8;
export const UDP_MAX_LEN = 0xffff;

/** Field offsets from the start of the UDP header. */
export const UDP_F = { SPORT: 0, DPORT: 2, LEN: 4, CHECK: 6, DATA: 8 } as const;

export interface UdpFields {
  srcPort: number;
  dstPort: number;
}

export interface UdpRepr extends UdpFields {
  /** Header plus data, from the length field. */
  length: number;
  /** 0 when the sender did not compute one. */
  checksum: number;
  /** Absolute offset and length of the data, per the length field. */
  payloadOffset: number;
  payloadLength: number;
}

/** The IPv4 addresses the checksum's pseudo-header takes, as unsigned 32-bit numbers. */
export interface Ipv4PseudoHeader {
  srcAddr: number;
  dstAddr: number;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 768) for a UDP length. */
export function udpPseudoHeaderSum(srcAddr: number, dstAddr: number, udpLength: number): number {
  return checksumAddU32(checksumAddU32(0, srcAddr), dstAddr) + IPPROTO_UDP + udpLength;
}

/**
 * The checksum to store for the datagram `buf[off .. off+len)`, whose
 * checksum field must be zero; never 0 (that means "none" on the wire).
 */
export function udpChecksum(buf: Uint8Array, off: number, len: number, pseudo: Ipv4PseudoHeader): number {
  const check = checksumFinish(checksumAdd(udpPseudoHeaderSum(pseudo.srcAddr, pseudo.dstAddr, len), buf, off, len));
  return check === 0 ? 0xffff : check;
}

/** True when the datagram carries no checksum or a correct one. False when cut short. */
export function udpChecksumValid(buf: Uint8Array, off: number, len: number, pseudo: Ipv4PseudoHeader): boolean {
  if (off < 0 || len < UDP_HLEN || off + len > buf.length) return false;
  if (buf[off + 6] === 0 && buf[off + 7] === 0) return true;
  return checksumFold(checksumAdd(udpPseudoHeaderSum(pseudo.srcAddr, pseudo.dstAddr, len), buf, off, len)) === 0xffff;
}

/**
 * Parses the header at `off`, where `len` is the IPv4 payload length. Undefined
 * when the length field is below 8 or above `len`; a shorter length field
 * than `len` is allowed and the rest is ignored, as udp_rcv() trims it.
 */
export function parseUdp(buf: Uint8Array, off = 0, len = buf.length - off): UdpRepr | undefined {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < UDP_HLEN || off + len > buf.length) return undefined;
  const length = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (length < UDP_HLEN || length > len) return undefined;
  return {
    srcPort: (buf[off]! << 8) | buf[off + 1]!,
    dstPort: (buf[off + 2]! << 8) | buf[off + 3]!,
    length,
    checksum: (buf[off + 6]! << 8) | buf[off + 7]!,
    payloadOffset: off + UDP_HLEN,
    payloadLength: length - UDP_HLEN,
  };
}

/**
 * Writes the header at `off` over data already in place at `off+8`, and
 * returns the offset past the data. With `pseudo` the checksum is computed;
 * without it the field is 0 (allowed over IPv4). Throws EINVAL on bad ports,
 * an oversized datagram or no room.
 */
export function emitUdp(fields: UdpFields, buf: Uint8Array, off: number, payloadLength: number, pseudo?: Ipv4PseudoHeader): number {
  for (const [p, what] of [[fields.srcPort, 'source'], [fields.dstPort, 'destination']] as const) {
    if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new NetError('EINVAL', `bad UDP ${what} port ${p}`);
  }
  const len = UDP_HLEN + payloadLength;
  if (!Number.isInteger(payloadLength) || payloadLength < 0) throw new NetError('EINVAL', `bad UDP payload length ${payloadLength}`);
  // The socket layer reports EMSGSIZE before getting here; reaching it is a caller bug.
  if (len > UDP_MAX_LEN) throw new NetError('EINVAL', `UDP datagram of ${len} bytes is too long`);
  if (off < 0 || off + len > buf.length) throw new NetError('EINVAL', 'no room for the UDP datagram');
  buf[off] = fields.srcPort >>> 8;
  buf[off + 1] = fields.srcPort & 0xff;
  buf[off + 2] = fields.dstPort >>> 8;
  buf[off + 3] = fields.dstPort & 0xff;
  buf[off + 4] = len >>> 8;
  buf[off + 5] = len & 0xff;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  if (pseudo !== undefined) {
    const check = udpChecksum(buf, off, len, pseudo);
    buf[off + 6] = check >>> 8;
    buf[off + 7] = check & 0xff;
  }
  return off + len;
}

/** A fresh datagram carrying `payload`, checksummed when `pseudo` is given. */
export function encodeUdp(fields: UdpFields, payload: Uint8Array, pseudo?: Ipv4PseudoHeader): Buffer {
  const out = Buffer.allocUnsafe(UDP_HLEN + payload.length);
  out.set(payload, UDP_HLEN);
  emitUdp(fields, out, 0, payload.length, pseudo);
  return out;
}
