// IPv4 addresses and prefixes as ip reads them, refused with ip's wording
// ("Error: any valid prefix is expected rather than ...") before any request.

import { ArgError } from '../errors.ts';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function parseIpv4(value: string, what: string, topic: string): string {
  if (!isIpv4(value)) throw new ArgError(`an inet address is expected rather than "${value}"`, topic);
  void what;
  return value;
}

/** A.B.C.D[/N], N 0..32. */
export function parsePrefix(value: string, what: string, topic: string): string {
  const slash = value.indexOf('/');
  const addr = slash < 0 ? value : value.slice(0, slash);
  const len = slash < 0 ? undefined : value.slice(slash + 1);
  if (!isIpv4(addr) || (len !== undefined && !/^(?:3[0-2]|[12]?[0-9])$/.test(len))) {
    throw new ArgError(`any valid prefix is expected rather than "${value}"`, topic);
  }
  void what;
  return value;
}

/** A route destination: default, all, any, or a prefix. */
export function parseRouteDst(value: string, topic: string): string {
  if (value === 'default' || value === 'all' || value === 'any' || value === '0/0') return 'default';
  return parsePrefix(value, 'to', topic);
}
