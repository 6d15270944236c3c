import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import {
  checksumAdd, checksumAddU16, checksumAddU32, checksumFinish, checksumFold,
  checksumUpdate16, checksumValid, internetChecksum,
} from '../../src/wire/checksum.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Straight from the RFC's definition, to compare the unrolled loop against.
function reference(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

// The byte-wise running sum, unfolded, as checksumAdd's contract states it.
function referenceAdd(sum: number, bytes: Uint8Array, off: number, len: number): number {
  for (let i = 0; i < len; i += 2) sum += (bytes[off + i]! << 8) | (i + 1 < len ? bytes[off + i + 1]! : 0);
  return sum;
}

test('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
  const b = hex('0001f203f4f5f6f7');
  assert.equal(checksumFold(checksumAdd(0, b, 0, b.length)), 0xddf2);
  assert.equal(internetChecksum(b), 0x220d);
});

test('a real IPv4 header (192.168.0.1 > 192.168.0.199, UDP) checks as b861', () => {
  const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  assert.equal(checksumValid(h), true);
  assert.equal(internetChecksum(h), 0, 'summing a correct header with its checksum gives 0');
  const zeroed = Buffer.from(h);
  zeroed[10] = 0;
  zeroed[11] = 0;
  assert.equal(internetChecksum(zeroed), 0xb861);
  zeroed[0] = 0x46;
  assert.equal(checksumValid(zeroed), false);
});

test('odd lengths pad the last byte as a high byte', () => {
  assert.equal(internetChecksum(hex('01')), ~0x0100 & 0xffff);
  assert.equal(internetChecksum(hex('0102 03')), ~(0x0102 + 0x0300) & 0xffff);
  assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
});

test('offset and length select a sub-range', () => {
  const b = hex('ffff 0001f203f4f5f6f7 ffff');
  assert.equal(internetChecksum(b, 2, 8), 0x220d);
});

test('pseudo-header helpers add 16- and 32-bit values as words', () => {
  assert.equal(checksumAddU16(0, 0x1_2345), 0x2345);
  assert.equal(checksumAddU32(0, 0x0a000001), 0x0a00 + 0x0001);
  assert.equal(checksumFinish(0xffff), 0);
  assert.equal(checksumFold(0x1_fffe), 0xffff);
  assert.equal(checksumFold(2 ** 40 + 5), checksumFold((2 ** 40 % 0xffff) + 5));
});

test('property: unrolled sum equals the RFC definition', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.equal(internetChecksum(bytes), reference(bytes));
    }),
  );
});

test('property: storing the checksum makes the data verify', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), (bytes) => {
      const b = Buffer.from(bytes);
      b[0] = 0;
      b[1] = 0;
      const c = internetChecksum(b);
      b[0] = c >>> 8;
      b[1] = c & 0xff;
      assert.equal(checksumValid(b), true);
    }),
  );
});

test('property: incremental sums over even-length segments equal one pass', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(100), (bytes, cut) => {
      const split = Math.min(bytes.length, cut * 2);
      const partial = checksumAdd(checksumAdd(0, bytes, 0, split), bytes, split, bytes.length - split);
      assert.equal(checksumFinish(partial), internetChecksum(bytes));
    }),
  );
});

test('property: RFC 1624 update equals a recomputation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 2, max: 9 }), (bytes, word, at) => {
      const b = Buffer.from(bytes);
      b[0] = 0;
      b[1] = 0;
      const before = internetChecksum(b);
      const i = at * 2;
      const old = (b[i]! << 8) | b[i + 1]!;
      b[i] = word >>> 8;
      b[i + 1] = word & 0xff;
      const after = checksumUpdate16(before, old, word);
      // 0x0000 and 0xffff are the same value in one's complement.
      assert.equal(after % 0xffff, internetChecksum(b) % 0xffff);
      b[0] = after >>> 8;
      b[1] = after & 0xff;
      assert.equal(checksumValid(b), true);
    }),
  );
});

test('TTL decrement via RFC 1624 keeps the header valid', () => {
  const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  const oldWord = (h[8]! << 8) | h[9]!;
  h[8] = h[8]! - 1;
  const check = checksumUpdate16(0xb861, oldWord, (h[8]! << 8) | h[9]!);
  h[10] = check >>> 8;
  h[11] = check & 0xff;
  assert.equal(check, 0xb961);
  assert.equal(checksumValid(h), true);
});

test('property: the 32-bit sum equals the byte-wise one on any length, offset, alignment and starting sum', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 3000 }),
      fc.nat(7),
      fc.nat(3000),
      fc.nat(3000),
      fc.nat(2 ** 40),
      (bytes, shift, a, b, start) => {
        // A view that starts `shift` bytes into its ArrayBuffer, so every alignment of off is seen.
        const backing = new Uint8Array(bytes.length + 8);
        const buf = backing.subarray(shift, shift + bytes.length);
        buf.set(bytes);
        const off = Math.min(a, bytes.length);
        const len = Math.min(b, bytes.length - off);
        const got = checksumAdd(start, buf, off, len);
        const want = referenceAdd(start, buf, off, len);
        assert.equal(checksumFold(got), checksumFold(want));
        assert.equal(got === 0, want === 0);
      },
    ),
    { numRuns: 500 },
  );
});

test('property: long regions of 0xff and 0x00 (the folds\' edge cases) and Buffer pool slices', () => {
  fc.assert(
    fc.property(fc.integer({ min: 64, max: 2000 }), fc.nat(3), fc.constantFrom(0x00, 0xff, 0x01, 0x80), (len, off, fill) => {
      const b = Buffer.alloc(len + 4, fill);
      assert.equal(checksumFold(checksumAdd(0, b, off, len)), checksumFold(referenceAdd(0, b, off, len)));
      const pooled = Buffer.from(b); // a slice of Node's shared pool, at whatever byteOffset it got
      assert.equal(checksumValid(pooled, off, len), checksumFold(referenceAdd(0, b, off, len)) === 0xffff);
    }),
  );
});

test('property: a stored checksum verifies over long odd-aligned regions, and one flipped bit fails it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 1600 }), fc.nat(3), fc.nat(), (bytes, shift, flip) => {
      const backing = new Uint8Array(bytes.length + 4);
      const b = backing.subarray(shift, shift + bytes.length);
      b.set(bytes);
      b[0] = 0;
      b[1] = 0;
      const c = internetChecksum(b);
      b[0] = c >>> 8;
      b[1] = c & 0xff;
      assert.equal(checksumValid(b), true);
      const bit = flip % (b.length * 8);
      b[bit >>> 3] = b[bit >>> 3]! ^ (1 << (bit & 7));
      assert.equal(checksumValid(b), false);
    }),
  );
});
