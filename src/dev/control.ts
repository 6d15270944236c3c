// The device operations of net/core/dev.c that keep flags, counters and
// notifications consistent: open/close, flags, MTU, address, promiscuity and
// allmulti counting, the multicast list, txqueuelen, carrier, rename, ifmap.
// They throw NetError (control plane); the drivers' methods are called from here.

import { NetError } from '../errno.ts';
import { formatMac } from '../wire/mac.ts';
import { IFF, IFF_USER_SETTABLE } from './flags.ts';
import type { IfMap, NetDevice } from './netdevice.ts';
import type { DeviceRegistry } from './registry.ts';
import { checkName } from './names.ts';
import { checkMtu, checkTxQueueLen } from './checks.ts';
import { devActivate, devDeactivate } from './xmit.ts';

/** dev_open: run the driver's open, then mark the device up. */
export function devOpen(dev: NetDevice): void {
  if (dev.isUp()) return;
  if (!dev.registered) throw new NetError('ENODEV', `${dev.name} is not registered`);
  dev.ops.open?.(dev);
  dev.flags |= IFF.UP;
  devActivate(dev);
  if (dev.carrierFollowsUp) netifCarrierOn(dev);
  dev.ops.setRxMode?.(dev);
  dev.core.notifier.emit('UP', dev);
}

/** dev_close: cannot fail. Queued frames are freed, which credits their senders. */
export function devClose(dev: NetDevice): void {
  if (!dev.isUp()) return;
  dev.core.notifier.emit('GOING_DOWN', dev);
  dev.flags &= ~IFF.UP;
  dev.ops.stop?.(dev);
  devDeactivate(dev);
  if (dev.carrierFollowsUp) netifCarrierOff(dev);
  dev.core.notifier.emit('DOWN', dev);
}

export function netifCarrierOn(dev: NetDevice): void {
  if (dev.carrier) return;
  dev.carrier = true;
  dev.stats.carrierChanges++;
  if (dev.registered) dev.core.notifier.emit('CHANGE', dev);
}

export function netifCarrierOff(dev: NetDevice): void {
  if (!dev.carrier) return;
  dev.carrier = false;
  dev.stats.carrierChanges++;
  if (dev.registered) dev.core.notifier.emit('CHANGE', dev);
}

/**
 * dev_change_flags (SIOCSIFFLAGS): UP opens or closes; PROMISC and ALLMULTI
 * set the user's reference (gflags) on the counters; other settable bits are
 * copied. Driver-owned bits (RUNNING, LOWER_UP, LOOPBACK...) are ignored.
 */
export function devChangeFlags(dev: NetDevice, flags: number): void {
  if (!Number.isInteger(flags) || flags < 0) throw new NetError('EINVAL', 'flags must be a non-negative integer');
  const old = dev.flags;
  const oldUser = dev.gflags;
  const keep = IFF_USER_SETTABLE & ~(IFF.UP | IFF.PROMISC | IFF.ALLMULTI);
  dev.flags = (dev.flags & ~keep) | (flags & keep);
  if (((flags ^ dev.gflags) & IFF.PROMISC) !== 0) {
    dev.gflags ^= IFF.PROMISC;
    devSetPromiscuity(dev, (dev.gflags & IFF.PROMISC) !== 0 ? 1 : -1);
  }
  if (((flags ^ dev.gflags) & IFF.ALLMULTI) !== 0) {
    dev.gflags ^= IFF.ALLMULTI;
    devSetAllmulti(dev, (dev.gflags & IFF.ALLMULTI) !== 0 ? 1 : -1);
  }
  const wantUp = (flags & IFF.UP) !== 0;
  if (wantUp !== dev.isUp()) {
    if (wantUp) devOpen(dev);
    else devClose(dev);
  }
  // The counters told a change of the effective PROMISC/ALLMULTI; a change of
  // the user's own flag alone (a bridge port is promiscuous already) is told
  // too, as __dev_notify_flags sends RTM_NEWLINK for gflags changes: it is
  // configuration, and the state file must hear of it.
  const counted = ((old ^ dev.flags) & (IFF.PROMISC | IFF.ALLMULTI)) !== 0;
  if ((old ^ dev.flags) & keep || (oldUser !== dev.gflags && !counted)) dev.core.notifier.emit('CHANGE', dev);
}

/** dev_set_promiscuity: counted, so two taps asking need two releases. */
export function devSetPromiscuity(dev: NetDevice, inc: number): void {
  const next = dev.promiscuity + inc;
  if (next < 0) {
    dev.core.log.warn({ ifname: dev.name }, 'promiscuity would go negative; ignored');
    return;
  }
  const was = dev.promiscuity > 0;
  dev.promiscuity = next;
  const is = next > 0;
  if (was !== is) {
    if (is) dev.flags |= IFF.PROMISC;
    else dev.flags &= ~IFF.PROMISC;
    dev.core.log.info({ ifname: dev.name }, is ? 'device entered promiscuous mode' : 'device left promiscuous mode');
    dev.ops.setRxMode?.(dev);
    dev.core.notifier.emit('CHANGE', dev);
  }
}

