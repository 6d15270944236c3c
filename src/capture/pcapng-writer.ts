// A pcapng stream (draft-ietf-opsawg-pcapng): a Section Header with unknown
// length, one Interface Description per device (written up front for a known
// list, or the first time a frame from a device appears, which pcapng allows
// anywhere in the section), an Enhanced Packet per frame with ns timestamps
// and epb_flags (direction from pkt_type, and the reception type), and at the
// end an Interface Statistics block per interface. A device renamed during
// the capture gets a fresh IDB under its new name, so every frame shows the
// name it had when it was captured.

import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { PCAP_DEFAULT_SNAPLEN } from '../wire/pcap.ts';
import {
  EPB_FLAG_INBOUND,
  EPB_FLAG_OUTBOUND,
  EPB_OPT,
  PCAPNG_BLOCK_EPB,
  pcapngInterfaceDescription,
  pcapngInterfaceStatistics,
  pcapngSectionHeader,
} from '../wire/pcapng.ts';
import { ChunkBuffer } from './chunk-buffer.ts';
import { checkSnaplen } from './snaplen.ts';
import { putPcapngTimestamp, tstampToNs } from './timestamp.ts';

export interface PcapngWriterOptions {
  /** Bytes kept of each frame; the block still says how long it was. Default 262144. */
  snaplen?: number;
  /** shb_userappl; default "netstackd". */
  userappl?: string;
}

/** One IDB of the section. */
export interface CaptureInterface {
  /** The IDB's index in the section (interface_id of its packets). */
  readonly id: number;
  readonly ifindex: number;
  readonly name: string;
  /** Frames written for this interface. */
  frames: number;
}

export interface CaptureStatistics {
  /** Wall-clock ms when the capture started and ended (isb_starttime, isb_endtime). */
  startMs: number;
  endMs: number;
  /** Frames the capture socket had to drop (its receive buffer was full). */
  drops: number;
}

/** type, total length, interface id, ts high, ts low, caplen, origlen. */
const EPB_HLEN = 28;
/** epb_flags option (4 + 4), opt_endofopt (4), trailing total length (4). */
const EPB_TLEN = 16;

/** epb_flags bits 2-4, the reception type, by pkt_type (outgoing frames have none). */
const RECEPTION_TYPE: Record<number, number> = {
  [PacketType.HOST]: 1 << 2, // unicast
  [PacketType.MULTICAST]: 2 << 2,
  [PacketType.BROADCAST]: 3 << 2,
  [PacketType.OTHERHOST]: 4 << 2, // promiscuous
};

function put32le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

export class PcapngStreamWriter {
  readonly snaplen: number;
  /** Every IDB written so far, by id. */
  readonly interfaces: CaptureInterface[] = [];
  /** Enhanced packets written. */
  frames = 0;
  private readonly out: ChunkBuffer;
  private readonly userappl: string;
  /** The latest IDB of each ifindex. */
  private readonly byIfindex = new Map<number, CaptureInterface>();
  // One-entry cache: captures mostly see runs of frames from one device.
  private lastDev: NetDevice | null = null;
  private lastIface: CaptureInterface | null = null;

  /** EINVAL for a snaplen outside 1..2^32-1. */
  constructor(opts: PcapngWriterOptions = {}, out: ChunkBuffer = new ChunkBuffer()) {
    this.snaplen = checkSnaplen(opts.snaplen ?? PCAP_DEFAULT_SNAPLEN);
    this.userappl = opts.userappl ?? 'netstackd';
    this.out = out;
  }

  /** The Section Header, then an IDB for each device known up front. */
  writeHeader(devices: readonly NetDevice[] = []): void {
    this.out.append(pcapngSectionHeader({ userappl: this.userappl }));
    for (const dev of devices) this.addInterface(dev.ifindex, dev.name, this.describe(dev.ifindex, dev.name, dev.kind));
  }

