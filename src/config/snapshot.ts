// The stack's configuration as a state file: every device in ifindex order
// (so a VLAN follows its parent), a veth pair as one entry with both ends'
// settings, every sysctl, and what was configured on each device (addresses,
// static routes, permanent neighbours) in the same device order, so that the
// file is the sum of per-device parts that state-text.ts rebuilds one device
// at a time. Counters and ifindexes are not configuration
// and are left out; what is kept is what applySetup needs to rebuild it.
// A kind's own fields come from its descriptor (rtnl/kind.ts snapshot).

import { IFF } from '../dev/flags.ts';
import { DEFAULT_TX_RING } from '../dev/drivers/wire.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { deviceKind, netemOf, type NetStack } from '../stack/index.ts';
import { formatMac } from '../wire/mac.ts';
import { netemFieldsOf } from '../rtnl/netem-fields.ts';
import { inetInternals } from '../inet/control.ts';
import type { InetStack } from '../inet/inet.ts';
import { parseIpv4Address } from '../wire/ipv4.ts';
import { tcpOf } from '../inet/tcp-glue.ts';
import {
  OTHER_USER_FLAGS, STATE_VERSION, type AddressEntry, type DeviceEntry, type DeviceSettings, type NeighbourEntry, type NetemConfig, type RouteEntry,
  type SocketEntry, type StateFile,
} from './schema.ts';

function netemConfigOf(dev: NetDevice): NetemConfig | undefined {
  const p = netemOf(dev);
  return p === null ? undefined : netemFieldsOf(p);
}

/** What `ip link set` would need to bring a fresh device of this kind to where `dev` is now. */
export function settingsOfDevice(dev: NetDevice): DeviceSettings {
  const s: DeviceSettings = {
    up: dev.isUp(),
    mtu: dev.mtu,
    ...(dev.ops.setMacAddress === undefined ? {} : { address: formatMac(dev.devAddr) }),
    txqlen: dev.txQueueLen,
    // The user's own PROMISC/ALLMULTI (gflags), not the counters that sockets also hold.
    promisc: (dev.gflags & IFF.PROMISC) !== 0,
    allmulti: (dev.gflags & IFF.ALLMULTI) !== 0,
    flags: OTHER_USER_FLAGS.filter((n) => (dev.flags & IFF[n]) !== 0),
  };
  const netem = netemConfigOf(dev);
  if (netem !== undefined) s.netem = netem;
  const link = dev.ops.getLinkSettings?.(dev);
  if (link !== undefined && (link.speedMbps !== 0 || link.txRing !== DEFAULT_TX_RING)) {
    s.speed_mbps = link.speedMbps;
    s.tx_ring = link.txRing;
  }
  if (dev.master !== null) s.master = dev.master.name;
  if (dev.mc.size > 0) s.multicast = [...dev.mc.values()].map((e) => ({ address: formatMac(e.addr), users: e.users }));
  if (dev.ops.setConfig !== undefined && Object.values(dev.map).some((v) => v !== 0)) {
    const m = dev.map;
    s.map = { mem_start: m.memStart, mem_end: m.memEnd, base_addr: m.baseAddr, irq: m.irq, dma: m.dma, port: m.port };
  }
  return s;
}

/**
 * The second end of a veth pair in this stack: its settings ride in the entry
 * of the end with the lower ifindex (the one listed first).
 */
function isSecondEnd(stack: NetStack, dev: NetDevice): boolean {
  const peer = dev.kind === 'veth' ? dev.link : null;
  return peer !== null && peer.ifindex < dev.ifindex && stack.devices.getByIndex(peer.ifindex) === peer;
}

/**
 * One device's entry, or null for the second end of a veth pair (its
 * settings ride in the first end's entry) and for kinds this file cannot
 * recreate.
 */
function entryOf(stack: NetStack, dev: NetDevice): DeviceEntry | null {
  if (isSecondEnd(stack, dev)) return null;
  const settings = settingsOfDevice(dev);
  switch (dev.kind) {
    case 'loopback':
      return { kind: 'loopback', name: dev.name, ...settings };
    case 'dummy':
      return { kind: 'dummy', name: dev.name, ...settings };
    case 'veth': {
      const peer = dev.link;
      if (peer === null) return { kind: 'veth', name: dev.name, ...settings };
      return { kind: 'veth', name: dev.name, peer: peer.name, ...settings, peer_settings: settingsOfDevice(peer) };
    }
    default: {
      // Any other kind says what its own fields are (rtnl/kind.ts snapshot).
      const kind = deviceKind(stack, dev.kind);
      if (kind === undefined) return null;
      const own = kind.snapshot === undefined ? {} : kind.snapshot(dev);
      if (own === null) return null;
      return { kind: dev.kind, name: dev.name, ...own, ...settings } as DeviceEntry;
    }
  }
}

