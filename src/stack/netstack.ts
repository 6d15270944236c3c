// NetStack: one per process, as one kernel. It owns the buffer pool, the
// device list, the protocol table, the backlog and its bottom half, the
// sysctls, the drop counters and the packet sockets, and it is the NetCore
// every device talks to. Control operations live in devices.ts, link.ts and
// ioctl.ts and throw NetError; the frame path only counts.

import { RealClock, type Clock } from '../clock.ts';
import { NetError } from '../errno.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { Sysctl, type SysctlValues } from '../sysctl.ts';
import { PacketType, type SkBuff } from '../skb/skbuff.ts';
import { SkbPool } from '../skb/pool.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { Notifier } from '../dev/notifier.ts';
import { DeviceRegistry } from '../dev/registry.ts';
import { registerNetdevice, unregisterNetdevice } from '../dev/register.ts';
import { devOpen, devClose, devSetMtu } from '../dev/control.ts';
import { qdiscRun } from '../dev/xmit.ts';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetCore } from '../dev/ops.ts';
import { createLoopback } from '../dev/drivers/loopback.ts';
import { vlanTransferOperstate } from '../dev/drivers/vlan.ts';
import { ProtocolTable } from '../proto/ptype.ts';
import { PacketSocket, type PacketSocketHost, type PacketSocketOptions } from '../sock/packet.ts';
import { Softnet } from './softnet.ts';
import { netifReceiveSkb, type ReceiveContext } from './receive.ts';
import { emptyDropCounts, totalDrops, type DropCounts } from './drops.ts';

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
}

export class NetStack implements NetCore, PacketSocketHost, ReceiveContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly sysctl = new Sysctl();
  readonly pool: SkbPool;
  readonly notifier = new Notifier();
  readonly devices = new DeviceRegistry();
  readonly ptypes = new ProtocolTable();
  readonly softnet: Softnet;
  readonly drops: DropCounts = emptyDropCounts();
  readonly sockets = new Map<number, PacketSocket>();
  readonly limits: NetStackLimits;
  readonly lo: NetDevice;
  netstampNeeded = 0;
  private nextSocketId = 1;
  /** tc's automatic qdisc handles: 8001:, 8002:, ... per network namespace. */
  private qdiscHandles = 0x8000;
  private closed = false;

  constructor(opts: NetStackOptions = {}) {
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.logger ?? silentLogger;
    if (opts.sysctl) this.sysctl.set(opts.sysctl);
    this.limits = { maxDevices: 4096, maxSockets: 1024, ...opts.limits };
    this.pool = new SkbPool({
      ...(opts.skbMemoryLimit !== undefined ? { limitBytes: opts.skbMemoryLimit } : {}),
      onBug: (bug, detail) => this.log.error({ bug }, detail),
    });
    this.softnet = new Softnet({
      sysctl: this.sysctl,
      receive: (skb) => netifReceiveSkb(this, skb),
      runTx: (dev) => qdiscRun(dev),
    });
    this.notifier.subscribe((event, dev) => this.onDeviceEvent(event, dev));
    this.lo = createLoopback(this);
    registerNetdevice(this.devices, this.lo, 'lo');
    devOpen(this.lo);
  }

  // ---- NetCore: what devices call ----

  get outgoingTaps(): number {
    return this.ptypes.outgoing.length;
  }

  netifRx(skb: SkBuff): number {
    const dev = skb.dev;
    if (dev === null) {
      this.kfreeSkb(skb, 'DEV_READY');
      return NET_RX_DROP;
    }
    const len = skb.len;
    if (!this.softnet.enqueue(skb)) {
      dev.stats.rxDropped++;
      this.kfreeSkb(skb, 'CPU_BACKLOG');
      return NET_RX_DROP;
    }
    if (this.netstampNeeded > 0) skb.tstamp = this.clock.wallNow();
    dev.stats.rxPackets++;
    dev.stats.rxBytes += len;
    return NET_RX_SUCCESS;
  }

  kfreeSkb(skb: SkBuff, reason: DropReason): void {
    this.drops[reason]++;
    skb.free();
  }

  countDrop(reason: DropReason): void {
    this.drops[reason]++;
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
        this.countDrop('NOMEM');
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

  socketClosed(sock: PacketSocket): void {
    this.sockets.delete(sock.id);
  }

  /** socket(AF_PACKET, SOCK_RAW, protocol) + bind + options. */
  openPacketSocket(opts: PacketSocketOptions = {}): PacketSocket {
    if (this.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    if (this.sockets.size >= this.limits.maxSockets) {
      throw new NetError('EMFILE', `no more than ${this.limits.maxSockets} sockets may be open`);
    }
    if (opts.dev && !opts.dev.registered) throw new NetError('ENODEV', 'device is not registered');
    const sock = new PacketSocket(this, this.nextSocketId++, opts);
    this.sockets.set(sock.id, sock);
    return sock;
  }

  // ---- observation ----

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

  private onDeviceEvent(event: string, dev: NetDevice): void {
    if (event === 'UNREGISTER') {
      for (const sock of this.sockets.values()) if (sock.dev === dev) sock.deviceGone();
    }
    if ((event === 'UP' || event === 'DOWN' || event === 'CHANGE') && dev.vlans.size > 0) {
      for (const vdev of dev.vlans.values()) vlanTransferOperstate(vdev);
    }
    if (event === 'CHANGEMTU' && dev.vlans.size > 0) {
      // vlan_device_event: a channel can be no larger than its parent.
      for (const vdev of dev.vlans.values()) {
        vdev.maxMtu = dev.mtu;
        if (vdev.mtu > dev.mtu) devSetMtu(vdev, dev.mtu);
      }
    }
  }

  /** Close every socket, bring every device down and remove them; nothing is left charged. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sock of [...this.sockets.values()]) sock.close();
    for (const dev of this.devices.list().reverse()) {
      if (dev.permanent) devClose(dev);
      else if (dev.registered) unregisterNetdevice(this.devices, dev);
    }
    this.softnet.close((skb) => this.kfreeSkb(skb, 'QUEUE_PURGE'));
  }
}
