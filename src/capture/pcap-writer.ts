// A classic pcap stream (pcap-savefile(5)): nanosecond magic, Ethernet, one
// interface. The global header goes out first, on its own, so a reader
// (`tshark -r -`) starts at once; then every batch of frames is one chunk of
// back-to-back 16-byte record headers and frame bytes.

import type { SkBuff } from '../skb/skbuff.ts';
import { PCAP_DEFAULT_SNAPLEN, PCAP_RECORD_HLEN, pcapGlobalHeader } from '../wire/pcap.ts';
import { ChunkBuffer } from './chunk-buffer.ts';
import { checkSnaplen } from './snaplen.ts';
import { putPcapTimestamp } from './timestamp.ts';

export interface PcapWriterOptions {
  /** Bytes kept of each frame; the record still says how long it was. Default 262144. */
  snaplen?: number;
}

function put32le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

export class PcapStreamWriter {
  readonly snaplen: number;
  /** Records written. */
  frames = 0;
  private readonly out: ChunkBuffer;

  /** EINVAL for a snaplen outside 1..2^32-1. */
  constructor(opts: PcapWriterOptions = {}, out: ChunkBuffer = new ChunkBuffer()) {
    this.snaplen = checkSnaplen(opts.snaplen ?? PCAP_DEFAULT_SNAPLEN);
    this.out = out;
  }

  /** The 24-byte global header. */
  writeHeader(): void {
    this.out.append(pcapGlobalHeader({ snaplen: this.snaplen }));
  }

  /** One record for the frame in `skb` (data..tail); the caller still owns and frees the skb. */
  add(skb: SkBuff): void {
    const len = skb.tail - skb.data;
    const caplen = len < this.snaplen ? len : this.snaplen;
    const out = this.out;
    out.reserve(PCAP_RECORD_HLEN + caplen);
    const buf = out.buf;
    const at = out.pos;
    putPcapTimestamp(buf, at, skb.tstamp);
    put32le(buf, at + 8, caplen);
    put32le(buf, at + 12, len);
    skb.buf.copy(buf, at + PCAP_RECORD_HLEN, skb.data, skb.data + caplen);
    out.pos = at + PCAP_RECORD_HLEN + caplen;
    this.frames++;
  }

  /** Bytes written and not yet taken. */
  get pending(): number {
    return this.out.length;
  }

  /** Everything written since the last take, as one Buffer. */
  take(): Buffer | null {
    return this.out.take();
  }
}
