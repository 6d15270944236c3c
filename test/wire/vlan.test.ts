import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  encodeVlanTci, isValidVlanId, isVlanTpid, parseVlanTag, parseVlanTci, readVlanInnerType, readVlanTci,
  VLAN_ETH_HLEN, VLAN_HLEN, vlanTagInsert, vlanTagRemove, writeVlanTag,
} from '../../src/wire/vlan.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';

const ARP_REQUEST = hex(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002`);
// The same request on VLAN 100, as tcpdump prints "vlan 100, p 0, ethertype ARP".
const ARP_REQUEST_VLAN100 = hex(`
  ffffffffffff 020000000001 8100 0064 0806
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002`);

test('constants', () => {
  assert.equal(VLAN_HLEN, 4);
  assert.equal(VLAN_ETH_HLEN, 18);
});

test('parses the tag of a real tagged frame', () => {
  assert.deepEqual(parseVlanTag(ARP_REQUEST_VLAN100, 12), {
    tpid: 0x8100, pcp: 0, dei: false, vid: 100, innerType: 0x0806, payloadOffset: 18,
  });
  assert.equal(readVlanTci(ARP_REQUEST_VLAN100, 12), 0x0064);
  assert.equal(readVlanInnerType(ARP_REQUEST_VLAN100, 12), 0x0806);
});

test('TCI a0c8 is priority 5, VID 200; f064 sets DEI', () => {
  assert.deepEqual(parseVlanTci(0xa0c8), { pcp: 5, dei: false, vid: 200 });
  assert.deepEqual(parseVlanTci(0xf064), { pcp: 7, dei: true, vid: 100 });
  assert.equal(encodeVlanTci({ pcp: 5, dei: false, vid: 200 }), 0xa0c8);
  assert.equal(encodeVlanTci({ pcp: 7, dei: true, vid: 100 }), 0xf064);
});

test('encodeVlanTci and writeVlanTag reject out-of-range values', () => {
  assert.throws(() => encodeVlanTci({ pcp: 8, dei: false, vid: 1 }), isEinval);
  assert.throws(() => encodeVlanTci({ pcp: 0, dei: false, vid: 4096 }), isEinval);
  assert.throws(() => encodeVlanTci({ pcp: 0, dei: false, vid: -1 }), isEinval);
  assert.throws(() => encodeVlanTci({ pcp: 0.5, dei: false, vid: 1 }), isEinval);
  assert.throws(() => writeVlanTag(Buffer.alloc(5), 0, 1, 0x0800), isEinval);
  assert.throws(() => writeVlanTag(Buffer.alloc(6), 0, 0x10000, 0x0800), isEinval);
  assert.throws(() => writeVlanTag(Buffer.alloc(6), 0, 1, 0x10000), isEinval);
  assert.throws(() => vlanTagInsert(3), isEinval);
  assert.throws(() => vlanTagRemove(-1), isEinval);
});

test('VID 1..4094 is configurable; 0 and 4095 are not', () => {
  assert.equal(isValidVlanId(1), true);
  assert.equal(isValidVlanId(4094), true);
  assert.equal(isValidVlanId(0), false);
  assert.equal(isValidVlanId(4095), false);
  assert.equal(isValidVlanId(1.5), false);
  assert.equal(isVlanTpid(0x8100), true);
  assert.equal(isVlanTpid(0x88a8), true);
  assert.equal(isVlanTpid(0x0800), false);
});

test('tagging in place: move the MACs into headroom, write the tag', () => {
  const buf = Buffer.alloc(VLAN_HLEN + ARP_REQUEST.length);
  ARP_REQUEST.copy(buf, VLAN_HLEN);
  const move = vlanTagInsert(VLAN_HLEN);
  assert.deepEqual(move, { frameOffset: 0, from: 4, to: 0, length: 12, tagOffset: 12 });
  buf.copyWithin(move.to, move.from, move.from + move.length);
  const type = (buf[move.tagOffset + VLAN_HLEN]! << 8) | buf[move.tagOffset + VLAN_HLEN + 1]!;
  writeVlanTag(buf, move.tagOffset, encodeVlanTci({ pcp: 0, dei: false, vid: 100 }), type);
  assert.deepEqual(buf.subarray(move.frameOffset), ARP_REQUEST_VLAN100);

  const back = vlanTagRemove(move.frameOffset);
  assert.deepEqual(back, { frameOffset: 4, from: 0, to: 4, length: 12, tagOffset: 12 });
  buf.copyWithin(back.to, back.from, back.from + back.length);
  assert.deepEqual(buf.subarray(back.frameOffset), ARP_REQUEST);
});

test('truncated tags give undefined / -1', () => {
  for (let n = 0; n < 18; n++) {
    const b = ARP_REQUEST_VLAN100.subarray(0, n);
    assert.equal(parseVlanTag(b, 12), undefined);
    assert.equal(readVlanTci(b, 12), -1);
    assert.equal(readVlanInnerType(b, 12), -1);
  }
  assert.equal(parseVlanTag(ARP_REQUEST_VLAN100, -1), undefined);
});

test('property: TCI encode/parse round trip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 7 }), fc.boolean(), fc.integer({ min: 0, max: 4095 }), (pcp, dei, vid) => {
      const tci = encodeVlanTci({ pcp, dei, vid });
      assert.deepEqual(parseVlanTci(tci), { pcp, dei, vid });
      const b = Buffer.alloc(6);
      writeVlanTag(b, 0, tci, 0x86dd, 0x88a8);
      assert.deepEqual(parseVlanTag(b, 0), { tpid: 0x88a8, pcp, dei, vid, innerType: 0x86dd, payloadOffset: 6 });
    }),
  );
});

test('property: readers never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), fc.integer({ min: -2, max: 24 }), (b, off) => {
      const tag = parseVlanTag(b, off);
      assert.equal(tag === undefined ? -1 : encodeVlanTci(tag), readVlanTci(b, off));
      readVlanInnerType(b, off);
    }),
  );
});
