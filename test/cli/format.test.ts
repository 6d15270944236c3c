// The CLI's pure parts: ip's stats layout (also compared with the real `ip`
// in a network namespace when the machine allows), tc's units, and the
// capture stream splitter.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Buffer } from 'node:buffer';
import type { DeviceJson, DeviceStats64 } from '../../src/cli/api-types.ts';
import { formatLink, formatLinkBrief, formatNetem, formatStats64 } from '../../src/cli/format/link.ts';
import { parseHexFrame, parsePercent, parseRateBps, parseTimeMs, parseUint } from '../../src/cli/values.ts';
import { ArgError } from '../../src/cli/errors.ts';
import { CaptureSplitter, CorruptCaptureError } from '../../src/cli/capture/splitter.ts';
import { formatTimestamp } from '../../src/cli/capture/live.ts';
import { pcapGlobalHeader, pcapRecordHeader } from '../../src/wire/pcap.ts';
import { pcapngEnhancedPacket, pcapngInterfaceDescription, pcapngInterfaceStatistics, pcapngSectionHeader } from '../../src/wire/pcapng.ts';

function stats(rx: Partial<DeviceStats64['rx']>, tx: Partial<DeviceStats64['tx']>): DeviceStats64 {
  return {
    rx: { bytes: 0, packets: 0, errors: 0, dropped: 0, multicast: 0, over_errors: 0, length_errors: 0, crc_errors: 0, frame_errors: 0, fifo_errors: 0, missed_errors: 0, nohandler: 0, ...rx },
    tx: { bytes: 0, packets: 0, errors: 0, dropped: 0, collisions: 0, carrier_errors: 0, aborted_errors: 0, fifo_errors: 0, window_errors: 0, heartbeat_errors: 0, carrier_changes: 0, ...tx },
  };
}

