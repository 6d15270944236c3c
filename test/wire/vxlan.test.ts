import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import { encodeVxlanHeader, isValidVni, parseVxlanHeader, VXLAN_FLAG_I, VXLAN_HLEN, VXLAN_PORT } from '../../src/wire/vxlan.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// VXLAN header for VNI 100 (as `tcpdump` prints "flags [I] (0x08), vni 100"),
// then an inner ARP request.
const INNER = hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
const PACKET = Buffer.concat([hex('08000000 00006400'), INNER]);

test('constants', () => {
  assert.deepEqual([VXLAN_HLEN, VXLAN_PORT, VXLAN_FLAG_I], [8, 4789, 0x08]);
});

test('encode writes the RFC 7348 bytes', () => {
  const out = Buffer.alloc(8, 0xee);
  assert.equal(encodeVxlanHeader(out, 0, 100), 8);
  assert.deepEqual(out, hex('08000000 00006400'));
  encodeVxlanHeader(out, 0, 0xffffff);
  assert.deepEqual(out, hex('08000000 ffffff00'));
});

test('parses a real packet', () => {
  assert.deepEqual(parseVxlanHeader(PACKET), { ok: true, vni: 100, payloadOffset: 8 });
  assert.deepEqual(parseVxlanHeader(Buffer.concat([Buffer.alloc(42), PACKET]), 42), { ok: true, vni: 100, payloadOffset: 50 });
});

test('runts and a clear I flag are errors; reserved bits are ignored', () => {
  assert.deepEqual(parseVxlanHeader(PACKET.subarray(0, 8 + 13)), { ok: false, error: 'runt' });
  assert.deepEqual(parseVxlanHeader(PACKET.subarray(0, 8 + 14)), { ok: true, vni: 100, payloadOffset: 8 });
  assert.deepEqual(parseVxlanHeader(new Uint8Array(0)), { ok: false, error: 'runt' });
  const noI = Buffer.from(PACKET);
  noI[0] = 0;
  assert.deepEqual(parseVxlanHeader(noI), { ok: false, error: 'no_i_flag' });
  const reserved = Buffer.from(PACKET);
  reserved[0] = 0xff;
  reserved[1] = 0xff;
  reserved[7] = 0xff;
  assert.deepEqual(parseVxlanHeader(reserved), { ok: true, vni: 100, payloadOffset: 8 });
});

test('VNI range checks', () => {
  const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
  assert.equal(isValidVni(0), true);
  assert.equal(isValidVni(0xffffff), true);
  assert.equal(isValidVni(0x1000000), false);
  assert.equal(isValidVni(-1), false);
  assert.equal(isValidVni(1.5), false);
  assert.throws(() => encodeVxlanHeader(Buffer.alloc(8), 0, 0x1000000), isEinval);
  assert.throws(() => encodeVxlanHeader(Buffer.alloc(8), 0, -1), isEinval);
  assert.throws(() => encodeVxlanHeader(Buffer.alloc(7), 0, 1), isEinval);
});

test('property: encode -> parse round trip; parse never throws', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffff }), (vni) => {
      const b = Buffer.concat([Buffer.alloc(VXLAN_HLEN), INNER]);
      encodeVxlanHeader(b, 0, vni);
      assert.deepEqual(parseVxlanHeader(b), { ok: true, vni, payloadOffset: 8 });
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 40 }), (b, off) => {
      const r = parseVxlanHeader(b, off);
      assert.ok(r.ok ? isValidVni(r.vni) : r.error === 'runt' || r.error === 'no_i_flag');
    }),
  );
});
