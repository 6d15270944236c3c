import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { NetError } from '../../src/errno.ts';
import {
  parsePcapng, pcapngEnhancedPacket, pcapngEnhancedPacketLength, pcapngInterfaceDescription, pcapngInterfaceStatistics,
  pcapngSectionHeader, writePcapngEnhancedPacket,
} from '../../src/wire/pcapng.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

const ARP_REQUEST = hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
const ARP_REPLY = hex('020000000001 020000000002 0806 0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001');
const TS = 1_700_000_000_123_456_789n; // 0x17979cfe_3d85cd15
const START = 1_700_000_000_000_000_000n; // 0x17979cfe_362a0000

test('SHB bytes: magic, 1.0, section length -1, shb_userappl "netstackd"', () => {
  assert.deepEqual(pcapngSectionHeader(), hex(`
    0a0d0d0a 30000000 4d3c2b1a 0100 0000 ffffffffffffffff
    0400 0900 6e657473 7461636b 64 000000
    0000 0000
    30000000`));
});

test('IDB bytes: linktype, snaplen, if_name, if_tsresol 9', () => {
  assert.deepEqual(pcapngInterfaceDescription({ name: 'veth0' }), hex(`
    01000000 2c000000 0100 0000 00000400
    0200 0500 7665746830 000000
    0900 0100 09 000000
    0000 0000
    2c000000`));
  const withDesc = pcapngInterfaceDescription({ name: 'eth0', description: 'lab uplink', snaplen: 1514 });
  assert.equal(withDesc.readUInt32LE(4), withDesc.length);
  assert.equal(withDesc.readUInt32LE(withDesc.length - 4), withDesc.length);
  assert.equal(withDesc.length % 4, 0);
});

test('EPB bytes: interface, ts high/low in ns, lengths, padded data, epb_flags outbound', () => {
  const epb = pcapngEnhancedPacket({ interfaceId: 1, tsNs: TS, data: ARP_REQUEST, direction: 'outbound' });
  assert.deepEqual(epb, Buffer.concat([
    hex('06000000 58000000 01000000 fe9c9717 15cd853d 2a000000 2a000000'),
    ARP_REQUEST,
    hex('0000 0200 0400 02000000 00000000 58000000'),
  ]));
  assert.equal(pcapngEnhancedPacketLength({ data: ARP_REQUEST, direction: 'outbound' }), 88);
  // Without flags, no options at all (and no opt_endofopt).
  const bare = pcapngEnhancedPacket({ interfaceId: 0, tsNs: 0n, data: ARP_REQUEST.subarray(0, 40), origLen: 42 });
  assert.deepEqual(bare.subarray(0, 8), hex('06000000 48000000'));
  assert.equal(bare.length, 72);
  assert.equal(bare.readUInt32LE(24), 42);
});

test('writePcapngEnhancedPacket writes into a caller buffer and zeroes the padding', () => {
  const fields = { interfaceId: 1, tsNs: TS, data: ARP_REQUEST, direction: 'outbound' as const };
  const out = Buffer.alloc(100, 0xee);
  assert.equal(writePcapngEnhancedPacket(out, 8, fields), 96);
  assert.deepEqual(out.subarray(8, 96), pcapngEnhancedPacket(fields));
  assert.deepEqual(out.subarray(96), hex('eeeeeeee'));
});

test('ISB bytes: timestamps split high/low, counters as 64-bit', () => {
  assert.deepEqual(pcapngInterfaceStatistics({ interfaceId: 0, tsNs: START, startTimeNs: START, ifRecv: 10 }), hex(`
    05000000 34000000 00000000 fe9c9717 00002a36
    0200 0800 fe9c9717 00002a36
    0400 0800 0a000000 00000000
    0000 0000
    34000000`));
});

