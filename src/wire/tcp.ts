// TCP header (RFC 9293 §3.1) and the options the stack speaks: MSS (RFC 9293
// §3.2), window scale and timestamps (RFC 7323), SACK-permitted and SACK
// blocks (RFC 2018), NOP and EOL. The checksum covers the IPv4 pseudo-header
// (source, destination, zero, protocol 6, TCP length), the header and data.
//
//   0       2       4               8              12  13      14      16      18      20
//   +-------+-------+---------------+---------------+---+-------+-------+-------+-------+-- options
//   | sport | dport |      seq      |      ack      |off| flags |window | check |  urg  |
//   +-------+-------+---------------+---------------+---+-------+-------+-------+-------+
//
// imports: checksum, ipv4 (protocol number)

import { Buffer } from 'node:buffer';
import { checksumAdd, checksumAddU32, checksumFinish, checksumFold } from './checksum.ts';
import { IPPROTO_TCP } from './ipv4.ts';

export const TCP_HLEN = 20;
/** Data offset is 4 bits of 32-bit words: at most 60 bytes of header. */
export const TCP_MAX_HLEN = 60;
export const TCP_MAX_OPTLEN = TCP_MAX_HLEN - TCP_HLEN;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TCPOPT = { EOL: 0, NOP: 1, MSS: 2, WINDOW: 3, SACK_PERM: 4, SACK: 5, TIMESTAMP: 8 } as const;
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_TIMESTAMP = 10;
/** Timestamps as Linux sends them: NOP NOP TS, 12 bytes, keeping the header aligned. */
export const TCPOLEN_TSTAMP_ALIGNED = 12;
/** RFC 7323 §2.3: a shift above 14 is used as 14. */
export const TCP_MAX_WSCALE = 14;

export interface TcpSackBlock {
  start: number;
  end: number;
}

export interface TcpOptions {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  sack?: TcpSackBlock[];
  /** TSval and TSecr, unsigned 32-bit. */
  ts?: { val: number; ecr: number };
}

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent?: number;
}

export interface TcpRepr extends TcpFields {
  /** Header length in bytes, options included. */
  hlen: number;
  checksum: number;
  urgent: number;
  options: TcpOptions;
  payloadOffset: number;
  payloadLength: number;
}

/** Unfolded sum of the IPv4 pseudo-header for a TCP segment of `len` bytes. */
export function tcpPseudoHeaderSum(srcAddr: number, dstAddr: number, len: number): number {
  return checksumAddU32(checksumAddU32(0, srcAddr), dstAddr) + IPPROTO_TCP + len;
}

/** The checksum to store for the segment `buf[off .. off+len)`, whose checksum field must be zero. */
export function tcpChecksum(buf: Uint8Array, off: number, len: number, srcAddr: number, dstAddr: number): number {
  return checksumFinish(checksumAdd(tcpPseudoHeaderSum(srcAddr, dstAddr, len), buf, off, len));
}

/** True when the segment's checksum is correct (TCP has no "no checksum"). */
export function tcpChecksumValid(buf: Uint8Array, off: number, len: number, srcAddr: number, dstAddr: number): boolean {
  if (off < 0 || len < TCP_HLEN || off + len > buf.length) return false;
  return checksumFold(checksumAdd(tcpPseudoHeaderSum(srcAddr, dstAddr, len), buf, off, len)) === 0xffff;
}

function u16(buf: Uint8Array, i: number): number {
  return (buf[i]! << 8) | buf[i + 1]!;
}

function u32(buf: Uint8Array, i: number): number {
  return ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
}

function w16(buf: Uint8Array, i: number, v: number): void {
  buf[i] = (v >>> 8) & 0xff;
  buf[i + 1] = v & 0xff;
}

function w32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = (v >>> 24) & 0xff;
  buf[i + 1] = (v >>> 16) & 0xff;
  buf[i + 2] = (v >>> 8) & 0xff;
  buf[i + 3] = v & 0xff;
}