/** dev_set_allmulti: counted like promiscuity. */
export function devSetAllmulti(dev: NetDevice, inc: number): void {
  const next = dev.allmulti + inc;
  if (next < 0) return;
  const was = dev.allmulti > 0;
  dev.allmulti = next;
  const is = next > 0;
  if (was !== is) {
    if (is) dev.flags |= IFF.ALLMULTI;
    else dev.flags &= ~IFF.ALLMULTI;
    dev.ops.setRxMode?.(dev);
    dev.core.notifier.emit('CHANGE', dev);
  }
}

/** dev_set_mtu (SIOCSIFMTU). */
export function devSetMtu(dev: NetDevice, mtu: number): void {
  if (mtu === dev.mtu) return;
  checkMtu(dev, mtu);
  if (dev.ops.changeMtu) dev.ops.changeMtu(dev, mtu);
  else dev.mtu = mtu;
  dev.core.notifier.emit('CHANGEMTU', dev);
}

/** dev_set_mac_address (SIOCSIFHWADDR). */
export function devSetMacAddress(dev: NetDevice, addr: Buffer): void {
  if (dev.ops.setMacAddress === undefined) throw new NetError('EOPNOTSUPP', `${dev.name} has no settable address`);
  if (addr.length !== dev.addrLen) throw new NetError('EINVAL', `address must be ${dev.addrLen} bytes`);
  dev.ops.setMacAddress(dev, addr);
  dev.core.notifier.emit('CHANGEADDR', dev);
}

/** dev_change_tx_queue_len (SIOCSIFTXQLEN). The qdisc reads the limit live. */
export function devSetTxQueueLen(dev: NetDevice, len: number): void {
  checkTxQueueLen(len);
  if (len === dev.txQueueLen) return;
  dev.txQueueLen = len;
  // Going to or from 0 switches between noqueue and pfifo_fast, as dev_activate would.
  if (dev.isUp() && !dev.qdiscPinned) {
    const wasNoQueue = dev.qdisc?.kind === 'noqueue';
    if (wasNoQueue !== (dev.noQueue || len === 0)) {
      devDeactivate(dev);
      devActivate(dev);
    }
  }
  dev.core.notifier.emit('CHANGETXQLEN', dev);
}

function mcKey(addr: Buffer): string {
  return formatMac(addr);
}

/**
 * dev_mc_add (SIOCADDMULTI): a multicast address with a reference count. The
 * user's adds are global, as __hw_addr_add_ex with `global` is: a second
 * global add of the same address changes nothing, so SIOCADDMULTI is
 * idempotent; `global: false` is the kernel's own counted use (dev_mc_add_excl
 * and the syncs of stacked devices).
 */
export function devMcAdd(dev: NetDevice, addr: Buffer, global = true): void {
  if (addr.length !== 6 || (addr[0]! & 1) === 0) throw new NetError('EINVAL', 'not a multicast address');
  if ((dev.flags & IFF.MULTICAST) === 0 && dev.ops.setRxMode === undefined) {
    throw new NetError('EINVAL', `${dev.name} does not do multicast`);
  }
  const key = mcKey(addr);
  const entry = dev.mc.get(key);
  if (entry) {
    if (global && entry.global) return;
    entry.users++;
    if (global) entry.global = true;
  } else dev.mc.set(key, { addr: Buffer.from(addr), users: 1, global });
  dev.ops.setRxMode?.(dev);
  dev.core.notifier.emit('CHANGEMULTI', dev);
}

/**
 * dev_mc_del (SIOCDELMULTI): ENOENT when the address is not on the list, or
 * (for the user's global delete) when the user holds no use of it
 * (__hw_addr_del_entry).
 */
export function devMcDel(dev: NetDevice, addr: Buffer, global = true): void {
  const key = mcKey(addr);
  const entry = dev.mc.get(key);
  if (entry === undefined || (global && !entry.global)) {
    throw new NetError('ENOENT', `${key} is not on ${dev.name}'s multicast list`);
  }
  if (global) entry.global = false;
  if (--entry.users === 0) dev.mc.delete(key);
  dev.ops.setRxMode?.(dev);
  dev.core.notifier.emit('CHANGEMULTI', dev);
}

/** True when the address filter passes a frame to this multicast address. */
export function devMcAccepts(dev: NetDevice, buf: Buffer, off: number): boolean {
  if (dev.promiscuity > 0 || dev.allmulti > 0) return true;
  if (dev.mc.size === 0) return false;
  return dev.mc.has(formatMac(buf, off));
}

/** dev_change_name (SIOCSIFNAME). */
export function devChangeName(registry: DeviceRegistry, dev: NetDevice, newName: string): void {
  checkName(newName);
  if (newName === dev.name) return;
  if (dev.isUp() && !dev.liveRename) throw new NetError('EBUSY', `${dev.name} is up; bring it down to rename it`);
  const oldName = dev.name;
  registry.rename(dev, newName);
  dev.core.notifier.emit('CHANGENAME', dev, { oldName });
}

/** SIOCSIFMAP: only drivers with set_config take it; -1 (or absent) leaves a field unchanged. */
export function devSetConfig(dev: NetDevice, map: Partial<IfMap>): void {
  if (dev.ops.setConfig === undefined) throw new NetError('EOPNOTSUPP', `${dev.name} has no I/O resources to set`);
  if (dev.isUp()) throw new NetError('EBUSY', `${dev.name} is up; bring it down to change its resources`);
  dev.ops.setConfig(dev, map);
  dev.core.notifier.emit('CHANGE', dev);
}
