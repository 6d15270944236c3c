// IEEE 802 48-bit MAC addresses (IEEE Std 802-2014 §8): the I/G bit (bit 0 of
// the first octet) marks group addresses, the U/L bit (bit 1) marks locally
// administered ones. Predicates follow include/linux/etherdevice.h.
// imports: errno, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';

export const MAC_LEN = 6;

/** ff:ff:ff:ff:ff:ff. Shared: never write into it. */
export const BROADCAST_MAC: Readonly<Buffer> = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** 00:00:00:00:00:00. Shared: never write into it. */
export const ZERO_MAC: Readonly<Buffer> = Buffer.alloc(MAC_LEN);

// The same separator throughout, as iproute2 and ifconfig print and accept.
const MAC_RE = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Parses `02:00:00:00:00:01` or `02-00-00-00-00-01`, in either case.
 * Returns a fresh 6-byte Buffer, or undefined for anything else.
 */
export function parseMac(text: string): Buffer | undefined {
  const m = MAC_RE.exec(text);
  if (m === null) return undefined;
  const out = Buffer.allocUnsafe(MAC_LEN);
  out[0] = parseInt(m[1]!, 16);
  for (let i = 1; i < MAC_LEN; i++) out[i] = parseInt(m[i + 2]!, 16);
  return out;
}

/** Lower-case, colon-separated, as `ip link` prints. Throws EINVAL past the end. */
export function formatMac(buf: Uint8Array, off = 0): string {
  if (off < 0 || off + MAC_LEN > buf.length) throw new NetError('EINVAL', 'MAC address runs past the buffer');
  return (
    HEX2[buf[off]!]! + ':' + HEX2[buf[off + 1]!]! + ':' + HEX2[buf[off + 2]!]! + ':' +
    HEX2[buf[off + 3]!]! + ':' + HEX2[buf[off + 4]!]! + ':' + HEX2[buf[off + 5]!]!
  );
}

/** Group address (I/G bit set); broadcast is one too, as in is_multicast_ether_addr(). */
export function isMulticastMac(buf: Uint8Array, off = 0): boolean {
  return ((buf[off] ?? 0) & 0x01) !== 0;
}

export function isBroadcastMac(buf: Uint8Array, off = 0): boolean {
  if (off < 0 || off + MAC_LEN > buf.length) return false;
  return (buf[off]! & buf[off + 1]! & buf[off + 2]! & buf[off + 3]! & buf[off + 4]! & buf[off + 5]!) === 0xff;
}

export function isZeroMac(buf: Uint8Array, off = 0): boolean {
  if (off < 0 || off + MAC_LEN > buf.length) return false;
  return (buf[off]! | buf[off + 1]! | buf[off + 2]! | buf[off + 3]! | buf[off + 4]! | buf[off + 5]!) === 0;
}

/** Locally administered (U/L bit set), as addresses from randomMac() are. */
export function isLocalAdminMac(buf: Uint8Array, off = 0): boolean {
  return ((buf[off] ?? 0) & 0x02) !== 0;
}

/**
 * A usable station address: neither group nor all-zero (is_valid_ether_addr()).
 * False for a buffer too short to hold one.
 */
export function isValidUnicastMac(buf: Uint8Array, off = 0): boolean {
  return off >= 0 && off + MAC_LEN <= buf.length && !isMulticastMac(buf, off) && !isZeroMac(buf, off);
}

/** Compares six bytes at two offsets without allocating (ether_addr_equal()); false past either end. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  if (aOff < 0 || bOff < 0 || aOff + MAC_LEN > a.length || bOff + MAC_LEN > b.length) return false;
  return (
    a[aOff] === b[bOff] && a[aOff + 1] === b[bOff + 1] && a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] && a[aOff + 4] === b[bOff + 4] && a[aOff + 5] === b[bOff + 5]
  );
}

/**
 * A random locally administered unicast address, 02:xx:xx:xx:xx:xx. The
 * kernel's eth_random_addr() only forces the two low bits; fixing the whole
 * first octet makes generated addresses easy to spot, and 40 random bits
 * still make collisions on one lab segment unlikely.
 */
export function randomMac(): Buffer {
  const out = Buffer.allocUnsafe(MAC_LEN);
  globalThis.crypto.getRandomValues(out);
  out[0] = 0x02;
  return out;
}
