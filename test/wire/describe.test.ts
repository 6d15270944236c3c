import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describeFrame } from '../../src/wire/describe.ts';
import { formatIpv6 } from '../../src/wire/ipv6.ts';
import {
  encodeIcmpEcho, encodeUdp, encodeVxlanHeader, emitIpv4, parseArp, parseEth, parseIcmpEcho, parseIcmpHeader,
  parseIpv4, parsePcap, parsePcapng, parseUdp, parseVlanTag, parseVxlanHeader, writeEthHeader,
} from '../../src/wire/index.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Each line below is what `tcpdump -e -n` 4.99 prints for the same bytes,
// except that ARP lines drop tcpdump's constant ", length 28".
const FIXTURES: ReadonlyArray<[string, Buffer, string]> = [
  ['ARP request',
    hex('ffffffffffff 020000000001 0806 0001 0800 0604 0001 020000000001 0a000001 000000000000 0a000002'),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.2 tell 10.0.0.1'],
  ['ARP reply',
    hex('020000000001 020000000002 0806 0001 0800 0604 0002 020000000002 0a000002 020000000001 0a000001'),
    '02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42: Reply 10.0.0.2 is-at 02:00:00:00:00:02'],
  ['ICMP echo request',
    hex(`020000000002 020000000001 0800 4500 0054 1c46 4000 4001 0a61 0a000001 0a000002
         0800 0d60 0001 0001 e3a1f0650000000050c3070000000000
         101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64'],
  ['UDP',
    hex('020000000002 020000000001 0800 4500 0028 0001 0000 4011 66c2 0a000001 0a000002 1388 0035 0014 97ba 68656c6c6f2c20776f726c64'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 54: 10.0.0.1.5000 > 10.0.0.2.53: UDP, length 12'],
  ['TCP SYN',
    hex('020000000002 020000000001 0800 4500 0028 1c46 4000 4006 0a88 0a000001 0a000002 9c40 0050 000003e8 00000000 5002 faf0 0077 0000'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 54: 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, length 0'],
  ['802.1Q ARP',
    hex('ffffffffffff 020000000001 8100 0064 0806 0001 0800 0604 0001 020000000001 0a000001 000000000000 0a000002'),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 46: vlan 100, p 0, ethertype ARP (0x0806), Request who-has 10.0.0.2 tell 10.0.0.1'],
  ['802.1Q ICMP, priority 5',
    hex(`020000000002 020000000001 8100 a0c8 0800 4500 0054 1c46 4000 4001 0a61 0a000001 0a000002
         0800 0d60 0001 0001 e3a1f0650000000050c3070000000000
         101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 102: vlan 200, p 5, ethertype IPv4 (0x0800), 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64'],
  ['QinQ',
    hex('ffffffffffff 020000000001 88a8 000a 8100 0064 0806 0001 0800 0604 0001 020000000001 0a000001 000000000000 0a000002'),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q-QinQ (0x88a8), length 50: vlan 10, p 0, ethertype 802.1Q (0x8100), vlan 100, p 0, ethertype ARP (0x0806), Request who-has 10.0.0.2 tell 10.0.0.1'],
  ['VXLAN',
    hex(`020000000002 020000000001 0800 4500 004e 0002 0000 4011 669b 0a000001 0a000002 c350 12b5 003a 0000
         08000000 00006400
         ffffffffffff 020000000001 0806 0001 0800 0604 0001 020000000001 0a000001 000000000000 0a000002`),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 92: 10.0.0.1.50000 > 10.0.0.2.4789: VXLAN, flags [I] (0x08), vni 100: 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.2 tell 10.0.0.1'],
  ['unknown ethertype', Buffer.concat([hex('ffffffffffff 020000000001 88b5'), Buffer.alloc(46)]),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype Unknown (0x88b5), length 60'],
  ['802.3 length field', Buffer.concat([hex('ffffffffffff 020000000001 002e 424203'), Buffer.alloc(43)]),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, 802.3, length 46'],
  ['runt', hex('ffffffffffff02000000'), '[|ether]'],
  ['ARP cut short', hex('ffffffffffff 020000000001 0806 0001 0800 06'),
    '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 19: [|arp]'],
  ['IPv4 cut short', hex('020000000002 020000000001 0800 4500 0054 1c46 4000 4001'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 24: [|ip]'],
  ['ICMP cut short', hex('020000000002 020000000001 0800 4500 0054 1c46 4000 4001 0a61 0a000001 0a000002 0800 0d60 0001'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 40: truncated-ip - 58 bytes missing! 10.0.0.1 > 10.0.0.2: [|icmp]'],
  // IPv6: tcpdump -e -n 4.99 on the same bytes, except that it decodes DHCPv6 on
  // port 547 (we stop at UDP, as for every application).
  ['ICMPv6 echo request',
    hex('33330000000102000000000186dd6000000000083afffe800000000000000000000000000001ff0200000000000000000000000000018000823500010001'),
    '02:00:00:00:00:01 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 62: fe80::1 > ff02::1: ICMP6, echo request, id 1, seq 1, length 8'],
  ['ND neighbor solicitation',
    hex('3333ff00000202000000000186dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff00000287001c270000000020010db80000000000000000000000020101020000000001'),
    '02:00:00:00:00:01 > 33:33:ff:00:00:02, ethertype IPv6 (0x86dd), length 86: 2001:db8::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has 2001:db8::2, length 32'],
  ['ND neighbor advertisement',
    hex('02000000000102000000000286dd6000000000203aff20010db800000000000000000000000220010db800000000000000000000000188008a716000000020010db80000000000000000000000020201020000000002'),
    '02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype IPv6 (0x86dd), length 86: 2001:db8::2 > 2001:db8::1: ICMP6, neighbor advertisement, tgt is 2001:db8::2, length 32'],
  ['ND router solicitation',
    hex('33330000000202000000000186dd6000000000083afffe800000000000000000000000000001ff02000000000000000000000000000285007d3600000000'),
    '02:00:00:00:00:01 > 33:33:00:00:00:02, ethertype IPv6 (0x86dd), length 62: fe80::1 > ff02::2: ICMP6, router solicitation, length 8'],
  ['UDP over IPv6',
    hex('33330001000202000000000186dd60000000000c11fffe800000000000000000000000000001ff02000000000000000000000001000202220223000c000061626364'),
    '02:00:00:00:00:01 > 33:33:00:01:00:02, ethertype IPv6 (0x86dd), length 66: fe80::1.546 > ff02::1:2.547: UDP, length 4'],
  ['TCP SYN over IPv6',
    hex('02000000000202000000000186dd60000000001406ff20010db800000000000000000000000120010db80000000000000000000000029c400050000003e8000000005002faf000000000'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv6 (0x86dd), length 74: 2001:db8::1.40000 > 2001:db8::2.80: Flags [S], seq 1000, win 64240, length 0'],
  ['IPv6 no next header',
    hex('02000000000202000000000186dd6000000000003bff00000000000000000000ffffc000020120010db8000000000001000000000001'),
    '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv6 (0x86dd), length 54: ::ffff:192.0.2.1 > 2001:db8::1:0:0:1: no next header'],
];

for (const [name, frame, line] of FIXTURES) {
  test(`describeFrame: ${name}`, () => {
    assert.equal(describeFrame(frame), line);
  });
}

test('describeFrame marks what tcpdump -v would flag', () => {
  const ping = Buffer.from(FIXTURES[2]![1]);
  ping[22] = 0x3f; // TTL 63 without fixing the IP checksum
  assert.match(describeFrame(ping), /\[bad ip cksum 0x0a61\] 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request/);
  const icmp = Buffer.from(FIXTURES[2]![1]);
  icmp[60] = 0;
  assert.match(describeFrame(icmp), /length 64 \[bad icmp cksum 0x0d60\]$/);
  const udp = Buffer.from(FIXTURES[3]![1]);
  udp[45] = 0;
  assert.match(describeFrame(udp), /UDP, length 12 \[bad udp cksum 0x97ba\]$/);
});

test('describeFrame: DEI, VXLAN without the I flag, fragments, other protocols, bad lengths', () => {
  const arpTagged = Buffer.from(FIXTURES[5]![1]);
  arpTagged[14] = 0x10;
  assert.match(describeFrame(arpTagged), /vlan 100, p 0, DEI, ethertype ARP/);

  const vx = Buffer.from(FIXTURES[8]![1]);
  vx[42] = 0;
  assert.match(describeFrame(vx), /4789: VXLAN, flags \[\.\] \(0x00\)$/);

  const frame = (fields: Parameters<typeof emitIpv4>[0], payload: Uint8Array): Buffer => {
    const b = Buffer.alloc(14 + 20 + payload.length);
    writeEthHeader(b, 0, hex('020000000002'), hex('020000000001'), 0x0800);
    emitIpv4(fields, b, 14);
    b.set(payload, 34);
    return b;
  };
  const base = { id: 9, ttl: 64, srcAddr: 0x0a000001, dstAddr: 0x0a000002 };
  assert.match(describeFrame(frame({ ...base, totalLength: 28, protocol: 17, fragOffset: 1480 }, Buffer.alloc(8))), /10\.0\.0\.1 > 10\.0\.0\.2: UDP fragment, id 9, offset 1480, length 8$/);
  assert.match(describeFrame(frame({ ...base, totalLength: 44, protocol: 47 }, Buffer.alloc(24))), /10\.0\.0\.1 > 10\.0\.0\.2: ip-proto-47, length 24$/);
  assert.match(describeFrame(frame({ ...base, totalLength: 36, protocol: 1 }, hex('0303 fcfc 00000000 0000 0000'))), /ICMP port unreachable, length 16/);
  assert.match(describeFrame(frame({ ...base, totalLength: 28, protocol: 17 }, hex('1388 0035 0004 0000'))), /UDP, bad length 4$/);
  assert.match(describeFrame(frame({ ...base, totalLength: 28, protocol: 17 }, hex('1388 0035 0040 0000'))), /UDP, bad length 64 > 8$/);

  const v6 = Buffer.from(FIXTURES[2]![1]);
  v6[14] = 0x60;
  assert.match(describeFrame(v6), /length 98: IP ver 6$/);
  const hl = Buffer.from(FIXTURES[2]![1]);
  hl[14] = 0x44;
  assert.match(describeFrame(hl), /bad-hlen 16$/);
  const nonEthArp = Buffer.from(FIXTURES[0]![1]);
  nonEthArp[15] = 6;
  assert.match(describeFrame(nonEthArp), /ARP, hardware type 6, protocol 0x0800, op 1$/);
});

test('describeFrame stops at eight nested tags', () => {
  const tags = Buffer.alloc(9 * 4);
  for (let i = 0; i < 9; i++) tags.writeUInt32BE(0x81000001 + i, i * 4);
  const frame = Buffer.concat([hex('ffffffffffff 020000000001'), tags, hex('0806')]);
  assert.match(describeFrame(frame), /\[\|vlan\]$/);
});

const PARSERS: ReadonlyArray<[string, (b: Uint8Array) => unknown]> = [
  ['describeFrame', describeFrame],
  ['parseEth', parseEth],
  ['parseVlanTag', (b) => parseVlanTag(b, 12)],
  ['parseArp', (b) => parseArp(b, 14)],
  ['parseIpv4', (b) => parseIpv4(b, 14)],
  ['parseIcmpEcho', (b) => parseIcmpEcho(b, 34)],
  ['parseIcmpHeader', (b) => parseIcmpHeader(b, 34)],
  ['parseUdp', (b) => parseUdp(b, 34)],
  ['parseVxlanHeader', (b) => parseVxlanHeader(b, 42)],
  ['parsePcap', parsePcap],
  ['parsePcapng', parsePcapng],
];

test('property: no parse function and not describeFrame throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      for (const [, parse] of PARSERS) parse(b);
      assert.equal(typeof describeFrame(b), 'string');
    }),
    { numRuns: 2000 },
  );
});

test('property: nor on real frames that are cut short or mangled', () => {
  const vxlanUdp = Buffer.alloc(8 + 42);
  encodeVxlanHeader(vxlanUdp, 0, 7);
  FIXTURES[0]![1].copy(vxlanUdp, 8);
  const extra = [encodeIcmpEcho({ type: 8, id: 1, seq: 2 }, Buffer.alloc(20)), encodeUdp({ srcPort: 1, dstPort: 4789 }, vxlanUdp)];
  const seeds = [...FIXTURES.map(([, f]) => f), ...extra];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(130),
      (seed, edits, len) => {
        const b = Buffer.from(seed.subarray(0, len));
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        for (const [name, parse] of PARSERS) assert.doesNotThrow(() => parse(b), name);
      },
    ),
    { numRuns: 3000 },
  );
});

test('formatIpv6: RFC 5952 text form', () => {
  const f = (s: string): string => formatIpv6(hex(s));
  assert.equal(f('20010db8000000000000000000000001'), '2001:db8::1');
  assert.equal(f('00000000000000000000000000000000'), '::');
  assert.equal(f('00000000000000000000000000000001'), '::1');
  assert.equal(f('20010db8000000010000000000000001'), '2001:db8:0:1::1');
  // The longest run wins; of two equal runs, the first; a single zero group is not shortened.
  assert.equal(f('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  assert.equal(f('20010000000100000001000000010001'), '2001:0:1:0:1:0:1:1');
  assert.equal(f('00000000000000000000ffffc0000201'), '::ffff:192.0.2.1');
  assert.equal(f('fe800000000000000000000000000000'), 'fe80::');
});
