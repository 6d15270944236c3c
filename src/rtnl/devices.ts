// `ip link add` and `ip link del`: device kinds, the names they default to,
// and creation that either completes or leaves nothing behind. A kind is
// one descriptor (rtnl/kind.ts): the built-in ones are registered here and
// in rtnl/vxlan-kind.ts; a protocol registers its own in stack.linkKinds when
// it is attached (VLAN: src/vlan/kind.ts). Adding a kind: docs/architecture-kinds.md.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { invalidNameReason, isNamePattern } from '../dev/names.ts';
import { registerNetdevice, unregisterNetdevice } from '../dev/register.ts';
import { createDummy } from '../dev/drivers/dummy.ts';
import { createVethPair, type VethPrivate } from '../dev/drivers/veth.ts';
import type { NetemParams } from '../dev/wrappers/netem.ts';
import type { NetStack } from '../stack/netstack.ts';
import type { DeviceKind } from './kind.ts';
import { applyLinkChanges, checkLinkChanges, type LinkChanges } from './link.ts';

/** Settings any new device may take at creation, as `ip link add ... mtu N address A`. */
export interface CommonSettings {
  mtu?: number;
  address?: string;
  txqlen?: number;
  up?: boolean;
  promisc?: boolean;
  allmulti?: boolean;
  netem?: Partial<NetemParams> | null;
  multicast?: { add?: string[] };
  /** Link speed in Mbit/s and TX ring size (veth: both ends; dummy). */
  speed_mbps?: number;
  tx_ring?: number;
}

export interface DummySpec extends CommonSettings {
  kind: 'dummy';
  name?: string;
}
export interface VethSpec extends CommonSettings {
  kind: 'veth';
  name?: string;
  /** Name of the other end. */
  peer?: string;
}
export interface VxlanSpec extends CommonSettings {
  kind: 'vxlan';
  name?: string;
  vni: number;
  /** host:port to bind; default 0.0.0.0:4789. */
  local?: string;
  /** host:port peers (the all-zeros fdb entries). */
  remote?: string | string[];
  learning?: boolean;
  /** UDP port peers listen on (default 4789). */
  dstport?: number;
  /** Seconds a learned MAC stays in the forwarding table; 0 keeps it. */
  ageing?: number;
}

/**
 * Every kind's spec by kind name. A kind defined elsewhere adds itself by
 * declaration merging (`declare module '.../rtnl/devices.ts'`), as vlan does.
 */
export interface DeviceSpecs {
  dummy: DummySpec;
  veth: VethSpec;
  vxlan: VxlanSpec;
}

export type DeviceSpec = DeviceSpecs[keyof DeviceSpecs];
export type DeviceKindName = keyof DeviceSpecs;

const builtinKinds = new Map<string, DeviceKind>();

/** A kind every stack has (rtnl_link_register at boot). */
export function registerDeviceKind<S extends DeviceSpec>(impl: DeviceKind<S>): void {
  builtinKinds.set(impl.kind, impl as unknown as DeviceKind);
}

/** The descriptor of a kind this stack can create: its protocols' first, then the built-in ones. */
export function deviceKind(stack: NetStack, kind: string): DeviceKind | undefined {
  return stack.linkKinds.get(kind) ?? builtinKinds.get(kind);
}

/** The kinds `stack` can create. */
export function deviceKinds(stack: NetStack): string[] {
  return [...new Set([...builtinKinds.keys(), ...stack.linkKinds.names()])];
}

registerDeviceKind<DummySpec>({
  kind: 'dummy',
  create: (stack, spec) => [{ dev: createDummy(stack), name: spec.name ?? 'dummy%d' }],
});

registerDeviceKind<VethSpec>({
  kind: 'veth',
  create: (stack, spec) => {
    const [a, b] = createVethPair(stack);
    for (const end of [a, b]) {
      (end.priv as VethPrivate).unregisterPeer = (peer) => unregisterNetdevice(stack.devices, peer);
    }
    return [
      { dev: a, name: spec.name ?? 'veth%d' },
      { dev: b, name: spec.peer ?? 'veth%d' },
    ];
  },
});

