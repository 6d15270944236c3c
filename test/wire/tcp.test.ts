import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { internetChecksum } from '../../src/wire/checksum.ts';
import {
  encodeTcp,
  parseTcp,
  parseTcpOptions,
  seqAfter,
  seqBefore,
  TCP_ACK,
  TCP_SYN,
  tcpChecksumValid,
  tcpFlagString,
  tcpOptionsLength,
  type TcpOptions,
} from '../../src/wire/tcp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ADDRS = { srcAddr: 0xc0000201, dstAddr: 0xc0000202 }; // 192.0.2.1 -> 192.0.2.2

test('a SYN carries its options in the layout Linux sends', () => {
  const seg = encodeTcp(
    { srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0, flags: TCP_SYN, window: 64240 },
    { mss: 1460, sackPermitted: true, ts: { val: 0x11223344, ecr: 0 }, wscale: 7 },
    Buffer.alloc(0),
    ADDRS,
  );
  // Linux: mss 1460, sackOK, TS val ecr 0, nop, wscale 7 (40-byte header).
  assert.deepEqual(seg.subarray(20), hex('020405b4 0402080a 11223344 00000000 01030307'));
  assert.equal(seg[12], 10 << 4);
  const r = parseTcp(seg)!;
  assert.equal(r.hlen, 40);
  assert.equal(r.seq, 0x01020304);
  assert.deepEqual(r.options, { mss: 1460, sackPermitted: true, ts: { val: 0x11223344, ecr: 0 }, wscale: 7 });
  assert.equal(tcpChecksumValid(seg, 0, seg.length, ADDRS.srcAddr, ADDRS.dstAddr), true);
  assert.equal(tcpChecksumValid(seg, 0, seg.length, ADDRS.srcAddr, 0xc0000203), false);
});

test('the checksum is the RFC 1071 sum over pseudo-header and segment', () => {
  const seg = encodeTcp({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TCP_ACK, window: 5 }, null, Buffer.from('hello'), ADDRS);
  const pseudo = Buffer.alloc(12);
  pseudo.writeUInt32BE(ADDRS.srcAddr, 0);
  pseudo.writeUInt32BE(ADDRS.dstAddr, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(seg.length, 10);
  const copy = Buffer.from(seg);
  copy.writeUInt16BE(0, 16);
  // Odd-length data: the pseudo-header goes first so the padding lands at the end.
  assert.equal(seg.readUInt16BE(16), internetChecksum(Buffer.concat([pseudo, copy])));
});

test('SACK blocks only off SYN, MSS and window scale only on SYN', () => {
  const opts = hex('0101050a 00000010 00000020 020405b4 010303 0e 0000');
  assert.deepEqual(parseTcpOptions(opts, 0, opts.length, false), { sack: [{ start: 16, end: 32 }] });
  // Window scale above 14 is used as 14 (RFC 7323 §2.3).
  assert.deepEqual(parseTcpOptions(opts, 0, opts.length, true), { mss: 1460, wscale: 14 });
});

test('malformed options end the parse without throwing', () => {
  assert.deepEqual(parseTcpOptions(hex('020405b4 0800'), 0, 6, true), { mss: 1460 });
  assert.deepEqual(parseTcpOptions(hex('02ff'), 0, 2, true), {});
  assert.deepEqual(parseTcpOptions(hex('0201 020405b4'), 0, 6, true), {});
  assert.deepEqual(parseTcpOptions(hex('02'), 0, 1, true), {});
});

test('bad data offsets and short segments are refused', () => {
  const seg = encodeTcp({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0, window: 0 }, null, Buffer.alloc(0));
  assert.equal(parseTcp(seg.subarray(0, 19)), undefined);
  const low = Buffer.from(seg);
  low[12] = 4 << 4;
  assert.equal(parseTcp(low), undefined);
  const high = Buffer.from(seg);
  high[12] = 6 << 4;
  assert.equal(parseTcp(high), undefined);
});

test('sequence arithmetic wraps modulo 2^32', () => {
  assert.equal(seqBefore(0xfffffff0, 0x10), true);
  assert.equal(seqAfter(0x10, 0xfffffff0), true);
  assert.equal(seqBefore(5, 5), false);
  assert.equal(tcpFlagString(TCP_SYN | TCP_ACK), 'S.');
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const optsArb: fc.Arbitrary<TcpOptions> = fc.record(
  {
    mss: fc.integer({ min: 1, max: 0xffff }),
    wscale: fc.integer({ min: 0, max: 14 }),
    sackPermitted: fc.constant(true),
    ts: fc.record({ val: u32, ecr: u32 }),
  },
  { requiredKeys: [] },
);

test('property: encode then parse gives the fields back, checksum valid', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      u32,
      u32,
      fc.integer({ min: 0, max: 0xffff }),
      optsArb,
      fc.uint8Array({ maxLength: 64 }),
      (sp, dp, seq, ack, win, opts, data) => {
        const seg = encodeTcp({ srcPort: sp, dstPort: dp, seq, ack, flags: TCP_SYN, window: win }, opts, data, ADDRS);
        const r = parseTcp(seg)!;
        assert.equal(r.hlen, 20 + tcpOptionsLength(opts));
        assert.equal(r.hlen % 4, 0);
        assert.deepEqual([r.srcPort, r.dstPort, r.seq, r.ack, r.window, r.flags], [sp, dp, seq, ack, win, TCP_SYN]);
        const want = JSON.parse(JSON.stringify(opts)) as TcpOptions;
        if (want.sackPermitted !== true) delete want.sackPermitted;
        assert.deepEqual(r.options, want);
        assert.deepEqual(seg.subarray(r.payloadOffset), Buffer.from(data));
        assert.equal(tcpChecksumValid(seg, 0, seg.length, ADDRS.srcAddr, ADDRS.dstAddr), true);
      },
    ),
  );
});

test('property: SACK blocks round trip off SYN; any flipped bit fails the checksum', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ start: u32, end: u32 }), { minLength: 1, maxLength: 3 }),
      fc.record({ val: u32, ecr: u32 }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.nat(),
      (sack, ts, data, bit) => {
        const seg = encodeTcp({ srcPort: 9, dstPort: 10, seq: 1, ack: 2, flags: TCP_ACK, window: 3 }, { ts, sack }, data, ADDRS);
        assert.ok(seg.length <= 60 + data.length);
        assert.deepEqual(parseTcp(seg)!.options, JSON.parse(JSON.stringify({ ts, sack })));
        const b = bit % (seg.length * 8);
        seg[b >> 3] = seg[b >> 3]! ^ (1 << (b & 7));
        assert.equal(tcpChecksumValid(seg, 0, seg.length, ADDRS.srcAddr, ADDRS.dstAddr), false);
      },
    ),
  );
});

test('property: parsing arbitrary bytes never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, syn) => {
      parseTcp(bytes);
      parseTcpOptions(bytes, 0, bytes.length, syn);
    }),
  );
});
