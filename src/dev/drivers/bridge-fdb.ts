// The bridge's forwarding database (net/bridge/br_fdb.c): which port a MAC
// address was last seen on. Learned entries age out after ageing_time of
// silence (br_fdb_cleanup; here checked when an entry is looked up or dumped,
// and swept by a timer on the stack's Clock); static entries, added by hand,
// and permanent ones (the bridge's and its ports' own addresses, "local" in
// the kernel: frames to them go up the stack) never age.

import type { Clock, TimerHandle } from '../../clock.ts';
import { formatMac } from '../../wire/mac.ts';
import type { NetDevice } from '../netdevice.ts';
import type { FdbView } from '../fdb.ts';

/** BR_DEFAULT_AGEING_TIME: 300 s. */
export const BR_DEFAULT_AGEING_TIME_S = 300;

export type FdbState = FdbView['state'];

export interface FdbRecord {
  /** 48-bit address as a number: a Map key without allocating a string per frame. */
  readonly key: number;
  /** The port frames to this address leave by; null: the bridge itself (local). */
  port: NetDevice | null;
  state: FdbState;
  /** Clock ms when a frame from this address was last seen (or the entry added). */
  updated: number;
}

/** The 48-bit address at buf[off..off+6) as a number. */
export function macKey(buf: Uint8Array, off = 0): number {
  return (buf[off]! * 2 ** 40) + (buf[off + 1]! * 2 ** 32) + ((buf[off + 2]! << 24) >>> 0) + (buf[off + 3]! << 16) + (buf[off + 4]! << 8) + buf[off + 5]!;
}

function keyBytes(key: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(key, 0, 6);
  return b;
}

export class BridgeFdb {
  private readonly table = new Map<number, FdbRecord>();
  private sweeper: TimerHandle | null = null;
  /** ageing_time in ms; 0 keeps learned entries for ever, as the kernel does. */
  ageingMs = BR_DEFAULT_AGEING_TIME_S * 1000;

  constructor(
    private readonly clock: Clock,
    /** The bridge device, for the local entries' ifname. */
    private readonly bridge: NetDevice,
  ) {}

  get size(): number {
    return this.table.size;
  }

  private expired(r: FdbRecord, now: number): boolean {
    return r.state === 'learned' && this.ageingMs > 0 && now - r.updated >= this.ageingMs;
  }

  /** __br_fdb_get: the live entry for this address, or undefined. */
  lookup(buf: Uint8Array, off: number): FdbRecord | undefined {
    const key = macKey(buf, off);
    const r = this.table.get(key);
    if (r === undefined) return undefined;
    if (this.expired(r, this.clock.now())) {
      this.table.delete(key);
      return undefined;
    }
    return r;
  }

  /**
   * br_fdb_update: a frame from this source arrived on `port`. A learned
   * entry moves to the port (a host that moved) and is refreshed; static and
   * permanent entries are not changed by traffic.
   */
  learn(buf: Uint8Array, off: number, port: NetDevice): void {
    const key = macKey(buf, off);
    const now = this.clock.now();
    const r = this.table.get(key);
    if (r === undefined) {
      this.table.set(key, { key, port, state: 'learned', updated: now });
      this.armSweeper();
      return;
    }
    if (r.state !== 'learned') return;
    r.port = port;
    r.updated = now;
  }

  /** Add or replace a static (or permanent) entry. */
  set(mac: Buffer, port: NetDevice | null, state: 'static' | 'permanent'): void {
    const key = macKey(mac);
    this.table.set(key, { key, port, state, updated: this.clock.now() });
  }

  /** Remove the entry; false when there is none. */
  delete(mac: Buffer): boolean {
    return this.table.delete(macKey(mac));
  }

  /** The permanent entry of a port's (or the bridge's) own address, replaced when the address changes. */
  replaceLocal(oldMac: Buffer | null, newMac: Buffer, port: NetDevice | null): void {
    if (oldMac !== null) {
      const r = this.table.get(macKey(oldMac));
      if (r !== undefined && r.state === 'permanent' && r.port === port) this.table.delete(r.key);
    }
    this.set(newMac, port, 'permanent');
  }

  /** br_fdb_delete_by_port: a port left; its entries go (all of them, or only the dynamic ones). */
  flushPort(port: NetDevice, dynamicOnly = false): void {
    for (const r of [...this.table.values()]) {
      if (r.port === port && (!dynamicOnly || r.state === 'learned')) this.table.delete(r.key);
    }
  }

  /** Drop expired learned entries now; returns how many went. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const r of [...this.table.values()]) {
      if (this.expired(r, now)) {
        this.table.delete(r.key);
        n++;
      }
    }
    return n;
  }

  /** One timer while learned entries exist, so idle bridges keep no timer. */
  private armSweeper(): void {
    if (this.sweeper !== null || this.ageingMs <= 0) return;
    this.sweeper = this.clock.setTimer(this.ageingMs / 2, () => {
      this.sweeper = null;
      this.sweep();
      if ([...this.table.values()].some((r) => r.state === 'learned')) this.armSweeper();
    });
  }

  /** Cancel the sweep timer (the bridge is going away). */
  close(): void {
    this.sweeper?.cancel();
    this.sweeper = null;
    this.table.clear();
  }

  /** `bridge -j fdb show` order: by port, then address. */
  dump(): FdbView[] {
    this.sweep();
    const now = this.clock.now();
    const rows = [...this.table.values()].map((r): FdbView & { sortKey: number } => {
      const e: FdbView & { sortKey: number } = {
        mac: formatMac(keyBytes(r.key)),
        ifname: (r.port ?? this.bridge).name,
        state: r.state,
        flags: [],
        sortKey: r.key,
      };
      if (r.state === 'learned') e.age_s = Math.floor((now - r.updated) / 1000);
      return e;
    });
    rows.sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : a.sortKey - b.sortKey));
    return rows.map(({ sortKey: _k, ...e }) => e);
  }
}
