// pcapng capture file format (draft-ietf-opsawg-pcapng): Section Header,
// Interface Description, Enhanced Packet and Interface Statistics blocks.
// We write little-endian sections with ns timestamps (if_tsresol = 9); the
// reader takes either byte order, any if_tsresol, and skips block types it
// does not know, as the draft requires.
//
//   every block:  0 type | 4 total length | body ... | options | total length
//   options:      code(2) length(2) value, padded to 4 ... opt_endofopt(0,0)
//   EPB body:     interface id | ts high | ts low | caplen | origlen | data, padded to 4
//
// imports: errno, pcap (link type and snaplen defaults), node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN } from './pcap.ts';

export const PCAPNG_BLOCK_SHB = 0x0a0d0d0a;
export const PCAPNG_BLOCK_IDB = 0x00000001;
export const PCAPNG_BLOCK_ISB = 0x00000005;
export const PCAPNG_BLOCK_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_VERSION_MAJOR = 1;
export const PCAPNG_VERSION_MINOR = 0;

/** Option codes, per block type; 0 (opt_endofopt) and 1 (opt_comment) are common to all. */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_OPT = { HARDWARE: 2, OS: 3, USERAPPL: 4 } as const;
export const IF_OPT = { NAME: 2, DESCRIPTION: 3, TSRESOL: 9 } as const;
export const EPB_OPT = { FLAGS: 2 } as const;
export const ISB_OPT = { STARTTIME: 2, ENDTIME: 3, IFRECV: 4, IFDROP: 5, FILTERACCEPT: 6, OSDROP: 7, USRDELIV: 8 } as const;

/** epb_flags bits 0-1: the direction of the packet. */
export const EPB_FLAG_INBOUND = 1;
export const EPB_FLAG_OUTBOUND = 2;
export const EPB_FLAG_DIRECTION_MASK = 3;

/** Offsets in an EPB from the start of the block. */
export const EPB_F = { TYPE: 0, TOTAL_LEN: 4, IF_ID: 8, TS_HIGH: 12, TS_LOW: 16, CAPLEN: 20, ORIGLEN: 24, DATA: 28 } as const;

export type PacketDirection = 'inbound' | 'outbound';

export interface ShbOptions {
  /** Default 'netstackd'. */
  userappl?: string;
  hardware?: string;
  os?: string;
}

export interface IdbOptions {
  /** Default LINKTYPE_ETHERNET. */
  linktype?: number;
  /** Default PCAP_DEFAULT_SNAPLEN; 0 means no limit. */
  snaplen?: number;
  name?: string;
  description?: string;
}

export interface EpbFields {
  /** Index of the IDB in this section, in the order they were written. */
  interfaceId: number;
  tsNs: bigint;
  data: Uint8Array;
  /** Length on the wire; default data.length. */
  origLen?: number;
  direction?: PacketDirection;
  /** Other epb_flags bits (reception type, FCS length); direction is ORed in. */
  flags?: number;
}

export interface IsbFields {
  interfaceId: number;
  tsNs: bigint;
  startTimeNs?: bigint;
  endTimeNs?: bigint;
  ifRecv?: bigint | number;
  ifDrop?: bigint | number;
  filterAccept?: bigint | number;
  osDrop?: bigint | number;
  usrDeliv?: bigint | number;
}

function put16le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}

function put32le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = v >>> 24;
}

const pad4 = (n: number): number => (n + 3) & ~3;

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new NetError('EINVAL', `bad pcapng ${what} ${v}`);
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function toU64(v: bigint | number, what: string): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new NetError('EINVAL', `bad pcapng ${what} ${v}`);
  const b = BigInt(v);
  if (b < 0n || b > U64_MAX) throw new NetError('EINVAL', `bad pcapng ${what} ${v}`);
  return b;
}

/** Timestamps are split high/low 32 bits, each in section order (not one 64-bit integer). */
function tsOption(code: number, tsNs: bigint): [number, Uint8Array] {
  const v = Buffer.alloc(8);
  const t = toU64(tsNs, 'timestamp');
  put32le(v, 0, Number(t >> 32n));
  put32le(v, 4, Number(t & 0xffff_ffffn));
  return [code, v];
}

function u64Option(code: number, value: bigint | number, what: string): [number, Uint8Array] {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(toU64(value, what));
  return [code, v];
}

function stringOption(code: number, s: string): [number, Uint8Array] {
  const v = Buffer.from(s, 'utf8');
  if (v.length > 0xffff) throw new NetError('EINVAL', 'pcapng option longer than 65535 bytes');
  return [code, v];
}

