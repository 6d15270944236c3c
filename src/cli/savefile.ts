// Reading a capture file to replay: classic pcap or pcapng, told apart by
// their first four bytes, down to the Ethernet frames and their timestamps.

import { PCAPNG_BLOCK_SHB, parsePcapng } from '../wire/pcapng.ts';
import { LINKTYPE_ETHERNET, parsePcap } from '../wire/pcap.ts';
import { CliError, EXIT_LOOKUP } from './errors.ts';

export interface SavedFrame {
  tsNs: bigint;
  data: Uint8Array;
}

export interface Savefile {
  format: 'pcap' | 'pcapng';
  frames: SavedFrame[];
  /** Packets left out because their interface is not Ethernet. */
  skipped: number;
  /** Packets stored shorter than they were on the wire (snaplen). */
  snapped: number;
  /** The file ends inside a record; what came before it is kept. */
  truncated: boolean;
}

const isPcapng = (buf: Uint8Array): boolean =>
  buf.length >= 4 && ((buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0) === PCAPNG_BLOCK_SHB;

/** Parses `buf`, read from `name`; a file that is neither format is a usage error (exit 1). */
export function readSavefile(buf: Uint8Array, name: string): Savefile {
  if (isPcapng(buf)) {
    const p = parsePcapng(buf);
    if (!p.ok) throw new CliError(`netstackctl: ${name}: not a valid pcapng file (${p.error} at offset ${p.offset})`, EXIT_LOOKUP);
    const frames: SavedFrame[] = [];
    let skipped = 0;
    let snapped = 0;
    for (const pkt of p.packets) {
      if (p.interfaces[pkt.interfaceId]?.linktype !== LINKTYPE_ETHERNET) {
        skipped++;
        continue;
      }
      if (pkt.data.length < pkt.origLen) snapped++;
      frames.push({ tsNs: pkt.tsNs, data: pkt.data });
    }
    return { format: 'pcapng', frames, skipped, snapped, truncated: p.truncated };
  }
  const p = parsePcap(buf);
  if (!p.ok) {
    const why = p.error === 'bad_magic' ? 'not a pcap or pcapng file' : `not a valid pcap file (${p.error} at offset ${p.offset})`;
    throw new CliError(`netstackctl: ${name}: ${why}`, EXIT_LOOKUP);
  }
  if (p.linktype !== LINKTYPE_ETHERNET) {
    throw new CliError(`netstackctl: ${name}: link type ${p.linktype} is not Ethernet (1); only Ethernet frames can be sent`, EXIT_LOOKUP);
  }
  const snapped = p.records.filter((r) => r.data.length < r.origLen).length;
  return { format: 'pcap', frames: p.records.map((r) => ({ tsNs: r.tsNs, data: r.data })), skipped: 0, snapped, truncated: p.truncated };
}
