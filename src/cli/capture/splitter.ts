// Cuts a streamed pcap or pcapng body into whole records/blocks, so `capture
// -w` writes only complete ones (a file cut by Ctrl-C still opens in
// Wireshark), counts the packets, and reads the drop counters of pcapng
// Interface Statistics Blocks as they arrive.

import { Buffer } from 'node:buffer';
import { PCAP_DEFAULT_SNAPLEN, PCAP_GLOBAL_HLEN, PCAP_MAGIC_NS, PCAP_MAGIC_US, PCAP_RECORD_HLEN } from '../../wire/pcap.ts';
import {
  PCAPNG_BLOCK_EPB,
  PCAPNG_BLOCK_IDB,
  PCAPNG_BLOCK_ISB,
  PCAPNG_BLOCK_SHB,
  PCAPNG_BYTE_ORDER_MAGIC,
  parsePcapng,
} from '../../wire/pcapng.ts';

/** The obsolete Packet Block and the Simple Packet Block also carry one packet each. */
const PCAPNG_BLOCK_PB = 0x00000002;
const PCAPNG_BLOCK_SPB = 0x00000003;
/** A block bigger than this is taken as a corrupt stream rather than buffered without end. */
const MAX_BLOCK = 16 * 1024 * 1024;

export class CorruptCaptureError extends Error {}

const u32 = (b: Uint8Array, o: number, le: boolean): number =>
  le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

export class CaptureSplitter {
  /** Packets in the complete units returned so far. */
  packets = 0;
  /** The latest interface drop count an ISB reported, summed over interfaces. */
  drops = 0;
  private pending: Buffer = Buffer.alloc(0);
  private le = true;
  private started = false;
  private maxRecord = PCAP_DEFAULT_SNAPLEN;
  /** The current section's SHB and IDBs, needed to read its ISBs. */
  private sectionHead: Buffer[] = [];
  private dropsByInterface = new Map<number, bigint>();
  /** Drops reported in sections that have ended. */
  private earlierDrops = 0;

  constructor(private readonly format: 'pcap' | 'pcapng') {}

  /** Bytes held back because they do not yet make a whole unit. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Appends a chunk and returns the complete units it finished, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    for (;;) {
      const len = this.format === 'pcap' ? this.pcapUnit(off) : this.pcapngUnit(off);
      if (len === 0) break;
      const unit = this.pending.subarray(off, off + len);
      if (this.format === 'pcapng') this.onBlock(unit);
      out.push(unit);
      off += len;
    }
    this.pending = this.pending.subarray(off);
    return out;
  }

  /** Length of the pcap unit at `off` if it is complete, else 0. */
  private pcapUnit(off: number): number {
    const p = this.pending;
    if (!this.started) {
      if (p.length - off < PCAP_GLOBAL_HLEN) return 0;
      const le = u32(p, off, true);
      const be = u32(p, off, false);
      if (le === PCAP_MAGIC_NS || le === PCAP_MAGIC_US) this.le = true;
      else if (be === PCAP_MAGIC_NS || be === PCAP_MAGIC_US) this.le = false;
      else throw new CorruptCaptureError('the stream does not start with a pcap header');
      this.maxRecord = Math.max(PCAP_DEFAULT_SNAPLEN, u32(p, off + 16, this.le));
      this.started = true;
      return PCAP_GLOBAL_HLEN;
    }
    if (p.length - off < PCAP_RECORD_HLEN) return 0;
    const incl = u32(p, off + 8, this.le);
    if (incl > this.maxRecord) throw new CorruptCaptureError(`a pcap record claims ${incl} bytes`);
    if (p.length - off < PCAP_RECORD_HLEN + incl) return 0;
    this.packets++;
    return PCAP_RECORD_HLEN + incl;
  }

  /** Length of the pcapng block at `off` if it is complete, else 0. */
  private pcapngUnit(off: number): number {
    const p = this.pending;
    if (p.length - off < 12) return 0;
    if (u32(p, off, true) === PCAPNG_BLOCK_SHB) {
      const bom = u32(p, off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
      else if (u32(p, off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) this.le = false;
      else throw new CorruptCaptureError('bad pcapng byte-order magic');
      this.started = true;
    } else if (!this.started) {
      throw new CorruptCaptureError('the stream does not start with a pcapng section header');
    }
    const total = u32(p, off + 4, this.le);
    if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) throw new CorruptCaptureError(`bad pcapng block length ${total}`);
    if (p.length - off < total) return 0;
    return total;
  }

  private onBlock(block: Buffer): void {
    const type = u32(block, 0, this.le);
    if (type === PCAPNG_BLOCK_EPB || type === PCAPNG_BLOCK_SPB || type === PCAPNG_BLOCK_PB) {
      this.packets++;
    } else if (type === PCAPNG_BLOCK_SHB) {
      this.sectionHead = [Buffer.from(block)];
      this.earlierDrops = this.drops;
      this.dropsByInterface.clear();
    } else if (type === PCAPNG_BLOCK_IDB) {
      this.sectionHead.push(Buffer.from(block));
    } else if (type === PCAPNG_BLOCK_ISB) {
      const parsed = parsePcapng(Buffer.concat([...this.sectionHead, block]));
      if (!parsed.ok) return;
      for (const st of parsed.statistics) {
        const dropped = st.ifDrop ?? st.osDrop;
        if (dropped !== undefined) this.dropsByInterface.set(st.interfaceId, dropped);
      }
      let sum = 0n;
      for (const d of this.dropsByInterface.values()) sum += d;
      this.drops = this.earlierDrops + Number(sum);
    }
  }
}
