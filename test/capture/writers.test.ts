// The pcap and pcapng stream writers, read back with the wire parsers: every
// byte of every frame, lengths, snaplen, timestamps, interfaces added as
// frames appear, direction and reception type, the closing statistics; and
// the chunk buffer they write into.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { devAllocSkbFrom, PacketType, type SkBuff } from '../../src/skb/skbuff.ts';
import { parsePcap } from '../../src/wire/pcap.ts';
import { parsePcapng } from '../../src/wire/pcapng.ts';
import { setLink } from '../../src/stack/index.ts';
import { ChunkBuffer } from '../../src/capture/chunk-buffer.ts';
import { PcapStreamWriter } from '../../src/capture/pcap-writer.ts';
import { PcapngStreamWriter } from '../../src/capture/pcapng-writer.ts';
import { tstampToNs } from '../../src/capture/timestamp.ts';
import { throwsErrno } from '../helpers/errors.ts';

const T0 = Date.UTC(2026, 0, 1, 12) + 0.25;

function skbOf(stack: NetStack, dev: NetDevice, bytes: Buffer, pktType: PacketType, tstamp: number): SkBuff {
  const skb = devAllocSkbFrom(stack.pool, bytes.length)!;
  skb.putData(bytes);
  skb.dev = dev;
  skb.pktType = pktType;
  skb.tstamp = tstamp;
  return skb;
}

