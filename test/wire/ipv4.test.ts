import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  emitIpv4, formatIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_F, IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_HLEN,
  ipProtoName, ipv4ChecksumValid, ipv4HeaderLength, isIpv4Multicast, parseIpv4, parseIpv4Address, readIpv4Address,
} from '../../src/wire/ipv4.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';

// The classic example header (192.168.0.1 > 192.168.0.199, UDP, checksum b861)
// followed by its 95 bytes of payload.
const WIKI_HDR = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
const WIKI = Buffer.concat([WIKI_HDR, Buffer.alloc(95, 0xab)]);

// A ping 10.0.0.1 -> 10.0.0.2 (tshark: ip checksum good); IPv4 starts at 14.
const PING = hex(`
  020000000002 020000000001 0800
  4500 0054 1c46 4000 4001 0a61 0a000001 0a000002
  0800 0d60 0001 0001 e3a1f0650000000050c3070000000000
  101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`);

test('protocol numbers and offsets', () => {
  assert.deepEqual([IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP], [1, 6, 17]);
  assert.equal(IPV4_F.SADDR, 12);
  assert.equal(IPV4_F.DADDR, 16);
  assert.equal(IPV4_F.CHECK, 10);
});

test('parses the example header', () => {
  const ip = parseIpv4(WIKI);
  assert.ok(ip);
  assert.equal(ip.version, 4);
  assert.equal(ip.ihl, 5);
  assert.equal(ip.headerLength, 20);
  assert.equal(ip.tos, 0);
  assert.equal(ip.totalLength, 115);
  assert.equal(ip.id, 0);
  assert.equal(ip.flags, IPV4_FLAG_DF);
  assert.equal(ip.fragOffset, 0);
  assert.equal(ip.ttl, 64);
  assert.equal(ip.protocol, IPPROTO_UDP);
  assert.equal(ip.checksum, 0xb861);
  assert.equal(ip.checksumValid, true);
  assert.equal(ip.src, '192.168.0.1');
  assert.equal(ip.dst, '192.168.0.199');
  assert.equal(ip.srcAddr, 0xc0a80001);
  assert.equal(ip.dstAddr, 0xc0a800c7);
  assert.equal(ip.payloadOffset, 20);
  assert.equal(ip.payloadLength, 95);
  assert.equal(ip.options.length, 0);
});

test('parses a ping inside a frame', () => {
  const ip = parseIpv4(PING, 14);
  assert.ok(ip);
  assert.deepEqual([ip.src, ip.dst, ip.protocol, ip.ttl, ip.id], ['10.0.0.1', '10.0.0.2', 1, 64, 0x1c46]);
  assert.equal(ip.payloadOffset, 34);
  assert.equal(ip.payloadLength, 64);
  assert.equal(ip.checksumValid, true);
  assert.equal(ipv4ChecksumValid(PING, 14), true);
});

test('emit -> same bytes (checksum recomputed)', () => {
  for (const [buf, off] of [[WIKI, 0], [PING, 14]] as const) {
    const ip = parseIpv4(buf, off);
    assert.ok(ip);
    const out = Buffer.alloc(off + IPV4_HLEN);
    assert.equal(emitIpv4(ip, out, off), off + 20); // ip.checksum is ignored; emit computes it
    assert.deepEqual(out.subarray(off), buf.subarray(off, off + 20));
  }
});

test('options round trip and grow the header', () => {
  const options = hex('94040000'); // Router Alert
  const out = Buffer.alloc(24 + 8);
  assert.equal(ipv4HeaderLength({ options }), 24);
  const fields = { totalLength: 32, id: 7, ttl: 1, protocol: 2, srcAddr: 0x0a000001, dstAddr: 0xe0000016, options };
  assert.equal(emitIpv4(fields, out), 24);
  assert.equal(out[0], 0x46);
  const ip = parseIpv4(out);
  assert.ok(ip);
  assert.deepEqual(ip.options, options);
  assert.equal(ip.checksumValid, true);
  assert.equal(ip.payloadOffset, 24);
  assert.equal(isIpv4Multicast(ip.dstAddr), true);
});

test('fragment fields are in bytes and the 3-bit flag form', () => {
  const out = Buffer.alloc(40);
  emitIpv4({ totalLength: 40, id: 1, flags: IPV4_FLAG_MF, fragOffset: 1480, ttl: 64, protocol: 17, srcAddr: 1, dstAddr: 2 }, out);
  assert.equal((out[6]! << 8) | out[7]!, 0x2000 | (1480 / 8));
  const ip = parseIpv4(out);
  assert.ok(ip);
  assert.equal(ip.flags, IPV4_FLAG_MF);
  assert.equal(ip.fragOffset, 1480);
});

