// CaptureSession on virtual time: what ends a capture (count, duration, the
// device going away, the reader going away), back-pressure from the sink
// turning into counted drops at the capture socket and nowhere else, and the
// socket always closed with nothing left charged.

import { skbTruesize } from '../../src/skb/skbuff.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteDevice } from '../../src/stack/index.ts';
import type { NetStack } from '../../src/stack/index.ts';
import { CaptureSession, type CaptureEndReason, type CaptureOptions, type CaptureSink } from '../../src/capture/session.ts';
import { parsePcap } from '../../src/wire/pcap.ts';
import { parsePcapng } from '../../src/wire/pcapng.ts';
import { virtualStack, vethWithSockets, sendNow, settle, type VethSetup } from '../helpers/stack.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { assertQuiet } from '../helpers/conservation.ts';
import { throwsErrno } from '../helpers/errors.ts';

class MemorySink implements CaptureSink {
  chunks: Buffer[] = [];
  ended: CaptureEndReason | null = null;
  full = false;
  write(chunk: Buffer): boolean {
    assert.equal(this.ended, null, 'no write after end');
    this.chunks.push(chunk);
    return !this.full;
  }
  end(reason: CaptureEndReason): void {
    assert.equal(this.ended, null, 'end once');
    this.ended = reason;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function setup(): Promise<{ stack: NetStack; v: VethSetup; clock: Awaited<ReturnType<typeof virtualStack>>['clock'] }> {
  const { stack, clock } = virtualStack();
  const v = await vethWithSockets(stack);
  v.rx.close();
  return { stack, v, clock };
}

function start(stack: NetStack, opts: Partial<CaptureOptions> & Pick<CaptureOptions, 'dev'>, sink: CaptureSink): CaptureSession {
  const s = new CaptureSession(stack, { format: 'pcapng', ...opts }, sink);
  s.start();
  return s;
}

function send(v: VethSetup, from: number, n: number): void {
  for (let i = 0; i < n; i++) sendNow(v.tx, buildFrame({ dst: v.b, src: v.a, seq: from + i }));
}

test('the file header goes out at start, before any frame', async () => {
  const { stack, v } = await setup();
  const sink = new MemorySink();
  const s = start(stack, { dev: v.b }, sink);
  assert.equal(sink.chunks.length, 1);
  const parsed = parsePcapng(sink.bytes);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.interfaces.map((i) => i.name), [v.b.name]);
  assert.equal(parsed.packets.length, 0);
  s.abort();
  assert.equal(sink.ended, 'aborted');
  assert.equal(stack.sockets.has(s.socket.id), false);
});

test('count: stops after exactly N frames, ends the file with statistics, closes the socket', async () => {
  const { stack, v } = await setup();
  const sink = new MemorySink();
  const s = start(stack, { dev: v.b, count: 5 }, sink);
  send(v, 0, 8);
  await settle();
  assert.equal(sink.ended, 'count');
  assert.equal(s.frames, 5);
  const parsed = parsePcapng(sink.bytes);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.packets.map((p) => seqOf(p.data)), [0, 1, 2, 3, 4]);
  assert.deepEqual(parsed.statistics.map((st) => [st.usrDeliv, st.ifDrop]), [[5n, 0n]]);
  assert.equal(stack.sockets.has(s.socket.id), false, 'socket closed');
  v.tx.close();
  assertQuiet(stack, [s.socket]);
});

test('duration: ends after the given stack time with what was captured', async () => {
  const { stack, v, clock } = await setup();
  const sink = new MemorySink();
  const s = start(stack, { dev: v.b, durationS: 2, format: 'pcap' }, sink);
  send(v, 0, 3);
  await clock.advance(1999);
  assert.equal(sink.ended, null);
  send(v, 3, 2);
  await settle();
  await clock.advance(1);
  assert.equal(sink.ended, 'duration');
  const parsed = parsePcap(sink.bytes);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.records.map((r) => seqOf(r.data)), [0, 1, 2, 3, 4]);
  assert.equal(stack.sockets.has(s.socket.id), false);
});

test('the device going away ends the file properly, frames already queued included', async () => {
  const { stack, v } = await setup();
  const sink = new MemorySink();
  sink.full = true; // nothing is read while the sink is full...
  const s = start(stack, { dev: v.b }, sink);
  send(v, 0, 4);
  await settle();
  assert.equal(s.socket.queued, 4);
  deleteDevice(stack, v.a.name); // ...but an ending file takes what is queued.
  assert.equal(sink.ended, 'device_gone');
  const parsed = parsePcapng(sink.bytes);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.packets.map((p) => seqOf(p.data)), [0, 1, 2, 3]);
  assertQuiet(stack, [s.socket]);
});

