// The device list: unique names and ifindexes, lookup by either, and the
// devices in ifindex order for `ip link` and its pages, kept as they come and
// go so that neither a page nor a delete costs a pass over every device.

import { NetError } from '../errno.ts';
import type { NetDevice } from './netdevice.ts';

export class DeviceRegistry {
  private readonly byName = new Map<string, NetDevice>();
  private readonly byIndex = new Map<number, NetDevice>();
  /**
   * Every device in ifindex order, with holes (null) where removed ones were
   * until `dead` of them are swept out: a removal finds its slot by binary
   * search and empties it, and the array is compacted once half of it is
   * holes, so a removal costs O(log n) amortized, not a splice, and holds on
   * to nothing. `indexes[i]` is the ifindex of the device added at i.
   */
  private ordered: (NetDevice | null)[] = [];
  private indexes: number[] = [];
  private dead = 0;
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

  /** In ifindex order, as `ip link` lists them: a copy the caller may keep. */
  list(): NetDevice[] {
    if (this.dead > 0) this.compact();
    return this.ordered.slice() as NetDevice[];
  }

  /**
   * At most `limit` devices whose ifindex is above `after`, in ifindex order,
   * and whether more follow: a binary search and the page itself (rtnl's
   * dump resumed at its cursor, dev_get_by_index's successor), so walking
   * every page of n devices costs O(n), not O(n) per page.
   */
  page(after: number, limit: number): { devices: NetDevice[]; more: boolean } {
    const devices: NetDevice[] = [];
    for (let i = this.firstAbove(after); i < this.ordered.length; i++) {
      const dev = this.ordered[i];
      if (dev === null) continue;
      if (devices.length === limit) return { devices, more: true };
      devices.push(dev!);
    }
    return { devices, more: false };
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
    const ifindex = dev.ifindex;
    const n = this.indexes.length;
    if (n === 0 || this.indexes[n - 1]! < ifindex) {
      this.ordered.push(dev);
      this.indexes.push(ifindex);
    } else {
      // Only after the index counter wrapped: insert in order (a splice, rare).
      if (this.dead > 0) this.compact();
      let at = this.indexes.length;
      while (at > 0 && this.indexes[at - 1]! > ifindex) at--;
      this.ordered.splice(at, 0, dev);
      this.indexes.splice(at, 0, ifindex);
    }
    this.byName.set(dev.name, dev);
    this.byIndex.set(ifindex, dev);
  }

  remove(dev: NetDevice): void {
    const ifindex = dev.ifindex;
    if (this.byIndex.get(ifindex) !== dev) return;
    this.byName.delete(dev.name);
    this.byIndex.delete(ifindex);
    // Indexes are unique and sorted: the slot is the one just below the first above it.
    const at = this.firstAbove(ifindex) - 1;
    if (this.ordered[at] === dev) {
      this.ordered[at] = null;
      this.dead++;
    }
    if (this.dead * 2 > this.ordered.length) this.compact();
  }

  /** Position of the first slot whose ifindex is above `ifindex` (binary search). */
  private firstAbove(ifindex: number): number {
    const indexes = this.indexes;
    let lo = 0;
    let hi = indexes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (indexes[mid]! <= ifindex) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    let to = 0;
    for (let i = 0; i < this.ordered.length; i++) {
      if (this.ordered[i] === null) continue;
      this.ordered[to] = this.ordered[i]!;
      this.indexes[to] = this.indexes[i]!;
      to++;
    }
    this.ordered.length = to;
    this.indexes.length = to;
    this.dead = 0;
  }

  rename(dev: NetDevice, newName: string): void {
    if (this.byName.has(newName)) throw new NetError('EEXIST', `device "${newName}" already exists`);
    this.byName.delete(dev.name);
    dev.name = newName;
    this.byName.set(newName, dev);
  }
}