function settingsOf(spec: DeviceSpec): LinkChanges {
  const s: LinkChanges = {};
  if (spec.mtu !== undefined) s.mtu = spec.mtu;
  if (spec.address !== undefined) s.address = spec.address;
  if (spec.txqlen !== undefined) s.txqlen = spec.txqlen;
  if (spec.promisc !== undefined) s.promisc = spec.promisc;
  if (spec.allmulti !== undefined) s.allmulti = spec.allmulti;
  if (spec.netem !== undefined) s.netem = spec.netem;
  if (spec.multicast?.add !== undefined) s.multicast = { add: spec.multicast.add };
  if (spec.speed_mbps !== undefined) s.speed_mbps = spec.speed_mbps;
  if (spec.tx_ring !== undefined) s.tx_ring = spec.tx_ring;
  if (spec.up !== undefined) s.up = spec.up;
  return s;
}

/** ip link add: returns the new devices (both ends for veth), registered and configured. */
export async function createDevice(stack: NetStack, spec: DeviceSpec): Promise<NetDevice[]> {
  const kind = deviceKind(stack, spec.kind);
  if (kind === undefined) throw new NetError('EOPNOTSUPP', `unknown device kind "${spec.kind}"`);
  const explicit = [spec.name, spec.kind === 'veth' ? spec.peer : undefined].filter((n): n is string => n !== undefined);
  for (const name of explicit) {
    if (isNamePattern(name)) continue;
    const why = invalidNameReason(name);
    if (why !== null) throw new NetError('EINVAL', why);
    if (stack.devices.has(name)) throw new NetError('EEXIST', `device "${name}" already exists`);
  }
  // Two equal patterns ("veth%d") are fine: each end takes the next free unit.
  if (explicit.length === 2 && explicit[0] === explicit[1] && !isNamePattern(explicit[0]!)) {
    throw new NetError('EEXIST', `both ends cannot be named "${explicit[0]}"`);
  }
  const made = await kind.create(stack, spec);
  if (stack.devices.size + made.length > stack.limits.maxDevices) {
    for (const m of made) kind.abandon?.(m.dev);
    throw new NetError('ENOSPC', `no more than ${stack.limits.maxDevices} devices may exist`);
  }
  const registered: NetDevice[] = [];
  try {
    const settings = settingsOf(spec);
    const { up, ...beforeUp } = settings;
    // The address is the named device's alone: a veth peer keeps its own
    // random one (veth_newlink), or both ends would share a MAC.
    const forOthers: LinkChanges = { ...beforeUp };
    delete forOthers.address;
    const settingsFor = (dev: NetDevice): LinkChanges => (dev === made[0]!.dev ? beforeUp : forOthers);
    for (const m of made) checkLinkChanges(stack, m.dev, settingsFor(m.dev));
    for (const m of made) {
      registerNetdevice(stack.devices, m.dev, m.name);
      registered.push(m.dev);
    }
    for (const dev of registered) applyLinkChanges(dev, checkLinkChanges(stack, dev, settingsFor(dev)), stack);
    if (up === true) for (const dev of registered) applyLinkChanges(dev, checkLinkChanges(stack, dev, { up }), stack);
  } catch (err) {
    for (const dev of registered.reverse()) if (dev.registered) unregisterNetdevice(stack.devices, dev);
    for (const m of made) if (!m.dev.registered) kind.abandon?.(m.dev);
    throw err;
  }
  stack.log.info({ kind: spec.kind, devices: registered.map((d) => d.name) }, 'device created');
  return registered;
}

/** ip link del dev NAME: a veth takes its peer along, a parent its upper devices (VLAN channels). */
export function deleteDevice(stack: NetStack, name: string): NetDevice[] {
  const dev = stack.devices.require(name);
  if (dev.permanent) throw new NetError('EOPNOTSUPP', `${dev.name} cannot be deleted`);
  // Whatever goes with it (peer, channels) is heard on the notifier chain as
  // it goes, so a delete costs what it removes, not a pass over every device
  // (10,000 deletes were 10,000 such passes).
  const went: NetDevice[] = [];
  const unsubscribe = stack.notifier.subscribe((event, d) => {
    if (event === 'UNREGISTER' && d !== dev) went.push(d);
  });
  try {
    unregisterNetdevice(stack.devices, dev);
  } finally {
    unsubscribe();
  }
  const gone = [dev, ...went.sort((a, b) => a.ifindex - b.ifindex)];
  stack.log.info({ devices: gone.map((d) => d.name) }, 'device deleted');
  return gone;
}