/** Options followed by opt_endofopt, or nothing when there are none. */
function encodeOptions(opts: ReadonlyArray<[number, Uint8Array]>): Buffer {
  if (opts.length === 0) return Buffer.alloc(0);
  let len = 4;
  for (const [, v] of opts) len += 4 + pad4(v.length);
  const out = Buffer.alloc(len);
  let off = 0;
  for (const [code, v] of opts) {
    put16le(out, off, code);
    put16le(out, off + 2, v.length);
    out.set(v, off + 4);
    off += 4 + pad4(v.length);
  }
  return out; // the trailing four zero bytes are opt_endofopt
}

function block(type: number, body: Uint8Array, options: Uint8Array): Buffer {
  const total = 12 + pad4(body.length) + options.length;
  const out = Buffer.alloc(total);
  put32le(out, 0, type);
  put32le(out, 4, total);
  out.set(body, 8);
  out.set(options, 8 + pad4(body.length));
  put32le(out, total - 4, total);
  return out;
}

/** A Section Header Block: byte-order magic, version 1.0, section length -1 (unknown). */
export function pcapngSectionHeader(opts: ShbOptions = {}): Buffer {
  const body = Buffer.alloc(16);
  put32le(body, 0, PCAPNG_BYTE_ORDER_MAGIC);
  put16le(body, 4, PCAPNG_VERSION_MAJOR);
  put16le(body, 6, PCAPNG_VERSION_MINOR);
  body.fill(0xff, 8, 16);
  const options: [number, Uint8Array][] = [];
  if (opts.hardware !== undefined) options.push(stringOption(SHB_OPT.HARDWARE, opts.hardware));
  if (opts.os !== undefined) options.push(stringOption(SHB_OPT.OS, opts.os));
  options.push(stringOption(SHB_OPT.USERAPPL, opts.userappl ?? 'netstackd'));
  return block(PCAPNG_BLOCK_SHB, body, encodeOptions(options));
}

/** An Interface Description Block; always carries if_tsresol = 9 since we write ns timestamps. */
export function pcapngInterfaceDescription(opts: IdbOptions = {}): Buffer {
  const linktype = opts.linktype ?? LINKTYPE_ETHERNET;
  const snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
  if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff) throw new NetError('EINVAL', `bad pcapng linktype ${linktype}`);
  checkU32(snaplen, 'snaplen');
  const body = Buffer.alloc(8);
  put16le(body, 0, linktype);
  put32le(body, 4, snaplen);
  const options: [number, Uint8Array][] = [];
  if (opts.name !== undefined) options.push(stringOption(IF_OPT.NAME, opts.name));
  if (opts.description !== undefined) options.push(stringOption(IF_OPT.DESCRIPTION, opts.description));
  options.push([IF_OPT.TSRESOL, Uint8Array.of(9)]);
  return block(PCAPNG_BLOCK_IDB, body, encodeOptions(options));
}

function epbFlags(fields: EpbFields): number {
  const dir = fields.direction === 'inbound' ? EPB_FLAG_INBOUND : fields.direction === 'outbound' ? EPB_FLAG_OUTBOUND : 0;
  if (fields.flags !== undefined) checkU32(fields.flags, 'epb_flags');
  return ((fields.flags ?? 0) | dir) >>> 0;
}

function hasFlagsOption(fields: EpbFields): boolean {
  return fields.direction !== undefined || fields.flags !== undefined;
}

/** Size of the EPB writePcapngEnhancedPacket() will write for these fields. */
export function pcapngEnhancedPacketLength(fields: Pick<EpbFields, 'data' | 'direction' | 'flags'>): number {
  return 32 + pad4(fields.data.length) + (fields.direction !== undefined || fields.flags !== undefined ? 12 : 0);
}

/**
 * Writes an Enhanced Packet Block at `off` and returns the offset past it;
 * the capture path calls this per packet into a buffer it sized with
 * pcapngEnhancedPacketLength(). Throws EINVAL on bad fields or no room.
 */
