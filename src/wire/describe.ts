// A one-line, tcpdump-style (`tcpdump -e -n`) decoding of an Ethernet frame,
// for logs, the WebSocket frame stream and the CLI. Layers it does not decode
// end the line; a header cut short prints tcpdump's `[|proto]` marker. It
// never throws: every read is bounds-checked first. ARP lines leave out
// tcpdump's trailing `, length 28`, which never varies for Ethernet/IPv4 ARP.
// imports: mac, eth, vlan, arp, ipv4, ipv6, icmp, udp, vxlan, checksum

import { ARP_F, ARP_HLEN, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST, ARPOP_RREPLY, ARPOP_RREQUEST } from './arp.ts';
import { checksumValid } from './checksum.ts';
import { ETH_HLEN, ETH_P_802_3_MIN, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ethTypeHex, ethTypeName } from './eth.ts';
import { ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, icmpTypeName } from './icmp.ts';
import { formatIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, ipProtoName, readIpv4Address } from './ipv4.ts';
import {
  formatIpv6, ICMPV6_ECHO_REPLY, IPPROTO_NONE, ICMPV6_ECHO_REQUEST, icmpv6TypeName, IPPROTO_ICMPV6, IPV6_F, IPV6_HLEN,
  ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT,
} from './ipv6.ts';
import { formatMac, isZeroMac } from './mac.ts';
import { UDP_HLEN, udpChecksumValid } from './udp.ts';
import { isVlanTpid, VLAN_F } from './vlan.ts';
import { parseVxlanHeader, VXLAN_FLAG_I, VXLAN_PORT } from './vxlan.ts';

/** Tags and tunnels nest; bound the depth so a crafted frame cannot recurse far. */
const MAX_DEPTH = 8;

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const hex4 = (v: number): string => '0x' + v.toString(16).padStart(4, '0');

/** `src > dst, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.2 tell 10.0.0.1` */
export function describeFrame(buf: Uint8Array): string {
  return describeEth(buf, 0, 0);
}

function describeEth(buf: Uint8Array, off: number, depth: number): string {
  const len = buf.length - off;
  if (len < ETH_HLEN) return '[|ether]';
  const head = `${formatMac(buf, off + 6)} > ${formatMac(buf, off)}, `;
  const type = u16(buf, off + 12);
  // tcpdump prints the 802.3 length field here, not the frame length.
  if (type < ETH_P_802_3_MIN) return `${head}802.3, length ${type}`;
  return `${head}${etherType(type)}, length ${len}` + withColon(describeType(buf, off + ETH_HLEN, type, depth));
}

function etherType(type: number): string {
  const name = ethTypeName(type);
  return `ethertype ${name === ethTypeHex(type) ? 'Unknown' : name} (${ethTypeHex(type)})`;
}

const withColon = (s: string): string => (s === '' ? '' : ': ' + s);

/** The part after the link header for an EtherType; '' when not decoded. */
function describeType(buf: Uint8Array, p: number, type: number, depth: number): string {
  if (isVlanTpid(type)) return describeVlan(buf, p - 2, depth + 1);
  if (type === ETH_P_ARP) return describeArp(buf, p);
  if (type === ETH_P_IP) return describeIpv4(buf, p, depth);
  if (type === ETH_P_IPV6) return describeIpv6(buf, p, depth);
  return '';
}

/** `tag` points at the TPID, as everywhere in vlan.ts. */
function describeVlan(buf: Uint8Array, tag: number, depth: number): string {
  if (depth > MAX_DEPTH || tag + VLAN_F.PAYLOAD > buf.length) return '[|vlan]';
  const tci = u16(buf, tag + VLAN_F.TCI);
  const inner = u16(buf, tag + VLAN_F.INNER_TYPE);
  const dei = tci & 0x1000 ? ', DEI' : '';
  const tagText = `vlan ${tci & 0x0fff}, p ${tci >>> 13}${dei}, `;
  if (inner < ETH_P_802_3_MIN) return `${tagText}802.3`;
  const rest = describeType(buf, tag + VLAN_F.PAYLOAD, inner, depth);
  return tagText + etherType(inner) + (rest === '' ? '' : ', ' + rest);
}

function describeArp(buf: Uint8Array, p: number): string {
  if (p + 8 > buf.length) return '[|arp]';
  const htype = u16(buf, p);
  const ptype = u16(buf, p + 2);
  const op = u16(buf, p + 6);
  if (htype !== ARPHRD_ETHER || ptype !== ETH_P_IP || buf[p + 4] !== 6 || buf[p + 5] !== 4) {
    return `ARP, hardware type ${htype}, protocol ${hex4(ptype)}, op ${op}`;
  }
  if (p + ARP_HLEN > buf.length) return '[|arp]';
  const sha = formatMac(buf, p + ARP_F.SHA);
  const tha = formatMac(buf, p + ARP_F.THA);
  const spa = formatIpv4(u32(buf, p + ARP_F.SPA));
  const tpa = formatIpv4(u32(buf, p + ARP_F.TPA));
  switch (op) {
    case ARPOP_REQUEST:
      return `Request who-has ${tpa}${isZeroMac(buf, p + ARP_F.THA) ? '' : ` (${tha})`} tell ${spa}`;
    case ARPOP_REPLY:
      return `Reply ${spa} is-at ${sha}`;
    case ARPOP_RREQUEST:
      return `Reverse Request who-is ${tha} tell ${sha}`;
    case ARPOP_RREPLY:
      return `Reverse Reply ${tha} at ${tpa}`;
    default:
      return `ARP, op ${op}, ${spa} > ${tpa}`;
  }
}

