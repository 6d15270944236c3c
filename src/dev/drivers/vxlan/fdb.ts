// The vxlan forwarding table (Linux's vxlan fdb): MAC -> the peer it was
// last seen behind, learned from received frames, aged by the stack's clock
// when used (no timer runs), bounded in size.

import { ETH_ALEN } from '../../../wire/eth.ts';
import { formatMac } from '../../../wire/mac.ts';
import type { Remote } from './remotes.ts';

export interface FdbEntry {
  remote: Remote;
  /** Where the last frame from this MAC came from, to see moves cheaply. */
  srcAddress: string;
  srcPort: number;
  updated: number;
  /** Added by hand (bridge fdb add): never aged, never moved by learning. */
  static?: boolean;
}

/** A 48-bit MAC as a number (exact: below 2^53), so lookups allocate nothing. */
export function macKey(b: Uint8Array, off: number): number {
  return (b[off]! * 0x10000 + ((b[off + 1]! << 8) | b[off + 2]!)) * 0x1000000 + ((b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!);
}

export function keyToMac(key: number): string {
  const b = Buffer.alloc(ETH_ALEN);
  b.writeUIntBE(key, 0, ETH_ALEN);
  return formatMac(b);
}

/** The learned entries; the configured remotes (all-zeros entries) stay with the device. */
export class VxlanFdb {
  readonly entries = new Map<number, FdbEntry>();

  constructor(
    /** Milliseconds an entry lives without being refreshed (Infinity: ageing 0, never). */
    readonly ageingMs: number,
    readonly maxLearned: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The peer a unicast MAC is behind, or null (an aged entry goes now). */
  lookup(key: number, now: number): Remote | null {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    if (e.static !== true && now - e.updated > this.ageingMs) {
      this.entries.delete(key);
      return null;
    }
    return e.remote;
  }

  /**
   * vxlan_snoop: a frame from MAC `key` came from address:port. Refreshes the
   * entry, moves it to the new peer (fdb migrate), or learns it; when the
   * table is full and nothing has aged out, the MAC is not learned.
   */
  learn(key: number, address: string, port: number, now: number, remoteFor: (address: string, port: number) => Remote): void {
    const e = this.entries.get(key);
    // vxlan_snoop leaves a permanent or static entry where it is.
    if (e?.static === true) return;
    if (e !== undefined && e.srcPort === port && e.srcAddress === address) {
      e.updated = now;
      return;
    }
    const remote = remoteFor(address, port);
    if (e !== undefined) {
      e.remote = remote;
      e.srcAddress = address;
      e.srcPort = port;
      e.updated = now;
      return;
    }
    if (this.entries.size >= this.maxLearned && this.expire(now) === 0) return;
    this.entries.set(key, { remote, srcAddress: address, srcPort: port, updated: now });
  }

  /** Remove entries not refreshed within `ageing`; returns how many went. */
  expire(now: number): number {
    let n = 0;
    for (const [key, e] of this.entries) {
      if (e.static !== true && now - e.updated > this.ageingMs) {
        this.entries.delete(key);
        n++;
      }
    }
    return n;
  }
}
