// The Internet checksum of RFC 1071 (one's-complement sum of 16-bit words),
// with the incremental update of RFC 1624 for header rewrites such as a TTL
// decrement. Sums are kept unfolded in a plain number: a 64 KiB datagram adds
// at most 2^15 words of 2^16, far below 2^53, so no fold is needed mid-loop.
// imports: nothing

/** Regions shorter than this are summed byte by byte (an IPv4 header, a pseudo-header). */
const WIDE_MIN = 64;

/** How a Uint32Array reads memory here: true on every platform Node ships for but s390x. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// A Uint32Array over each ArrayBuffer summed, made once: skb blocks are
// recycled by the pool, so the same few hundred buffers come back for every
// segment. The last one is kept outside the map (a sender sums its segment,
// then the receiver the same block).
const views = new WeakMap<ArrayBufferLike, Uint32Array>();
let lastBuffer: ArrayBufferLike | null = null;
let lastView: Uint32Array | null = null;

function wordsOf(ab: ArrayBufferLike): Uint32Array {
  if (ab === lastBuffer) return lastView!;
  let v = views.get(ab);
  if (v === undefined) {
    v = new Uint32Array(ab, 0, ab.byteLength >>> 2);
    views.set(ab, v);
  }
  lastBuffer = ab;
  lastView = v;
  return v;
}

/** Swaps the bytes of a folded 16-bit sum: the same sum read from the other byte (RFC 1071 §2(B)). */
function swap16(folded: number): number {
  return ((folded & 0xff) << 8) | (folded >>> 8);
}

/**
 * Adds the bytes `buf[off .. off+len)` to a running sum, as big-endian 16-bit
 * words. An odd trailing byte counts as the high byte of a word padded with
 * zero, so every segment but the last must have an even length.
 *
 * The sum is the same in one's complement whatever the word width and byte
 * order it is taken in (RFC 1071 §2(A), (B)), so a long region is read as
 * aligned 32-bit words, four bytes a load, added without carries into a
 * double (a 64 KiB region adds 2^14 words of < 2^32: below 2^53), folded to
 * 16 bits and byte-swapped back to network order: what Linux's do_csum
 * (lib/checksum.c) does with its odd-address swap, and csum_partial with
 * 64-bit adds. The returned value is congruent to the byte-wise sum modulo
 * 0xffff and zero only when that is zero, so every fold of it is equal.
 */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  if (len < WIDE_MIN) return sum + sumBytes(buf, off, len);
  // Bytes before the first 4-aligned address, summed in network order from off.
  const head = (4 - ((buf.byteOffset + off) & 3)) & 3;
  const words = (len - head) >>> 2;
  const u32 = wordsOf(buf.buffer);
  let w = (buf.byteOffset + off + head) >>> 2;
  const wEnd = w + words;
  let acc = 0;
  for (; w + 8 <= wEnd; w += 8) {
    acc += u32[w]! + u32[w + 1]! + u32[w + 2]! + u32[w + 3]! + u32[w + 4]! + u32[w + 5]! + u32[w + 6]! + u32[w + 7]!;
  }
  for (; w < wEnd; w++) acc += u32[w]!;
  // On a little-endian load the first byte of a word is its low byte; in the
  // region's big-endian words it is a high byte when it sits at an even
  // distance from off. So the folded sum is swapped then, and used as it is
  // when the aligned part starts at an odd distance (big-endian loads: the
  // other way round).
  const folded = checksumFold(acc);
  const odd = (head & 1) === 1;
  const aligned = odd === LITTLE_ENDIAN ? folded : swap16(folded);
  // The tail (0..3 bytes) starts at the same parity as the aligned part.
  const tailAt = off + head + words * 4;
  const tail = sumBytes(buf, tailAt, off + len - tailAt);
  return sum + sumBytes(buf, off, head) + aligned + (odd ? swap16(checksumFold(tail)) : tail);
}

/** The byte-wise sum: big-endian words from `off`, an odd last byte as a high byte. */
function sumBytes(buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  const evenEnd = end - (len & 1);
  let sum = 0;
  let i = off;
  // Unrolled by four words: the whole cost of a short region.
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
