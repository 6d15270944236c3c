// Building a stack's configuration from a config or state file: sysctls
// first (socket defaults depend on them), then the devices in file order,
// each created with `ip link add` semantics and then set like `ip link set`,
// admin state last. A failure names the entry (`devices[3]`) and leaves the
// entry's own devices removed; the caller decides what to do with the rest.

import { NetError } from '../errno.ts';
import { IFF, flagsFromNames } from '../dev/flags.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { NetemParams } from '../dev/wrappers/netem.ts';
import { createDevice, deleteDevice, devIoctl, setLink, type DeviceSpec, type LinkChanges, type NetStack } from '../stack/index.ts';
import type { VxlanSpec } from '../stack/devices.ts';
import type { VxlanExtraSettings } from '../stack/vxlan-kind.ts';
import { ConfigError } from './errors.ts';
import { OTHER_USER_FLAGS, type DeviceEntry, type DeviceSettings, type NetemConfig } from './schema.ts';

export interface StackSetup {
  devices: readonly DeviceEntry[];
  sysctl?: Readonly<Record<string, number>> | undefined;
}

const OTHER_FLAGS_MASK = flagsFromNames(OTHER_USER_FLAGS) ?? 0;

export function netemParamsOf(c: NetemConfig): Partial<NetemParams> {
  const p: Partial<NetemParams> = {};
  if (c.delay_ms !== undefined) p.delayMs = c.delay_ms;
  if (c.jitter_ms !== undefined) p.jitterMs = c.jitter_ms;
  if (c.loss !== undefined) p.loss = c.loss;
  if (c.duplicate !== undefined) p.duplicate = c.duplicate;
  if (c.corrupt !== undefined) p.corrupt = c.corrupt;
  if (c.reorder !== undefined) p.reorder = c.reorder;
  if (c.rate_bps !== undefined) p.rateBps = c.rate_bps;
  if (c.limit !== undefined) p.limit = c.limit;
  if (c.seed !== undefined) p.seed = c.seed;
  return p;
}

/**
 * Each address once: the user's SIOCADDMULTI is one global use whatever its
 * count (__hw_addr_add_ex with global), so `users` in a saved state records
 * the kernel's own uses and is not replayed.
 */
function multicastAdds(list: NonNullable<DeviceSettings['multicast']>): string[] {
  return list.map((m) => (typeof m === 'string' ? m : m.address));
}

/** What `ip link add` needs: the entry without its settings. */
function creationSpec(entry: Exclude<DeviceEntry, { kind: 'loopback' }>): DeviceSpec {
  const name = entry.name === undefined ? {} : { name: entry.name };
  switch (entry.kind) {
    case 'dummy':
      return { kind: 'dummy', ...name };
    case 'veth':
      return { kind: 'veth', ...name, ...(entry.peer === undefined ? {} : { peer: entry.peer }) };
    case 'vlan':
      return { kind: 'vlan', ...name, link: entry.link, id: entry.id };
    case 'vxlan': {
      const spec: VxlanSpec & VxlanExtraSettings = { kind: 'vxlan', ...name, vni: entry.vni };
      if (entry.local !== undefined) spec.local = entry.local;
      if (entry.remote !== undefined) spec.remote = entry.remote;
      if (entry.dstport !== undefined) spec.dstport = entry.dstport;
      if (entry.learning !== undefined) spec.learning = entry.learning;
      if (entry.ageing !== undefined) spec.ageing = entry.ageing;
      return spec;
    }
  }
}

/** SIOCSIFFLAGS with `other` for the flags outside UP/PROMISC/ALLMULTI, those three kept as they are. */
function setOtherFlags(stack: NetStack, dev: NetDevice, other: number): void {
  if ((dev.flags & OTHER_FLAGS_MASK) === other) return;
  const keep = (dev.gflags & (IFF.PROMISC | IFF.ALLMULTI)) | (dev.isUp() ? IFF.UP : 0);
  devIoctl(stack, dev.name, { request: 'SIOCSIFFLAGS', ifr_flags: other | keep });
}

/**
 * `ip link set` with everything an entry says, in do_setlink's order, admin
 * state last; the flags and ifmap that only SIOCSIFFLAGS / SIOCSIFMAP reach
 * go just before it. Multicast addresses need IFF_MULTICAST on drivers
 * without their own filter, so a list saved from a device whose MULTICAST
 * flag was cleared afterwards is added with the flag set for the moment.
 */
