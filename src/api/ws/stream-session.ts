// One WebSocket frame stream: a packet socket of its own on the device, read
// into WebSocket messages while the client keeps up, and a transmit path for
// the frames the client sends.
//
// Server to client. Messages go out only while ws.bufferedAmount stays under
// a high-water mark; the message that would reach it carries a write
// callback, reading stops, and the callback resumes it once the bytes are
// out. Meanwhile frames wait in the socket's receive queue, and when rcvbuf
// is full the socket drops them (SOCKET_RCVBUFF, counted) and the client is
// told with {type:"drops"} when it is back. A stalled client costs at most
// rcvbuf plus the high-water mark, and never slows the stack or other
// streams. Each run of the reader takes the whole queue: one message for the
// binary format (pcap records back to back), one message per frame for JSON,
// all corked into one socket write.
//
// Client to server. A binary message is one frame to transmit through the
// same socket. When the send buffer is full, send() returns a Promise: the
// client's socket is paused (TCP pushes back on the client) until it
// settles, so nothing queues without bound. Errors (EMSGSIZE, ENETDOWN, ...)
// come back as {type:"error", errno, detail}; the stream stays open.

import { toBuffer } from './socket-session.ts';
import type { RawData, WebSocket } from 'ws';
import { isNetError } from '../../errno.ts';
import type { NetDevice } from '../../dev/netdevice.ts';
import type { PacketDirection, PacketSendResult, PacketSocket } from '../../packet/socket.ts';
import type { NetStack } from '../../stack/index.ts';
import { PcapStreamWriter, SocketDrain } from '../../capture/index.ts';
import { encodeFrameDetail, JsonFrameEncoder } from './frame-json.ts';
import { bhDisabled } from '../../stack/softnet.ts';

export type StreamFormat = 'json' | 'binary';

/** Close codes the server uses (RFC 6455 §7.4; 4000-4999 are the application's). */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** The stream could not be set up (e.g. no more sockets). */
  INTERNAL_ERROR: 1011,
  /** Over the client limit: try again later. */
  TRY_AGAIN_LATER: 1013,
  /** The device was deleted (as 404 would say). */
  DEVICE_GONE: 4004,
} as const;

export interface StreamOptions {
  dev: NetDevice;
  format: StreamFormat;
  protocol?: number;
  promisc?: boolean;
  rcvbuf?: number;
  direction?: PacketDirection;
  /** Bytes allowed in ws.bufferedAmount before reading stops. */
  highWaterMark: number;
  /** For socket listings, e.g. "ws 127.0.0.1:51234". */
  owner: string;
  /** JSON messages also carry skb (encodeFrameDetail). */
  detail?: boolean;
  /** Trace the device's frames while the stream lasts; messages carry the trace. */
  trace?: boolean;
}

/** What the stream needs from the TCP socket under the WebSocket: batching writes. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** A binary message carries at most about this many bytes of pcap records. */
const BINARY_CHUNK_BYTES = 64 * 1024;

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;


export class StreamSession {
  readonly socket: PacketSocket;
  readonly dev: NetDevice;
  readonly format: StreamFormat;
  /** Frames sent to the client. */
  frames = 0;
  /** Frames the client sent that were transmitted. */
  transmitted = 0;
  closed = false;
  /** Answered the last ping (heartbeat). */
  alive = true;
  /** Called once, when the stream is over for whatever reason. */
  onClosed: ((session: StreamSession) => void) | null = null;
  private readonly drain: SocketDrain;
  private readonly pcap: PcapStreamWriter | null;
  private readonly json: JsonFrameEncoder | null;
  private readonly hwm: number;
  private readonly detail: boolean;
  private readonly traced: boolean;
  private readonly stack: NetStack;
  private reportedDrops = 0;
  private txBlocked = false;
  /** Messages the client sent while a transmit waited: at most what ws had already read (pause() stops the rest). */
  private txPending: Buffer[] = [];

  /** Opens the packet socket; NetError if it cannot be (ENODEV, EMFILE, EINVAL). */
  constructor(
    stack: NetStack,
    private readonly ws: WebSocket,
    private readonly transport: Corkable | null,
    opts: StreamOptions,
  ) {
    this.dev = opts.dev;
    this.format = opts.format;
    this.hwm = opts.highWaterMark;
    this.stack = stack;
    this.detail = opts.detail === true || opts.trace === true;
    this.socket = stack.openPacketSocket({
      dev: opts.dev,
      protocol: opts.protocol,
      promisc: opts.promisc ?? false,
      rcvbuf: opts.rcvbuf,
      direction: opts.direction ?? 'both',
      owner: opts.owner,
    });
    this.traced = opts.trace === true;
    if (this.traced) stack.traceDevice(opts.dev, 1);
    if (opts.format === 'binary') {
      this.pcap = new PcapStreamWriter();
      this.json = null;
    } else {
      this.pcap = null;
      this.json = new JsonFrameEncoder();
    }
    this.drain = new SocketDrain(this.socket, this.run);
    // A reader learns at once that its device went down (packet_notifier sets
    // ENETDOWN, recvmsg reports it once); the stream stays open.
    this.socket.sk.addErrorListener(() => {
      if (this.socket.gone) return;
      const errno = this.socket.sk.takeError();
      if (errno !== null) this.sendError(errno, `${this.dev.name} went down`);
    });
    ws.on('message', this.onMessage);
    ws.on('pong', this.onPong);
    ws.on('close', this.onWsClose);
    // The ready signal, sent once the socket is bound, before any frame: a
    // client that starts traffic after it sees this misses nothing (the CLI
    // prints "listening on ..." then). In pcap form the global header is it.
    if (this.pcap !== null) {
      this.pcap.writeHeader();
      this.send(this.pcap.take()!, true);
    } else {
      this.send(`{"type":"ready","ifname":${JSON.stringify(this.dev.name)},"socket":${this.socket.id}}`, false);
    }
    this.drain.kick();
  }

