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
  LINKTYPE_ETHERNET, parsePcap, PCAP_MAGIC_NS, PCAP_MAGIC_US, pcapGlobalHeader, pcapRecordHeader, writePcapRecordHeader,
} from '../../src/wire/pcap.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const isEinval = (e: unknown): boolean => e instanceof NetError && e.errno === 'EINVAL';
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

const ARP_REQUEST = hex('ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
const TS = 1_700_000_000_123_456_789n;

test('magic numbers and link type', () => {
  assert.equal(PCAP_MAGIC_US, 0xa1b2c3d4);
  assert.equal(PCAP_MAGIC_NS, 0xa1b23c4d);
  assert.equal(LINKTYPE_ETHERNET, 1);
});

test('global header bytes: ns magic, 2.4, zone 0, sigfigs 0, snaplen, linktype (little-endian)', () => {
  assert.deepEqual(pcapGlobalHeader(), hex('4d3cb2a1 0200 0400 00000000 00000000 00000400 01000000'));
  assert.deepEqual(pcapGlobalHeader({ snaplen: 65535, linktype: 113 }), hex('4d3cb2a1 0200 0400 00000000 00000000 ffff0000 71000000'));
});

test('record header bytes: seconds, nanoseconds, incl_len, orig_len', () => {
  assert.deepEqual(pcapRecordHeader(TS, 42, 60), hex('00f15365 15cd5b07 2a000000 3c000000'));
  const out = Buffer.alloc(20, 0xee);
  assert.equal(writePcapRecordHeader(out, 4, TS, 42, 60), 20);
  assert.deepEqual(out, hex('eeeeeeee 00f15365 15cd5b07 2a000000 3c000000'));
  assert.deepEqual(pcapRecordHeader(0n, 0, 0), Buffer.alloc(16));
});

test('writers reject programmer errors with EINVAL', () => {
  assert.throws(() => pcapRecordHeader(-1n, 1, 1), isEinval);
  assert.throws(() => pcapRecordHeader(2n ** 32n * 1_000_000_000n, 1, 1), isEinval);
  assert.throws(() => pcapRecordHeader(TS, 61, 60), isEinval);
  assert.throws(() => pcapRecordHeader(TS, -1, 60), isEinval);
  assert.throws(() => writePcapRecordHeader(Buffer.alloc(15), 0, TS, 1, 1), isEinval);
  assert.throws(() => pcapGlobalHeader({ snaplen: -1 }), isEinval);
});

test('write -> parse round trip', () => {
  const file = Buffer.concat([pcapGlobalHeader(), pcapRecordHeader(TS, 42, 42), ARP_REQUEST, pcapRecordHeader(TS + 1n, 20, 42), ARP_REQUEST.subarray(0, 20)]);
  const r = parsePcap(file);
  assert.ok(r.ok);
  assert.deepEqual(
    { linktype: r.linktype, snaplen: r.snaplen, nanos: r.nanos, le: r.littleEndian, v: [r.versionMajor, r.versionMinor], truncated: r.truncated },
    { linktype: 1, snaplen: 262144, nanos: true, le: true, v: [2, 4], truncated: false },
  );
  assert.equal(r.records.length, 2);
  assert.deepEqual(r.records[0], { tsNs: TS, data: ARP_REQUEST, origLen: 42 });
  assert.deepEqual(r.records[1], { tsNs: TS + 1n, data: ARP_REQUEST.subarray(0, 20), origLen: 42 });
});

test('reads big-endian microsecond files, as from an old tcpdump on SPARC', () => {
  const file = hex(`
    a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001
    6553f100 0001e240 0000002a 0000002a`);
  const r = parsePcap(Buffer.concat([file, ARP_REQUEST]));
  assert.ok(r.ok);
  assert.equal(r.nanos, false);
  assert.equal(r.littleEndian, false);
  assert.equal(r.snaplen, 65535);
  assert.equal(r.records[0]?.tsNs, 1_700_000_000_123_456_000n);
  assert.deepEqual(r.records[0]?.data, ARP_REQUEST);
});

test('bad files: runt, magic, version, oversized record; a cut-off tail is kept as truncated', () => {
  assert.deepEqual(parsePcap(Buffer.alloc(23)), { ok: false, error: 'runt', offset: 0 });
  assert.deepEqual(parsePcap(Buffer.alloc(24)), { ok: false, error: 'bad_magic', offset: 0 });
  const v3 = pcapGlobalHeader();
  v3[4] = 3;
  assert.deepEqual(parsePcap(v3), { ok: false, error: 'bad_version', offset: 4 });
  const huge = Buffer.concat([pcapGlobalHeader(), hex('00000000 00000000 ffffff00 ffffff00')]);
  assert.deepEqual(parsePcap(huge), { ok: false, error: 'bad_record', offset: 24 });
  const whole = Buffer.concat([pcapGlobalHeader(), pcapRecordHeader(TS, 42, 42), ARP_REQUEST]);
  for (const cut of [whole.length - 1, 24 + 15]) {
    const r = parsePcap(whole.subarray(0, cut));
    assert.ok(r.ok);
    assert.equal(r.truncated, true);
    assert.equal(r.records.length, 0);
  }
  const empty = parsePcap(pcapGlobalHeader());
  assert.ok(empty.ok);
  assert.deepEqual([empty.records, empty.truncated], [[], false]);
});

test('property: parsePcap never throws, on garbage or on mangled real files', () => {
  const real = Buffer.concat([pcapGlobalHeader(), pcapRecordHeader(TS, 42, 42), ARP_REQUEST]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      parsePcap(b);
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 }))), fc.nat(real.length), (edits, len) => {
      const b = Buffer.from(real.subarray(0, len));
      for (const [i, v] of edits) if (i < b.length) b[i] = v;
      const r = parsePcap(b);
      if (r.ok) for (const rec of r.records) assert.ok(rec.data.byteOffset + rec.data.length <= b.byteOffset + b.length);
    }),
  );
});

test('tshark reads the file with nanosecond timestamps', (t) => {
  if (!hasTshark) {
    t.skip('tshark not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'netstackd-pcap-'));
  try {
    const file = join(dir, 'arp.pcap');
    writeFileSync(file, Buffer.concat([pcapGlobalHeader(), pcapRecordHeader(TS, 42, 42), ARP_REQUEST]));
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'eth.src', '-e', 'arp.dst.proto_ipv4'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.equal(out.trim(), '1700000000.123456789\t02:00:00:00:00:01\t10.0.0.2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