function frameOf(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

async function twoDummies(): Promise<{ stack: NetStack; d0: NetDevice; d1: NetDevice }> {
  const stack = new NetStack();
  const [d0] = await createDevice(stack, { kind: 'dummy', name: 'dummy0', up: true });
  const [d1] = await createDevice(stack, { kind: 'dummy', name: 'dummy1', up: true });
  return { stack, d0: d0!, d1: d1! };
}

test('pcap: global header then one record per frame, bytes, lengths and ns timestamps intact', async () => {
  const { stack, d0 } = await twoDummies();
  const w = new PcapStreamWriter({ snaplen: 100 });
  w.writeHeader();
  const header = w.take()!;
  assert.equal(header.length, 24);
  const frames = [frameOf(60, 1), frameOf(99, 2), frameOf(100, 3), frameOf(1514, 4)];
  frames.forEach((f, i) => {
    const skb = skbOf(stack, d0, f, PacketType.HOST, T0 + i);
    w.add(skb);
    skb.free();
  });
  assert.equal(w.frames, 4);
  const body = w.take()!;
  assert.equal(w.take(), null, 'take() empties the writer');
  const parsed = parsePcap(Buffer.concat([header, body]));
  assert.ok(parsed.ok);
  assert.equal(parsed.nanos, true);
  assert.equal(parsed.snaplen, 100);
  assert.equal(parsed.linktype, 1);
  assert.equal(parsed.truncated, false);
  assert.equal(parsed.records.length, 4);
  parsed.records.forEach((r, i) => {
    const f = frames[i]!;
    assert.equal(r.origLen, f.length);
    assert.deepEqual(r.data, f.subarray(0, Math.min(100, f.length)), `record ${i} bytes`);
    assert.equal(r.tsNs, tstampToNs(T0 + i));
  });
  assert.equal(stack.pool.stats.inUse, 0);
});

test('pcapng: SHB, IDBs as devices first appear, EPBs with flags, statistics at the end', async () => {
  const { stack, d0, d1 } = await twoDummies();
  const w = new PcapngStreamWriter({ snaplen: 128 });
  w.writeHeader([d0]);
  const sent: { dev: NetDevice; bytes: Buffer; type: PacketType }[] = [
    { dev: d0, bytes: frameOf(60, 1), type: PacketType.HOST },
    { dev: d1, bytes: frameOf(61, 2), type: PacketType.BROADCAST },
    { dev: d0, bytes: frameOf(200, 3), type: PacketType.OUTGOING },
    { dev: d1, bytes: frameOf(62, 4), type: PacketType.MULTICAST },
    { dev: d0, bytes: frameOf(63, 5), type: PacketType.OTHERHOST },
  ];
  sent.forEach((s, i) => {
    const skb = skbOf(stack, s.dev, s.bytes, s.type, T0 + i / 3);
    w.add(skb);
    skb.free();
  });
  w.writeStatistics({ startMs: T0 - 1000, endMs: T0 + 1000, drops: 7 });
  const parsed = parsePcapng(w.take()!);
  assert.ok(parsed.ok);
  assert.equal(parsed.sections.length, 1);
  assert.equal(parsed.sections[0]!.userappl, 'netstackd');
  assert.deepEqual(
    parsed.interfaces.map((i) => [i.name, i.snaplen, i.tsresol, i.linktype]),
    [
      ['dummy0', 128, 9, 1],
      ['dummy1', 128, 9, 1],
    ],
  );
  assert.deepEqual(w.interfaces.map((i) => [i.id, i.name, i.frames]), [
    [0, 'dummy0', 3],
    [1, 'dummy1', 2],
  ]);
  assert.equal(parsed.packets.length, sent.length);
  const reception: Record<number, number> = { [PacketType.HOST]: 1, [PacketType.MULTICAST]: 2, [PacketType.BROADCAST]: 3, [PacketType.OTHERHOST]: 4 };
  parsed.packets.forEach((p, i) => {
    const s = sent[i]!;
    assert.equal(parsed.interfaces[p.interfaceId]!.name, s.dev.name);
    assert.equal(p.origLen, s.bytes.length);
    assert.deepEqual(p.data, s.bytes.subarray(0, 128));
    assert.equal(p.tsNs, tstampToNs(T0 + i / 3));
    if (s.type === PacketType.OUTGOING) {
      assert.equal(p.direction, 'outbound');
      assert.equal(p.flags, 2);
    } else {
      assert.equal(p.direction, 'inbound');
      assert.equal(p.flags, 1 | (reception[s.type]! << 2));
    }
  });
  // Frames from two devices: the socket's drops are written once, on the first interface.
  assert.deepEqual(
    parsed.statistics.map((s) => [s.interfaceId, s.usrDeliv, s.ifRecv, s.ifDrop, s.startTimeNs, s.endTimeNs]),
    [
      [0, 3n, 10n, 7n, tstampToNs(T0 - 1000), tstampToNs(T0 + 1000)],
      [1, 2n, 2n, 0n, tstampToNs(T0 - 1000), tstampToNs(T0 + 1000)],
    ],
  );
  assert.equal(stack.pool.stats.inUse, 0);
});

test('pcapng: a device renamed mid-capture gets a new IDB; drops of a one-device capture go on its latest', async () => {
  const { stack, d0 } = await twoDummies();
  const w = new PcapngStreamWriter();
  w.writeHeader([d0]);
  const put = (seed: number): void => {
    const skb = skbOf(stack, d0, frameOf(60, seed), PacketType.HOST, T0);
    w.add(skb);
    skb.free();
  };
  put(1);
  setLink(stack, 'dummy0', { up: false });
  setLink(stack, 'dummy0', { name: 'uplink' });
  put(2);
  put(3);
  w.writeStatistics({ startMs: T0, endMs: T0, drops: 4 });
  const parsed = parsePcapng(w.take()!);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.interfaces.map((i) => i.name), ['dummy0', 'uplink']);
  assert.deepEqual(parsed.packets.map((p) => p.interfaceId), [0, 1, 1]);
  assert.deepEqual(parsed.statistics.map((s) => [s.usrDeliv, s.ifDrop]), [
    [1n, 0n],
    [2n, 4n],
  ]);
});

test('writers refuse a snaplen the file formats cannot hold', () => {
  for (const snaplen of [-1, 0, 1.5, 2 ** 32, Number.NaN]) {
    throwsErrno(() => new PcapStreamWriter({ snaplen }), 'EINVAL');
    throwsErrno(() => new PcapngStreamWriter({ snaplen }), 'EINVAL');
  }
  assert.equal(new PcapngStreamWriter({ snaplen: 2 ** 32 - 1 }).snaplen, 2 ** 32 - 1);
});

test('chunk buffer: a chunk handed out never changes, across slab changes and growth', () => {
  const out = new ChunkBuffer(64);
  const taken: [Buffer, Buffer][] = [];
  let seed = 0;
  for (let round = 0; round < 50; round++) {
    const parts = 1 + (round % 5);
    const expect: Buffer[] = [];
    for (let p = 0; p < parts; p++) {
      const b = frameOf(1 + ((round * 13 + p * 29) % 150), seed++);
      out.append(b);
      expect.push(b);
    }
    const chunk = out.take()!;
    taken.push([chunk, Buffer.concat(expect)]);
  }
  for (const [chunk, expected] of taken) assert.deepEqual(chunk, expected);
  assert.equal(out.take(), null);
  assert.equal(out.length, 0);
});
