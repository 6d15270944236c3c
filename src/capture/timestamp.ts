// skb.tstamp is wall-clock milliseconds as a float (about 1.8e12 today).
// Multiplying it by 1e6 would give about 1.8e18 ns, far above 2^53, and the
// low digits would be invented by rounding. So the whole milliseconds (an
// exact integer) and the nanoseconds within that millisecond are kept
// apart, and the 64-bit and sec/nsec forms are assembled from the two.
// The float itself resolves about 0.24 µs at today's dates: the digits below
// that are honest zeros of rounding, not noise.
//
// The writers call the two put* functions once per frame: plain integer
// arithmetic in doubles (every intermediate stays below 2^53), no BigInt.

const TWO32 = 0x1_0000_0000;
const NS_PER_MS = 1_000_000;

/** Whole milliseconds of a timestamp; 0 for negative or non-finite input. */
function wholeMs(ms: number): number {
  return ms > 0 && Number.isFinite(ms) ? Math.floor(ms) : 0;
}

/** Nanoseconds of the sub-millisecond fraction, rounded: 0..1_000_000 (1e6 means carry). */
function fractionNs(ms: number, whole: number): number {
  return ms > 0 && Number.isFinite(ms) ? Math.round((ms - whole) * NS_PER_MS) : 0;
}

function put32le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** The timestamp in nanoseconds since the epoch, exactly as the writers encode it. */
export function tstampToNs(ms: number): bigint {
  const whole = wholeMs(ms);
  return BigInt(whole) * 1_000_000n + BigInt(fractionNs(ms, whole));
}

/** pcap record: ts_sec then ts_nsec (little-endian), at `off`. */
export function putPcapTimestamp(buf: Uint8Array, off: number, ms: number): void {
  let whole = wholeMs(ms);
  let ns = fractionNs(ms, whole);
  if (ns >= NS_PER_MS) {
    whole++;
    ns -= NS_PER_MS;
  }
  const sec = Math.floor(whole / 1000);
  put32le(buf, off, sec);
  put32le(buf, off + 4, (whole - sec * 1000) * NS_PER_MS + ns);
}

/**
 * pcapng EPB/ISB: the 64-bit ns count as ts_high then ts_low (little-endian
 * words), at `off`. whole = a * 2^32 + b; whole * 1e6 + ns =
 * a * 1e6 * 2^32 + (b * 1e6 + ns), and b * 1e6 + ns < 2^53 stays exact.
 */
export function putPcapngTimestamp(buf: Uint8Array, off: number, ms: number): void {
  const whole = wholeMs(ms);
  const a = Math.floor(whole / TWO32);
  const low = (whole - a * TWO32) * NS_PER_MS + fractionNs(ms, whole);
  const carry = Math.floor(low / TWO32);
  put32le(buf, off, a * NS_PER_MS + carry);
  put32le(buf, off + 4, low - carry * TWO32);
}