export function writePcapngEnhancedPacket(buf: Uint8Array, off: number, fields: EpbFields): number {
  const capLen = fields.data.length;
  const origLen = fields.origLen ?? capLen;
  checkU32(fields.interfaceId, 'interface id');
  checkU32(origLen, 'original length');
  if (capLen > origLen) throw new NetError('EINVAL', `pcapng captured length ${capLen} exceeds original length ${origLen}`);
  if (fields.tsNs < 0n || fields.tsNs > U64_MAX) throw new NetError('EINVAL', `bad pcapng timestamp ${fields.tsNs}`);
  const withFlags = hasFlagsOption(fields);
  const flags = withFlags ? epbFlags(fields) : 0;
  const total = pcapngEnhancedPacketLength(fields);
  if (off < 0 || off + total > buf.length) throw new NetError('EINVAL', 'no room for the pcapng packet block');
  put32le(buf, off, PCAPNG_BLOCK_EPB);
  put32le(buf, off + 4, total);
  put32le(buf, off + 8, fields.interfaceId);
  put32le(buf, off + 12, Number(fields.tsNs >> 32n));
  put32le(buf, off + 16, Number(fields.tsNs & 0xffff_ffffn));
  put32le(buf, off + 20, capLen);
  put32le(buf, off + 24, origLen);
  buf.set(fields.data, off + EPB_F.DATA);
  let p = off + EPB_F.DATA + capLen;
  const padded = off + EPB_F.DATA + pad4(capLen);
  while (p < padded) buf[p++] = 0;
  if (withFlags) {
    put16le(buf, p, EPB_OPT.FLAGS);
    put16le(buf, p + 2, 4);
    put32le(buf, p + 4, flags);
    put32le(buf, p + 8, 0); // opt_endofopt
    p += 12;
  }
  put32le(buf, p, total);
  return p + 4;
}

/** A fresh Enhanced Packet Block; see writePcapngEnhancedPacket(). */
export function pcapngEnhancedPacket(fields: EpbFields): Buffer {
  const out = Buffer.allocUnsafe(pcapngEnhancedPacketLength(fields));
  writePcapngEnhancedPacket(out, 0, fields);
  return out;
}

/** An Interface Statistics Block with the counters that are given. */
export function pcapngInterfaceStatistics(fields: IsbFields): Buffer {
  checkU32(fields.interfaceId, 'interface id');
  const ts = toU64(fields.tsNs, 'timestamp');
  const body = Buffer.alloc(12);
  put32le(body, 0, fields.interfaceId);
  put32le(body, 4, Number(ts >> 32n));
  put32le(body, 8, Number(ts & 0xffff_ffffn));
  const options: [number, Uint8Array][] = [];
  if (fields.startTimeNs !== undefined) options.push(tsOption(ISB_OPT.STARTTIME, fields.startTimeNs));
  if (fields.endTimeNs !== undefined) options.push(tsOption(ISB_OPT.ENDTIME, fields.endTimeNs));
  if (fields.ifRecv !== undefined) options.push(u64Option(ISB_OPT.IFRECV, fields.ifRecv, 'isb_ifrecv'));
  if (fields.ifDrop !== undefined) options.push(u64Option(ISB_OPT.IFDROP, fields.ifDrop, 'isb_ifdrop'));
  if (fields.filterAccept !== undefined) options.push(u64Option(ISB_OPT.FILTERACCEPT, fields.filterAccept, 'isb_filteraccept'));
  if (fields.osDrop !== undefined) options.push(u64Option(ISB_OPT.OSDROP, fields.osDrop, 'isb_osdrop'));
  if (fields.usrDeliv !== undefined) options.push(u64Option(ISB_OPT.USRDELIV, fields.usrDeliv, 'isb_usrdeliv'));
  return block(PCAPNG_BLOCK_ISB, body, encodeOptions(options));
}

// ---- reader ----------------------------------------------------------------

export interface PcapngSection {
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  userappl?: string;
  hardware?: string;
  os?: string;
}

export interface PcapngInterface {
  /** Index into `sections`. */
  section: number;
  linktype: number;
  snaplen: number;
  name?: string;
  description?: string;
  /** Raw if_tsresol byte: 10^-n seconds, or 2^-n when bit 7 is set; default 6 (µs). */
  tsresol: number;
}

export interface PcapngPacket {
  /** Index into `interfaces` (across all sections, unlike the block's section-local id). */
  interfaceId: number;
  tsNs: bigint;
  /** The captured bytes: a view into the parsed buffer, not a copy. */
  data: Buffer;
  origLen: number;
  flags?: number;
  direction?: PacketDirection;
}

