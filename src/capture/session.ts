// One capture: a packet socket, a pcap or pcapng writer, and a sink (an HTTP
// response, a file) that may say it is full. The socket is drained once per
// loop turn into one chunk; while the sink is full nothing is read, so the
// frames wait in the socket's receive queue and, once rcvbuf is full, are
// dropped there and counted (SOCKET_RCVBUFF; pcapng reports them in the ISB).
// It ends after `count` frames, after `durationS` seconds of stack time, when
// its device is deleted, or when told to; the socket is always closed.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { TimerHandle } from '../clock.ts';
import type { PacketDirection, PacketSocket } from '../packet/socket.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetStack } from '../stack/index.ts';
import { ChunkBuffer } from './chunk-buffer.ts';
import { PcapStreamWriter } from './pcap-writer.ts';
import { PcapngStreamWriter } from './pcapng-writer.ts';
import { SocketDrain } from './socket-drain.ts';

export type CaptureFormat = 'pcap' | 'pcapng';

/** Why a capture ended: the first four end the file properly; 'aborted' means the reader went away. */
export type CaptureEndReason = 'count' | 'duration' | 'device_gone' | 'shutdown' | 'aborted';

export interface CaptureSink {
  /** Take a chunk; false means full: the session reads nothing until resume(). */
  write(chunk: Buffer): boolean;
  /** The capture is over; for every reason but 'aborted' the last chunk has been written. */
  end(reason: CaptureEndReason): void;
}

export interface CaptureOptions {
  format: CaptureFormat;
  /** The device to capture on; null captures every device (pcapng only). */
  dev: NetDevice | null;
  /** Ethertype, or ETH_P_ALL (default). */
  protocol?: number;
  direction?: PacketDirection;
  promisc?: boolean;
  /** SO_RCVBUF for the capture socket (clamped by net.core.rmem_max, as setsockopt does). */
  rcvbuf?: number;
  snaplen?: number;
  /** Stop after this many frames. */
  count?: number;
  /** Stop after this many seconds of stack time. */
  durationS?: number;
  /** For socket listings, e.g. "capture 127.0.0.1:40000". */
  owner?: string;
}

interface FrameWriter {
  readonly frames: number;
  readonly pending: number;
  add(skb: SkBuff): void;
  take(): Buffer | null;
}

/** Frames go out in chunks of about this size (one socket write each). */
const CHUNK_BYTES = 128 * 1024;

export class CaptureSession {
  readonly socket: PacketSocket;
  readonly format: CaptureFormat;
  /** Wall-clock ms when the capture started. */
  readonly startedAt: number;
  /** Bytes handed to the sink. */
  bytes = 0;
  endReason: CaptureEndReason | null = null;
  private readonly writer: FrameWriter;
  private readonly pcapng: PcapngStreamWriter | null;
  private readonly drain: SocketDrain;
  private readonly count: number;
  private timer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;

  /** Opens the capture socket; NetError when the options cannot be met (EINVAL, ENODEV, EMFILE). */
  constructor(
    private readonly stack: NetStack,
    private readonly opts: CaptureOptions,
    private readonly sink: CaptureSink,
  ) {
    if (opts.format === 'pcap' && opts.dev === null) {
      throw new NetError('EINVAL', 'a classic pcap file describes one interface; capture every device with format=pcapng');
    }
    if (opts.count !== undefined && (!Number.isSafeInteger(opts.count) || opts.count < 1)) {
      throw new NetError('EINVAL', 'count must be a positive integer');
    }
    if (opts.durationS !== undefined && !(opts.durationS > 0 && Number.isFinite(opts.durationS))) {
      throw new NetError('EINVAL', 'duration_s must be a positive number of seconds');
    }
    this.format = opts.format;
    this.count = opts.count ?? Infinity;
    const out = new ChunkBuffer();
    // A bad snaplen throws here, before the socket exists.
    if (opts.format === 'pcap') {
      const w = new PcapStreamWriter({ snaplen: opts.snaplen }, out);
      w.writeHeader();
      this.writer = w;
      this.pcapng = null;
    } else {
      const w = new PcapngStreamWriter({ snaplen: opts.snaplen }, out);
      w.writeHeader(opts.dev === null ? [] : [opts.dev]);
      this.writer = w;
      this.pcapng = w;
    }
    this.socket = stack.openPacketSocket({
      dev: opts.dev,
      protocol: opts.protocol,
      direction: opts.direction ?? 'both',
      promisc: opts.promisc ?? false,
      rcvbuf: opts.rcvbuf,
      owner: opts.owner ?? 'capture',
    });
    this.startedAt = stack.clock.wallNow();
    this.drain = new SocketDrain(this.socket, this.run);
  }

  /** Frames written to the capture. */
  get frames(): number {
    return this.writer.frames;
  }

  /** Frames the capture socket dropped because its receive buffer was full. */
  get drops(): number {
    return this.socket.sk.drops;
  }

  get done(): boolean {
    return this.endReason !== null;
  }

  /** Send the file header at once (a live reader starts on it) and start the clock. */
  start(): void {
    const header = this.writer.take();
    if (header !== null && !this.emit(header)) this.drain.pause();
    if (this.opts.durationS !== undefined) {
      this.timer = this.stack.clock.setTimer(this.opts.durationS * 1000, () => this.finish('duration'));
    }
    if (this.opts.dev !== null) {
      // The socket hears its device go away (packet_notifier).
      this.unsubscribe = this.socket.addGoneListener(() => this.finish('device_gone'));
    }
    this.drain.kick();
  }

  /** The sink has room again. */
  resume(): void {
    if (!this.done) this.drain.resume();
  }

  /**
   * End the file properly: write what is already queued (up to `count`),
   * then, for pcapng, the interface statistics; close the socket.
   */
  finish(reason: Exclude<CaptureEndReason, 'aborted'>): void {
    if (this.done) return;
    this.fill(Infinity);
    this.pcapng?.writeStatistics({ startMs: this.startedAt, endMs: this.stack.clock.wallNow(), drops: this.socket.sk.drops });
    const tail = this.writer.take();
    if (tail !== null) this.emit(tail);
    this.close(reason);
  }

  /** The reader went away: stop at once, write nothing more. */
  abort(): void {
    if (!this.done) this.close('aborted');
  }

  private readonly run = (): void => {
    while (!this.done) {
      this.fill(CHUNK_BYTES);
      const chunk = this.writer.take();
      if (chunk === null) return;
      const more = this.emit(chunk);
      if (this.writer.frames >= this.count) {
        this.finish('count');
        return;
      }
      if (!more) {
        this.drain.pause();
        return;
      }
    }
  };

  /** Move queued frames into the writer until about `limit` bytes are pending or `count` is reached. */
  private fill(limit: number): void {
    const w = this.writer;
    const sock = this.socket;
    while (w.pending < limit && w.frames < this.count) {
      const skb = sock.recv();
      if (skb === null) return;
      w.add(skb);
      skb.free();
    }
  }

  private emit(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return this.sink.write(chunk);
  }

  private close(reason: CaptureEndReason): void {
    this.endReason = reason;
    this.drain.stop();
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.socket.close();
    this.sink.end(reason);
  }
}
