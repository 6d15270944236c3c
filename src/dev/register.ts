// register_netdevice / unregister_netdevice: names, indexes, init/uninit,
// and the REGISTER/UNREGISTER notifications.

import { NetError } from '../errno.ts';
import { allocName, checkName, isNamePattern } from './names.ts';
import type { NetDevice } from './netdevice.ts';
import type { DeviceRegistry } from './registry.ts';
import { devClose } from './control.ts';

/** Register under `name`, or the lowest free unit of a pattern like "eth%d". */
export function registerNetdevice(registry: DeviceRegistry, dev: NetDevice, name: string): void {
  if (dev.registered) throw new NetError('EEXIST', `${dev.name} is already registered`);
  const chosen = isNamePattern(name) ? allocName(name, (n) => registry.has(n)) : name;
  checkName(chosen);
  if (registry.has(chosen)) throw new NetError('EEXIST', `device "${chosen}" already exists`);
  dev.name = chosen;
  dev.ifindex = registry.newIndex();
  dev.ops.init?.(dev);
  registry.add(dev);
  dev.registered = true;
  dev.core.notifier.emit('REGISTER', dev);
}

/**
 * Close, then remove. A driver's uninit may take others along (a veth's
 * peer); upper devices (VLAN channels) go when their protocol hears
 * UNREGISTER, as vlan_device_event does.
 */
export function unregisterNetdevice(registry: DeviceRegistry, dev: NetDevice): void {
  if (!dev.registered) return;
  if (dev.permanent) throw new NetError('EOPNOTSUPP', `${dev.name} cannot be deleted`);
  devClose(dev);
  dev.registered = false;
  registry.remove(dev);
  dev.ops.uninit?.(dev);
  dev.core.notifier.emit('UNREGISTER', dev);
}