test('writers reject programmer errors with EINVAL', () => {
  assert.throws(() => pcapngEnhancedPacket({ interfaceId: -1, tsNs: 0n, data: ARP_REQUEST }), isEinval);
  assert.throws(() => pcapngEnhancedPacket({ interfaceId: 0, tsNs: -1n, data: ARP_REQUEST }), isEinval);
  assert.throws(() => pcapngEnhancedPacket({ interfaceId: 0, tsNs: 0n, data: ARP_REQUEST, origLen: 41 }), isEinval);
  assert.throws(() => writePcapngEnhancedPacket(Buffer.alloc(70), 0, { interfaceId: 0, tsNs: 0n, data: ARP_REQUEST }), isEinval);
  assert.throws(() => pcapngInterfaceDescription({ linktype: 0x10000 }), isEinval);
  assert.throws(() => pcapngInterfaceStatistics({ interfaceId: 0, tsNs: 0n, ifDrop: -1 }), isEinval);
  assert.throws(() => pcapngInterfaceStatistics({ interfaceId: 0, tsNs: 0n, osDrop: 2 ** 64 }), isEinval);
  assert.throws(() => pcapngSectionHeader({ os: 'x'.repeat(70000) }), isEinval);
});

function twoInterfaceFile(): Buffer {
  return Buffer.concat([
    pcapngSectionHeader({ os: 'Linux' }),
    pcapngInterfaceDescription({ name: 'veth0', description: 'first' }),
    pcapngInterfaceDescription({ name: 'veth1', snaplen: 0 }),
    pcapngEnhancedPacket({ interfaceId: 0, tsNs: TS, data: ARP_REQUEST, direction: 'outbound' }),
    pcapngEnhancedPacket({ interfaceId: 1, tsNs: TS + 100n, data: ARP_REPLY, direction: 'inbound' }),
    pcapngEnhancedPacket({ interfaceId: 1, tsNs: TS + 200n, data: ARP_REPLY.subarray(0, 41), origLen: 42 }),
    pcapngInterfaceStatistics({
      interfaceId: 0, tsNs: START + 1_000_000_000n, startTimeNs: START, endTimeNs: START + 1_000_000_000n,
      ifRecv: 10, ifDrop: 1n, filterAccept: 9, osDrop: 2n, usrDeliv: 7,
    }),
  ]);
}

test('write -> parse round trip', () => {
  const r = parsePcapng(twoInterfaceFile());
  assert.ok(r.ok);
  assert.deepEqual(r.sections, [{ littleEndian: true, versionMajor: 1, versionMinor: 0, userappl: 'netstackd', os: 'Linux' }]);
  assert.deepEqual(r.interfaces, [
    { section: 0, linktype: 1, snaplen: 262144, name: 'veth0', description: 'first', tsresol: 9 },
    { section: 0, linktype: 1, snaplen: 0, name: 'veth1', tsresol: 9 },
  ]);
  assert.deepEqual(r.packets, [
    { interfaceId: 0, tsNs: TS, data: ARP_REQUEST, origLen: 42, flags: 2, direction: 'outbound' },
    { interfaceId: 1, tsNs: TS + 100n, data: ARP_REPLY, origLen: 42, flags: 1, direction: 'inbound' },
    { interfaceId: 1, tsNs: TS + 200n, data: ARP_REPLY.subarray(0, 41), origLen: 42 },
  ]);
  assert.deepEqual(r.statistics, [{
    interfaceId: 0, tsNs: START + 1_000_000_000n, startTimeNs: START, endTimeNs: START + 1_000_000_000n,
    ifRecv: 10n, ifDrop: 1n, filterAccept: 9n, osDrop: 2n, usrDeliv: 7n,
  }]);
  assert.equal(r.truncated, false);
});

test('reads a big-endian section with µs timestamps (the default if_tsresol)', () => {
  const file = hex(`
    0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c
    00000001 00000014 0001 0000 0000ffff 00000014
    00000006 0000004c 00000000 00060a24 18202240 0000002a 0000002a
    ${ARP_REQUEST.toString('hex')} 0000 0000004c`);
  const r = parsePcapng(file);
  assert.ok(r.ok);
  assert.equal(r.sections[0]?.littleEndian, false);
  assert.equal(r.interfaces[0]?.tsresol, 6);
  assert.equal(r.packets[0]?.tsNs, 1_700_000_000_123_456_000n);
  assert.deepEqual(r.packets[0]?.data, ARP_REQUEST);
});