/**
 * The options in `buf[off .. end)`, as tcp_parse_options() reads them: an
 * option with a wrong length is skipped, and a length that runs past the
 * header ends the parse (what came before it still counts). MSS and window
 * scale are honoured only on SYN segments, SACK blocks only on others.
 */
export function parseTcpOptions(buf: Uint8Array, off: number, end: number, syn: boolean): TcpOptions {
  const opts: TcpOptions = {};
  let i = off;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT.EOL) break;
    if (kind === TCPOPT.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const olen = buf[i + 1]!;
    if (olen < 2 || i + olen > end) break;
    switch (kind) {
      case TCPOPT.MSS:
        if (olen === TCPOLEN_MSS && syn) {
          const mss = u16(buf, i + 2);
          if (mss !== 0) opts.mss = mss;
        }
        break;
      case TCPOPT.WINDOW:
        if (olen === TCPOLEN_WINDOW && syn) opts.wscale = Math.min(buf[i + 2]!, TCP_MAX_WSCALE);
        break;
      case TCPOPT.SACK_PERM:
        if (olen === TCPOLEN_SACK_PERM && syn) opts.sackPermitted = true;
        break;
      case TCPOPT.TIMESTAMP:
        if (olen === TCPOLEN_TIMESTAMP) opts.ts = { val: u32(buf, i + 2), ecr: u32(buf, i + 6) };
        break;
      case TCPOPT.SACK:
        if (olen >= 10 && (olen - 2) % 8 === 0 && !syn) {
          const blocks: TcpSackBlock[] = [];
          for (let b = i + 2; b < i + olen; b += 8) blocks.push({ start: u32(buf, b), end: u32(buf, b + 4) });
          opts.sack = blocks;
        }
        break;
      default:
        break;
    }
    i += olen;
  }
  return opts;
}

/**
 * Parses the segment at `off`, where `len` is the IPv4 payload length.
 * Undefined when shorter than 20 bytes or when the data offset points below
 * 20 or past `len` (tcp_v4_rcv drops those as TCP_FLAGS / header errors).
 */
export function parseTcp(buf: Uint8Array, off = 0, len = buf.length - off): TcpRepr | undefined {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < TCP_HLEN || off + len > buf.length) return undefined;
  const hlen = (buf[off + 12]! >>> 4) * 4;
  if (hlen < TCP_HLEN || hlen > len) return undefined;
  const flags = buf[off + 13]!;
  return {
    srcPort: u16(buf, off),
    dstPort: u16(buf, off + 2),
    seq: u32(buf, off + 4),
    ack: u32(buf, off + 8),
    flags,
    window: u16(buf, off + 14),
    checksum: u16(buf, off + 16),
    urgent: u16(buf, off + 18),
    hlen,
    options: hlen > TCP_HLEN ? parseTcpOptions(buf, off + TCP_HLEN, off + hlen, (flags & TCP_SYN) !== 0) : {},
    payloadOffset: off + hlen,
    payloadLength: len - hlen,
  };
}

/** Bytes the options take on the wire, padded to a multiple of 4, in emitTcp's layout. */
export function tcpOptionsLength(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += TCPOLEN_MSS;
  // SACK-permitted and timestamps share 12 bytes on a SYN as in Linux's
  // tcp_options_write: SACK_PERM TS (2 + 10) instead of NOP NOP TS.
  if (o.ts !== undefined) n += TCPOLEN_TSTAMP_ALIGNED;
  else if (o.sackPermitted === true) n += 4;
  if (o.wscale !== undefined) n += 4;
  if (o.sack !== undefined && o.sack.length > 0) n += 4 + 8 * o.sack.length;
  return n;
}

/**
 * Writes the options at `off` in Linux's order and alignment (MSS, SACK_PERM
 * with timestamps, NOP+window scale, NOP NOP SACK); returns bytes written.
 * The caller has checked the total with tcpOptionsLength().
 */
