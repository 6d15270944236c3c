// struct net_device: the fields every device has, whatever its driver. The
// driver fills in its method table and private state; the core supplies
// ether_setup-style defaults (dev/ether.ts) and the operations that keep
// flags, counters and notifications consistent (dev/control.ts).

import { ARPHRD, IFF, type OperState } from './flags.ts';
import type { DeviceOps, NetCore } from './ops.ts';
import type { Qdisc } from './qdisc/qdisc.ts';
import type { TimerHandle } from '../clock.ts';
import type { RxHandler } from './rx-handler.ts';

/** rtnl_link_stats64, the counters `ip -s -s link` prints. */
export interface DeviceStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  multicast: number;
  collisions: number;
  rxLengthErrors: number;
  rxOverErrors: number;
  rxCrcErrors: number;
  rxFrameErrors: number;
  rxFifoErrors: number;
  rxMissedErrors: number;
  txAbortedErrors: number;
  txCarrierErrors: number;
  txFifoErrors: number;
  txHeartbeatErrors: number;
  txWindowErrors: number;
  rxNohandler: number;
  /** Not in rtnl_link_stats64 but reported by ip -s -s: carrier up/down transitions. */
  carrierChanges: number;
  /** Transmit watchdog expiries. */
  txTimeouts: number;
}

export function emptyStats(): DeviceStats {
  return {
    rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0,
    rxDropped: 0, txDropped: 0, multicast: 0, collisions: 0, rxLengthErrors: 0,
    rxOverErrors: 0, rxCrcErrors: 0, rxFrameErrors: 0, rxFifoErrors: 0, rxMissedErrors: 0,
    txAbortedErrors: 0, txCarrierErrors: 0, txFifoErrors: 0, txHeartbeatErrors: 0,
    txWindowErrors: 0, rxNohandler: 0, carrierChanges: 0, txTimeouts: 0,
  };
}

/** struct ifmap: the I/O resources of ISA-era hardware (SIOCGIFMAP/SIOCSIFMAP). */
export interface IfMap {
  memStart: number;
  memEnd: number;
  baseAddr: number;
  irq: number;
  dma: number;
  port: number;
}

export interface MulticastEntry {
  addr: Buffer;
  /** References (netdev_hw_addr.refcount): the user's one plus the kernel's own. */
  users: number;
  /** Held by the user (SIOCADDMULTI, `ip maddr add`): at most one such use (global_use). */
  global: boolean;
}

export interface DeviceSetup {
  kind: string;
  ops: DeviceOps;
  type?: number;
  mtu?: number;
  minMtu?: number;
  maxMtu?: number;
  hardHeaderLen?: number;
  addrLen?: number;
  flags?: number;
  txQueueLen?: number;
  devAddr?: Buffer;
  broadcast?: Buffer;
  /** Attach no qdisc whatever txqlen says (IFF_NO_QUEUE). */
  noQueue?: boolean;
  /**
   * The hardware filters by destination MAC (unicast, subscribed multicast,
   * all of it when promiscuous), as a NIC does. Software devices (veth,
   * dummy, vlan, vxlan, lo) have none: every frame reaches the taps.
   */
  hwAddrFilter?: boolean;
  /** Carrier follows admin state alone (dummy, loopback); else the driver sets it. */
  carrierFollowsUp?: boolean;
  /** Reports an operstate of its own (veth, vlan); others show UNKNOWN when up. */
  reportsOperstate?: boolean;
  /** IFF_LIVE_ADDR_CHANGE: the MAC may change while running. */
  liveAddrChange?: boolean;
  /** May be renamed while up. Off by default: before Linux 6.2 a running device answered EBUSY. */
  liveRename?: boolean;
  /** Cannot be unregistered (loopback). */
  permanent?: boolean;
  watchdogTimeoMs?: number;
}