export function configureDevice(stack: NetStack, dev: NetDevice, s: DeviceSettings): void {
  const changes: LinkChanges = {};
  if (s.address !== undefined) changes.address = s.address;
  if (s.mtu !== undefined) changes.mtu = s.mtu;
  if (s.txqlen !== undefined) changes.txqlen = s.txqlen;
  if (s.promisc !== undefined) changes.promisc = s.promisc;
  if (s.allmulti !== undefined) changes.allmulti = s.allmulti;
  if (s.netem !== undefined) changes.netem = netemParamsOf(s.netem);
  if (s.speed_mbps !== undefined) changes.speed_mbps = s.speed_mbps;
  if (s.tx_ring !== undefined) changes.tx_ring = s.tx_ring;
  if (Object.keys(changes).length > 0) setLink(stack, dev.name, changes);
  const wanted = s.flags === undefined ? undefined : (flagsFromNames(s.flags) ?? 0);
  const adds = s.multicast === undefined ? [] : multicastAdds(s.multicast);
  if (wanted !== undefined) setOtherFlags(stack, dev, adds.length > 0 ? wanted | IFF.MULTICAST : wanted);
  if (adds.length > 0) setLink(stack, dev.name, { multicast: { add: adds } });
  if (wanted !== undefined) setOtherFlags(stack, dev, wanted);
  if (s.map !== undefined) devIoctl(stack, dev.name, { request: 'SIOCSIFMAP', ifr_map: s.map });
  if (s.up !== undefined) setLink(stack, dev.name, { up: s.up });
}

function settingsOf(entry: DeviceEntry): DeviceSettings {
  const { up, mtu, address, txqlen, promisc, allmulti, flags, netem, multicast, map, speed_mbps, tx_ring } = entry;
  return { up, mtu, address, txqlen, promisc, allmulti, flags, netem, multicast, map, speed_mbps, tx_ring };
}

/** The loopback exists from the start: its entry renames (down, as rename requires) and configures it. */
function configureLoopback(stack: NetStack, entry: Extract<DeviceEntry, { kind: 'loopback' }>): void {
  const lo = stack.lo;
  const settings = settingsOf(entry);
  if (entry.name !== undefined && entry.name !== lo.name) {
    const wasUp = lo.isUp();
    if (wasUp) setLink(stack, lo.name, { up: false });
    setLink(stack, lo.name, { name: entry.name });
    if (settings.up === undefined) settings.up = wasUp;
  }
  configureDevice(stack, lo, settings);
}

/** Create and configure one entry's devices (both ends of a veth). */
export async function applyDeviceEntry(stack: NetStack, entry: DeviceEntry): Promise<NetDevice[]> {
  if (entry.kind === 'loopback') {
    configureLoopback(stack, entry);
    return [stack.lo];
  }
  const made = await createDevice(stack, creationSpec(entry));
  try {
    const own = settingsOf(entry);
    configureDevice(stack, made[0]!, own);
    if (entry.kind === 'veth' && made[1] !== undefined) configureDevice(stack, made[1], entry.peer_settings ?? own);
  } catch (err) {
    if (made[0]!.registered) deleteDevice(stack, made[0]!.name);
    throw err;
  }
  return made;
}

function describeFailure(err: unknown): string {
  if (err instanceof NetError) return `${err.errno}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Apply a whole setup. `source` names the file in errors, e.g.
 * `config deploy/a.json: devices[0] (vxlan0): EADDRINUSE: ...`.
 */
export async function applySetup(stack: NetStack, setup: StackSetup, source: string): Promise<void> {
  if (setup.sysctl !== undefined) {
    try {
      stack.sysctl.set(setup.sysctl);
    } catch (err) {
      throw new ConfigError(`${source}: sysctl: ${describeFailure(err)}`, 'sysctl');
    }
  }
  for (const [i, entry] of setup.devices.entries()) {
    try {
      await applyDeviceEntry(stack, entry);
    } catch (err) {
      const where = `devices[${i}]`;
      const label = entry.name ?? entry.kind;
      throw new ConfigError(`${source}: ${where} (${label}): ${describeFailure(err)}`, where);
    }
  }
}
