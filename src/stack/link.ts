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
import { invalidNameReason } from '../dev/names.ts';
import { attachNetem, checkNetemParams, detachNetem, getNetem, NETEM_DEFAULTS, type NetemParams } from '../dev/wrappers/netem.ts';
import { isValidUnicastMac, parseMac } from '../wire/mac.ts';
import type { LinkSettings } from '../dev/ops.ts';
import { checkLinkSettings } from '../dev/drivers/wire.ts';
import type { NetStack } from './netstack.ts';

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
}

interface CheckedChanges {
  changes: LinkChanges;
  address?: Buffer;
  mcAdd: Buffer[];
  mcDel: Buffer[];
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
  if (changes.mtu !== undefined) {
    const mtu = changes.mtu;
    if (!Number.isInteger(mtu)) throw new NetError('EINVAL', 'mtu must be an integer');
    if (mtu < dev.minMtu) throw new NetError('EINVAL', `mtu ${mtu} is less than device minimum ${dev.minMtu}`);
    if (mtu > dev.maxMtu) throw new NetError('EINVAL', `mtu ${mtu} is greater than device maximum ${dev.maxMtu}`);
  }
  if (changes.name !== undefined && changes.name !== dev.name) {
    const why = invalidNameReason(changes.name);
    if (why !== null) throw new NetError('EINVAL', why);
    if (stack.devices.has(changes.name)) throw new NetError('EEXIST', `device "${changes.name}" already exists`);
    if (dev.isUp() && !dev.liveRename) throw new NetError('EBUSY', `${dev.name} is up; bring it down to rename it`);
  }
  if (changes.txqlen !== undefined) {
    const q = changes.txqlen;
    if (!Number.isInteger(q) || q < 0 || q > 0xffffffff) throw new NetError('EINVAL', 'txqlen must be an integer within 0..4294967295');
  }
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
  if (c.speed_mbps !== undefined || c.tx_ring !== undefined) dev.ops.setLinkSettings?.(dev, linkSettingsOf(c));
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
