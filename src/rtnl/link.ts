// `ip link set` and `tc qdisc netem` on one device: every change is checked
// first and only then applied, so a request with one bad field changes nothing.
// The order of application is do_setlink's: address, mtu, name, txqueuelen,
// promisc/allmulti, qdisc, and admin state last.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import {
  devChangeFlags,
  devChangeName,
  devMcAdd,
  devMcDel,
  devSetMacAddress,
  devSetMtu,
  devSetTxQueueLen,
} from '../dev/control.ts';
import { IFF } from '../dev/flags.ts';
import { checkMtu, checkTxQueueLen } from '../dev/checks.ts';
import { invalidNameReason } from '../dev/names.ts';
import { brAddIf, brCheckAddIf, brDelIf } from '../dev/drivers/bridge.ts';
import { attachNetem, checkNetemParams, detachNetem, getNetem, NETEM_DEFAULTS, type NetemParams } from '../dev/wrappers/netem.ts';
import { isValidUnicastMac, parseMac } from '../wire/mac.ts';
import type { LinkSettings } from '../dev/ops.ts';
import { checkLinkSettings } from '../dev/drivers/wire.ts';
import type { NetStack } from '../stack/netstack.ts';

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  address?: string;
  promisc?: boolean;
  allmulti?: boolean;
  txqlen?: number;
  name?: string;
  /** Replace the netem settings (unset fields take netem's defaults); null removes netem. */
  netem?: Partial<NetemParams> | null;
  multicast?: { add?: string[]; del?: string[] };
  /** ethtool -s X speed N: the link's speed in Mbit/s (veth, dummy); 0 takes no wire time. */
  speed_mbps?: number;
  /** ethtool -G X tx N: TX ring descriptors (veth, dummy). */
  tx_ring?: number;
  /** The bridge to join (`ip link set dev X master br0`); null leaves it (nomaster). */
  master?: string | null;
}

interface CheckedChanges {
  changes: LinkChanges;
  address?: Buffer;
  mcAdd: Buffer[];
  mcDel: Buffer[];
  /** The bridge to join, found and checked; null: leave the current one. */
  master?: NetDevice | null;
}

function parseMacOrThrow(text: string, what: string): Buffer {
  const mac = parseMac(text);
  if (mac === undefined) throw new NetError('EINVAL', `"${text}" is not a valid ${what}`);
  return mac;
}

/** Check every field against the device as it is now. Throws the first problem found. */
export function checkLinkChanges(stack: NetStack, dev: NetDevice, changes: LinkChanges): CheckedChanges {
  const out: CheckedChanges = { changes, mcAdd: [], mcDel: [] };
  if (changes.address !== undefined) {
    if (dev.ops.setMacAddress === undefined) throw new NetError('EOPNOTSUPP', `${dev.name} has no settable address`);
    const mac = parseMacOrThrow(changes.address, 'link-layer address');
    if (!isValidUnicastMac(mac)) throw new NetError('EADDRNOTAVAIL', `${changes.address} is not a unicast, non-zero address`);
    if (!dev.liveAddrChange && dev.isUp()) throw new NetError('EBUSY', `${dev.name} cannot change its address while up`);
    out.address = mac;
  }
  if (changes.mtu !== undefined) checkMtu(dev, changes.mtu);
  if (changes.name !== undefined && changes.name !== dev.name) {
    const why = invalidNameReason(changes.name);
    if (why !== null) throw new NetError('EINVAL', why);
    if (stack.devices.has(changes.name)) throw new NetError('EEXIST', `device "${changes.name}" already exists`);
    if (dev.isUp() && !dev.liveRename) throw new NetError('EBUSY', `${dev.name} is up; bring it down to rename it`);
  }
  if (changes.txqlen !== undefined) checkTxQueueLen(changes.txqlen);
  if (changes.netem !== undefined && changes.netem !== null) {
    checkNetemParams({ ...NETEM_DEFAULTS, ...changes.netem });
  }
  if (changes.speed_mbps !== undefined || changes.tx_ring !== undefined) {
    if (dev.ops.setLinkSettings === undefined) throw new NetError('EOPNOTSUPP', `${dev.name} (${dev.kind}) has no link speed or TX ring to set`);
    checkLinkSettings(linkSettingsOf(changes));
  }
  for (const m of changes.multicast?.add ?? []) {
    const mac = parseMacOrThrow(m, 'multicast address');
    if ((mac[0]! & 1) === 0) throw new NetError('EINVAL', `${m} is not a multicast address`);
    // devMcAdd's own refusal, found here so that nothing before it is applied.
    if ((dev.flags & IFF.MULTICAST) === 0 && dev.ops.setRxMode === undefined) {
      throw new NetError('EINVAL', `${dev.name} does not do multicast`);
    }
    out.mcAdd.push(mac);
  }
  if (changes.master === null) out.master = null;
  else if (changes.master !== undefined) {
    const br = stack.devices.get(changes.master);
    if (br === undefined) throw new NetError('ENODEV', `master device "${changes.master}" does not exist`);
    brCheckAddIf(br, dev);
    out.master = br;
  }
  for (const m of changes.multicast?.del ?? []) {
    const mac = parseMacOrThrow(m, 'multicast address');
    // The user's use of an address is one (global_use): present if held or
    // added in this same change, and gone after its first delete.
    const pendingAdd = out.mcAdd.some((a) => a.equals(mac));
    const held = [...dev.mc.values()].some((e) => e.global && e.addr.equals(mac));
    const deleted = out.mcDel.some((a) => a.equals(mac));
    if ((!held && !pendingAdd) || deleted) throw new NetError('ENOENT', `${m} is not on ${dev.name}'s multicast list`);
    out.mcDel.push(mac);
  }
  return out;
}

