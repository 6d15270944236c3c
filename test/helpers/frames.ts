// Frames for tests: an Ethernet header, a sequence number right after it, and
// a recognisable fill, so a receiver can check order and integrity.

import { Buffer } from 'node:buffer';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { parseMac } from '../../src/wire/mac.ts';

/** IEEE 802 "local experimental" ethertype: nothing in the stack handles it. */
export const ETH_P_TEST = 0x88b5;

export type MacLike = Buffer | string | NetDevice;

export function mac(m: MacLike): Buffer {
  if (typeof m === 'string') {
    const b = parseMac(m);
    if (b === undefined) throw new Error(`bad MAC in test: ${m}`);
    return b;
  }
  if (Buffer.isBuffer(m)) return m;
  return m.devAddr;
}

export interface FrameSpec {
  dst: MacLike;
  src?: MacLike;
  /** Ethertype or 802.3 length field (default ETH_P_TEST). */
  type?: number;
  /** Whole frame length including the 14-byte header (default 60). */
  size?: number;
  /** Written as a uint32 right after the header. */
  seq?: number;
  /** Bytes after the header (overrides seq and fill). */
  payload?: Uint8Array;
}

export function buildFrame(spec: FrameSpec): Buffer {
  const size = spec.payload ? 14 + spec.payload.length : (spec.size ?? 60);
  const f = Buffer.alloc(size);
  mac(spec.dst).copy(f, 0);
  mac(spec.src ?? '02:00:00:00:00:99').copy(f, 6);
  f.writeUInt16BE(spec.type ?? ETH_P_TEST, 12);
  if (spec.payload) {
    f.set(spec.payload, 14);
  } else {
    for (let i = 18; i < size; i++) f[i] = i & 0xff;
    if (size >= 18) f.writeUInt32BE((spec.seq ?? 0) >>> 0, 14);
  }
  return f;
}

/** The sequence number buildFrame wrote (assumes an untagged frame). */
export function seqOf(frame: Uint8Array): number {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).readUInt32BE(14);
}