  /** Frames this stream's socket dropped because the client read too slowly. */
  get drops(): number {
    return this.socket.sk.drops;
  }

  /** Heartbeat: false when the last ping went unanswered (the caller terminates). */
  ping(): boolean {
    // While a transmit waits we are not reading the client, so its pong could not be seen.
    if (this.txBlocked) return true;
    if (!this.alive) return false;
    this.alive = false;
    this.ws.ping();
    return true;
  }

  /** End the stream with a close frame; the socket is closed at once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.dispose();
    this.ws.close(code, reason);
  }

  /** Drop the connection without a closing handshake (a dead peer). */
  terminate(): void {
    this.dispose();
    this.ws.terminate();
  }

  private readonly onPong = (): void => {
    this.alive = true;
  };

  private readonly onWsClose = (): void => {
    this.dispose();
  };

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.drain.stop();
    this.socket.close();
    if (this.traced) this.stack.traceDevice(this.dev, -1);
    this.txPending = [];
    this.ws.off('message', this.onMessage);
    this.onClosed?.(this);
  }

  // ---- server to client ----

  /**
   * Every message goes through here. One that would take bufferedAmount to
   * the high-water mark is still sent, with the callback that resumes
   * reading once it is written; until then nothing more is read.
   */
  private send(data: Buffer | string, binary: boolean): boolean {
    const ws = this.ws;
    if (ws.bufferedAmount + data.length < this.hwm) {
      ws.send(data, binary ? BINARY : TEXT);
      return true;
    }
    ws.send(data, binary ? BINARY : TEXT, this.onWritten);
    this.drain.pause();
    return false;
  }

  /** ws passes null (not undefined) when the write succeeded. */
  private readonly onWritten = (err?: Error | null): void => {
    if (!err && !this.closed) this.drain.resume();
  };

  private readonly run = (): void => {
    if (this.closed) return;
    const t = this.transport;
    // Everything sent in this turn leaves in one socket write.
    t?.cork();
    try {
      if (this.reportDrops()) {
        if (this.pcap !== null) this.runBinary(this.pcap);
        else this.runJson(this.json!);
      }
    } finally {
      t?.uncork();
    }
  };

  /** {type:"drops"} when the socket lost frames since the last notice; false when the client is full. */
  private reportDrops(): boolean {
    const total = this.socket.sk.drops;
    if (total === this.reportedDrops) return true;
    const count = total - this.reportedDrops;
    this.reportedDrops = total;
    return this.send(`{"type":"drops","count":${count},"total":${total}}`, false);
  }

  private runBinary(pcap: PcapStreamWriter): void {
    const sock = this.socket;
    for (;;) {
      const before = pcap.frames;
      while (pcap.pending < BINARY_CHUNK_BYTES) {
        const skb = sock.recv();
        if (skb === null) break;
        pcap.add(skb);
        skb.free();
      }
      const chunk = pcap.take();
      if (chunk === null) return;
      this.frames += pcap.frames - before;
      if (!this.send(chunk, true)) return;
    }
  }

  private runJson(json: JsonFrameEncoder): void {
    const sock = this.socket;
    for (;;) {
      const skb = sock.recv();
      if (skb === null) return;
      const msg = this.detail ? encodeFrameDetail(json.encode(skb), skb, sock.id) : json.encode(skb);
      skb.free();
      this.frames++;
      if (!this.send(msg, false)) return;
    }
  }

  // ---- client to server ----

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.closed) return;
    if (!isBinary) {
      this.sendError('EINVAL', 'text messages are not accepted: send each frame as one binary message');
      return;
    }
    const frame = toBuffer(data);
    if (this.txBlocked) this.txPending.push(frame);
    // One read from the client carries many messages, as one interrupt
    // carries a NIC's burst: with bottom halves off, the frames wait in the
    // receiving stack's backlog, charged to this socket, until the read is
    // done, so a client faster than the stack fills the send buffer and is
    // paused (backpressure) instead of having each frame run the whole
    // receive path inside the read.
    else bhDisabled(() => this.transmit(frame));
  };

  private transmit(frame: Buffer): void {
    let r: PacketSendResult | Promise<PacketSendResult>;
    try {
      r = this.socket.send(frame);
    } catch (err) {
      this.reportSendError(err);
      return;
    }
    if (!(r instanceof Promise)) {
      this.sendResult(r);
      return;
    }
    // The send buffer is full: read nothing more from this client until it has room.
    this.txBlocked = true;
    this.ws.pause();
    r.then(this.sendResult, this.reportSendError).finally(this.txUnblocked);
  }

  private readonly sendResult = (r: PacketSendResult): void => {
    if (r === 'sent') this.transmitted++;
    // Linux's packet_snd returns ENOBUFS for a frame its qdisc dropped (net_xmit_errno).
    else this.sendError('ENOBUFS', `the frame was dropped on transmit by ${this.dev.name} (counted under a drop reason)`);
  };

  private readonly reportSendError = (err: unknown): void => {
    if (isNetError(err)) this.sendError(err.errno, err.message);
    else this.sendError('EIO', err instanceof Error ? err.message : String(err));
  };

  private readonly txUnblocked = (): void => {
    this.txBlocked = false;
    while (!this.txBlocked && !this.closed && this.txPending.length > 0) this.transmit(this.txPending.shift()!);
    if (!this.txBlocked && !this.closed) this.ws.resume();
  };

  private sendError(errno: string, detail: string): void {
    if (this.closed) return;
    this.send(JSON.stringify({ type: 'error', errno, detail }), false);
  }
}