test('malformed or truncated headers do not parse; link padding does', () => {
  const set = (i: number, v: number): Buffer => {
    const b = Buffer.from(WIKI);
    b[i] = v;
    return b;
  };
  assert.equal(parseIpv4(set(0, 0x65)), undefined, 'version 6');
  assert.equal(parseIpv4(set(0, 0x44)), undefined, 'ihl 4');
  assert.equal(parseIpv4(set(0, 0x4f).subarray(0, 40)), undefined, 'ihl past the end');
  assert.equal(parseIpv4(set(3, 0x10)), undefined, 'total length below header length');
  for (let n = 0; n < WIKI.length; n++) assert.equal(parseIpv4(WIKI.subarray(0, n)), undefined, `cut at ${n}`);
  assert.ok(parseIpv4(Buffer.concat([WIKI, Buffer.alloc(10)])), 'padding after totalLength');
  const bad = set(11, 0x62);
  assert.equal(parseIpv4(bad)?.checksumValid, false);
  assert.equal(ipv4ChecksumValid(bad), false);
  assert.equal(ipv4ChecksumValid(WIKI.subarray(0, 10)), false);
});

test('emit rejects programmer errors with EINVAL', () => {
  const ok = { totalLength: 20, id: 0, ttl: 64, protocol: 17, srcAddr: 1, dstAddr: 2 };
  const out = Buffer.alloc(60);
  assert.throws(() => emitIpv4({ ...ok, totalLength: 19 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, totalLength: 0x10000 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, ttl: 256 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, fragOffset: 12 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, flags: 8 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, srcAddr: -1 }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, options: Buffer.alloc(3) }, out), isEinval);
  assert.throws(() => emitIpv4({ ...ok, options: Buffer.alloc(44), totalLength: 64 }, out), isEinval);
  assert.throws(() => emitIpv4(ok, Buffer.alloc(19)), isEinval);
});

test('dotted quads follow inet_pton', () => {
  assert.equal(parseIpv4Address('10.0.0.1'), 0x0a000001);
  assert.equal(parseIpv4Address('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4Address('0.0.0.0'), 0);
  for (const s of ['', '10.0.0', '10.0.0.1.2', '256.0.0.1', '010.0.0.1', '10.0.0.-1', '10.0.0.1 ', '1e1.0.0.1', '0x1.0.0.1', '10..0.1']) {
    assert.equal(parseIpv4Address(s), undefined, s);
  }
  assert.equal(formatIpv4(0xc0a800c7), '192.168.0.199');
  assert.equal(readIpv4Address(WIKI, 12), 0xc0a80001);
  assert.equal(readIpv4Address(WIKI, WIKI.length - 3), -1);
  assert.equal(ipProtoName(17), 'UDP');
  assert.equal(ipProtoName(47), 'ip-proto-47');
});

test('property: address format/parse round trip', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), (a) => {
      assert.equal(parseIpv4Address(formatIpv4(a)), a);
    }),
  );
});

test('property: emit -> parse round trip', () => {
  fc.assert(
    fc.property(
      fc.record({
        tos: fc.integer({ min: 0, max: 255 }),
        id: fc.integer({ min: 0, max: 0xffff }),
        flags: fc.integer({ min: 0, max: 7 }),
        fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((n) => n * 8),
        ttl: fc.integer({ min: 0, max: 255 }),
        protocol: fc.integer({ min: 0, max: 255 }),
        srcAddr: fc.nat({ max: 0xffffffff }),
        dstAddr: fc.nat({ max: 0xffffffff }),
        options: fc.integer({ min: 0, max: 10 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 })),
        payload: fc.nat({ max: 30 }),
      }),
      (f) => {
        const hlen = 20 + f.options.length;
        const out = Buffer.alloc(hlen + f.payload);
        emitIpv4({ ...f, totalLength: hlen + f.payload }, out);
        const ip = parseIpv4(out);
        assert.ok(ip);
        assert.equal(ip.checksumValid, true);
        const { payload: _payload, ...fields } = f;
        for (const [k, v] of Object.entries(fields)) assert.deepEqual(ip[k as keyof typeof ip], k === 'options' ? Buffer.from(v as Uint8Array) : v, k);
      },
    ),
  );
});

test('property: parseIpv4 never throws on garbage', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -2, max: 80 }), (b, off) => {
      const ip = parseIpv4(b, off);
      if (ip) assert.ok(ip.payloadOffset + ip.payloadLength <= b.length);
      ipv4ChecksumValid(b, off);
      parseIpv4Address(String.fromCharCode(...b));
    }),
  );
});
