// NetStack: one per process, as one kernel. It owns the buffer pool, the
// device list, the protocol table, the backlog and its bottom half, the
// sysctls, the drop counters and the packet sockets, and it is the NetCore
// every device talks to. It is built from a list of protocols
// (stack/protocol.ts) that register what they need when attached. Control
// operations live in devices.ts, link.ts and ioctl.ts and throw NetError;
// the frame path only counts.

import { RealClock, type Clock } from '../clock.ts';
import { NetError } from '../errno.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { Sysctl, type SysctlValues } from '../sysctl.ts';
import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { SkbPool } from '../skb/pool.ts';
import { skbTrace, skbTraceSampled, skbTraceStart } from '../skb/trace.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { Notifier, type NetdevEvent } from '../dev/notifier.ts';
import { DeviceRegistry } from '../dev/registry.ts';
import { registerNetdevice, unregisterNetdevice } from '../dev/register.ts';
import { devOpen, devClose } from '../dev/control.ts';
import { qdiscRun } from '../dev/xmit.ts';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetCore } from '../dev/ops.ts';
import { createLoopback } from '../dev/drivers/loopback.ts';
import { VlanProtocol } from '../vlan/protocol.ts';
import type { NetProtocol } from './protocol.ts';
import { LinkKindTable } from './link-kinds.ts';
import { ProtocolTable } from '../proto/ptype.ts';
import type { PacketSocket, PacketSocketHost, PacketSocketOptions } from '../packet/socket.ts';
import { PacketProtocol } from '../packet/protocol.ts';
import { SocketTable } from '../sock/table.ts';
import { Softnet } from './softnet.ts';
import { flushBacklog } from './flush-backlog.ts';
import { netifReceiveSkb, type ReceiveContext } from './receive.ts';
import { totalDrops, type DropCounts } from './drops.ts';
import { EventBus, type StackEventAction } from './events.ts';

/**
 * Which notifier events are link changes `ip monitor` sees, as rtnetlink_event
 * and __dev_notify_flags send RTM_NEWLINK/RTM_DELLINK: GOING_DOWN (DOWN
 * follows) and multicast list changes (CHANGEMULTI) send none.
 */
const LINK_EVENT_ACTIONS: Partial<Record<NetdevEvent, StackEventAction>> = {
  REGISTER: 'new',
  UNREGISTER: 'del',
  UP: 'change',
  DOWN: 'change',
  CHANGE: 'change',
  CHANGEMTU: 'change',
  CHANGEADDR: 'change',
  CHANGENAME: 'change',
  CHANGETXQLEN: 'change',
};

export interface NetStackLimits {
  maxDevices: number;
  maxSockets: number;
}

export interface NetStackOptions {
  clock?: Clock;
  logger?: Logger;
  sysctl?: Partial<SysctlValues>;
  /** Refuse buffer allocations beyond this many bytes of truesize in use. */
  skbMemoryLimit?: number;
  limits?: Partial<NetStackLimits>;
  /** The protocols this stack is built from; default: defaultProtocols(). */
  protocols?: NetProtocol[];
}

/** The built-in list: AF_PACKET sockets, VLAN channels. */
export function defaultProtocols(): NetProtocol[] {
  return [new PacketProtocol(), new VlanProtocol()];
}

