// AF_PACKET, SOCK_RAW: whole Ethernet frames in and out. Bound to one device
// or all, one protocol or all, optionally promiscuous (counted on the
// device), optionally seeing outgoing frames (PACKET_OUTGOING). Receiving
// goes through sock_queue_rcv_skb, so a slow reader loses frames at its own
// queue; sending goes through sock_alloc_send_skb, so a slow device throttles
// the sender. Every WebSocket stream and every capture is one of these.
// Each is an entry of the stack's socket table (family packet, type raw);
// device events reach it from there (packet_notifier).

import { NetError } from '../errno.ts';
import type { Clock } from '../clock.ts';
import type { Sysctl } from '../sysctl.ts';
import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { skbTrace } from '../skb/trace.ts';
import type { SkbPool } from '../skb/pool.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { NetdevEvent } from '../dev/notifier.ts';
import { devSetPromiscuity } from '../dev/control.ts';
import { devQueueXmit, frameFitsDevice } from '../dev/xmit.ts';
import { NET_XMIT_SUCCESS } from '../dev/ops.ts';
import type { PacketHandler, ProtocolTable } from '../proto/ptype.ts';
import { ETH_P_ALL, readEthType } from '../wire/eth.ts';
import { Sock, allocSendSkb, queueRcvSkb, recvSkb, type RecvWaitOptions, type SendWaitOptions, type SockState } from '../sock/sock.ts';
import { sockMemInfo, type SocketDescription, type SocketTable, type StackSocket } from '../sock/table.ts';

export type PacketDirection = 'in' | 'out' | 'both';

/** What a packet socket needs from the stack around it. */
export interface PacketSocketHost {
  readonly pool: SkbPool;
  readonly clock: Clock;
  readonly sysctl: Sysctl;
  readonly ptypes: ProtocolTable;
  readonly sockets: SocketTable;
  /** Timestamps are taken only while someone wants them (netstamp_needed). */
  netstampNeeded: number;
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

export class PacketSocket implements StackSocket {
  readonly family = 'packet';
  readonly type = 'raw';
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
  /** The bound device was unregistered: the socket stays open, reads ENETDOWN, receives nothing. */
  gone = false;
  private promiscHeld: NetDevice | null = null;
  /** The handler is in the protocol table (po->running). */
  private running = false;
  private goneListeners: (() => void)[] = [];
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
    if (this.protocol !== 0) this.hook();
    if (this.promisc && this.dev !== null) {
      devSetPromiscuity(this.dev, 1);
      this.promiscHeld = this.dev;
    }
    if (this.timestamps) host.netstampNeeded++;
    host.sockets.add(this);
  }

  get boundDev(): NetDevice | null {
    return this.dev;
  }

  get state(): SockState {
    return this.sk.ssState;
  }

  private hook(): void {
    if (this.running) return;
    this.host.ptypes.add(this.handler);
    this.running = true;
  }

  private unhook(): void {
    if (!this.running) return;
    this.host.ptypes.remove(this.handler);
    this.running = false;
  }

  /** packet_rcv: put the link header back and queue, or count the drop. */
  private readonly rcv = (skb: SkBuff, _dev: NetDevice, _pt: PacketHandler, _orig: NetDevice): void => {
    if (skb.pktType === PacketType.LOOPBACK || this.closed) {
      skb.drop('NOT_SPECIFIED');
      return;
    }
    if (skb.macHeader >= 0) skb.data = skb.macHeader;
    if (skb.trace !== null) skbTrace(skb, 'packet_rcv', this.host.clock.wallNow());
    // Stamped late if it entered the stack before anyone asked for times.
    if (this.timestamps && skb.tstamp === 0) skb.tstamp = this.host.clock.wallNow();
    if (queueRcvSkb(this.sk, skb)) {
      this.received++;
      if (skb.trace !== null) skbTrace(skb, 'sock_queue_rcv_skb', this.host.clock.wallNow());
    } else skb.drop('SOCKET_RCVBUFF');
  };

  /** Take the next queued frame, or null; the caller frees it (which credits rmem). Never waits. */
  recv(): SkBuff | null {
    return this.sk.receiveQueue.dequeue();
  }

  /**
   * packet_recvmsg: the next frame, waiting for one unless told not to
   * (nonblock -> EAGAIN, signal -> EINTR, timeoutMs -> EAGAIN; a pending
   * error such as ENETDOWN is thrown once; null after close). Synchronous
   * when a frame is queued.
   */
  recvWait(opts: RecvWaitOptions = {}): SkBuff | null | Promise<SkBuff | null> {
    return recvSkb(this.sk, opts);
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
    if (!frameFitsDevice(dev, frame.length, readEthType(frame))) {
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
    skb.protocol = readEthType(frame);
    skb.priority = priority;
    skb.pktType = PacketType.OUTGOING;
    this.sent++;
    return devQueueXmit(skb) === NET_XMIT_SUCCESS ? 'sent' : 'dropped';
  }

  /**
   * packet_notifier: the bound device went down (stop receiving, ENETDOWN to
   * the user), came back up (receive again), or was unregistered (ENETDOWN,
   * and nothing more: the socket is bound to a device that no longer exists).
   */
  netdevEvent(event: NetdevEvent, _dev: NetDevice): void {
    if (this.closed || this.gone) return;
    switch (event) {
      case 'DOWN':
        if (!this.running) return;
        this.unhook();
        this.sk.setError('ENETDOWN');
        return;
      case 'UP':
        if (this.protocol !== 0) this.hook();
        return;
      case 'UNREGISTER': {
        this.gone = true;
        this.promiscHeld = null;
        this.unhook();
        // A sender not told yet (a send-only socket is never running) learns it now.
        if (this.sk.err !== 'ENETDOWN') this.sk.setError('ENETDOWN');
        for (const fn of this.goneListeners) fn();
        return;
      }
    }
  }

  /** Be told when the bound device is unregistered (streams, captures, HTTP senders end then). */
  addGoneListener(fn: () => void): () => void {
    this.goneListeners = [...this.goneListeners, fn];
    return () => {
      this.goneListeners = this.goneListeners.filter((l) => l !== fn);
    };
  }

  /** ss -0: the table's common fields, then what a packet socket has of its own. */
  describe(): SocketDescription {
    const sk = this.sk;
    const dev = this.dev;
    return {
      id: this.id,
      family: this.family,
      type: this.type,
      state: sk.ssState,
      local: `${dev === null ? '*' : dev.name}:${protocolName(this.protocol)}`,
      peer: '*',
      ...sockMemInfo(sk),
      device: dev?.name ?? null,
      protocol: protocolName(this.protocol),
      direction: this.direction,
      promisc: this.promisc,
      owner: this.owner,
      queue: sk.receiveQueue.length,
      received: this.received,
      sent: this.sent,
    };
  }

  /** Stop receiving, drop what is queued, give back promiscuity. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unhook();
    if (this.promiscHeld !== null) {
      if (this.promiscHeld.registered) devSetPromiscuity(this.promiscHeld, -1);
      this.promiscHeld = null;
    }
    this.sk.receiveQueue.purge((skb) => skb.drop('SOCKET_CLOSE'));
    this.sk.setShutdown(3);
    if (this.timestamps) this.host.netstampNeeded--;
    this.host.sockets.remove(this);
  }
}

/** An ethertype as ss and the API show it: "all" for ETH_P_ALL, else 0x0800. */
export function protocolName(protocol: number): string {
  return protocol === ETH_P_ALL ? 'all' : `0x${protocol.toString(16).padStart(4, '0')}`;
}
