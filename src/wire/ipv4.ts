// IPv4 header (RFC 791 §3.1), addresses in dotted-quad form (inet_pton()
// rules: four decimal octets, no leading zeros), header checksum per RFC 1071.
//
//   0       4       8              16   19                    31
//   +-------+-------+--------------+----+----------------------+
//   |version|  ihl  |     tos      |        total length       |
//   |        identification        |flag|   fragment offset    |
//   |     ttl       |   protocol   |      header checksum      |
//   |                      source address                      |
//   |                    destination address                   |
//   |                options (ihl > 5) ...                     |
//
// imports: errno, checksum, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { checksumAdd, checksumFold, internetChecksum } from './checksum.ts';

export const IPV4_HLEN = 20;
export const IPV4_MAX_HLEN = 60;
export const IPV4_ALEN = 4;
export const IPV4_MAX_TOTAL_LEN = 0xffff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Bits of the 3-bit `flags` value (as in tcpdump, not the 16-bit frag_off word). */
export const IPV4_FLAG_RF = 0b100;
export const IPV4_FLAG_DF = 0b010;
export const IPV4_FLAG_MF = 0b001;
/** The same bits inside the 16-bit frag_off word (include/net/ip.h). */
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

/** Field offsets from the start of the header. */
export const IPV4_F = {
  VER_IHL: 0,
  TOS: 1,
  TOT_LEN: 2,
  ID: 4,
  FRAG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECK: 10,
  SADDR: 12,
  DADDR: 16,
  OPTIONS: 20,
} as const;

/** What emitIpv4() needs. Addresses are unsigned 32-bit numbers. */
export interface Ipv4Fields {
  tos?: number;
  /** Header plus payload, in bytes. */
  totalLength: number;
  id: number;
  /** 3-bit flags: IPV4_FLAG_DF | IPV4_FLAG_MF. */
  flags?: number;
  /** In bytes, a multiple of 8 (the wire holds it divided by 8). */
  fragOffset?: number;
  ttl: number;
  protocol: number;
  srcAddr: number;
  dstAddr: number;
  /** Raw option bytes, a multiple of 4 up to 40; the header grows to fit them. */
  options?: Uint8Array;
}

export interface Ipv4Repr extends Required<Ipv4Fields> {
  version: 4;
  /** Header length in 32-bit words. */
  ihl: number;
  headerLength: number;
  checksum: number;
  checksumValid: boolean;
  /** Dotted-quad forms of srcAddr and dstAddr. */
  src: string;
  dst: string;
  options: Buffer;
  /** Absolute offset of the payload and its length per totalLength (link padding excluded). */
  payloadOffset: number;
  payloadLength: number;
}

