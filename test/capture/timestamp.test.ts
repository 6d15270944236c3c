// skb.tstamp (wall-clock ms, a float) to the three forms the capture and
// capture code writes: pcap sec/nsec and pcapng 64-bit ns in two words.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { putPcapTimestamp, putPcapngTimestamp, tstampToNs } from '../../src/capture/timestamp.ts';

function pcapWords(ms: number): [number, number] {
  const b = Buffer.alloc(8);
  putPcapTimestamp(b, 0, ms);
  return [b.readUInt32LE(0), b.readUInt32LE(4)];
}

function pcapngNs(ms: number): bigint {
  const b = Buffer.alloc(8);
  putPcapngTimestamp(b, 0, ms);
  return (BigInt(b.readUInt32LE(0)) << 32n) | BigInt(b.readUInt32LE(4));
}

test('whole milliseconds and their fraction are kept apart, so no ns digit is invented', () => {
  // 2026-01-01T00:00:00.000Z plus 123.456789 ms: the float holds ~0.24 µs steps at this date.
  const ms = Date.UTC(2026, 0, 1) + 123.456789;
  const ns = tstampToNs(ms);
  const exact = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n + 123_456_789n;
  assert.ok(ns - exact < 300n && exact - ns < 300n, `${ns} is within the float's resolution of ${exact}`);
  assert.equal(ns, BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms - Math.floor(ms)) * 1e6)));
  // What the split avoids: ms * 1e6 is above 2^53 and lands on a multiple of 256 ns.
  assert.equal(BigInt(ms * 1e6) % 256n, 0n);
});

test('pcap sec/nsec and pcapng ns words agree with tstampToNs for any time up to 2106', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 4_294_967_295_000, noNaN: true }), (ms) => {
      const ns = tstampToNs(ms);
      const [sec, nsec] = pcapWords(ms);
      assert.ok(nsec < 1_000_000_000, `nsec ${nsec} < 1e9`);
      assert.equal(BigInt(sec) * 1_000_000_000n + BigInt(nsec), ns);
      assert.equal(pcapngNs(ms), ns);
    }),
    { numRuns: 2000 },
  );
});

test('a fraction that rounds up to a whole millisecond carries into it', () => {
  const ms = 1_000.9999999999; // rounds to 1_000_000 ns of fraction
  assert.equal(tstampToNs(ms), 1_001_000_000n);
  assert.deepEqual(pcapWords(ms), [1, 1_000_000]);
  assert.equal(pcapngNs(ms), 1_001_000_000n);
  const edge = 1_999.99999999999; // carries into the next second
  assert.deepEqual(pcapWords(edge), [2, 0]);
});

test('unset, negative and non-finite stamps are written as the epoch, never as garbage', () => {
  for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(tstampToNs(ms), 0n);
    assert.deepEqual(pcapWords(ms), [0, 0]);
    assert.equal(pcapngNs(ms), 0n);
  }
});
