// A device as `ip -j -s -d link show` prints it: the shape users and the
// REST API share (field names are iproute2's).

import { flagNames, linkTypeName, type OperState } from '../dev/flags.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { getNetem, type NetemParams, type NetemStats } from '../dev/wrappers/netem.ts';
import { formatMac } from '../wire/mac.ts';

export interface DeviceView {
  ifindex: number;
  ifname: string;
  /** The device this one sits on: veth peer or VLAN parent. */
  link?: string;
  /** The bridge this device is a port of. */
  master?: string;
  flags: string[];
  mtu: number;
  qdisc: string;
  operstate: OperState;
  linkmode: 'DEFAULT';
  group: 'default';
  txqlen: number;
  link_type: string;
  address: string;
  broadcast: string;
  kind: string;
  promiscuity: number;
  allmulti: number;
  min_mtu: number;
  max_mtu: number;
  linkinfo: { info_kind: string; info_data?: Record<string, unknown> };
  multicast: { address: string; users: number }[];
  netem: (NetemParams & { stats: NetemStats }) | null;
  stats64: {
    rx: { bytes: number; packets: number; errors: number; dropped: number; over_errors: number; multicast: number;
      length_errors: number; crc_errors: number; frame_errors: number; fifo_errors: number; missed_errors: number; nohandler: number };
    tx: { bytes: number; packets: number; errors: number; dropped: number; carrier_errors: number; collisions: number;
      aborted_errors: number; fifo_errors: number; window_errors: number; heartbeat_errors: number; carrier_changes: number; timeouts: number };
  };
  /**
   * The root qdisc in tc's words: `qlen` frames and `backlog` bytes waiting
   * now; `bytes`/`packets` sent through it, `drops`, `overlimits`,
   * `requeues` since it was attached; `stopped` while the driver holds the
   * queue stopped.
   */
  queue: {
    stopped: boolean;
    qlen: number;
    backlog: number;
    bytes: number;
    packets: number;
    drops: number;
    overlimits: number;
    requeues: number;
  };
}

export function describeDevice(dev: NetDevice): DeviceView {
  const s = dev.getStats();
  const q = dev.qdisc;
  const netem = getNetem(dev);
  const info = dev.ops.fillInfo?.(dev);
  const view: DeviceView = {
    ifindex: dev.ifindex,
    ifname: dev.name,
    flags: flagNames(dev.visibleFlags()),
    mtu: dev.mtu,
    qdisc: netem ? 'netem' : (q?.kind ?? (dev.noQueue || dev.txQueueLen === 0 ? 'noqueue' : 'pfifo_fast')),
    operstate: dev.operstate(),
    linkmode: 'DEFAULT',
    group: 'default',
    txqlen: dev.txQueueLen,
    link_type: linkTypeName(dev.type),
    address: formatMac(dev.devAddr),
    broadcast: formatMac(dev.broadcast),
    kind: dev.kind,
    promiscuity: dev.promiscuity,
    allmulti: dev.allmulti,
    min_mtu: dev.minMtu,
    max_mtu: dev.maxMtu,
    linkinfo: info ? { info_kind: dev.kind, info_data: info } : { info_kind: dev.kind },
    multicast: [...dev.mc.values()].map((e) => ({ address: formatMac(e.addr), users: e.users })),
    netem: netem ? { ...netem.params, stats: { ...netem.stats } } : null,
    stats64: {
      rx: {
        bytes: s.rxBytes, packets: s.rxPackets, errors: s.rxErrors, dropped: s.rxDropped, over_errors: s.rxOverErrors,
        multicast: s.multicast, length_errors: s.rxLengthErrors, crc_errors: s.rxCrcErrors, frame_errors: s.rxFrameErrors,
        fifo_errors: s.rxFifoErrors, missed_errors: s.rxMissedErrors, nohandler: s.rxNohandler,
      },
      tx: {
        bytes: s.txBytes, packets: s.txPackets, errors: s.txErrors, dropped: s.txDropped, carrier_errors: s.txCarrierErrors,
        collisions: s.collisions, aborted_errors: s.txAbortedErrors, fifo_errors: s.txFifoErrors,
        window_errors: s.txWindowErrors, heartbeat_errors: s.txHeartbeatErrors, carrier_changes: s.carrierChanges,
        timeouts: s.txTimeouts,
      },
    },
    queue: {
      stopped: dev.queueStopped,
      qlen: q?.qlen ?? 0,
      backlog: q?.backlog ?? 0,
      bytes: q?.stats.bytes ?? 0,
      packets: q?.stats.packets ?? 0,
      drops: q?.stats.drops ?? 0,
      overlimits: q?.stats.overlimits ?? 0,
      requeues: q?.stats.requeues ?? 0,
    },
  };
  if (dev.link !== null) view.link = dev.link.name;
  if (dev.master !== null) view.master = dev.master.name;
  return view;
}