/** `{key: value}`, or nothing when the value is absent (the state file leaves out what was not set). */
function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export interface Snapshot {
  state: StateFile;
  /** Devices of kinds the state file cannot describe (none today); the caller logs them. */
  skipped: string[];
  /**
   * Service sockets left out because their bound address is no longer this
   * host's: Linux keeps such a socket open (it just hears nothing), but a
   * state file naming it could never be loaded again (EADDRNOTAVAIL at start).
   */
  skippedSockets: string[];
}

/** Whether a saved `ADDR:PORT` can be bound again at start: the wildcard, or an address local to this host (inet_addr_type). */
function bindable(inet: InetStack | undefined, bind: string): boolean {
  const addr = parseIpv4Address(bind.slice(0, bind.lastIndexOf(':')));
  return inet === undefined || addr === undefined || addr === 0 || inet.localType(addr, null) === 'local';
}

/** One device's share of the state file: its entry and what was configured on it. */
export interface DevicePart {
  entry: DeviceEntry | null;
  /** No entry because its kind cannot be described (the second end of a veth pair is not skipped: it rides in the first's). */
  skipped: boolean;
  addresses: AddressEntry[];
  routes: RouteEntry[];
  neighbours: NeighbourEntry[];
}

/** Everything the state file says of `dev`, read from the device and its own lists only. */
export function devicePart(stack: NetStack, dev: NetDevice, inet: InetStack | undefined): DevicePart {
  const entry = entryOf(stack, dev);
  const part: DevicePart = { entry, skipped: entry === null && !isSecondEnd(stack, dev), addresses: [], routes: [], neighbours: [] };
  if (inet === undefined) return part;
  // What a user configured (addresses, static routes, permanent neighbours), never what was learnt.
  const s = inet.snapshotDev(dev);
  part.addresses = s.addresses.map((a) => ({ dev: a.ifname, address: a.cidr, ...opt('broadcast', a.broadcast), ...opt('label', a.label) }));
  part.routes = s.routes.map((r) => ({
    dst: r.dst,
    ...opt('gateway', r.gateway),
    ...opt('dev', r.dev),
    ...opt('metric', r.metric),
    ...opt('src', r.src),
  }));
  part.neighbours = s.neighbours.map((n) => ({ dst: n.dst, dev: n.dev, lladdr: n.lladdr }));
  return part;
}

/** The service sockets (UDP, and TCP listeners with what listen() was given; never client connections), and those left out. */
export function socketsPart(inet: InetStack): { sockets: SocketEntry[]; skippedSockets: string[] } {
  const skippedSockets: string[] = [];
  const sockets: SocketEntry[] = [];
  for (const k of inet.snapshotSockets()) {
    if (!bindable(inet, k.bind)) {
      skippedSockets.push(`udp ${k.bind} ${k.service}`);
      continue;
    }
    sockets.push({
      type: 'udp' as const,
      bind: k.bind,
      ...opt('connect', k.connect),
      service: k.service,
      ...opt('rcvbuf', k.rcvbuf),
      ...opt('sndbuf', k.sndbuf),
    });
  }
  for (const l of tcpOf(inet)?.serviceListeners() ?? []) {
    if (!bindable(inet, l.bind)) {
      skippedSockets.push(`tcp ${l.bind} ${l.service}`);
      continue;
    }
    sockets.push({
      type: 'tcp' as const,
      bind: l.bind,
      service: l.service!,
      backlog: l.backlog,
      ...opt('rcvbuf', l.rcvbuf),
      ...opt('sndbuf', l.sndbuf),
      ...opt('nodelay', l.nodelay),
    });
  }
  return { sockets, skippedSockets };
}

/** The whole state at once: every device in ifindex order, each with its own addresses, routes and neighbours. */
export function snapshotStack(stack: NetStack, now: Date = new Date()): Snapshot {
  const devices: DeviceEntry[] = [];
  const skipped: string[] = [];
  let skippedSockets: string[] = [];
  const inet = inetInternals(stack);
  const addresses: AddressEntry[] = [];
  const routes: RouteEntry[] = [];
  const neighbours: NeighbourEntry[] = [];
  for (const dev of stack.devices.list()) {
    const part = devicePart(stack, dev, inet);
    if (part.entry !== null) devices.push(part.entry);
    else if (part.skipped) skipped.push(dev.name);
    addresses.push(...part.addresses);
    routes.push(...part.routes);
    neighbours.push(...part.neighbours);
  }
  const state: StateFile = { version: STATE_VERSION, saved_at: now.toISOString(), sysctl: stack.sysctl.snapshot({ writable: true }) as StateFile['sysctl'], devices };
  if (inet !== undefined) {
    state.addresses = addresses;
    state.routes = routes;
    state.neighbours = neighbours;
    const s = socketsPart(inet);
    state.sockets = s.sockets;
    skippedSockets = s.skippedSockets;
  }
  return { state, skipped, skippedSockets };
}
