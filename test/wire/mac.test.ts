import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  BROADCAST_MAC, formatMac, isBroadcastMac, isLocalAdminMac, isMulticastMac, isValidUnicastMac,
  isZeroMac, macEquals, parseMac, randomMac, ZERO_MAC,
} from '../../src/wire/mac.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('parseMac accepts colons or dashes in either case', () => {
  for (const s of ['02:00:00:00:00:01', '02-00-00-00-00-01', '02:00:00:00:00:01'.toUpperCase()]) {
    assert.deepEqual(parseMac(s), hex('020000000001'), s);
  }
  assert.deepEqual(parseMac('AA-bb-CC-dd-EE-ff'), hex('aabbccddeeff'));
});

test('parseMac rejects everything else', () => {
  for (const s of [
    '', '02:00:00:00:00', '02:00:00:00:00:01:02', '02:00:00-00:00:01', '2:0:0:0:0:1', '02:00:00:00:00:0g',
    '020000000001', ' 02:00:00:00:00:01', '02:00:00:00:00:01\n', '02.00.00.00.00.01', '0200.0000.0001',
  ]) {
    assert.equal(parseMac(s), undefined, JSON.stringify(s));
  }
});

test('formatMac prints lower case with colons, at an offset', () => {
  assert.equal(formatMac(hex('aabbccddeeff')), 'aa:bb:cc:dd:ee:ff');
  assert.equal(formatMac(hex('ffff 020000000001'), 2), '02:00:00:00:00:01');
  assert.throws(() => formatMac(hex('0200000000'), 0), (e: unknown) => e instanceof NetError && e.errno === 'EINVAL');
  assert.throws(() => formatMac(hex('020000000001'), 1), NetError);
});

test('address class predicates follow etherdevice.h', () => {
  const uni = hex('020000000001');
  const multi = hex('01005e000001');
  assert.equal(isMulticastMac(uni), false);
  assert.equal(isMulticastMac(multi), true);
  assert.equal(isMulticastMac(BROADCAST_MAC), true, 'broadcast is a group address');
  assert.equal(isBroadcastMac(BROADCAST_MAC), true);
  assert.equal(isBroadcastMac(hex('fffffffffffe')), false);
  assert.equal(isZeroMac(ZERO_MAC), true);
  assert.equal(isZeroMac(uni), false);
  assert.equal(isValidUnicastMac(uni), true);
  assert.equal(isValidUnicastMac(multi), false);
  assert.equal(isValidUnicastMac(ZERO_MAC), false);
  assert.equal(isValidUnicastMac(BROADCAST_MAC), false);
  assert.equal(isLocalAdminMac(uni), true);
  assert.equal(isLocalAdminMac(hex('00163e000001')), false);
  assert.equal(isValidUnicastMac(hex('00 020000000001'), 1), true);
});

test('predicates are false, not wrong, past the end of a buffer', () => {
  assert.equal(isZeroMac(new Uint8Array(3)), false);
  assert.equal(isBroadcastMac(hex('ffffff')), false);
  assert.equal(isValidUnicastMac(hex('0200')), false);
  assert.equal(macEquals(hex('0200'), 0, hex('0200'), 0), false);
});

test('macEquals compares at offsets', () => {
  const a = hex('ffff 020000000001');
  const b = hex('020000000001');
  assert.equal(macEquals(a, 2, b, 0), true);
  assert.equal(macEquals(a, 0, b, 0), false);
  assert.equal(macEquals(a, 2, hex('020000000002'), 0), false);
});

test('randomMac gives distinct locally administered unicast addresses starting 02', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const m = randomMac();
    assert.equal(m.length, 6);
    assert.equal(m[0], 0x02);
    assert.equal(isValidUnicastMac(m), true);
    assert.equal(isLocalAdminMac(m), true);
    seen.add(formatMac(m));
  }
  assert.ok(seen.size > 190);
});

test('property: formatMac and parseMac round-trip any 6 bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
      assert.deepEqual(parseMac(formatMac(b)), Buffer.from(b));
      assert.deepEqual(parseMac(formatMac(b).replaceAll(':', '-').toUpperCase()), Buffer.from(b));
    }),
  );
});

test('property: parseMac and the predicates never throw', () => {
  fc.assert(
    fc.property(fc.string(), fc.uint8Array({ maxLength: 12 }), fc.integer({ min: -2, max: 14 }), (s, b, off) => {
      const m = parseMac(s);
      assert.ok(m === undefined || m.length === 6);
      isMulticastMac(b, off);
      isBroadcastMac(b, off);
      isZeroMac(b, off);
      isValidUnicastMac(b, off);
      isLocalAdminMac(b, off);
      macEquals(b, off, b, 0);
    }),
  );
});