test('a second section restarts interface numbering', () => {
  const file = Buffer.concat([
    twoInterfaceFile(),
    pcapngSectionHeader(),
    pcapngInterfaceDescription({ name: 'vx0' }),
    pcapngEnhancedPacket({ interfaceId: 0, tsNs: TS, data: ARP_REQUEST }),
  ]);
  const r = parsePcapng(file);
  assert.ok(r.ok);
  assert.equal(r.sections.length, 2);
  assert.equal(r.interfaces[2]?.name, 'vx0');
  assert.equal(r.interfaces[2]?.section, 1);
  assert.equal(r.packets[3]?.interfaceId, 2);
  const stale = Buffer.concat([twoInterfaceFile(), pcapngSectionHeader(), pcapngEnhancedPacket({ interfaceId: 1, tsNs: TS, data: ARP_REQUEST })]);
  const bad = parsePcapng(stale);
  assert.equal(bad.ok ? 'ok' : bad.error, 'bad_interface', 'ids from the previous section are gone');
});

test('unknown blocks are skipped; bad layouts are errors; a cut-off tail is truncated', () => {
  const custom = hex('bad0bad0 10000000 01020304 10000000');
  const withCustom = Buffer.concat([pcapngSectionHeader(), custom, pcapngInterfaceDescription(), pcapngEnhancedPacket({ interfaceId: 0, tsNs: 1n, data: ARP_REQUEST })]);
  const r = parsePcapng(withCustom);
  assert.ok(r.ok);
  assert.equal(r.packets.length, 1);

  const err = (b: Buffer): string => {
    const x = parsePcapng(b);
    return x.ok ? (x.truncated ? 'truncated' : 'ok') : x.error;
  };
  assert.equal(err(Buffer.alloc(10)), 'runt');
  assert.equal(err(Buffer.concat([pcapngInterfaceDescription(), pcapngSectionHeader()])), 'bad_magic');
  const shb = pcapngSectionHeader();
  const badBom = Buffer.from(shb);
  badBom[8] = 0;
  assert.equal(err(badBom), 'bad_magic');
  const v2 = Buffer.from(shb);
  v2[12] = 2;
  assert.equal(err(v2), 'bad_version');
  const trailer = Buffer.from(shb);
  trailer[trailer.length - 4] = 0x2c;
  assert.equal(err(trailer), 'bad_block');
  const odd = Buffer.from(shb);
  odd[4] = 0x31;
  assert.equal(err(odd), 'bad_block');
  assert.equal(err(Buffer.concat([shb, pcapngEnhancedPacket({ interfaceId: 0, tsNs: 1n, data: ARP_REQUEST })])), 'bad_interface');
  const caplen = Buffer.concat([shb, pcapngInterfaceDescription(), pcapngEnhancedPacket({ interfaceId: 0, tsNs: 1n, data: ARP_REQUEST })]);
  caplen.writeUInt32LE(200, shb.length + 32 + 20);
  assert.equal(err(caplen), 'bad_block');
  const whole = twoInterfaceFile();
  assert.equal(err(whole.subarray(0, whole.length - 1)), 'truncated');
  assert.equal(err(whole.subarray(0, whole.length - 60)), 'truncated');
});

test('property: parsePcapng never throws, on garbage or on mangled real files', () => {
  const real = twoInterfaceFile();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      parsePcapng(b);
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(real.length), (edits, len) => {
      const b = Buffer.from(real.subarray(0, len));
      for (const [i, v] of edits) if (i < b.length) b[i] = v;
      parsePcapng(b);
    }),
    { numRuns: 500 },
  );
});

test('tshark reads interfaces, sources and directions', (t) => {
  if (!hasTshark) {
    t.skip('tshark not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'netstackd-pcapng-'));
  try {
    const file = join(dir, 'two.pcapng');
    writeFileSync(file, twoInterfaceFile());
    const out = execFileSync(
      'tshark',
      ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'eth.src', '-e', 'frame.packet_flags_direction', '-e', 'frame.time_epoch'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // tshark prints the whole flags word in hex (e.g. 0x00000002); the direction is its low two bits.
    const rows = out.trim().split('\n').map((line) => {
      const [ifname, src, flags, time] = line.split('\t');
      return [ifname, src, flags ? Number(flags) & 3 : 0, time];
    });
    assert.deepEqual(rows, [
      ['veth0', '02:00:00:00:00:01', 2, '1700000000.123456789'],
      ['veth1', '02:00:00:00:00:02', 1, '1700000000.123456889'],
      ['veth1', '02:00:00:00:00:02', 0, '1700000000.123456989'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
