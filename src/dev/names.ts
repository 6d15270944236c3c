// Device names: the seed's type-based prefixes, numbered upward from 0 with the
// lowest free number taken (dev_alloc_name), and IFNAMSIZ rules (dev_valid_name).

import { NetError } from '../errno.ts';

/** IFNAMSIZ is 16 bytes including the terminating NUL. */
export const IFNAMSIZ = 16;

/** The seed's table, plus today's virtual devices. */
export const NAME_PREFIXES: Readonly<Record<string, string>> = {
  eth: 'Ethernet controllers (and anything that behaves as Ethernet)',
  tr: 'Token ring devices',
  sl: 'SLIP devices and AX.25 KISS mode',
  ppp: 'PPP devices, asynchronous and synchronous',
  plip: 'PLIP units; the number matches the printer port',
  tunl: 'IPIP encapsulated tunnels',
  nr: 'NetROM virtual devices',
  isdn: 'ISDN interfaces handled by isdn4linux',
  dummy: 'Null devices',
  lo: 'The loopback device',
  veth: 'Virtual Ethernet pairs',
  vxlan: 'VXLAN tunnels (Ethernet over UDP)',
};

/**
 * UTF-16 code units that pair with nothing. The kernel sees a name as bytes;
 * a lone surrogate has no UTF-8 bytes at all (Buffer would write U+FFFD in
 * its place, so the name on the wire would not be the name asked for), and
 * the name could never be put in a URL (encodeURIComponent throws on it).
 * With the u flag a class of surrogates matches only unpaired ones.
 */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;

/** True when `name` is a valid UTF-16 string, i.e. has a UTF-8 form. */
export function isWellFormedName(name: string): boolean {
  return !LONE_SURROGATE.test(name);
}

/** Why `name` is not a valid interface name, or null if it is (dev_valid_name, on the name's UTF-8 bytes). */
export function invalidNameReason(name: string): string | null {
  if (name.length === 0) return 'name is empty';
  // Checked first: the messages below quote the name, and byte counts need its UTF-8 form.
  if (!isWellFormedName(name)) return `name ${JSON.stringify(name)} is not valid UTF-8 (it holds a lone UTF-16 surrogate)`;
  if (Buffer.byteLength(name, 'utf8') >= IFNAMSIZ) return `name "${name}" is longer than ${IFNAMSIZ - 1} bytes`;
  if (name === '.' || name === '..') return `name "${name}" is reserved`;
  // Linux treats any '%' as a pattern (dev_alloc_name): one that is not a
  // single %d is EINVAL there, never a literal name.
  if (name.includes('%')) return `name "${name}" contains "%" but is not a pattern with one %d`;
  for (const ch of name) {
    if (ch === '/' || ch === ':' || /\s/u.test(ch) || ch.charCodeAt(0) < 0x20) {
      return `name "${name}" contains "${ch === '\0' ? '\\0' : ch}", which interface names cannot`;
    }
  }
  return null;
}

/**
 * A valid name for `name`, which an older version let in: each lone surrogate
 * becomes '_', and when that name is invalid or `taken`, `fallback` numbered
 * (dev_alloc_name). Used when loading a state file, so such a device comes
 * back under a name that can be shown, put in a URL and deleted.
 */
export function repairName(name: string, taken: (name: string) => boolean, fallback = 'dev%d'): string {
  const repaired = name.replace(LONE_SURROGATES, '_');
  if (invalidNameReason(repaired) === null && !isNamePattern(repaired) && !taken(repaired)) return repaired;
  return allocName(fallback, taken);
}

export function checkName(name: string): void {
  const why = invalidNameReason(name);
  if (why !== null) throw new NetError('EINVAL', why);
}

/** A pattern holds exactly one %d and no other % conversion. */
export function isNamePattern(name: string): boolean {
  const i = name.indexOf('%');
  return i >= 0 && name.slice(i, i + 2) === '%d' && name.indexOf('%', i + 1) < 0;
}

/** dev_alloc_name: the lowest unit whose name is free; ENFILE when none is. */
export function allocName(pattern: string, taken: (name: string) => boolean, maxUnits = 32768): string {
  if (!isNamePattern(pattern)) throw new NetError('EINVAL', `"${pattern}" is not a name pattern with one %d`);
  checkName(pattern.replace('%d', '0'));
  for (let unit = 0; unit < maxUnits; unit++) {
    const name = pattern.replace('%d', String(unit));
    if (Buffer.byteLength(name, 'utf8') >= IFNAMSIZ) break;
    if (!taken(name)) return name;
  }
  throw new NetError('ENFILE', `no free name for pattern "${pattern}"`);
}
