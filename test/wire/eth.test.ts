import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  emitEth, ETH_ALEN, ETH_DATA_LEN, ETH_F, ETH_FRAME_LEN, ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_802_3_MIN,
  ETH_P_8021AD, ETH_P_8021Q, ETH_P_ALL, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_LOOP, ETH_ZLEN, ethTypeName,
  parseEth, readEthType, writeEthHeader,
} from '../../src/wire/eth.ts';
import { BROADCAST_MAC, parseMac } from '../../src/wire/mac.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// An ARP request 10.0.0.1 -> who-has 10.0.0.2, as tcpdump and tshark decode it.
const ARP_REQUEST = hex(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002`);

test('constants match if_ether.h', () => {
  assert.deepEqual(
    [ETH_ALEN, ETH_HLEN, ETH_ZLEN, ETH_DATA_LEN, ETH_FRAME_LEN],
    [6, 14, 60, 1500, 1514],
  );
  assert.deepEqual(
    [ETH_P_ALL, ETH_P_802_3, ETH_P_802_2, ETH_P_IP, ETH_P_ARP, ETH_P_8021Q, ETH_P_8021AD, ETH_P_IPV6, ETH_P_LOOP, ETH_P_802_3_MIN],
    [0x0003, 0x0001, 0x0004, 0x0800, 0x0806, 0x8100, 0x88a8, 0x86dd, 0x0060, 0x0600],
  );
  assert.deepEqual(ETH_F, { DST: 0, SRC: 6, TYPE: 12, PAYLOAD: 14 });
});

test('parseEth reads a real ARP request', () => {
  const eth = parseEth(ARP_REQUEST);
  assert.ok(eth);
  assert.deepEqual(eth.dst, BROADCAST_MAC);
  assert.deepEqual(eth.src, parseMac('02:00:00:00:00:01'));
  assert.equal(eth.type, ETH_P_ARP);
  assert.equal(eth.payloadOffset, 14);
  assert.equal(readEthType(ARP_REQUEST), 0x0806);
});

test('parseEth copies the addresses and honours an offset', () => {
  const b = Buffer.concat([hex('aabb'), ARP_REQUEST]);
  const eth = parseEth(b, 2);
  assert.ok(eth);
  assert.equal(eth.payloadOffset, 16);
  assert.equal(eth.type, ETH_P_ARP);
  b[2] = 0;
  assert.equal(eth.dst[0], 0xff, 'the repr does not alias the frame');
});

test('emit -> same bytes', () => {
  const eth = parseEth(ARP_REQUEST);
  assert.ok(eth);
  const out = Buffer.alloc(ETH_HLEN);
  assert.equal(emitEth(eth, out, 0), ETH_HLEN);
  assert.deepEqual(out, ARP_REQUEST.subarray(0, ETH_HLEN));
  const out2 = Buffer.alloc(20);
  assert.equal(writeEthHeader(out2, 4, eth.dst, eth.src, 0x0806), 18);
  assert.deepEqual(out2.subarray(4, 18), ARP_REQUEST.subarray(0, ETH_HLEN));
});

test('truncated headers give undefined / -1', () => {
  for (let n = 0; n < ETH_HLEN; n++) {
    assert.equal(parseEth(ARP_REQUEST.subarray(0, n)), undefined);
    assert.equal(readEthType(ARP_REQUEST.subarray(0, n)), -1);
  }
  assert.equal(parseEth(ARP_REQUEST, 30), undefined);
  assert.equal(parseEth(ARP_REQUEST, -1), undefined);
  assert.ok(parseEth(ARP_REQUEST.subarray(0, ETH_HLEN)));
});

test('writeEthHeader rejects programmer errors with EINVAL', () => {
  const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
  const mac = parseMac('02:00:00:00:00:01')!;
  assert.throws(() => writeEthHeader(Buffer.alloc(13), 0, mac, mac, 0x0800), isEinval);
  assert.throws(() => writeEthHeader(Buffer.alloc(14), 1, mac, mac, 0x0800), isEinval);
  assert.throws(() => writeEthHeader(Buffer.alloc(14), 0, mac.subarray(0, 5), mac, 0x0800), isEinval);
  assert.throws(() => writeEthHeader(Buffer.alloc(14), 0, mac, mac, 0x10000), isEinval);
  assert.throws(() => writeEthHeader(Buffer.alloc(14), 0, mac, mac, -1), isEinval);
});

test('ethTypeName uses tcpdump names or hex', () => {
  assert.equal(ethTypeName(0x0800), 'IPv4');
  assert.equal(ethTypeName(0x0806), 'ARP');
  assert.equal(ethTypeName(0x8100), '802.1Q');
  assert.equal(ethTypeName(0x88a8), '802.1Q-QinQ');
  assert.equal(ethTypeName(0x86dd), 'IPv6');
  assert.equal(ethTypeName(0x88b5), '0x88b5');
  assert.equal(ethTypeName(0x0060), '0x0060');
});

test('property: parseEth never throws and agrees with readEthType', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 40 }), (b, off) => {
      const eth = parseEth(b, off);
      assert.equal(eth === undefined ? -1 : eth.type, readEthType(b, off));
    }),
  );
});

test('property: write -> parse round trip', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.integer({ min: 0, max: 0xffff }),
      (dst, src, type) => {
        const b = Buffer.alloc(ETH_HLEN);
        writeEthHeader(b, 0, dst, src, type);
        assert.deepEqual(parseEth(b), { dst: Buffer.from(dst), src: Buffer.from(src), type, payloadOffset: ETH_HLEN });
      },
    ),
  );
});
