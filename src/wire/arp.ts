// ARP for Ethernet and IPv4 (RFC 826), constants from
// include/uapi/linux/if_arp.h. Only htype 1 / ptype 0x0800 / 6 / 4 parses;
// other hardware or protocol pairs return undefined, as arp_rcv() drops them.
//
//   0     2     4    5    6     8       14      18      24      28
//   +-----+-----+----+----+-----+-------+-------+-------+-------+
//   |htype|ptype|hlen|plen| op  |  sha  |  spa  |  tha  |  tpa  |
//   +-----+-----+----+----+-----+-------+-------+-------+-------+
//
// imports: errno, eth, mac, ipv4, node:buffer

import { Buffer } from 'node:buffer';
import { NetError } from '../errno.ts';
import { ETH_P_IP } from './eth.ts';
import { formatIpv4, IPV4_ALEN, readIpv4Address, writeIpv4Address } from './ipv4.ts';
import { MAC_LEN } from './mac.ts';

/** Length of an Ethernet/IPv4 ARP packet (without link padding). */
export const ARP_HLEN = 28;
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARPOP_RREQUEST = 3;
export const ARPOP_RREPLY = 4;

/** Field offsets from the start of the ARP packet. */
export const ARP_F = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OP: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

/** What emitArp() needs. Addresses are unsigned 32-bit numbers. */
export interface ArpFields {
  op: number;
  senderMac: Uint8Array;
  senderAddr: number;
  targetMac: Uint8Array;
  targetAddr: number;
}

export interface ArpRepr extends ArpFields {
  senderMac: Buffer;
  targetMac: Buffer;
  /** Dotted-quad forms of senderAddr and targetAddr. */
  senderIp: string;
  targetIp: string;
}

const OP_NAMES: ReadonlyMap<number, string> = new Map([
  [ARPOP_REQUEST, 'request'],
  [ARPOP_REPLY, 'reply'],
  [ARPOP_RREQUEST, 'rarp-request'],
  [ARPOP_RREPLY, 'rarp-reply'],
]);

/** 'request', 'reply', 'rarp-request', 'rarp-reply', or 'op-N'. */
export function arpOpName(op: number): string {
  return OP_NAMES.get(op) ?? `op-${op}`;
}

/** The operation of an Ethernet/IPv4 ARP packet at `off`, or -1 if it is not one or is cut short. */
export function readArpOp(buf: Uint8Array, off = 0): number {
  if (off < 0 || off + ARP_HLEN > buf.length) return -1;
  if (buf[off] !== 0 || buf[off + 1] !== ARPHRD_ETHER) return -1;
  if (buf[off + 2] !== ETH_P_IP >>> 8 || buf[off + 3] !== (ETH_P_IP & 0xff)) return -1;
  if (buf[off + 4] !== MAC_LEN || buf[off + 5] !== IPV4_ALEN) return -1;
  return (buf[off + 6]! << 8) | buf[off + 7]!;
}

/** Parses an Ethernet/IPv4 ARP packet at `off`; undefined for any other kind or when cut short. */
export function parseArp(buf: Uint8Array, off = 0): ArpRepr | undefined {
  const op = readArpOp(buf, off);
  if (op < 0) return undefined;
  const senderAddr = readIpv4Address(buf, off + ARP_F.SPA);
  const targetAddr = readIpv4Address(buf, off + ARP_F.TPA);
  return {
    op,
    senderMac: Buffer.from(buf.subarray(off + ARP_F.SHA, off + ARP_F.SHA + MAC_LEN)),
    senderAddr,
    senderIp: formatIpv4(senderAddr),
    targetMac: Buffer.from(buf.subarray(off + ARP_F.THA, off + ARP_F.THA + MAC_LEN)),
    targetAddr,
    targetIp: formatIpv4(targetAddr),
  };
}

/** Writes a 28-byte ARP packet at `off` and returns the offset past it. Throws EINVAL on bad fields or no room. */
export function emitArp(fields: ArpFields, buf: Uint8Array, off = 0): number {
  if (!Number.isInteger(fields.op) || fields.op < 0 || fields.op > 0xffff) throw new NetError('EINVAL', `bad ARP op ${fields.op}`);
  if (fields.senderMac.length !== MAC_LEN || fields.targetMac.length !== MAC_LEN) throw new NetError('EINVAL', 'ARP hardware addresses must be 6 bytes');
  for (const a of [fields.senderAddr, fields.targetAddr]) {
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) throw new NetError('EINVAL', `bad ARP protocol address ${a}`);
  }
  if (off < 0 || off + ARP_HLEN > buf.length) throw new NetError('EINVAL', 'no room for an ARP packet');
  buf[off] = 0;
  buf[off + 1] = ARPHRD_ETHER;
  buf[off + 2] = ETH_P_IP >>> 8;
  buf[off + 3] = ETH_P_IP & 0xff;
  buf[off + 4] = MAC_LEN;
  buf[off + 5] = IPV4_ALEN;
  buf[off + 6] = fields.op >>> 8;
  buf[off + 7] = fields.op & 0xff;
  buf.set(fields.senderMac, off + ARP_F.SHA);
  writeIpv4Address(buf, off + ARP_F.SPA, fields.senderAddr);
  buf.set(fields.targetMac, off + ARP_F.THA);
  writeIpv4Address(buf, off + ARP_F.TPA, fields.targetAddr);
  return off + ARP_HLEN;
}

/** A fresh 28-byte ARP packet. */
export function encodeArp(fields: ArpFields): Buffer {
  const out = Buffer.alloc(ARP_HLEN);
  emitArp(fields, out, 0);
  return out;
}
