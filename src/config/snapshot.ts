// The stack's configuration as a state file: every device in ifindex order
// (so a VLAN follows its parent), a veth pair as one entry with both ends'
// settings, and every sysctl. Counters and ifindexes are not configuration
// and are left out; what is kept is what applySetup needs to rebuild it.
// A kind's own fields come from its descriptor (rtnl/kind.ts snapshot).

import { IFF } from '../dev/flags.ts';
import { DEFAULT_TX_RING } from '../dev/drivers/wire.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { deviceKind, netemOf, type NetStack } from '../stack/index.ts';
import { formatMac } from '../wire/mac.ts';
import { netemFieldsOf } from '../rtnl/netem-fields.ts';
import { inetInternals, inetOf } from '../inet/control.ts';
import type { InetStack } from '../inet/inet.ts';
import { parseIpv4Address } from '../wire/ipv4.ts';
import { tcpOf } from '../inet/tcp-glue.ts';
import { OTHER_USER_FLAGS, STATE_VERSION, type DeviceEntry, type DeviceSettings, type NetemConfig, type StateFile } from './schema.ts';

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
 * One device's entry, or null for the second end of a veth pair (its
 * settings ride in the first end's entry) and for kinds this file cannot
 * recreate.
 */
function entryOf(stack: NetStack, dev: NetDevice, listed: ReadonlySet<NetDevice>): DeviceEntry | null {
  const settings = settingsOfDevice(dev);
  switch (dev.kind) {
    case 'loopback':
      return { kind: 'loopback', name: dev.name, ...settings };
    case 'dummy':
      return { kind: 'dummy', name: dev.name, ...settings };
    case 'veth': {
      const peer = dev.link;
      if (peer !== null && listed.has(peer)) return null;
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

export function snapshotStack(stack: NetStack, now: Date = new Date()): Snapshot {
  const devices: DeviceEntry[] = [];
  const skipped: string[] = [];
  const skippedSockets: string[] = [];
  const listed = new Set<NetDevice>();
  for (const dev of stack.devices.list()) {
    const entry = entryOf(stack, dev, listed);
    listed.add(dev);
    if (entry !== null) devices.push(entry);
    else if (!(dev.kind === 'veth' && dev.link !== null && listed.has(dev.link))) skipped.push(dev.name);
  }
  const state: StateFile = { version: STATE_VERSION, saved_at: now.toISOString(), sysctl: stack.sysctl.snapshot({ writable: true }) as StateFile['sysctl'], devices };
  const inet = inetOf(stack);
  if (inet !== undefined) {
    // What a user configured (addresses, static routes, permanent neighbours, service sockets), never what was learnt.
    const s = inet.snapshot();
    state.addresses = s.addresses.map((a) => ({ dev: a.ifname, address: a.cidr, ...opt('broadcast', a.broadcast), ...opt('label', a.label) }));
    state.routes = s.routes.map((r) => ({
      dst: r.dst,
      ...opt('gateway', r.gateway),
      ...opt('dev', r.dev),
      ...opt('metric', r.metric),
      ...opt('src', r.src),
    }));
    state.neighbours = s.neighbours.map((n) => ({ dst: n.dst, dev: n.dev, lladdr: n.lladdr }));
    const local = inetInternals(stack);
    const udpKept = s.sockets.filter((k) => bindable(local, k.bind) || (skippedSockets.push(`udp ${k.bind} ${k.service}`), false));
    state.sockets = udpKept.map((k) => ({
      type: 'udp' as const,
      bind: k.bind,
      ...opt('connect', k.connect),
      service: k.service,
      ...opt('rcvbuf', k.rcvbuf),
      ...opt('sndbuf', k.sndbuf),
    }));
    // TCP listeners running a service, with what listen() was given; never client connections.
    for (const l of tcpOf(inet)?.serviceListeners() ?? []) {
      if (!bindable(local, l.bind)) {
        skippedSockets.push(`tcp ${l.bind} ${l.service}`);
        continue;
      }
      state.sockets.push({
        type: 'tcp' as const,
        bind: l.bind,
        service: l.service!,
        backlog: l.backlog,
        ...opt('rcvbuf', l.rcvbuf),
        ...opt('sndbuf', l.sndbuf),
        ...opt('nodelay', l.nodelay),
      });
    }
  }
  return { state, skipped, skippedSockets };
}
