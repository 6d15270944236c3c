// AF_PACKET, SOCK_RAW: whole Ethernet frames in and out. Bound to one device
// or all, one protocol or all, optionally promiscuous (counted on the
// device), optionally seeing outgoing frames (PACKET_OUTGOING). Receiving
// goes through sock_queue_rcv_skb, so a slow reader loses frames at its own
// queue; sending goes through sock_alloc_send_skb, so a slow device throttles
// the sender. Every WebSocket stream and every capture is one of these.

import { NetError } from '../errno.ts';
import type { Clock } from '../clock.ts';
import type { Sysctl } from '../sysctl.ts';
import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { skbTrace } from '../skb/trace.ts';
import type { SkbPool } from '../skb/pool.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { devSetPromiscuity } from '../dev/control.ts';
import { devQueueXmit } from '../dev/xmit.ts';
import { NET_XMIT_SUCCESS } from '../dev/ops.ts';
import { ETH_P_ALL, type PacketHandler, type ProtocolTable } from '../proto/ptype.ts';
import { Sock, allocSendSkb, queueRcvSkb, type SendWaitOptions } from './sock.ts';

export type PacketDirection = 'in' | 'out' | 'both';

/** What a packet socket needs from the stack around it. */
export interface PacketSocketHost {
  readonly pool: SkbPool;
  readonly clock: Clock;
  readonly sysctl: Sysctl;
  readonly ptypes: ProtocolTable;
  kfreeSkb(skb: SkBuff, reason: DropReason): void;
  /** Timestamps are taken only while someone wants them (netstamp_needed). */
  netstampNeeded: number;
  socketClosed(sock: PacketSocket): void;
}

export interface PacketSocketOptions {
  /** Ethertype to receive, or ETH_P_ALL (default). */
  protocol?: number;
  /** Bind to this device; null or absent receives from every device. */
  dev?: NetDevice | null;
  promisc?: boolean;
  direction?: PacketDirection;
  rcvbuf?: number;
  sndbuf?: number;
  /** Who uses it, for listings (e.g. "ws 127.0.0.1:51234", "capture"). */
  owner?: string;
  /**
   * SO_TIMESTAMP: received frames carry the time they entered the stack.
   * Taking the time costs ~50 ns a frame, so the stack stamps frames only
   * while at least one socket asked (netstamp_needed), as Linux does.
   * Default: on for sockets that receive (streams and captures want it).
   */
  timestamps?: boolean;
}

export interface PacketFrame {
  data: Buffer;
  /** Wall-clock milliseconds, fractional. */
  tstamp: number;
  ifindex: number;
  ifname: string;
  protocol: number;
  pktType: PacketType;
}

/** Transmit result for one frame: queued for the wire, or dropped (counted by reason). */
export type PacketSendResult = 'sent' | 'dropped';

/** LL_RESERVED_SPACE: headroom left in front of a frame we build, aligned to 16. */
const TX_HEADROOM = 16;

export class PacketSocket {
  readonly sk: Sock;
  readonly protocol: number;
  readonly direction: PacketDirection;
  readonly promisc: boolean;
  readonly owner: string;
  readonly createdAt: number;
  readonly timestamps: boolean;
  dev: NetDevice | null;
  /** Frames queued to this socket; sent through it. */
  received = 0;
  sent = 0;
  closed = false;
  private promiscHeld: NetDevice | null = null;
  private readonly handler: PacketHandler;

  constructor(
    readonly host: PacketSocketHost,
    readonly id: number,
    opts: PacketSocketOptions = {},
  ) {
    this.sk = new Sock(host);
    this.protocol = opts.protocol ?? ETH_P_ALL;
    if (!Number.isInteger(this.protocol) || this.protocol < 0 || this.protocol > 0xffff) {
      throw new NetError('EINVAL', 'protocol must be an ethertype within 0..0xffff');
    }
    this.direction = opts.direction ?? 'both';
    this.dev = opts.dev ?? null;
    this.promisc = opts.promisc ?? false;
    this.owner = opts.owner ?? '';
    this.timestamps = (opts.timestamps ?? true) && this.protocol !== 0;
    this.createdAt = host.clock.wallNow();
    if (this.promisc && this.dev === null) throw new NetError('EINVAL', 'promiscuous mode needs a device to bind to');
    if (opts.rcvbuf !== undefined) this.sk.setRcvbuf(opts.rcvbuf);
    if (opts.sndbuf !== undefined) this.sk.setSndbuf(opts.sndbuf);
    this.handler = {
      type: this.protocol,
      dev: this.dev,
      func: this.rcv,
      incoming: this.direction !== 'out',
      outgoing: this.direction !== 'in',
      owner: this.sk,
    };
    // The socket listens only when the protocol is not 0 (as packet_create does).
    if (this.protocol !== 0) host.ptypes.add(this.handler);
    if (this.promisc && this.dev !== null) {
      devSetPromiscuity(this.dev, 1);
      this.promiscHeld = this.dev;
    }
    if (this.timestamps) host.netstampNeeded++;
  }