  private describe(ifindex: number, name: string, kind: string): Buffer {
    return pcapngInterfaceDescription({ snaplen: this.snaplen, name, description: `${kind} ifindex ${ifindex}` });
  }

  private addInterface(ifindex: number, name: string, idb: Buffer): CaptureInterface {
    const iface: CaptureInterface = { id: this.interfaces.length, ifindex, name, frames: 0 };
    this.out.append(idb);
    this.interfaces.push(iface);
    this.byIfindex.set(ifindex, iface);
    return iface;
  }

  /** The IDB for this device under its current name, written now if there is none yet. */
  private interfaceOf(dev: NetDevice | null): CaptureInterface {
    if (dev === this.lastDev && this.lastIface !== null && (dev === null || dev.name === this.lastIface.name)) return this.lastIface;
    const ifindex = dev?.ifindex ?? 0;
    const name = dev?.name ?? 'unknown';
    let iface = this.byIfindex.get(ifindex);
    if (iface === undefined || iface.name !== name) iface = this.addInterface(ifindex, name, this.describe(ifindex, name, dev?.kind ?? 'unknown'));
    this.lastDev = dev;
    this.lastIface = iface;
    return iface;
  }

  /** One Enhanced Packet Block for the frame in `skb`; the caller still owns and frees the skb. */
  add(skb: SkBuff): void {
    const iface = this.interfaceOf(skb.dev);
    const len = skb.tail - skb.data;
    const caplen = len < this.snaplen ? len : this.snaplen;
    const padded = (caplen + 3) & ~3;
    const total = EPB_HLEN + padded + EPB_TLEN;
    const out = this.out;
    out.reserve(total);
    const buf = out.buf;
    const at = out.pos;
    put32le(buf, at, PCAPNG_BLOCK_EPB);
    put32le(buf, at + 4, total);
    put32le(buf, at + 8, iface.id);
    putPcapngTimestamp(buf, at + 12, skb.tstamp);
    put32le(buf, at + 20, caplen);
    put32le(buf, at + 24, len);
    skb.buf.copy(buf, at + EPB_HLEN, skb.data, skb.data + caplen);
    let p = at + EPB_HLEN + caplen;
    const end = at + EPB_HLEN + padded;
    while (p < end) buf[p++] = 0;
    const flags = skb.pktType === PacketType.OUTGOING ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND | (RECEPTION_TYPE[skb.pktType] ?? 0);
    buf[p] = EPB_OPT.FLAGS;
    buf[p + 1] = 0;
    buf[p + 2] = 4;
    buf[p + 3] = 0;
    put32le(buf, p + 4, flags);
    put32le(buf, p + 8, 0); // opt_endofopt
    put32le(buf, p + 12, total);
    out.pos = at + total;
    iface.frames++;
    this.frames++;
  }

  /**
   * An Interface Statistics Block per IDB: isb_starttime, isb_endtime,
   * isb_usrdeliv (frames written for it), isb_ifrecv and isb_ifdrop. The
   * capture socket's drops cannot be told apart by device, so they are
   * written once: on the ISB of the last IDB of a one-device capture, or of
   * the first IDB when frames came from several devices. Summing isb_ifdrop
   * over the file gives the socket's drop count.
   */
  writeStatistics(stats: CaptureStatistics): void {
    if (this.interfaces.length === 0) return;
    const startTimeNs = tstampToNs(stats.startMs);
    const endTimeNs = tstampToNs(stats.endMs);
    const oneDevice = this.byIfindex.size === 1;
    const dropsOn = oneDevice ? this.interfaces.length - 1 : 0;
    for (const iface of this.interfaces) {
      const ifDrop = iface.id === dropsOn ? stats.drops : 0;
      this.out.append(
        pcapngInterfaceStatistics({
          interfaceId: iface.id,
          tsNs: endTimeNs,
          startTimeNs,
          endTimeNs,
          ifRecv: iface.frames + ifDrop,
          ifDrop,
          usrDeliv: iface.frames,
        }),
      );
    }
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
