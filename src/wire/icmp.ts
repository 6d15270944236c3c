// ICMP for IPv4 (RFC 792): the common 4-byte header for any message, and the
// echo request/reply body (identifier, sequence, data) that ping uses. The
// checksum covers the whole ICMP message (RFC 792, RFC 1071).
//
//   0      1      2         4          6          8
//   +------+------+---------+----------+----------+---- data
//   | type | code |checksum |    id    |   seq    |
//   +------+------+---------+----------+----------+
//
// imports: errno, checksum, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { checksumAdd, checksumFold, internetChecksum } from './checksum.ts';

/** Header length of echo, timestamp and error messages alike. */
export const ICMP_HLEN = 8;
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;

/** Field offsets from the start of the ICMP message. */
export const ICMP_F = { TYPE: 0, CODE: 1, CHECK: 2, ID: 4, SEQ: 6, DATA: 8 } as const;

export interface IcmpHeader {
  type: number;
  code: number;
  checksum: number;
  checksumValid: boolean;
  /** The message length that was checksummed (the IPv4 payload length). */
  length: number;
}

export interface IcmpEchoFields {
  /** ICMP_ECHO (8) or ICMP_ECHOREPLY (0). */
  type: number;
  id: number;
  seq: number;
}

export interface IcmpEchoRepr extends IcmpHeader, IcmpEchoFields {
  /** Absolute offset and length of the echo data. */
  payloadOffset: number;
  payloadLength: number;
}

function inRange(buf: Uint8Array, off: number, len: number, min: number): boolean {
  return Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= min && off + len <= buf.length;
}

/**
 * Parses the 4-byte header of the message `buf[off .. off+len)`, where `len`
 * is the IPv4 payload length (link padding must not enter the checksum).
 */
export function parseIcmpHeader(buf: Uint8Array, off = 0, len = buf.length - off): IcmpHeader | undefined {
  if (!inRange(buf, off, len, 4)) return undefined;
  return {
    type: buf[off]!,
    code: buf[off + 1]!,
    checksum: (buf[off + 2]! << 8) | buf[off + 3]!,
    checksumValid: checksumFold(checksumAdd(0, buf, off, len)) === 0xffff,
    length: len,
  };
}

/** Parses an echo request or reply; undefined for other types or when cut short. */
export function parseIcmpEcho(buf: Uint8Array, off = 0, len = buf.length - off): IcmpEchoRepr | undefined {
  if (!inRange(buf, off, len, ICMP_HLEN)) return undefined;
  const type = buf[off]!;
  if (type !== ICMP_ECHO && type !== ICMP_ECHOREPLY) return undefined;
  return {
    type,
    code: buf[off + 1]!,
    checksum: (buf[off + 2]! << 8) | buf[off + 3]!,
    checksumValid: checksumFold(checksumAdd(0, buf, off, len)) === 0xffff,
    length: len,
    id: (buf[off + 4]! << 8) | buf[off + 5]!,
    seq: (buf[off + 6]! << 8) | buf[off + 7]!,
    payloadOffset: off + ICMP_HLEN,
    payloadLength: len - ICMP_HLEN,
  };
}

/**
 * Writes an echo header at `off` over data already in place at
 * `off+8 .. off+8+payloadLength`, checksums the whole message, and returns
 * the offset past the data. Throws EINVAL on bad fields or no room.
 */
export function emitIcmpEcho(fields: IcmpEchoFields, buf: Uint8Array, off: number, payloadLength: number): number {
  if (fields.type !== ICMP_ECHO && fields.type !== ICMP_ECHOREPLY) throw new NetError('EINVAL', `ICMP type ${fields.type} is not an echo`);
  for (const [v, what] of [[fields.id, 'id'], [fields.seq, 'sequence']] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new NetError('EINVAL', `bad ICMP echo ${what} ${v}`);
  }
  if (!inRange(buf, off, ICMP_HLEN + payloadLength, ICMP_HLEN)) throw new NetError('EINVAL', 'no room for the ICMP echo message');
  buf[off] = fields.type;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = fields.id >>> 8;
  buf[off + 5] = fields.id & 0xff;
  buf[off + 6] = fields.seq >>> 8;
  buf[off + 7] = fields.seq & 0xff;
  const len = ICMP_HLEN + payloadLength;
  const check = internetChecksum(buf, off, len);
  buf[off + 2] = check >>> 8;
  buf[off + 3] = check & 0xff;
  return off + len;
}

/** A fresh echo message carrying `payload`. */
export function encodeIcmpEcho(fields: IcmpEchoFields, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(ICMP_HLEN + payload.length);
  out.set(payload, ICMP_HLEN);
  emitIcmpEcho(fields, out, 0, payload.length);
  return out;
}

const UNREACH_CODES: readonly string[] = ['net', 'host', 'protocol', 'port', 'need-frag', 'source-route'];

/** tcpdump-like words for a type and code: 'echo request', 'host unreachable', 'type-#13'. */
export function icmpTypeName(type: number, code: number): string {
  switch (type) {
    case ICMP_ECHO: return 'echo request';
    case ICMP_ECHOREPLY: return 'echo reply';
    case ICMP_DEST_UNREACH: return `${UNREACH_CODES[code] ?? `code-#${code}`} unreachable`;
    case ICMP_REDIRECT: return 'redirect';
    case ICMP_TIME_EXCEEDED: return code === 1 ? 'ip reassembly time exceeded' : 'time exceeded in-transit';
    case ICMP_PARAMETERPROB: return 'parameter problem';
    default: return `type-#${type}`;
  }
}