export class NetStack implements NetCore, PacketSocketHost, ReceiveContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly sysctl = new Sysctl();
  readonly pool: SkbPool;
  readonly notifier = new Notifier();
  /** Changes to links, sockets (and later addresses, routes, neighbours), for /v1/events. */
  readonly events = new EventBus((err, type) => this.log.error({ err, type }, 'event listener failed'));
  readonly devices = new DeviceRegistry();
  readonly ptypes = new ProtocolTable();
  readonly softnet: Softnet;
  readonly drops: DropCounts;
  /** The device kinds `ip link add` can create here. */
  readonly linkKinds = new LinkKindTable();
  /** Every socket of every family (ss). */
  readonly sockets: SocketTable;
  readonly limits: NetStackLimits;
  readonly lo: NetDevice;
  netstampNeeded = 0;
  /** tc's automatic qdisc handles: 8001:, 8002:, ... (qdisc_alloc_handle). */
  private qdiscHandles = 0x8000;
  /** Traced devices (traceDevice); frames start a trace only while non-zero. */
  traceNeeded = 0;
  private closed = false;
  private readonly protocols: NetProtocol[] = [];

  constructor(opts: NetStackOptions = {}) {
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.logger ?? silentLogger;
    if (opts.sysctl) this.sysctl.set(opts.sysctl);
    this.limits = { maxDevices: 4096, maxSockets: 1024, ...opts.limits };
    this.sockets = new SocketTable(this.notifier, () => this.limits.maxSockets, (action, sock) => {
      if (this.events.listening) this.events.publish('socket', action, sock);
    });
    this.notifier.subscribe((event, dev) => {
      if (event === 'UNREGISTER') flushBacklog(this.softnet.backlog, dev);
      this.publishLinkEvent(event, dev);
    });
    this.pool = new SkbPool({
      ...(opts.skbMemoryLimit !== undefined ? { limitBytes: opts.skbMemoryLimit } : {}),
      onBug: (bug, detail) => this.log.error({ bug }, detail),
    });
    this.drops = this.pool.drops;
    this.softnet = new Softnet({
      sysctl: this.sysctl,
      receive: (skb) => netifReceiveSkb(this, skb),
      runTx: (dev) => qdiscRun(dev),
    });
    this.lo = createLoopback(this);
    registerNetdevice(this.devices, this.lo, 'lo');
    devOpen(this.lo);
    for (const p of opts.protocols ?? defaultProtocols()) this.attachProtocol(p);
  }

  /** Attach a protocol (at construction, or later for one a stack was made without); EEXIST for a name already attached. */
  attachProtocol(p: NetProtocol): void {
    if (this.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    if (this.protocol(p.name) !== undefined) throw new NetError('EEXIST', `protocol "${p.name}" is attached twice`);
    p.attach(this);
    this.protocols.push(p);
  }

  /** An attached protocol by name. */
  protocol<T = NetProtocol>(name: string): T | undefined {
    return this.protocols.find((p) => p.name === name) as T | undefined;
  }

  /** The attached protocols' names, in attach order. */
  protocolNames(): string[] {
    return this.protocols.map((p) => p.name);
  }

  // ---- NetCore: what devices call ----

  get outgoingTaps(): number {
    return this.ptypes.outgoing.length;
  }

  netifRx(skb: SkBuff): number {
    const dev = skb.dev;
    if (dev === null) {
      skb.drop('DEV_READY');
      return NET_RX_DROP;
    }
    const len = skb.len;
    if (this.traceNeeded > 0) {
      if (dev.traceUsers > 0 && skbTraceSampled(dev, this.clock.now())) skbTraceStart(skb);
      if (skb.trace !== null) skbTrace(skb, 'netif_rx', this.clock.wallNow());
    }
    if (!this.softnet.enqueue(skb)) {
      dev.stats.rxDropped++;
      skb.drop('CPU_BACKLOG');
      return NET_RX_DROP;
    }
    if (this.netstampNeeded > 0) skb.tstamp = this.clock.wallNow();
    dev.stats.rxPackets++;
    dev.stats.rxBytes += len;
    return NET_RX_SUCCESS;
  }

  /** local_bh_disable around a transmit into this stack (Softnet.localBhDisable). */
  localBhDisable(): void {
    this.softnet.localBhDisable();
  }

  /** This stack's dev_queue_xmit begins / ends (Softnet.xmitBegin). */
  xmitBegin(): void {
    this.softnet.xmitBegin();
  }

  xmitEnd(): void {
    this.softnet.xmitEnd();
  }

  /** local_bh_enable: run the bottom half a transmit raised, unless one is running (Softnet.localBhEnable). */
  localBhEnable(): void {
    this.softnet.localBhEnable();
  }

  /** kfree_skb_reason, for callers holding the stack; the buffer counts its own drop (SkBuff.drop). */
  kfreeSkb(skb: SkBuff, reason: DropReason): void {
    skb.drop(reason);
  }

  /** A drop with no buffer to free (counted with the pool's counters). */
  countDrop(reason: DropReason): void {
    this.pool.countDrop(reason);
  }

  scheduleTx(dev: NetDevice): void {
    this.softnet.scheduleTx(dev);
  }

  /** dev_queue_xmit_nit: a clone of an outgoing frame to every ETH_P_ALL tap that asked. */
  xmitNit(dev: NetDevice, skb: SkBuff): void {
    const taps = this.ptypes.outgoing;
    const b = skb.buf;
    const type = skb.len >= 14 ? (b[skb.data + 12]! << 8) | b[skb.data + 13]! : 0;
    let tstamp = 0;
    for (let i = 0; i < taps.length; i++) {
      const pt = taps[i]!;
      if (pt.dev !== null && pt.dev !== dev) continue;
      // A socket does not hear its own transmissions (skb_loop_sk).
      if (pt.owner !== undefined && pt.owner === skb.sk) continue;
      const c = skb.clone();
      if (c === null) {
        this.pool.countDrop('NOMEM');
        continue;
      }
      if (tstamp === 0) tstamp = this.clock.wallNow();
      c.tstamp = tstamp;
      c.pktType = PacketType.OUTGOING;
      c.macHeader = c.data;
      c.protocol = type;
      c.dev = dev;
      pt.func(c, dev, pt, dev);
    }
  }

  /** The next automatic qdisc handle major (qdisc_alloc_handle). */
  nextQdiscHandle(): number {
    this.qdiscHandles = this.qdiscHandles >= 0xffff ? 0x8001 : this.qdiscHandles + 1;
    return this.qdiscHandles;
  }

  // ---- sockets ----

  /** socket(AF_PACKET, SOCK_RAW, protocol) + bind + options; EAFNOSUPPORT without the packet protocol. */
  openPacketSocket(opts: PacketSocketOptions = {}): PacketSocket {
    if (this.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    const packet = this.protocol<PacketProtocol>('packet');
    if (packet === undefined) throw new NetError('EAFNOSUPPORT', 'this stack has no AF_PACKET');
    return packet.open(opts);
  }

  /** The AF_PACKET entries of the socket table. */
  packetSockets(): PacketSocket[] {
    return this.sockets.list('packet') as PacketSocket[];
  }

  // ---- observation ----

  /** Start (+1) or stop (-1) one user's skb trace of a device's frames; counted, like promiscuity. */
  traceDevice(dev: NetDevice, inc: 1 | -1): void {
    if (inc < 0 && dev.traceUsers === 0) return;
    dev.traceUsers += inc;
    this.traceNeeded += inc;
  }

  getDevice(name: string): NetDevice {
    return this.devices.require(name);
  }

  totalDrops(): number {
    return totalDrops(this.drops);
  }

  /** Run the bottom half until the backlog and transmit list are empty. */
  drain(): void {
    this.softnet.drain();
  }

  // ---- lifecycle ----

  /** Link changes for /v1/events (rtnetlink_event). */
  private publishLinkEvent(event: NetdevEvent, dev: NetDevice): void {
    if (!this.events.listening) return;
    const action = LINK_EVENT_ACTIONS[event];
    if (action !== undefined) this.events.publish('link', action, dev);
  }

  /** Close every socket, bring every device down and remove them; nothing is left charged. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sockets.closeAll();
    for (const dev of this.devices.list().reverse()) {
      if (dev.permanent) devClose(dev);
      else if (dev.registered) unregisterNetdevice(this.devices, dev);
    }
    for (const p of [...this.protocols].reverse()) p.close?.();
    this.softnet.close((skb) => skb.drop('QUEUE_PURGE'));
  }
}
