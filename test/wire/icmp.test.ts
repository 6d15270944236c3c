import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  emitIcmpEcho, encodeIcmpEcho, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, icmpTypeName, parseIcmpEcho, parseIcmpHeader,
} from '../../src/wire/icmp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Echo request id 1 seq 1 with Linux ping's 56 data bytes (timeval + 0x10..0x37),
// checksum 0d60 (tshark: icmp checksum good).
const ECHO = hex(`
  0800 0d60 0001 0001 e3a1f0650000000050c3070000000000
  101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`);

test('parses a real echo request', () => {
  assert.deepEqual(parseIcmpEcho(ECHO), {
    type: ICMP_ECHO, code: 0, checksum: 0x0d60, checksumValid: true, length: 64,
    id: 1, seq: 1, payloadOffset: 8, payloadLength: 56,
  });
  assert.deepEqual(parseIcmpHeader(ECHO), { type: 8, code: 0, checksum: 0x0d60, checksumValid: true, length: 64 });
});

test('encode -> same bytes; the reply differs only in type and checksum', () => {
  const payload = ECHO.subarray(ICMP_HLEN);
  assert.deepEqual(encodeIcmpEcho({ type: ICMP_ECHO, id: 1, seq: 1 }, payload), ECHO);
  const reply = encodeIcmpEcho({ type: ICMP_ECHOREPLY, id: 1, seq: 1 }, payload);
  assert.equal(reply[0], 0);
  // RFC 1624: changing the type word 0x0800 -> 0x0000 adds 0x0800 to the checksum.
  assert.equal((reply[2]! << 8) | reply[3]!, 0x0d60 + 0x0800);
  assert.equal(parseIcmpEcho(reply)?.checksumValid, true);
});

test('emit over data in place, at an offset', () => {
  const out = Buffer.alloc(100);
  ECHO.copy(out, 20 + ICMP_HLEN, ICMP_HLEN);
  assert.equal(emitIcmpEcho({ type: 8, id: 1, seq: 1 }, out, 20, 56), 84);
  assert.deepEqual(out.subarray(20, 84), ECHO);
});

test('length excludes link padding from the checksum', () => {
  const padded = Buffer.concat([ECHO, Buffer.from([1, 2, 3])]);
  assert.equal(parseIcmpEcho(padded, 0, ECHO.length)?.checksumValid, true);
  assert.equal(parseIcmpEcho(padded)?.checksumValid, false);
});

test('a corrupted byte fails the checksum but still parses', () => {
  const bad = Buffer.from(ECHO);
  bad[20] = bad[20]! ^ 0xff;
  assert.equal(parseIcmpEcho(bad)?.checksumValid, false);
});

test('non-echo types and short messages', () => {
  const unreach = hex('0303 fcfc 00000000');
  assert.equal(parseIcmpEcho(unreach), undefined);
  assert.equal(parseIcmpHeader(unreach)?.type, 3);
  for (let n = 0; n < ICMP_HLEN; n++) assert.equal(parseIcmpEcho(ECHO.subarray(0, n)), undefined);
  assert.equal(parseIcmpHeader(ECHO.subarray(0, 3)), undefined);
  assert.equal(parseIcmpEcho(ECHO, 0, 65), undefined, 'length past the buffer');
  assert.equal(parseIcmpEcho(ECHO, -1), undefined);
});

test('type names', () => {
  assert.equal(icmpTypeName(8, 0), 'echo request');
  assert.equal(icmpTypeName(0, 0), 'echo reply');
  assert.equal(icmpTypeName(3, 3), 'port unreachable');
  assert.equal(icmpTypeName(3, 1), 'host unreachable');
  assert.equal(icmpTypeName(3, 15), 'code-#15 unreachable');
  assert.equal(icmpTypeName(11, 0), 'time exceeded in-transit');
  assert.equal(icmpTypeName(42, 0), 'type-#42');
});

test('emit rejects programmer errors with EINVAL', () => {
  const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
  assert.throws(() => encodeIcmpEcho({ type: 3, id: 1, seq: 1 }), isEinval);
  assert.throws(() => encodeIcmpEcho({ type: 8, id: 0x10000, seq: 1 }), isEinval);
  assert.throws(() => encodeIcmpEcho({ type: 8, id: 1, seq: -1 }), isEinval);
  assert.throws(() => emitIcmpEcho({ type: 8, id: 1, seq: 1 }, Buffer.alloc(10), 0, 4), isEinval);
});

test('property: encode -> parse round trip with a valid checksum', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(ICMP_ECHO, ICMP_ECHOREPLY), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 100 }),
      (type, id, seq, payload) => {
        const m = encodeIcmpEcho({ type, id, seq }, payload);
        const p = parseIcmpEcho(m);
        assert.ok(p);
        assert.deepEqual([p.type, p.id, p.seq, p.payloadLength, p.checksumValid], [type, id, seq, payload.length, true]);
        assert.deepEqual(m.subarray(p.payloadOffset), Buffer.from(payload));
      },
    ),
  );
});

test('property: parsers never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 40 }), fc.integer({ min: -2, max: 40 }), (b, off, len) => {
      parseIcmpEcho(b, off, len);
      parseIcmpHeader(b, off, len);
      parseIcmpEcho(b, off);
    }),
  );
});
