import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import { ARP_F, ARP_HLEN, arpOpName, ARPOP_REPLY, ARPOP_REQUEST, emitArp, encodeArp, parseArp, readArpOp } from '../../src/wire/arp.ts';
import { parseMac } from '../../src/wire/mac.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Frames decoded by tshark as "Who has 10.0.0.2? Tell 10.0.0.1" and
// "10.0.0.2 is at 02:00:00:00:00:02"; the ARP packet starts at 14.
const ARP_REQUEST = hex(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002`);
const ARP_REPLY = hex(`
  020000000001 020000000002 0806
  0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001`);

test('offsets and length are RFC 826 for Ethernet/IPv4', () => {
  assert.equal(ARP_HLEN, 28);
  assert.deepEqual(ARP_F, { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OP: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 });
});

test('parses a real request', () => {
  assert.deepEqual(parseArp(ARP_REQUEST, 14), {
    op: ARPOP_REQUEST,
    senderMac: parseMac('02:00:00:00:00:01'),
    senderAddr: 0x0a000001,
    senderIp: '10.0.0.1',
    targetMac: Buffer.alloc(6),
    targetAddr: 0x0a000002,
    targetIp: '10.0.0.2',
  });
  assert.equal(readArpOp(ARP_REQUEST, 14), 1);
});

test('parses a real reply', () => {
  const arp = parseArp(ARP_REPLY, 14);
  assert.ok(arp);
  assert.equal(arp.op, ARPOP_REPLY);
  assert.equal(arp.senderIp, '10.0.0.2');
  assert.deepEqual(arp.senderMac, parseMac('02:00:00:00:00:02'));
  assert.deepEqual(arp.targetMac, parseMac('02:00:00:00:00:01'));
});

test('emit -> same bytes, and link padding is ignored by parse', () => {
  for (const frame of [ARP_REQUEST, ARP_REPLY]) {
    const arp = parseArp(frame, 14);
    assert.ok(arp);
    assert.deepEqual(encodeArp(arp), frame.subarray(14));
    const out = Buffer.alloc(60);
    assert.equal(emitArp(arp, out, 14), 42);
    assert.deepEqual(out.subarray(14, 42), frame.subarray(14));
    assert.deepEqual(parseArp(out, 14), arp, 'padded to ETH_ZLEN still parses');
  }
});

test('other hardware or protocol types, and short packets, do not parse', () => {
  const bad = (i: number, v: number): Buffer => {
    const b = Buffer.from(ARP_REQUEST);
    b[14 + i] = v;
    return b;
  };
  assert.equal(parseArp(bad(1, 6), 14), undefined, 'IEEE 802 htype');
  assert.equal(parseArp(bad(2, 0x86), 14), undefined, 'ptype');
  assert.equal(parseArp(bad(4, 8), 14), undefined, 'hlen');
  assert.equal(parseArp(bad(5, 16), 14), undefined, 'plen');
  assert.equal(readArpOp(bad(1, 6), 14), -1);
  for (let n = 0; n < 42; n++) assert.equal(parseArp(ARP_REQUEST.subarray(0, n), 14), undefined);
});

test('op names', () => {
  assert.equal(arpOpName(1), 'request');
  assert.equal(arpOpName(2), 'reply');
  assert.equal(arpOpName(3), 'rarp-request');
  assert.equal(arpOpName(4), 'rarp-reply');
  assert.equal(arpOpName(9), 'op-9');
});

test('emit rejects programmer errors with EINVAL', () => {
  const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
  const ok = parseArp(ARP_REQUEST, 14)!;
  assert.throws(() => emitArp(ok, Buffer.alloc(27)), isEinval);
  assert.throws(() => encodeArp({ ...ok, op: 0x10000 }), isEinval);
  assert.throws(() => encodeArp({ ...ok, senderMac: Buffer.alloc(5) }), isEinval);
  assert.throws(() => encodeArp({ ...ok, targetAddr: 2 ** 32 }), isEinval);
  assert.throws(() => encodeArp({ ...ok, senderAddr: -1 }), isEinval);
});

test('property: parseArp never throws; encode -> parse round trip', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -2, max: 64 }), (b, off) => {
      parseArp(b, off);
      readArpOp(b, off);
    }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat({ max: 0xffffffff }),
      fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat({ max: 0xffffffff }),
      (op, senderMac, senderAddr, targetMac, targetAddr) => {
        const arp = parseArp(encodeArp({ op, senderMac, senderAddr, targetMac, targetAddr }));
        assert.ok(arp);
        assert.deepEqual([arp.op, arp.senderAddr, arp.targetAddr], [op, senderAddr, targetAddr]);
        assert.deepEqual([arp.senderMac, arp.targetMac], [Buffer.from(senderMac), Buffer.from(targetMac)]);
      },
    ),
  );
});
