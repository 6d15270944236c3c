import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import { checksumFinish, internetChecksum } from '../../src/wire/checksum.ts';
import { emitUdp, encodeUdp, parseUdp, UDP_HLEN, udpChecksum, udpChecksumValid, udpPseudoHeaderSum } from '../../src/wire/udp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// 10.0.0.1.5000 > 10.0.0.2.53 carrying "hello, world" (tshark: udp checksum good).
const PSEUDO = { srcAddr: 0x0a000001, dstAddr: 0x0a000002 };
const DGRAM = hex('1388 0035 0014 97ba 68656c6c6f2c20776f726c64');

test('parses a real datagram', () => {
  assert.deepEqual(parseUdp(DGRAM), { srcPort: 5000, dstPort: 53, length: 20, checksum: 0x97ba, payloadOffset: 8, payloadLength: 12 });
  assert.equal(udpChecksumValid(DGRAM, 0, DGRAM.length, PSEUDO), true);
  assert.equal(udpChecksumValid(DGRAM, 0, DGRAM.length, { ...PSEUDO, dstAddr: 0x0a000003 }), false);
});

test('encode -> same bytes', () => {
  assert.deepEqual(encodeUdp({ srcPort: 5000, dstPort: 53 }, Buffer.from('hello, world'), PSEUDO), DGRAM);
  const out = Buffer.alloc(40);
  DGRAM.copy(out, 10 + UDP_HLEN, UDP_HLEN);
  assert.equal(emitUdp({ srcPort: 5000, dstPort: 53 }, out, 10, 12, PSEUDO), 30);
  assert.deepEqual(out.subarray(10, 30), DGRAM);
});

test('without addresses the checksum is 0, which always verifies', () => {
  const d = encodeUdp({ srcPort: 1, dstPort: 2 }, Buffer.from('x'));
  assert.equal((d[6]! << 8) | d[7]!, 0);
  assert.equal(udpChecksumValid(d, 0, d.length, PSEUDO), true);
});

test('a computed checksum of 0 is sent as 0xffff (RFC 768)', () => {
  // Choose the last payload word so the complemented sum comes out 0.
  const payload = Buffer.alloc(4);
  const probe = encodeUdp({ srcPort: 1000, dstPort: 2000 }, payload, PSEUDO);
  const c = (probe[6]! << 8) | probe[7]!;
  payload.writeUInt16BE(c, 2);
  const d = encodeUdp({ srcPort: 1000, dstPort: 2000 }, payload, PSEUDO);
  assert.equal((d[6]! << 8) | d[7]!, 0xffff);
  assert.equal(udpChecksumValid(d, 0, d.length, PSEUDO), true);
});

test('pseudo-header sum adds addresses, protocol and length', () => {
  const ph = hex('0a000001 0a000002 0011 0014');
  assert.equal(checksumFinish(udpPseudoHeaderSum(0x0a000001, 0x0a000002, 20)), internetChecksum(ph));
  const zeroed = Buffer.from(DGRAM);
  zeroed[6] = 0;
  zeroed[7] = 0;
  assert.equal(udpChecksum(zeroed, 0, zeroed.length, PSEUDO), 0x97ba);
});

test('length field must fit between 8 and the IP payload length', () => {
  const set = (v: number): Buffer => {
    const b = Buffer.from(DGRAM);
    b[4] = v >>> 8;
    b[5] = v & 0xff;
    return b;
  };
  assert.equal(parseUdp(set(7)), undefined);
  assert.equal(parseUdp(set(21)), undefined);
  assert.deepEqual(parseUdp(set(10))?.payloadLength, 2, 'shorter length field trims');
  for (let n = 0; n < DGRAM.length; n++) assert.equal(parseUdp(DGRAM.subarray(0, n)), undefined);
  assert.equal(parseUdp(DGRAM, 0, 30), undefined);
  assert.equal(udpChecksumValid(DGRAM, 0, 4, PSEUDO), false);
});

test('emit rejects programmer errors with EINVAL', () => {
  const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
  assert.throws(() => encodeUdp({ srcPort: 65536, dstPort: 1 }, Buffer.alloc(0)), isEinval);
  assert.throws(() => encodeUdp({ srcPort: 1, dstPort: -1 }, Buffer.alloc(0)), isEinval);
  assert.throws(() => encodeUdp({ srcPort: 1, dstPort: 1 }, Buffer.alloc(65528)), isEinval);
  assert.throws(() => emitUdp({ srcPort: 1, dstPort: 1 }, Buffer.alloc(10), 0, 4), isEinval);
});

test('property: encode -> parse round trip with a valid checksum', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 64 }),
      fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }),
      (srcPort, dstPort, payload, srcAddr, dstAddr) => {
        const d = encodeUdp({ srcPort, dstPort }, payload, { srcAddr, dstAddr });
        const u = parseUdp(d);
        assert.ok(u);
        assert.deepEqual([u.srcPort, u.dstPort, u.payloadLength], [srcPort, dstPort, payload.length]);
        assert.notEqual(u.checksum, 0);
        assert.equal(udpChecksumValid(d, 0, d.length, { srcAddr, dstAddr }), true);
      },
    ),
  );
});

test('property: parsers never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 40 }), fc.integer({ min: -2, max: 40 }), (b, off, len) => {
      parseUdp(b, off, len);
      parseUdp(b, off);
      udpChecksumValid(b, off, len, PSEUDO);
    }),
  );
});
