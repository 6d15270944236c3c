// The Internet checksum of RFC 1071 (one's-complement sum of 16-bit words),
// with the incremental update of RFC 1624 for header rewrites such as a TTL
// decrement. Sums are kept unfolded in a plain number: a 64 KiB datagram adds
// at most 2^15 words of 2^16, far below 2^53, so no fold is needed mid-loop.
// imports: nothing

/**
 * Adds the bytes `buf[off .. off+len)` to a running sum, as big-endian 16-bit
 * words. An odd trailing byte counts as the high byte of a word padded with
 * zero, so every segment but the last must have an even length.
 */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  const evenEnd = end - (len & 1);
  let i = off;
  // Unrolled by four words: this loop is the cost of every UDP and ICMP packet.
  for (; i + 8 <= evenEnd; i += 8) {
    sum +=
      ((buf[i]! << 8) | buf[i + 1]!) +
      ((buf[i + 2]! << 8) | buf[i + 3]!) +
      ((buf[i + 4]! << 8) | buf[i + 5]!) +
      ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i < evenEnd; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) sum += buf[end - 1]! << 8;
  return sum;
}

/** Adds one 16-bit value (e.g. a pseudo-header field) to a running sum. */
export function checksumAddU16(sum: number, value: number): number {
  return sum + (value & 0xffff);
}

/** Adds a 32-bit value, such as an IPv4 address, as two 16-bit words. */
export function checksumAddU32(sum: number, value: number): number {
  return sum + (value >>> 16) + (value & 0xffff);
}

/** Folds the carries of a running sum back into 16 bits (no complement). */
export function checksumFold(sum: number): number {
  // Two rounds are not always enough for sums above 2^32, so loop.
  while (sum > 0xffff) {
    sum = sum > 0xffffffff ? (sum % 0x10000) + Math.floor(sum / 0x10000) : (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** Folds and complements a running sum: the value to store in a header. */
export function checksumFinish(sum: number): number {
  return ~checksumFold(sum) & 0xffff;
}

/**
 * The checksum of `buf[off .. off+len)`, ready to store. Computed over a
 * region whose checksum field is zero; over a region that already holds a
 * correct checksum it returns 0.
 */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return checksumFinish(checksumAdd(0, buf, off, len));
}

/** True when the region, checksum field included, sums to 0xffff. */
export function checksumValid(buf: Uint8Array, off = 0, len = buf.length - off): boolean {
  return checksumFold(checksumAdd(0, buf, off, len)) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered
 * data changes from `oldWord` to `newWord`, without summing the data again.
 */
export function checksumUpdate16(check: number, oldWord: number, newWord: number): number {
  const sum = (~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~checksumFold(sum) & 0xffff;
}