describe('ip -s link layout', () => {
  it('widens a column to its widest number (iproute2 size_columns)', () => {
    const text = formatStats64(stats({ bytes: 12345678901, packets: 123456789 }, {}), 1);
    assert.deepEqual(text.split('\n'), [
      '    RX:   bytes   packets errors dropped  missed   mcast           ',
      '    12345678901 123456789      0       0       0       0 ',
      '    TX:   bytes   packets errors dropped carrier collsns           ',
      '              0         0      0       0       0       0 ',
      '',
    ]);
  });

  it('-s -s aligns the error rows under the widened columns', () => {
    const text = formatStats64(stats({ bytes: 12345678901, crc_errors: 1234567 }, { carrier_changes: 3 }), 2);
    assert.deepEqual(text.split('\n').slice(2, 4), [
      '    RX errors:   length     crc   frame    fifo overrun',
      '                      0 1234567       0       0       0 ',
    ]);
  });

  it('matches the real `ip` byte for byte in a namespace of our own', (t) => {
    let ipOk = false;
    try {
      execFileSync('ip', ['-V'], { stdio: 'ignore' });
      ipOk = process.getuid?.() === 0;
    } catch {
      ipOk = false;
    }
    if (!ipOk) return t.skip('needs root and iproute2 to create a network namespace');
    const ns = `nsctl${process.pid}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
    } catch {
      return t.skip('cannot create a network namespace here');
    }
    try {
      const ip = (...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
      ip('link', 'add', 'name', 'pa', 'address', '02:00:00:00:00:0a', 'type', 'veth', 'peer', 'name', 'pb', 'address', '02:00:00:00:00:0b');
      ip('link', 'set', 'dev', 'pa', 'up', 'mtu', '1400', 'promisc', 'on');
      ip('link', 'set', 'dev', 'lo', 'up');
      for (const s of [[], ['-s'], ['-s', '-s']]) {
        const json = JSON.parse(ip('-j', ...s, 'link', 'show')) as DeviceJson[];
        const byName = new Map(json.map((d) => [d.ifname, d]));
        const mine = json.map((d) => formatLink(d, byName, { stats: s.length, details: false })).join('');
        assert.equal(mine, ip(...s, 'link', 'show'), `ip ${s.join(' ')} link show`);
      }
      const json = JSON.parse(ip('-j', 'link', 'show')) as DeviceJson[];
      const byName = new Map(json.map((d) => [d.ifname, d]));
      assert.equal(json.map((d) => formatLinkBrief(d, byName)).join(''), ip('-br', 'link', 'show'));
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it('prints netem settings in tc words', () => {
    assert.equal(
      formatNetem({ delay_ms: 100, jitter_ms: 10, loss: 1, duplicate: 0, corrupt: 0.5, reorder: 0, rate_bps: 1_500_000, limit: 1000, seed: 7 }),
      'netem limit 1000 delay 100ms 10ms loss 1% corrupt 0.5% rate 1.5Mbit seed 7',
    );
  });
});

describe('tc and ip values', () => {
  it('reads tc times, rates and percentages', () => {
    assert.equal(parseTimeMs('100ms', 'delay', 'link'), 100);
    assert.equal(parseTimeMs('1.5s', 'delay', 'link'), 1500);
    assert.equal(parseTimeMs('250us', 'delay', 'link'), 0.25);
    assert.equal(parseTimeMs('100', 'delay', 'link'), 0.1, 'a bare number is microseconds, as in tc');
    assert.equal(parseRateBps('1mbit', 'rate', 'link'), 1_000_000);
    assert.equal(parseRateBps('100Kbit', 'rate', 'link'), 100_000);
    assert.equal(parseRateBps('10Mbps', 'rate', 'link'), 80_000_000, 'bps is bytes per second, as in tc');
    assert.equal(parseRateBps('1000', 'rate', 'link'), 1000);
    assert.equal(parsePercent('1%', 'loss', 'link'), 1);
    assert.equal(parsePercent('0.5', 'loss', 'link'), 0.5);
    assert.equal(parseUint('0x10', 'mtu', 'link'), 16);
    assert.equal(parseHexFrame('0x02:00-AB.cd_ef', 'send'), '0200abcdef');
  });

  it('refuses what tc and ip refuse, as argument errors (exit 255)', () => {
    const bad: (() => unknown)[] = [
      () => parseTimeMs('10parsecs', 'delay', 'link'),
      () => parseTimeMs('-5ms', 'delay', 'link'),
      () => parseRateBps('fast', 'rate', 'link'),
      () => parsePercent('101%', 'loss', 'link'),
      () => parseUint('-1', 'mtu', 'link'),
      () => parseUint('1e3', 'mtu', 'link'),
      () => parseUint('4294967296', 'mtu', 'link'),
      () => parseHexFrame('abc', 'send'),
      () => parseHexFrame('', 'send'),
    ];
    for (const fn of bad) assert.throws(fn, (err: unknown) => err instanceof ArgError && err.exitCode === 255);
  });
});

describe('capture stream splitter', () => {
  const pkt = (n: number): Buffer => Buffer.alloc(60 + n, n);

  it('cuts a pcapng stream fed byte by byte into whole blocks, counting packets and ISB drops', () => {
    const blocks = [
      pcapngSectionHeader(),
      pcapngInterfaceDescription({ name: 'eth0' }),
      pcapngEnhancedPacket({ interfaceId: 0, tsNs: 1n, data: pkt(1) }),
      pcapngEnhancedPacket({ interfaceId: 0, tsNs: 2n, data: pkt(3), direction: 'inbound' }),
      pcapngInterfaceStatistics({ interfaceId: 0, tsNs: 3n, ifRecv: 5n, ifDrop: 4n }),
    ];
    const stream = Buffer.concat(blocks);
    const s = new CaptureSplitter('pcapng');
    const units: Buffer[] = [];
    for (const byte of stream) units.push(...s.push(Uint8Array.of(byte)));
    assert.deepEqual(units, blocks);
    assert.equal(s.packets, 2);
    assert.equal(s.drops, 4);
    assert.equal(s.buffered, 0);
  });

  it('holds back a partial record, so a cut stream leaves only whole ones', () => {
    const head = pcapGlobalHeader();
    const r1 = Buffer.concat([pcapRecordHeader(1n, 61, 61), pkt(1)]);
    const r2 = Buffer.concat([pcapRecordHeader(2n, 62, 62), pkt(2)]);
    const s = new CaptureSplitter('pcap');
    const units = s.push(Buffer.concat([head, r1, r2.subarray(0, 20)]));
    assert.deepEqual(units, [head, r1]);
    assert.equal(s.packets, 1);
    assert.equal(s.buffered, 20);
    assert.deepEqual(s.push(r2.subarray(20)), [r2]);
    assert.equal(s.packets, 2);
  });

  it('refuses a stream that is not a capture', () => {
    assert.throws(() => new CaptureSplitter('pcapng').push(Buffer.from('HTTP/1.1 500 oops')), CorruptCaptureError);
    assert.throws(() => new CaptureSplitter('pcap').push(Buffer.alloc(24, 0x41)), CorruptCaptureError);
  });
});

describe('timestamps', () => {
  it('prints local HH:MM:SS.uuuuuu from ms, µs or ns since the epoch', () => {
    const ms = new Date(2024, 0, 2, 3, 4, 5, 678).getTime() + 0.9;
    assert.equal(formatTimestamp(ms), '03:04:05.678900');
    assert.equal(formatTimestamp(Math.round(ms * 1000)), '03:04:05.678900');
    assert.equal(formatTimestamp(ms * 1e6), '03:04:05.678900');
    assert.equal(formatTimestamp(new Date(ms).toISOString()), '03:04:05.678000', 'an ISO string has ms only');
  });
});