/** Dotted quad of an unsigned 32-bit address. */
export function formatIpv4(addr: number): string {
  return `${(addr >>> 24) & 0xff}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Reads four address bytes at `off` as an unsigned 32-bit number; -1 past the end. */
export function readIpv4Address(buf: Uint8Array, off: number): number {
  if (off < 0 || off + IPV4_ALEN > buf.length) return -1;
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Writes an unsigned 32-bit address as four bytes at `off`. */
export function writeIpv4Address(buf: Uint8Array, off: number, addr: number): void {
  buf[off] = addr >>> 24;
  buf[off + 1] = (addr >>> 16) & 0xff;
  buf[off + 2] = (addr >>> 8) & 0xff;
  buf[off + 3] = addr & 0xff;
}

const OCTET_RE = /^(?:0|[1-9][0-9]{0,2})$/;

/** Parses '10.0.0.1' to an unsigned 32-bit number; undefined unless it is a strict dotted quad. */
export function parseIpv4Address(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let addr = 0;
  for (const part of parts) {
    if (!OCTET_RE.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    addr = addr * 256 + n;
  }
  return addr;
}

export function isIpv4Multicast(addr: number): boolean {
  return addr >>> 28 === 0xe;
}

// tcpdump prints these names; anything else as ip-proto-N.
const PROTO_NAMES: ReadonlyMap<number, string> = new Map([
  [IPPROTO_ICMP, 'ICMP'],
  [IPPROTO_IGMP, 'IGMP'],
  [IPPROTO_TCP, 'TCP'],
  [IPPROTO_UDP, 'UDP'],
]);

export function ipProtoName(protocol: number): string {
  return PROTO_NAMES.get(protocol) ?? `ip-proto-${protocol}`;
}

/** True when the header at `off` is complete and its checksum sums to 0xffff. */
export function ipv4ChecksumValid(buf: Uint8Array, off = 0): boolean {
  if (off < 0 || off + IPV4_HLEN > buf.length) return false;
  const hlen = (buf[off]! & 0x0f) << 2;
  if (hlen < IPV4_HLEN || off + hlen > buf.length) return false;
  return checksumFold(checksumAdd(0, buf, off, hlen)) === 0xffff;
}

// Zero-length, so sharing it between parses cannot leak writes.
const NO_OPTIONS = Buffer.alloc(0);

/**
 * Parses the header at `off`. Undefined when it is not IPv4, the header
 * length is below 20, or the header or the datagram (totalLength) is cut
 * short; bytes past totalLength are link padding and are allowed. A bad
 * checksum still parses, with checksumValid false, so the caller can count it.
 */
export function parseIpv4(buf: Uint8Array, off = 0): Ipv4Repr | undefined {
  if (off < 0 || off + IPV4_HLEN > buf.length) return undefined;
  const verIhl = buf[off]!;
  if (verIhl >>> 4 !== 4) return undefined;
  const ihl = verIhl & 0x0f;
  const headerLength = ihl << 2;
  if (headerLength < IPV4_HLEN || off + headerLength > buf.length) return undefined;
  const totalLength = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (totalLength < headerLength || off + totalLength > buf.length) return undefined;
  const fragWord = (buf[off + 6]! << 8) | buf[off + 7]!;
  const srcAddr = readIpv4Address(buf, off + IPV4_F.SADDR);
  const dstAddr = readIpv4Address(buf, off + IPV4_F.DADDR);
  return {
    version: 4,
    ihl,
    headerLength,
    tos: buf[off + 1]!,
    totalLength,
    id: (buf[off + 4]! << 8) | buf[off + 5]!,
    flags: fragWord >>> 13,
    fragOffset: (fragWord & IP_OFFSET) << 3,
    ttl: buf[off + 8]!,
    protocol: buf[off + 9]!,
    checksum: (buf[off + 10]! << 8) | buf[off + 11]!,
    checksumValid: checksumFold(checksumAdd(0, buf, off, headerLength)) === 0xffff,
    srcAddr,
    dstAddr,
    src: formatIpv4(srcAddr),
    dst: formatIpv4(dstAddr),
    options: headerLength === IPV4_HLEN ? NO_OPTIONS : Buffer.from(buf.subarray(off + IPV4_HLEN, off + headerLength)),
    payloadOffset: off + headerLength,
    payloadLength: totalLength - headerLength,
  };
}

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new NetError('EINVAL', `bad IPv4 ${what} ${value}`);
}

/** Header length emitIpv4() will write for these fields. */
export function ipv4HeaderLength(fields: Pick<Ipv4Fields, 'options'>): number {
  return IPV4_HLEN + (fields.options?.length ?? 0);
}

/**
 * Writes the header at `off`, with a freshly computed checksum, and returns
 * the offset of the payload. Throws EINVAL for out-of-range fields or no room.
 */
export function emitIpv4(fields: Ipv4Fields, buf: Uint8Array, off = 0): number {
  const opts = fields.options;
  const optLen = opts?.length ?? 0;
  if (optLen % 4 !== 0 || optLen > IPV4_MAX_HLEN - IPV4_HLEN) throw new NetError('EINVAL', 'IPv4 options must be a multiple of 4 bytes, at most 40');
  const hlen = IPV4_HLEN + optLen;
  const tos = fields.tos ?? 0;
  const flags = fields.flags ?? 0;
  const fragOffset = fields.fragOffset ?? 0;
  checkUint(tos, 0xff, 'tos');
  checkUint(fields.totalLength, IPV4_MAX_TOTAL_LEN, 'total length');
  if (fields.totalLength < hlen) throw new NetError('EINVAL', `IPv4 total length ${fields.totalLength} below header length ${hlen}`);
  checkUint(fields.id, 0xffff, 'id');
  checkUint(flags, 7, 'flags');
  checkUint(fragOffset, IP_OFFSET << 3, 'fragment offset');
  if (fragOffset % 8 !== 0) throw new NetError('EINVAL', `IPv4 fragment offset ${fragOffset} is not a multiple of 8`);
  checkUint(fields.ttl, 0xff, 'ttl');
  checkUint(fields.protocol, 0xff, 'protocol');
  checkUint(fields.srcAddr, 0xffffffff, 'source address');
  checkUint(fields.dstAddr, 0xffffffff, 'destination address');
  if (off < 0 || off + hlen > buf.length) throw new NetError('EINVAL', 'no room for the IPv4 header');

  const fragWord = (flags << 13) | (fragOffset >>> 3);
  buf[off] = 0x40 | (hlen >>> 2);
  buf[off + 1] = tos;
  buf[off + 2] = fields.totalLength >>> 8;
  buf[off + 3] = fields.totalLength & 0xff;
  buf[off + 4] = fields.id >>> 8;
  buf[off + 5] = fields.id & 0xff;
  buf[off + 6] = fragWord >>> 8;
  buf[off + 7] = fragWord & 0xff;
  buf[off + 8] = fields.ttl;
  buf[off + 9] = fields.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  writeIpv4Address(buf, off + IPV4_F.SADDR, fields.srcAddr);
  writeIpv4Address(buf, off + IPV4_F.DADDR, fields.dstAddr);
  if (opts !== undefined) buf.set(opts, off + IPV4_HLEN);
  const check = internetChecksum(buf, off, hlen);
  buf[off + 10] = check >>> 8;
  buf[off + 11] = check & 0xff;
  return off + hlen;
}
