// Classic libpcap savefile format (pcap-savefile(5), draft-ietf-opsawg-pcap).
// We write nanosecond-resolution files (magic 0xa1b23c4d, version 2.4) in
// little-endian order; the reader takes µs or ns magic in either byte order,
// as tcpdump does.
//
//   global header (24)                     record header (16)
//   0 magic  4 major 6 minor               0 ts_sec   4 ts_usec|ts_nsec
//   8 thiszone 12 sigfigs                  8 incl_len 12 orig_len
//   16 snaplen 20 linktype                 16.. incl_len bytes of packet
//
// imports: errno, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_GLOBAL_HLEN = 24;
export const PCAP_RECORD_HLEN = 16;
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's default snaplen, also Wireshark's limit for most link types. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

/** Offsets in the global header and in a record header. */
export const PCAP_GLOBAL_F = { MAGIC: 0, MAJOR: 4, MINOR: 6, THISZONE: 8, SIGFIGS: 12, SNAPLEN: 16, LINKTYPE: 20 } as const;
export const PCAP_RECORD_F = { TS_SEC: 0, TS_FRAC: 4, INCL_LEN: 8, ORIG_LEN: 12, DATA: 16 } as const;

export interface PcapGlobalOptions {
  /** Default PCAP_DEFAULT_SNAPLEN. */
  snaplen?: number;
  /** Default LINKTYPE_ETHERNET. */
  linktype?: number;
}

export interface PcapRecord {
  tsNs: bigint;
  /** The captured bytes: a view into the parsed buffer, not a copy. */
  data: Buffer;
  origLen: number;
}

export type PcapParse =
  | {
      ok: true;
      linktype: number;
      snaplen: number;
      /** True for 0xa1b23c4d files (ns fractions), false for µs ones. */
      nanos: boolean;
      littleEndian: boolean;
      versionMajor: number;
      versionMinor: number;
      records: PcapRecord[];
      /** The file ends inside a record (a capture cut off mid-write); records before it are kept. */
      truncated: boolean;
    }
  | { ok: false; error: 'runt' | 'bad_magic' | 'bad_version' | 'bad_record'; offset: number };

function put32le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = v >>> 24;
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new NetError('EINVAL', `bad pcap ${what} ${v}`);
}

/** A 24-byte global header for a little-endian, nanosecond pcap file. */
export function pcapGlobalHeader(opts: PcapGlobalOptions = {}): Buffer {
  const snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
  const linktype = opts.linktype ?? LINKTYPE_ETHERNET;
  checkU32(snaplen, 'snaplen');
  checkU32(linktype, 'linktype');
  const out = Buffer.alloc(PCAP_GLOBAL_HLEN);
  put32le(out, 0, PCAP_MAGIC_NS);
  out[4] = PCAP_VERSION_MAJOR;
  out[6] = PCAP_VERSION_MINOR;
  // thiszone and sigfigs stay 0: timestamps are UTC and accuracy unknown.
  put32le(out, 16, snaplen);
  put32le(out, 20, linktype);
  return out;
}

const NS_PER_S = 1_000_000_000n;
const MAX_TS_NS = 0x1_0000_0000n * NS_PER_S;

/**
 * Writes a 16-byte record header at `off` (ns timestamp) and returns the
 * offset where the packet bytes go. Throws EINVAL for a timestamp outside
 * the 32-bit seconds range, inclLen above origLen, or no room.
 */
export function writePcapRecordHeader(buf: Uint8Array, off: number, tsNs: bigint, inclLen: number, origLen: number): number {
  if (tsNs < 0n || tsNs >= MAX_TS_NS) throw new NetError('EINVAL', `pcap timestamp ${tsNs} ns does not fit 32-bit seconds`);
  checkU32(inclLen, 'captured length');
  checkU32(origLen, 'original length');
  if (inclLen > origLen) throw new NetError('EINVAL', `pcap captured length ${inclLen} exceeds original length ${origLen}`);
  if (off < 0 || off + PCAP_RECORD_HLEN > buf.length) throw new NetError('EINVAL', 'no room for a pcap record header');
  const sec = tsNs / NS_PER_S;
  put32le(buf, off, Number(sec));
  put32le(buf, off + 4, Number(tsNs - sec * NS_PER_S));
  put32le(buf, off + 8, inclLen);
  put32le(buf, off + 12, origLen);
  return off + PCAP_RECORD_HLEN;
}

/** A fresh 16-byte record header; see writePcapRecordHeader(). */
export function pcapRecordHeader(tsNs: bigint, inclLen: number, origLen: number): Buffer {
  const out = Buffer.allocUnsafe(PCAP_RECORD_HLEN);
  writePcapRecordHeader(out, 0, tsNs, inclLen, origLen);
  return out;
}

function get32(buf: Uint8Array, off: number, le: boolean): number {
  return le
    ? (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0
    : ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

function get16(buf: Uint8Array, off: number, le: boolean): number {
  return le ? buf[off]! | (buf[off + 1]! << 8) : (buf[off]! << 8) | buf[off + 1]!;
}

/**
 * Reads a whole pcap file. Records are views into `buf`. A record longer
 * than the larger of the snaplen and PCAP_DEFAULT_SNAPLEN is taken as
 * corruption (Wireshark refuses those too).
 */
export function parsePcap(buf: Uint8Array): PcapParse {
  if (buf.length < PCAP_GLOBAL_HLEN) return { ok: false, error: 'runt', offset: 0 };
  let le: boolean;
  let nanos: boolean;
  const magicLe = get32(buf, 0, true);
  const magicBe = get32(buf, 0, false);
  if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
    le = true;
    nanos = magicLe === PCAP_MAGIC_NS;
  } else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
    le = false;
    nanos = magicBe === PCAP_MAGIC_NS;
  } else {
    return { ok: false, error: 'bad_magic', offset: 0 };
  }
  const versionMajor = get16(buf, 4, le);
  const versionMinor = get16(buf, 6, le);
  if (versionMajor !== PCAP_VERSION_MAJOR) return { ok: false, error: 'bad_version', offset: 4 };
  const snaplen = get32(buf, 16, le);
  // The upper bits may carry FCS information (pcap draft §4); the link type is the low 16.
  const linktype = get32(buf, 20, le) & 0xffff;
  const maxCaplen = Math.max(snaplen, PCAP_DEFAULT_SNAPLEN);
  const fracScale = nanos ? 1n : 1000n;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: PcapRecord[] = [];
  let off = PCAP_GLOBAL_HLEN;
  let truncated = false;
  while (off < buf.length) {
    if (off + PCAP_RECORD_HLEN > buf.length) {
      truncated = true;
      break;
    }
    const sec = get32(buf, off, le);
    const frac = get32(buf, off + 4, le);
    const inclLen = get32(buf, off + 8, le);
    const origLen = get32(buf, off + 12, le);
    if (inclLen > maxCaplen) return { ok: false, error: 'bad_record', offset: off };
    const start = off + PCAP_RECORD_HLEN;
    if (start + inclLen > buf.length) {
      truncated = true;
      break;
    }
    records.push({ tsNs: BigInt(sec) * NS_PER_S + BigInt(frac) * fracScale, data: view.subarray(start, start + inclLen), origLen });
    off = start + inclLen;
  }
  return { ok: true, linktype, snaplen, nanos, littleEndian: le, versionMajor, versionMinor, records, truncated };
}