test('a full sink stops reading: frames wait in the socket, then drop there, counted; resume delivers the rest', async () => {
  const { stack, v } = await setup();
  const sink = new MemorySink();
  sink.full = true;
  const s = start(stack, { dev: v.b, rcvbuf: 16384 }, sink);
  const drops0 = stack.drops.SOCKET_RCVBUFF;
  const sent = 500;
  for (let i = 0; i < sent; i += 50) {
    send(v, i, 50);
    await settle();
    // Linux's rule (rmem >= rcvbuf refuses, before charging): at most one frame past rcvbuf.
    assert.ok(s.socket.sk.rmemAlloc < s.socket.sk.rcvbuf + skbTruesize(1514 + 16), 'receive memory stays within rcvbuf and one frame');
  }
  assert.equal(s.frames, 0, 'nothing read while the sink is full');
  assert.equal(sink.chunks.length, 1, 'only the header went out');
  const queued = s.socket.queued;
  assert.ok(queued > 0 && s.drops > 0, `queued ${queued}, dropped ${s.drops}`);
  assert.equal(queued + s.drops, sent);
  assert.equal(stack.drops.SOCKET_RCVBUFF - drops0, s.drops, 'the drops are the stack\'s SOCKET_RCVBUFF');

  sink.full = false;
  s.resume();
  await settle();
  assert.equal(s.frames, queued);
  s.finish('shutdown');
  assert.equal(sink.ended, 'shutdown');
  const parsed = parsePcapng(sink.bytes);
  assert.ok(parsed.ok);
  // The oldest frames were kept: the queue filled first, later arrivals were dropped.
  assert.deepEqual(parsed.packets.map((p) => seqOf(p.data)), Array.from({ length: queued }, (_, i) => i));
  assert.deepEqual(parsed.statistics.map((st) => [st.usrDeliv, st.ifDrop, st.ifRecv]), [[BigInt(queued), BigInt(s.drops), BigInt(sent)]]);
  v.tx.close();
  assertQuiet(stack, [s.socket]);
});

test('every device: interfaces appear as their frames do, outgoing frames marked outbound', async () => {
  const { stack, v } = await setup();
  const sink = new MemorySink();
  const s = start(stack, { dev: null, count: 4 }, sink);
  send(v, 0, 2);
  await settle();
  const parsed = parsePcapng(sink.bytes);
  assert.ok(parsed.ok);
  // Each frame is seen leaving veth0 and arriving on veth1.
  assert.equal(parsed.packets.length, 4);
  const seen = parsed.packets.map((p) => [parsed.interfaces[p.interfaceId]!.name, p.direction, seqOf(p.data)]);
  assert.deepEqual(seen.filter((x) => x[1] === 'outbound'), [
    [v.a.name, 'outbound', 0],
    [v.a.name, 'outbound', 1],
  ]);
  assert.deepEqual(seen.filter((x) => x[1] === 'inbound'), [
    [v.b.name, 'inbound', 0],
    [v.b.name, 'inbound', 1],
  ]);
  assert.equal(sink.ended, 'count');
  assert.equal(stack.sockets.has(s.socket.id), false);
});

test('options that cannot be met fail before a socket is opened', async () => {
  const { stack, v } = await setup();
  const before = stack.sockets.size;
  const sink = new MemorySink();
  throwsErrno(() => new CaptureSession(stack, { format: 'pcap', dev: null }, sink), 'EINVAL');
  throwsErrno(() => new CaptureSession(stack, { format: 'pcapng', dev: v.b, count: 0 }, sink), 'EINVAL');
  throwsErrno(() => new CaptureSession(stack, { format: 'pcapng', dev: v.b, durationS: -1 }, sink), 'EINVAL');
  throwsErrno(() => new CaptureSession(stack, { format: 'pcapng', dev: v.b, snaplen: 0 }, sink), 'EINVAL');
  throwsErrno(() => new CaptureSession(stack, { format: 'pcapng', dev: null, promisc: true }, sink), 'EINVAL');
  assert.equal(stack.sockets.size, before);
  assert.equal(sink.chunks.length, 0);
});