function linkSettingsOf(c: LinkChanges): Partial<LinkSettings> {
  const ls: Partial<LinkSettings> = {};
  if (c.speed_mbps !== undefined) ls.speedMbps = c.speed_mbps;
  if (c.tx_ring !== undefined) ls.txRing = c.tx_ring;
  return ls;
}

export function applyLinkChanges(dev: NetDevice, checked: CheckedChanges, stack: NetStack): void {
  const c = checked.changes;
  if (checked.address !== undefined) devSetMacAddress(dev, checked.address);
  if (c.mtu !== undefined) devSetMtu(dev, c.mtu);
  if (c.name !== undefined) devChangeName(stack.devices, dev, c.name);
  if (c.txqlen !== undefined) devSetTxQueueLen(dev, c.txqlen);
  for (const m of checked.mcAdd) devMcAdd(dev, m);
  for (const m of checked.mcDel) devMcDel(dev, m);
  if (c.speed_mbps !== undefined || c.tx_ring !== undefined) {
    dev.ops.setLinkSettings?.(dev, linkSettingsOf(c));
    // ethtool's changes are announced (ethtool_notify); here on the notifier
    // chain, so that the state file hears of them like any other setting.
    if (dev.registered) dev.core.notifier.emit('CHANGE', dev);
  }
  if (checked.master !== undefined) {
    if (dev.master !== null && dev.master !== checked.master) brDelIf(dev.master, dev);
    if (checked.master !== null) brAddIf(checked.master, dev);
  }
  if (c.netem === null) detachNetem(dev);
  else if (c.netem !== undefined) attachNetem(dev, c.netem);
  let flags = dev.gflags | (dev.flags & ~(IFF.PROMISC | IFF.ALLMULTI));
  if (c.promisc !== undefined) flags = c.promisc ? flags | IFF.PROMISC : flags & ~IFF.PROMISC;
  if (c.allmulti !== undefined) flags = c.allmulti ? flags | IFF.ALLMULTI : flags & ~IFF.ALLMULTI;
  if (c.up !== undefined) flags = c.up ? flags | IFF.UP : flags & ~IFF.UP;
  devChangeFlags(dev, flags);
}

/** ip link set dev NAME ...: returns the device (renamed if asked). */
export function setLink(stack: NetStack, name: string, changes: LinkChanges): NetDevice {
  const dev = stack.devices.require(name);
  const checked = checkLinkChanges(stack, dev, changes);
  applyLinkChanges(dev, checked, stack);
  return dev;
}

export function netemOf(dev: NetDevice): NetemParams | null {
  return getNetem(dev)?.params ?? null;
}
