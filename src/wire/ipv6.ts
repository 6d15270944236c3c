// IPv6 (RFC 8200) and ICMPv6 (RFC 4443, Neighbor Discovery RFC 4861): the
// fixed header's offsets and the text form of an address, for the one-line
// decode (describe.ts). The stack itself does not route IPv6.

export const IPV6_HLEN = 40;
export const IPPROTO_ICMPV6 = 58;
/** No next header (RFC 8200 §4.7). */
export const IPPROTO_NONE = 59;

/** Offsets in the fixed header. */
export const IPV6_F = { PAYLOAD_LEN: 4, NEXT_HEADER: 6, HOP_LIMIT: 7, SRC: 8, DST: 24 } as const;

export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

/** tcpdump's names for ICMPv6 types (print-icmp6.c icmp6_type_values). */
const ICMPV6_NAMES = new Map<number, string>([
  [1, 'destination unreachable'],
  [2, 'packet too big'],
  [3, 'time exceeded in-transit'],
  [4, 'parameter problem'],
  [ICMPV6_ECHO_REQUEST, 'echo request'],
  [ICMPV6_ECHO_REPLY, 'echo reply'],
  [130, 'multicast listener query'],
  [131, 'multicast listener report'],
  [132, 'multicast listener done'],
  [ND_ROUTER_SOLICIT, 'router solicitation'],
  [ND_ROUTER_ADVERT, 'router advertisement'],
  [ND_NEIGHBOR_SOLICIT, 'neighbor solicitation'],
  [ND_NEIGHBOR_ADVERT, 'neighbor advertisement'],
  [ND_REDIRECT, 'redirect'],
  [143, 'multicast listener report v2'],
]);

export function icmpv6TypeName(type: number): string {
  return ICMPV6_NAMES.get(type) ?? `icmp6 type-#${type}`;
}

/**
 * The RFC 5952 text form of the 16-byte address at `off`: lower-case hex,
 * no leading zeros, the longest run (first of equals) of two or more zero
 * groups as `::`, and an IPv4-mapped address as `::ffff:a.b.c.d`.
 */
export function formatIpv6(buf: Uint8Array, off = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}