export class NetDevice {
  name = '';
  ifindex = 0;
  readonly kind: string;
  ops: DeviceOps;
  /** Flags as set by the user and driver (dev->flags). PROMISC/ALLMULTI here follow the counters. */
  flags: number;
  /** What the user asked for with SIOCSIFFLAGS PROMISC/ALLMULTI (dev->gflags). */
  gflags = 0;
  type: number;
  mtu: number;
  minMtu: number;
  maxMtu: number;
  hardHeaderLen: number;
  addrLen: number;
  devAddr: Buffer;
  broadcast: Buffer;
  txQueueLen: number;
  readonly mc = new Map<string, MulticastEntry>();
  /**
   * Secondary unicast addresses upper devices asked for (dev->uc), see
   * dev/uc.ts. Made on first use: few devices ever have one, and an empty
   * Map is ~200 bytes on each of 10,000 devices.
   */
  get uc(): Map<string, MulticastEntry> {
    return (this.ucList ??= new Map());
  }
  private ucList: Map<string, MulticastEntry> | undefined = undefined;
  /** Promiscuous on behalf of the unicast list (dev->uc_promisc). */
  ucPromisc = false;
  promiscuity = 0;
  /** Users that asked for an skb trace of this device's frames (skb/trace.ts). */
  traceUsers = 0;
  /** The trace's sampling window: frames that started a trace since traceWindowStart (skb/trace.ts). */
  traceWindowStart = -Infinity;
  traceInWindow = 0;
  allmulti = 0;
  carrier = false;
  readonly stats: DeviceStats = emptyStats();
  map: IfMap = { memStart: 0, memEnd: 0, baseAddr: 0, irq: 0, dma: 0, port: 0 };
  readonly noQueue: boolean;
  readonly hwAddrFilter: boolean;
  readonly carrierFollowsUp: boolean;
  readonly reportsOperstate: boolean;
  liveAddrChange: boolean;
  liveRename: boolean;
  readonly permanent: boolean;
  watchdogTimeoMs: number;
  /** The device this one sits on (vlan parent, veth peer): iflink. */
  link: NetDevice | null = null;
  /** rx_handler: an upper device's hook on this one's receive path (dev/rx-handler.ts). */
  rxHandler: RxHandler | null = null;
  /** rx_handler_data: the upper layer's state for this device (a VLAN group, a bridge port). */
  rxHandlerData: unknown = null;
  /** The bridge this device is a port of (netdev_master_upper_dev_get). */
  master: NetDevice | null = null;
  qdisc: Qdisc | null = null;
  /** The root qdisc was attached by the user (tc qdisc replace): dev_activate keeps it. */
  qdiscPinned = false;
  /** __QUEUE_STATE_DRV_XOFF: the driver asked to stop transmitting. */
  queueStopped = false;
  /** When the queue was stopped (trans_start), for the watchdog. */
  transStart = 0;
  watchdog: TimerHandle | null = null;
  /** Scheduled on the stack's transmit list (NET_TX_SOFTIRQ). */
  txScheduled = false;
  registered = false;
  /** Driver-private state (netdev_priv). */
  priv: unknown = null;

  constructor(
    readonly core: NetCore,
    setup: DeviceSetup,
  ) {
    this.kind = setup.kind;
    this.ops = setup.ops;
    this.type = setup.type ?? ARPHRD.ETHER;
    this.mtu = setup.mtu ?? 1500;
    this.minMtu = setup.minMtu ?? 68;
    this.maxMtu = setup.maxMtu ?? 65535;
    this.hardHeaderLen = setup.hardHeaderLen ?? 14;
    this.addrLen = setup.addrLen ?? 6;
    this.flags = setup.flags ?? IFF.BROADCAST | IFF.MULTICAST;
    this.txQueueLen = setup.txQueueLen ?? 1000;
    this.devAddr = setup.devAddr ?? Buffer.alloc(6);
    this.broadcast = setup.broadcast ?? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    this.noQueue = setup.noQueue ?? false;
    this.hwAddrFilter = setup.hwAddrFilter ?? false;
    this.carrierFollowsUp = setup.carrierFollowsUp ?? true;
    this.reportsOperstate = setup.reportsOperstate ?? false;
    this.liveAddrChange = setup.liveAddrChange ?? true;
    this.liveRename = setup.liveRename ?? false;
    this.permanent = setup.permanent ?? false;
    this.watchdogTimeoMs = setup.watchdogTimeoMs ?? 5000;
  }

  isUp(): boolean {
    return (this.flags & IFF.UP) !== 0;
  }

  /** netif_running && carrier: frames can flow. */
  isRunning(): boolean {
    return (this.flags & IFF.UP) !== 0 && this.carrier;
  }

  /** dev_get_flags: what `ip link` shows: user PROMISC/ALLMULTI, RUNNING/LOWER_UP from carrier. */
  visibleFlags(): number {
    let f = this.flags & ~(IFF.PROMISC | IFF.ALLMULTI | IFF.RUNNING | IFF.LOWER_UP | IFF.DORMANT);
    f |= this.gflags & (IFF.PROMISC | IFF.ALLMULTI);
    if (this.isUp() && this.carrier) f |= IFF.RUNNING | IFF.LOWER_UP;
    return f;
  }

  operstate(): OperState {
    if (!this.isUp()) return 'DOWN';
    if (!this.carrier) return this.link !== null && !this.link.isRunning() ? 'LOWERLAYERDOWN' : 'DOWN';
    return this.reportsOperstate ? 'UP' : 'UNKNOWN';
  }

  getStats(): DeviceStats {
    return this.ops.getStats ? this.ops.getStats(this) : this.stats;
  }
}