function describeIpv4(buf: Uint8Array, p: number, depth: number): string {
  const avail = buf.length - p;
  if (avail < 1) return '[|ip]';
  const version = buf[p]! >>> 4;
  if (version !== 4) return `IP ver ${version}`;
  if (avail < IPV4_HLEN) return '[|ip]';
  const hlen = (buf[p]! & 0x0f) << 2;
  if (hlen < IPV4_HLEN) return `bad-hlen ${hlen}`;
  if (hlen > avail) return '[|ip]';
  const total = u16(buf, p + 2);
  if (total < hlen) return `bad-len ${total}`;
  const missing = total > avail ? total - avail : 0;
  const len = total - hlen - missing; // bytes of payload actually present
  const src = formatIpv4(readIpv4Address(buf, p + 12));
  const dst = formatIpv4(readIpv4Address(buf, p + 16));
  const proto = buf[p + 9]!;
  let prefix = missing > 0 ? `truncated-ip - ${missing} bytes missing! ` : '';
  if (!checksumValid(buf, p, hlen)) prefix += `[bad ip cksum ${hex4(u16(buf, p + 10))}] `;
  const frag = u16(buf, p + 6);
  const fragOffset = (frag & 0x1fff) << 3;
  if (fragOffset > 0) {
    return `${prefix}${src} > ${dst}: ${ipProtoName(proto)} fragment, id ${u16(buf, p + 4)}, offset ${fragOffset}, length ${total - hlen}`;
  }
  const l4 = p + hlen;
  const full = missing === 0;
  switch (proto) {
    case IPPROTO_ICMP:
      return prefix + describeIcmp(buf, l4, len, total - hlen, full, src, dst);
    case IPPROTO_UDP:
      return prefix + describeUdp(buf, l4, len, full, u32(buf, p + 12), u32(buf, p + 16), src, dst, depth);
    case IPPROTO_TCP:
      return prefix + describeTcp(buf, l4, len, total - hlen, src, dst);
    default:
      return `${prefix}${src} > ${dst}: ${ipProtoName(proto)}, length ${total - hlen}`;
  }
}

/** The fixed header only: an extension header ends the line with its protocol name, as an unknown L4 does. */
function describeIpv6(buf: Uint8Array, p: number, depth: number): string {
  const avail = buf.length - p;
  if (avail < 1) return '[|ip6]';
  const version = buf[p]! >>> 4;
  if (version !== 6) return `IP6 ver ${version}`;
  if (avail < IPV6_HLEN) return '[|ip6]';
  const plen = u16(buf, p + IPV6_F.PAYLOAD_LEN);
  const next = buf[p + IPV6_F.NEXT_HEADER]!;
  const src = formatIpv6(buf, p + IPV6_F.SRC);
  const dst = formatIpv6(buf, p + IPV6_F.DST);
  const l4 = p + IPV6_HLEN;
  const len = Math.min(plen, buf.length - l4); // payload bytes actually present
  const full = len === plen;
  switch (next) {
    case IPPROTO_ICMPV6:
      return describeIcmpv6(buf, l4, len, plen, src, dst);
    case IPPROTO_UDP: {
      if (len < UDP_HLEN) return `${src} > ${dst}: [|udp]`;
      const sport = u16(buf, l4);
      const dport = u16(buf, l4 + 2);
      const ulen = u16(buf, l4 + 4);
      const head = `${src}.${sport} > ${dst}.${dport}: `;
      if (ulen < UDP_HLEN) return `${head}UDP, bad length ${ulen}`;
      if (full && ulen > len) return `${head}UDP, bad length ${ulen} > ${len}`;
      if (dport === VXLAN_PORT && depth < MAX_DEPTH) return head + describeVxlan(buf.subarray(0, Math.min(buf.length, l4 + ulen)), l4 + UDP_HLEN, depth);
      return `${head}UDP, length ${ulen - UDP_HLEN}`;
    }
    case IPPROTO_TCP:
      return describeTcp(buf, l4, len, plen, src, dst);
    case IPPROTO_NONE:
      return `${src} > ${dst}: no next header`;
    default:
      return `${src} > ${dst}: ${ipProtoName(next)}, length ${plen}`;
  }
}

