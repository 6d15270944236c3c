// The stack's configuration as a state file: every device in ifindex order
// (so a VLAN follows its parent), a veth pair as one entry with both ends'
// settings, and every sysctl. Counters and ifindexes are not configuration
// and are left out; what is kept is what applySetup needs to rebuild it.

import { isIPv6 } from 'node:net';
import { IFF } from '../dev/flags.ts';
import { vxlanOf } from '../dev/drivers/vxlan.ts';
import { DEFAULT_TX_RING } from '../dev/drivers/wire.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { describeDevice, netemOf, type NetStack } from '../stack/index.ts';
import { formatMac } from '../wire/mac.ts';
import { OTHER_USER_FLAGS, STATE_VERSION, type DeviceEntry, type DeviceSettings, type NetemConfig, type StateFile } from './schema.ts';

function netemConfigOf(dev: NetDevice): NetemConfig | undefined {
  const p = netemOf(dev);
  if (p === null) return undefined;
  return {
    delay_ms: p.delayMs,
    jitter_ms: p.jitterMs,
    loss: p.loss,
    duplicate: p.duplicate,
    corrupt: p.corrupt,
    reorder: p.reorder,
    rate_bps: p.rateBps,
    limit: p.limit,
    seed: p.seed,
  };
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
  if (dev.mc.size > 0) s.multicast = [...dev.mc.values()].map((e) => ({ address: formatMac(e.addr), users: e.users }));
  if (dev.ops.setConfig !== undefined && Object.values(dev.map).some((v) => v !== 0)) {
    const m = dev.map;
    s.map = { mem_start: m.memStart, mem_end: m.memEnd, base_addr: m.baseAddr, irq: m.irq, dma: m.dma, port: m.port };
  }
  return s;
}

/**
 * The local endpoint to bind again: the host as configured (a name stays a
 * name, whatever it resolved to) with the port actually bound (port 0 picked
 * one, and peers now send to it).
 */
function vxlanLocal(dev: NetDevice, bound: unknown): string | undefined {
  if (typeof bound !== 'string') return undefined;
  const port = /:(\d+)$/.exec(bound)?.[1];
  const host = vxlanOf(dev).cfg.local.host;
  if (port === undefined) return bound;
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

/**
 * One device's entry, or null for the second end of a veth pair (its
 * settings ride in the first end's entry) and for kinds this file cannot
 * recreate.
 */
function entryOf(dev: NetDevice, listed: ReadonlySet<NetDevice>): DeviceEntry | null {
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
    case 'vlan': {
      const info = describeDevice(dev).linkinfo.info_data ?? {};
      if (dev.link === null || typeof info['id'] !== 'number') return null;
      return { kind: 'vlan', name: dev.name, link: dev.link.name, id: info['id'], ...settings };
    }
    case 'vxlan': {
      const info = describeDevice(dev).linkinfo.info_data ?? {};
      if (typeof info['id'] !== 'number') return null;
      const entry: DeviceEntry = { kind: 'vxlan', name: dev.name, vni: info['id'], ...settings };
      const local = vxlanLocal(dev, info['local']);
      if (local !== undefined) entry.local = local;
      const remote = stringList(info['remote']);
      if (remote !== undefined && remote.length > 0) entry.remote = remote;
      if (typeof info['dstport'] === 'number') entry.dstport = info['dstport'];
      if (typeof info['learning'] === 'boolean') entry.learning = info['learning'];
      if (typeof info['ageing'] === 'number') entry.ageing = info['ageing'];
      return entry;
    }
    default:
      return null;
  }
}

export interface Snapshot {
  state: StateFile;
  /** Devices of kinds the state file cannot describe (none today); the caller logs them. */
  skipped: string[];
}

export function snapshotStack(stack: NetStack, now: Date = new Date()): Snapshot {
  const devices: DeviceEntry[] = [];
  const skipped: string[] = [];
  const listed = new Set<NetDevice>();
  for (const dev of stack.devices.list()) {
    const entry = entryOf(dev, listed);
    listed.add(dev);
    if (entry !== null) devices.push(entry);
    else if (!(dev.kind === 'veth' && dev.link !== null && listed.has(dev.link))) skipped.push(dev.name);
  }
  return {
    state: { version: STATE_VERSION, saved_at: now.toISOString(), sysctl: stack.sysctl.snapshot(), devices },
    skipped,
  };
}
