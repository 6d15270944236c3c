// Addresses per device (struct in_ifaddr) and the parsing of the forms users
// type: 'A.B.C.D', 'A.B.C.D/N', 'default', 'A.B.C.D:PORT'.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { formatIpv4, parseIpv4Address } from '../wire/ipv4.ts';
import { prefixMask, type RouteScope } from './fib.ts';

export interface InIfaddr {
  dev: NetDevice;
  local: number;
  prefixlen: number;
  mask: number;
  /** 0 when none. */
  broadcast: number;
  scope: 'global' | 'host' | 'link';
  label: string;
  /** IFA_F_SECONDARY: another address of the same subnet came first. */
  secondary: boolean;
}

export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;

export function requireAddr(text: string, what = 'address'): number {
  const a = parseIpv4Address(text);
  if (a === undefined) throw new NetError('EINVAL', `"${text}" is not an IPv4 ${what} (A.B.C.D)`);
  return a;
}

/** 'A.B.C.D/N' or 'A.B.C.D' (= /32 unless `defaultLen` says otherwise). */
export function parseCidr(text: string, defaultLen = 32): { addr: number; plen: number } {
  if (typeof text !== 'string') throw new NetError('EINVAL', 'an address must be a string');
  const slash = text.indexOf('/');
  const addr = requireAddr(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0) return { addr, plen: defaultLen };
  const lenText = text.slice(slash + 1);
  if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(lenText)) throw new NetError('EINVAL', `"${lenText}" is not a prefix length (0..32)`);
  return { addr, plen: Number(lenText) };
}

/** A route destination: 'default', 'A.B.C.D/N' or 'A.B.C.D'; host bits must be clear (EINVAL, as Linux). */
export function parseRouteDst(text: string): { dst: number; plen: number } {
  if (text === 'default' || text === '0.0.0.0/0') return { dst: 0, plen: 0 };
  const { addr, plen } = parseCidr(text);
  if ((addr & ~prefixMask(plen)) >>> 0 !== 0) {
    throw new NetError('EINVAL', `invalid prefix for the prefix length: ${text} has host bits set`);
  }
  return { dst: addr, plen };
}

/** 'A.B.C.D:PORT' -> address and port; port 0..65535. */
export function parseEndpoint(text: string, what: string): { addr: number; port: number } {
  if (typeof text !== 'string') throw new NetError('EINVAL', `${what} must be "A.B.C.D:PORT"`);
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new NetError('EINVAL', `${what} "${text}" must be "A.B.C.D:PORT"`);
  const addr = requireAddr(text.slice(0, colon), `${what} address`);
  const portText = text.slice(colon + 1);
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(portText) || Number(portText) > 65535) {
    throw new NetError('EINVAL', `${what} port "${portText}" must be within 0..65535`);
  }
  return { addr, port: Number(portText) };
}

export function formatEndpoint(addr: number, port: number): string {
  return `${formatIpv4(addr)}:${port}`;
}

export function formatDst(dst: number, plen: number): string {
  if (plen === 0 && dst === 0) return 'default';
  return plen === 32 ? formatIpv4(dst) : `${formatIpv4(dst)}/${plen}`;
}

/** The scope `ip` shows for an address: host for 127/8, global otherwise. */
export function addrScope(addr: number): 'global' | 'host' {
  return addr >>> 24 === 127 ? 'host' : 'global';
}

const SCOPE_RANK: Record<RouteScope | 'host', number> = { global: 0, link: 253, host: 254 };

/** RT_SCOPE_* order: global (0) < link (253) < host (254). */
export function scopeRank(s: RouteScope): number {
  return SCOPE_RANK[s];
}