  /** packet_rcv: put the link header back and queue, or count the drop. */
  private readonly rcv = (skb: SkBuff, _dev: NetDevice, _pt: PacketHandler, _orig: NetDevice): void => {
    if (skb.pktType === PacketType.LOOPBACK || this.closed) {
      this.host.kfreeSkb(skb, 'NOT_SPECIFIED');
      return;
    }
    if (skb.macHeader >= 0) skb.data = skb.macHeader;
    if (skb.trace !== null) skbTrace(skb, 'packet_rcv', this.host.clock.wallNow());
    // Stamped late if it entered the stack before anyone asked for times.
    if (this.timestamps && skb.tstamp === 0) skb.tstamp = this.host.clock.wallNow();
    if (queueRcvSkb(this.sk, skb)) {
      this.received++;
      if (skb.trace !== null) skbTrace(skb, 'sock_queue_rcv_skb', this.host.clock.wallNow());
    } else this.host.kfreeSkb(skb, 'SOCKET_RCVBUFF');
  };

  /** Take the next queued frame; the caller frees it (which credits rmem). */
  recv(): SkBuff | null {
    return this.sk.receiveQueue.dequeue();
  }

  /** Take the next frame as a copy, freeing the buffer. */
  recvFrame(): PacketFrame | null {
    const skb = this.sk.receiveQueue.dequeue();
    if (skb === null) return null;
    const dev = skb.dev;
    const frame: PacketFrame = {
      data: Buffer.from(skb.buf.subarray(skb.data, skb.tail)),
      tstamp: skb.tstamp,
      ifindex: dev?.ifindex ?? 0,
      ifname: dev?.name ?? '',
      protocol: skb.protocol,
      pktType: skb.pktType,
    };
    skb.free();
    return frame;
  }

  get queued(): number {
    return this.sk.receiveQueue.length;
  }

  /**
   * packet_snd: transmit one whole frame on the bound device (or `dev`).
   * Returns synchronously while the send buffer has room; a sender that must
   * wait gets a Promise. Errors are NetError: ENXIO without a device,
   * ENETDOWN, EMSGSIZE, EINVAL for a runt, and the send-wait errnos.
   */
  send(frame: Uint8Array, opts: SendWaitOptions & { dev?: NetDevice; priority?: number } = {}): PacketSendResult | Promise<PacketSendResult> {
    const dev = this.checkSend(frame, opts.dev);
    const r = allocSendSkb(this.sk, frame.length + TX_HEADROOM, opts);
    if (!(r instanceof Promise)) return this.finishSend(r, frame, dev, opts.priority ?? 0);
    return r.then((skb) => this.finishSend(skb, frame, this.checkSendAfterWait(skb, frame, dev), opts.priority ?? 0));
  }

  private checkSend(frame: Uint8Array, override: NetDevice | undefined): NetDevice {
    if (this.closed) throw new NetError('EBADF', 'socket is closed');
    const dev = override ?? this.dev;
    if (dev === null || !dev.registered) throw new NetError('ENXIO', 'socket is not bound to a device');
    if (!dev.isUp()) throw new NetError('ENETDOWN', `${dev.name} is down`);
    // A tagged frame may carry 4 more bytes (packet_snd's 802.1Q allowance).
    const tagged = frame.length >= 14 && frame[12] === 0x81 && frame[13] === 0x00 ? 4 : 0;
    if (frame.length > dev.mtu + dev.hardHeaderLen + tagged) {
      throw new NetError('EMSGSIZE', `frame of ${frame.length} bytes exceeds ${dev.name}'s mtu ${dev.mtu} + ${dev.hardHeaderLen}`);
    }
    if (frame.length < dev.hardHeaderLen) {
      throw new NetError('EINVAL', `frame of ${frame.length} bytes is shorter than the ${dev.hardHeaderLen}-byte link header`);
    }
    return dev;
  }

  /** The device may have gone away or down while we waited for buffer space. */
  private checkSendAfterWait(skb: SkBuff, frame: Uint8Array, dev: NetDevice): NetDevice {
    try {
      return this.checkSend(frame, dev);
    } catch (err) {
      skb.free();
      throw err;
    }
  }

  private finishSend(skb: SkBuff, frame: Uint8Array, dev: NetDevice, priority: number): PacketSendResult {
    skb.reserve(TX_HEADROOM);
    skb.putData(frame);
    skb.macHeader = skb.data;
    skb.dev = dev;
    skb.protocol = (frame[12]! << 8) | frame[13]!;
    skb.priority = priority;
    skb.pktType = PacketType.OUTGOING;
    this.sent++;
    return devQueueXmit(skb) === NET_XMIT_SUCCESS ? 'sent' : 'dropped';
  }

  /** The bound device is going away: report ENETDOWN to the user, stop receiving. */
  deviceGone(): void {
    this.host.ptypes.remove(this.handler);
    this.promiscHeld = null;
    this.sk.setError('ENETDOWN');
  }

  /** Stop receiving, drop what is queued, give back promiscuity. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.ptypes.remove(this.handler);
    if (this.promiscHeld !== null) {
      if (this.promiscHeld.registered) devSetPromiscuity(this.promiscHeld, -1);
      this.promiscHeld = null;
    }
    this.sk.receiveQueue.purge((skb) => this.host.kfreeSkb(skb, 'SOCKET_CLOSE'));
    this.sk.setShutdown(3);
    if (this.timestamps) this.host.netstampNeeded--;
    this.host.socketClosed(this);
  }
}