export interface PcapngStatistics {
  /** Index into `interfaces`. */
  interfaceId: number;
  tsNs: bigint;
  startTimeNs?: bigint;
  endTimeNs?: bigint;
  ifRecv?: bigint;
  ifDrop?: bigint;
  filterAccept?: bigint;
  osDrop?: bigint;
  usrDeliv?: bigint;
}

export type PcapngParse =
  | {
      ok: true;
      sections: PcapngSection[];
      interfaces: PcapngInterface[];
      packets: PcapngPacket[];
      statistics: PcapngStatistics[];
      /** The file ends inside a block; what came before is kept. */
      truncated: boolean;
    }
  | { ok: false; error: 'runt' | 'bad_magic' | 'bad_version' | 'bad_block' | 'bad_interface'; offset: number };

type Option = { code: number; value: Buffer };

function get16(buf: Uint8Array, off: number, le: boolean): number {
  return le ? buf[off]! | (buf[off + 1]! << 8) : (buf[off]! << 8) | buf[off + 1]!;
}

function get32(buf: Uint8Array, off: number, le: boolean): number {
  return le
    ? (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0
    : ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

function getTs(buf: Uint8Array, off: number, le: boolean): bigint {
  return (BigInt(get32(buf, off, le)) << 32n) | BigInt(get32(buf, off + 4, le));
}

function getU64(buf: Uint8Array, off: number, le: boolean): bigint {
  const a = BigInt(get32(buf, off, le));
  const b = BigInt(get32(buf, off + 4, le));
  return le ? (b << 32n) | a : (a << 32n) | b;
}

/** Options in `view[off .. end)`; undefined when one runs past the end. */
function readOptions(view: Buffer, off: number, end: number, le: boolean): Option[] | undefined {
  const out: Option[] = [];
  while (off + 4 <= end) {
    const code = get16(view, off, le);
    const len = get16(view, off + 2, le);
    if (code === OPT_ENDOFOPT) break;
    if (off + 4 + len > end) return undefined;
    out.push({ code, value: view.subarray(off + 4, off + 4 + len) });
    off += 4 + pad4(len);
  }
  return out;
}

// Some writers NUL-terminate strings although the draft says not to.
const optString = (v: Buffer): string => v.toString('utf8').replace(/\0+$/, '');

const NS_PER_S = 1_000_000_000n;

function unitsToNs(units: bigint, tsresol: number): bigint {
  if (tsresol & 0x80) return (units * NS_PER_S) >> BigInt(tsresol & 0x7f);
  return tsresol <= 9 ? units * 10n ** BigInt(9 - tsresol) : units / 10n ** BigInt(tsresol - 9);
}

/**
 * Walks every block of a pcapng file. Undefined layouts (total lengths not a
 * multiple of 4, the two copies disagreeing, an option or packet running past
 * its block) are errors; a file ending mid-block is `truncated`.
 */
export function parsePcapng(buf: Uint8Array): PcapngParse {
  if (buf.length < 28) return { ok: false, error: 'runt', offset: 0 };
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const sections: PcapngSection[] = [];
  const interfaces: PcapngInterface[] = [];
  const packets: PcapngPacket[] = [];
  const statistics: PcapngStatistics[] = [];
  let le = true;
  let sectionBase = 0;
  let truncated = false;
  let off = 0;
  const bad = (error: 'bad_magic' | 'bad_version' | 'bad_block' | 'bad_interface', at: number): PcapngParse => ({ ok: false, error, offset: at });

  while (off < buf.length) {
    if (off + 12 > buf.length) {
      truncated = true;
      break;
    }
    const type = get32(buf, off, le);
    if (type === PCAPNG_BLOCK_SHB) {
      // The SHB type reads the same in both orders; its magic decides the section's order.
      const bom = get32(buf, off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (get32(buf, off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else return bad('bad_magic', off);
    } else if (sections.length === 0) {
      return bad('bad_magic', off);
    }
    const total = get32(buf, off + 4, le);
    if (total < 12 || total % 4 !== 0) return bad('bad_block', off);
    if (off + total > buf.length) {
      truncated = true;
      break;
    }
    if (get32(buf, off + total - 4, le) !== total) return bad('bad_block', off);
    const end = off + total - 4;
    const body = off + 8;

    if (type === PCAPNG_BLOCK_SHB) {
      if (total < 28) return bad('bad_block', off);
      const versionMajor = get16(buf, body + 4, le);
      const versionMinor = get16(buf, body + 6, le);
      if (versionMajor !== PCAPNG_VERSION_MAJOR) return bad('bad_version', off);
      const opts = readOptions(view, body + 16, end, le);
      if (opts === undefined) return bad('bad_block', off);
      const s: PcapngSection = { littleEndian: le, versionMajor, versionMinor };
      for (const o of opts) {
        if (o.code === SHB_OPT.USERAPPL) s.userappl = optString(o.value);
        else if (o.code === SHB_OPT.HARDWARE) s.hardware = optString(o.value);
        else if (o.code === SHB_OPT.OS) s.os = optString(o.value);
      }
      sections.push(s);
      sectionBase = interfaces.length;
    } else if (type === PCAPNG_BLOCK_IDB) {
      if (total < 20) return bad('bad_block', off);
      const opts = readOptions(view, body + 8, end, le);
      if (opts === undefined) return bad('bad_block', off);
      const idb: PcapngInterface = { section: sections.length - 1, linktype: get16(buf, body, le), snaplen: get32(buf, body + 4, le), tsresol: 6 };
      for (const o of opts) {
        if (o.code === IF_OPT.NAME) idb.name = optString(o.value);
        else if (o.code === IF_OPT.DESCRIPTION) idb.description = optString(o.value);
        else if (o.code === IF_OPT.TSRESOL && o.value.length >= 1) idb.tsresol = o.value[0]!;
      }
      // 2^-127 or 10^-127 s would make timestamps meaningless; refuse rather than guess.
      if ((idb.tsresol & 0x7f) > 64) return bad('bad_block', off);
      interfaces.push(idb);
    } else if (type === PCAPNG_BLOCK_EPB) {
      if (total < 32) return bad('bad_block', off);
      const interfaceId = sectionBase + get32(buf, body, le);
      const iface = interfaces[interfaceId];
      if (iface === undefined || iface.section !== sections.length - 1) return bad('bad_interface', off);
      const capLen = get32(buf, body + 12, le);
      const origLen = get32(buf, body + 16, le);
      const data = body + 20;
      if (capLen > end - data) return bad('bad_block', off);
      const opts = readOptions(view, data + pad4(capLen), end, le);
      if (opts === undefined) return bad('bad_block', off);
      const pkt: PcapngPacket = {
        interfaceId,
        tsNs: unitsToNs(getTs(buf, body + 4, le), iface.tsresol),
        data: view.subarray(data, data + capLen),
        origLen,
      };
      for (const o of opts) {
        if (o.code === EPB_OPT.FLAGS && o.value.length === 4) {
          pkt.flags = get32(o.value, 0, le);
          const dir = pkt.flags & EPB_FLAG_DIRECTION_MASK;
          if (dir === EPB_FLAG_INBOUND) pkt.direction = 'inbound';
          else if (dir === EPB_FLAG_OUTBOUND) pkt.direction = 'outbound';
        }
      }
      packets.push(pkt);
    } else if (type === PCAPNG_BLOCK_ISB) {
      if (total < 24) return bad('bad_block', off);
      const interfaceId = sectionBase + get32(buf, body, le);
      const iface = interfaces[interfaceId];
      if (iface === undefined || iface.section !== sections.length - 1) return bad('bad_interface', off);
      const opts = readOptions(view, body + 12, end, le);
      if (opts === undefined) return bad('bad_block', off);
      const st: PcapngStatistics = { interfaceId, tsNs: unitsToNs(getTs(buf, body + 4, le), iface.tsresol) };
      for (const o of opts) {
        if (o.value.length !== 8) continue;
        switch (o.code) {
          case ISB_OPT.STARTTIME: st.startTimeNs = unitsToNs(getTs(o.value, 0, le), iface.tsresol); break;
          case ISB_OPT.ENDTIME: st.endTimeNs = unitsToNs(getTs(o.value, 0, le), iface.tsresol); break;
          case ISB_OPT.IFRECV: st.ifRecv = getU64(o.value, 0, le); break;
          case ISB_OPT.IFDROP: st.ifDrop = getU64(o.value, 0, le); break;
          case ISB_OPT.FILTERACCEPT: st.filterAccept = getU64(o.value, 0, le); break;
          case ISB_OPT.OSDROP: st.osDrop = getU64(o.value, 0, le); break;
          case ISB_OPT.USRDELIV: st.usrDeliv = getU64(o.value, 0, le); break;
        }
      }
      statistics.push(st);
    }
    off += total;
  }
  if (sections.length === 0) return { ok: false, error: 'runt', offset: 0 };
  return { ok: true, sections, interfaces, packets, statistics, truncated };
}