/** tcpdump -n's ICMP6 line: echo with id/seq, neighbor solicitation/advertisement with their target. */
function describeIcmpv6(buf: Uint8Array, p: number, len: number, wireLen: number, src: string, dst: string): string {
  if (len < 4) return `${src} > ${dst}: [|icmp6]`;
  const type = buf[p]!;
  const head = `${src} > ${dst}: ICMP6, ${icmpv6TypeName(type)}`;
  if (type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY) {
    if (len < 8) return `${head}, [|icmp6]`;
    return `${head}, id ${u16(buf, p + 4)}, seq ${u16(buf, p + 6)}, length ${wireLen}`;
  }
  if (type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT) {
    if (len < 24) return `${head}, [|icmp6]`;
    const target = formatIpv6(buf, p + 8);
    return type === ND_NEIGHBOR_SOLICIT ? `${head}, who has ${target}, length ${wireLen}` : `${head}, tgt is ${target}, length ${wireLen}`;
  }
  return `${head}, length ${wireLen}`;
}

function describeIcmp(buf: Uint8Array, p: number, len: number, wireLen: number, full: boolean, src: string, dst: string): string {
  if (len < 4) return `${src} > ${dst}: [|icmp]`;
  const type = buf[p]!;
  const code = buf[p + 1]!;
  const bad = full && !checksumValid(buf, p, len) ? ` [bad icmp cksum ${hex4(u16(buf, p + 2))}]` : '';
  if (type === ICMP_ECHO || type === ICMP_ECHOREPLY) {
    if (len < ICMP_HLEN) return `${src} > ${dst}: [|icmp]`;
    return `${src} > ${dst}: ICMP ${icmpTypeName(type, code)}, id ${u16(buf, p + 4)}, seq ${u16(buf, p + 6)}, length ${wireLen}${bad}`;
  }
  return `${src} > ${dst}: ICMP ${icmpTypeName(type, code)}, length ${wireLen}${bad}`;
}

function describeUdp(
  buf: Uint8Array, p: number, len: number, full: boolean,
  srcAddr: number, dstAddr: number, src: string, dst: string, depth: number,
): string {
  if (len < UDP_HLEN) return `${src} > ${dst}: [|udp]`;
  const sport = u16(buf, p);
  const dport = u16(buf, p + 2);
  const ulen = u16(buf, p + 4);
  const head = `${src}.${sport} > ${dst}.${dport}: `;
  if (ulen < UDP_HLEN) return `${head}UDP, bad length ${ulen}`;
  if (full && ulen > len) return `${head}UDP, bad length ${ulen} > ${len}`;
  const bad = full && !udpChecksumValid(buf, p, ulen, { srcAddr, dstAddr }) ? ` [bad udp cksum ${hex4(u16(buf, p + 6))}]` : '';
  if (dport === VXLAN_PORT && depth < MAX_DEPTH) return head + describeVxlan(buf.subarray(0, Math.min(buf.length, p + ulen)), p + UDP_HLEN, depth);
  return `${head}UDP, length ${ulen - UDP_HLEN}${bad}`;
}

/** `end` of `buf` is the end of the UDP datagram, so link padding is not taken for the inner frame. */
function describeVxlan(buf: Uint8Array, p: number, depth: number): string {
  const vx = parseVxlanHeader(buf, p);
  if (!vx.ok && vx.error === 'runt') return 'VXLAN [|vxlan]';
  const flags = buf[p]!;
  const head = `VXLAN, flags [${flags & VXLAN_FLAG_I ? 'I' : '.'}] (${'0x' + flags.toString(16).padStart(2, '0')})`;
  // Without the I flag the VNI means nothing and receivers drop the datagram.
  if (!vx.ok) return head;
  return `${head}, vni ${vx.vni}: ${describeEth(buf, vx.payloadOffset, depth + 1)}`;
}

const TCP_FLAGS: ReadonlyArray<[number, string]> = [[0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W'], [0x10, '.']];

function describeTcp(buf: Uint8Array, p: number, len: number, wireLen: number, src: string, dst: string): string {
  if (len < 20) return `${src} > ${dst}: [|tcp]`;
  const head = `${src}.${u16(buf, p)} > ${dst}.${u16(buf, p + 2)}: `;
  const doff = (buf[p + 12]! >>> 4) << 2;
  if (doff < 20) return `${head}tcp bad-hlen ${doff}`;
  const bits = buf[p + 13]!;
  let flags = '';
  for (const [bit, ch] of TCP_FLAGS) if (bits & bit) flags += ch;
  if (flags === '') flags = 'none';
  const ack = bits & 0x10 ? `, ack ${u32(buf, p + 8)}` : '';
  const dataLen = Math.max(0, wireLen - doff);
  return `${head}Flags [${flags}], seq ${u32(buf, p + 4)}${ack}, win ${u16(buf, p + 14)}, length ${dataLen}`;
}