export function emitTcpOptions(o: TcpOptions, buf: Uint8Array, off: number): number {
  let i = off;
  if (o.mss !== undefined) {
    buf[i] = TCPOPT.MSS;
    buf[i + 1] = TCPOLEN_MSS;
    w16(buf, i + 2, o.mss);
    i += 4;
  }
  if (o.ts !== undefined) {
    if (o.sackPermitted === true) {
      buf[i] = TCPOPT.SACK_PERM;
      buf[i + 1] = TCPOLEN_SACK_PERM;
    } else {
      buf[i] = TCPOPT.NOP;
      buf[i + 1] = TCPOPT.NOP;
    }
    buf[i + 2] = TCPOPT.TIMESTAMP;
    buf[i + 3] = TCPOLEN_TIMESTAMP;
    w32(buf, i + 4, o.ts.val);
    w32(buf, i + 8, o.ts.ecr);
    i += 12;
  } else if (o.sackPermitted === true) {
    buf[i] = TCPOPT.NOP;
    buf[i + 1] = TCPOPT.NOP;
    buf[i + 2] = TCPOPT.SACK_PERM;
    buf[i + 3] = TCPOLEN_SACK_PERM;
    i += 4;
  }
  if (o.wscale !== undefined) {
    buf[i] = TCPOPT.NOP;
    buf[i + 1] = TCPOPT.WINDOW;
    buf[i + 2] = TCPOLEN_WINDOW;
    buf[i + 3] = o.wscale;
    i += 4;
  }
  if (o.sack !== undefined && o.sack.length > 0) {
    buf[i] = TCPOPT.NOP;
    buf[i + 1] = TCPOPT.NOP;
    buf[i + 2] = TCPOPT.SACK;
    buf[i + 3] = 2 + 8 * o.sack.length;
    i += 4;
    for (const b of o.sack) {
      w32(buf, i, b.start);
      w32(buf, i + 4, b.end);
      i += 8;
    }
  }
  return i - off;
}

/**
 * Writes the header at `off` (options included), whose data is already in
 * place after it; `hlen` is 20 + tcpOptionsLength(options). The checksum field
 * is left zero unless `addrs` is given. Returns the header length. Callers
 * are the stack itself, so fields are trusted (masked to their widths).
 */
export function emitTcp(
  f: TcpFields,
  options: TcpOptions | null,
  buf: Uint8Array,
  off: number,
  payloadLength: number,
  addrs?: { srcAddr: number; dstAddr: number },
): number {
  const optlen = options === null ? 0 : tcpOptionsLength(options);
  const hlen = TCP_HLEN + optlen;
  w16(buf, off, f.srcPort);
  w16(buf, off + 2, f.dstPort);
  w32(buf, off + 4, f.seq);
  w32(buf, off + 8, f.ack);
  buf[off + 12] = (hlen >>> 2) << 4;
  buf[off + 13] = f.flags & 0xff;
  w16(buf, off + 14, f.window);
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  w16(buf, off + 18, f.urgent ?? 0);
  if (options !== null) emitTcpOptions(options, buf, off + TCP_HLEN);
  if (addrs !== undefined) w16(buf, off + 16, tcpChecksum(buf, off, hlen + payloadLength, addrs.srcAddr, addrs.dstAddr));
  return hlen;
}

/** A fresh segment carrying `payload` (tests and tools; the stack writes into skbs). */
export function encodeTcp(
  f: TcpFields,
  options: TcpOptions | null,
  payload: Uint8Array,
  addrs?: { srcAddr: number; dstAddr: number },
): Buffer {
  const hlen = TCP_HLEN + (options === null ? 0 : tcpOptionsLength(options));
  const out = Buffer.alloc(hlen + payload.length);
  out.set(payload, hlen);
  emitTcp(f, options, out, 0, payload.length, addrs);
  return out;
}

const FLAG_NAMES: [number, string][] = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
];

/** tcpdump's flag letters: "S", "S.", "P.", "F.", "R". */
export function tcpFlagString(flags: number): string {
  let s = '';
  for (const [bit, ch] of FLAG_NAMES) if ((flags & bit) !== 0) s += ch;
  return s === '' ? 'none' : s;
}

/** Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4; the kernel's before()/after()). */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** a - b as a signed 32-bit distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
