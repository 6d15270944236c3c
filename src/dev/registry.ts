// The device list: unique names and ifindexes, lookup by either.

import { NetError } from '../errno.ts';
import type { NetDevice } from './netdevice.ts';

export class DeviceRegistry {
  private readonly byName = new Map<string, NetDevice>();
  private readonly byIndex = new Map<number, NetDevice>();
  private lastIndex = 0;

  get size(): number {
    return this.byName.size;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): NetDevice | undefined {
    return this.byName.get(name);
  }

  getByIndex(ifindex: number): NetDevice | undefined {
    return this.byIndex.get(ifindex);
  }

  /** dev_get_by_name, failing with ENODEV as the ioctls do. */
  require(name: string): NetDevice {
    const dev = this.byName.get(name);
    if (dev === undefined) throw new NetError('ENODEV', `Cannot find device "${name}"`);
    return dev;
  }

  /**
   * In ifindex order, as `ip link` lists them. Indexes are handed out in
   * increasing order, so the map's insertion order is already that order
   * until the counter wraps: checked in one pass, sorted only then.
   */
  list(): NetDevice[] {
    const out = [...this.byIndex.values()];
    for (let i = 1; i < out.length; i++) {
      if (out[i - 1]!.ifindex > out[i]!.ifindex) return out.sort((a, b) => a.ifindex - b.ifindex);
    }
    return out;
  }

  /** dev_new_index: the next unused index after the last one handed out. */
  newIndex(): number {
    for (;;) {
      this.lastIndex = this.lastIndex >= 0x7fffffff ? 1 : this.lastIndex + 1;
      if (!this.byIndex.has(this.lastIndex)) return this.lastIndex;
    }
  }

  add(dev: NetDevice): void {
    if (this.byName.has(dev.name)) throw new NetError('EEXIST', `device "${dev.name}" already exists`);
    this.byName.set(dev.name, dev);
    this.byIndex.set(dev.ifindex, dev);
  }

  remove(dev: NetDevice): void {
    this.byName.delete(dev.name);
    this.byIndex.delete(dev.ifindex);
  }

  rename(dev: NetDevice, newName: string): void {
    if (this.byName.has(newName)) throw new NetError('EEXIST', `device "${newName}" already exists`);
    this.byName.delete(dev.name);
    dev.name = newName;
    this.byName.set(newName, dev);
  }
}
