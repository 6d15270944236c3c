// A client that stops reading loses frames only at its own stream socket:
// the socket's receive memory stays within rcvbuf (plus the one frame that
// Linux's rmem >= rcvbuf test lets overshoot), the server's send buffer
// within the high-water mark, the heap does not grow with the frames pushed,
// and another client on the same device meanwhile receives every frame.
// When the stalled client reads again it gets what was kept and drops
// notices for the rest: delivered + dropped = sent, and the stack counts
// exactly those drops, as socket_rcvbuff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { NetStack, createDevice } from '../../../src/stack/index.ts';
import type { PacketSocket } from '../../../src/packet/socket.ts';
import { PCAP_RECORD_HLEN } from '../../../src/wire/pcap.ts';
import { skbTruesize } from '../../../src/skb/skbuff.ts';
import { DEFAULT_HIGH_WATER_MARK } from '../../../src/api/ws/stream.ts';
import { Ledger } from '../../helpers/conservation.ts';
import { buildFrame } from '../../helpers/frames.ts';
import { startServer } from './server.ts';
import WebSocket from 'ws';
import { StreamClient, waitUntil } from './client.ts';

const FRAMES = 200_000;
/** Frames in flight to the fast client at most: below what its socket holds, so it never drops. */
const WINDOW = 200;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapNow(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('a stalled client loses frames only in its own socket, memory stays bounded, a fast client gets everything', { timeout: 120_000 }, async (t) => {
  const stack = new NetStack();
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const server = await startServer(stack);
  t.after(async () => {
    await server.close();
    stack.close();
  });
  const tx = stack.openPacketSocket({ dev: veth0!, protocol: 0, sndbuf: 4 << 20 });
  const streams = (): PacketSocket[] => stack.packetSockets().filter((s) => s.owner.startsWith('ws '));

  // The fast client reads pcap records and checks their sequence numbers as they come.
  // A plain client that keeps nothing: the heap must not grow with what it receives.
  const fast = new WebSocket(`${server.wsUrl}/v1/devices/veth1/stream?format=binary`, { perMessageDeflate: false });
  let fastFrames = 0;
  let outOfOrder = 0;
  let wakeSender: (() => void) | null = null;
  fast.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 24) return;
    for (let off = 0; off < data.length; ) {
      const incl = data.readUInt32LE(off + 8);
      if (data.readUInt32BE(off + PCAP_RECORD_HLEN + 14) !== fastFrames) outOfOrder++;
      fastFrames++;
      off += PCAP_RECORD_HLEN + incl;
    }
    wakeSender?.();
  });
  await waitUntil(() => streams().length === 1, 'fast stream socket');
  const [fastSock] = streams();

  const slow = await StreamClient.open(`${server.wsUrl}/v1/devices/veth1/stream`);
  await waitUntil(() => streams().length === 2, 'slow stream socket');
  const slowSock = streams().find((s) => s !== fastSock)!;
  const slowWs = [...server.app.websocketServer.clients][1]!;
  // Stop reading: the client's TCP socket is paused, the kernel buffers fill, then the server's.
  slow.ws.pause();

  const ledger = new Ledger(stack);
  const heapBefore = heapNow();
  let sent = 0;
  let maxRmem = 0;
  let maxBuffered = 0;
  const frame = buildFrame({ dst: veth1!, src: veth0!, size: 64 });
  while (sent < FRAMES) {
    while (sent - fastFrames >= WINDOW / 2) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the fast client stalled at ${fastFrames} of ${sent}`)), 20_000);
        wakeSender = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (let i = 0; i < WINDOW / 2 && sent < FRAMES; i++, sent++) {
      frame.writeUInt32BE(sent, 14);
      assert.equal(tx.send(frame), 'sent');
    }
    maxRmem = Math.max(maxRmem, slowSock.sk.rmemAlloc);
    maxBuffered = Math.max(maxBuffered, slowWs.bufferedAmount);
  }
  await waitUntil(() => fastFrames === FRAMES, 'the fast client has every frame', 20_000);
  const heapGrowth = heapNow() - heapBefore;

  assert.equal(outOfOrder, 0, 'the fast client got every frame in order');
  assert.equal(fastSock!.sk.drops, 0, 'the fast client lost nothing');
  assert.ok(slowSock.sk.drops > FRAMES / 2, `the stalled client's socket dropped ${slowSock.sk.drops}`);
  const frameTruesize = skbTruesize(frame.length + 16);
  assert.ok(maxRmem < slowSock.sk.rcvbuf + frameTruesize, `receive memory ${maxRmem} < rcvbuf ${slowSock.sk.rcvbuf} + one frame`);
  // The message that crosses the mark is still sent: at most one JSON frame over it.
  assert.ok(maxBuffered <= DEFAULT_HIGH_WATER_MARK + 4096, `server send buffer ${maxBuffered} stayed near the high-water mark`);
  // Unbounded buffering of 200k JSON frames would be about 40 MB.
  assert.ok(heapGrowth < 8 * 1024 * 1024, `heap grew ${heapGrowth} bytes while ${FRAMES} frames were pushed`);

  // The stalled client reads again: frames kept, then a notice for the rest.
  slow.ws.resume();
  await slow.waitFor(() => slow.frames.length + slow.dropped === FRAMES, 'delivered + dropped = sent', 30_000);
  const slowDrops = slowSock.sk.drops;
  assert.equal(slow.dropped, slowDrops);
  assert.equal(slow.drops.at(-1)!.total, slowDrops);
  let running = 0;
  for (const d of slow.drops) {
    assert.ok(d.count > 0);
    running += d.count;
    assert.equal(d.total, running, 'each notice\'s total is the sum of the counts so far');
  }
  // What it kept are the frames that fit before its queue filled, in order.
  const seqs = slow.frames.map((f) => Buffer.from(f.data, 'hex').readUInt32BE(14));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));

  // Conservation over the whole run: each frame reached two sockets (one clone each).
  assert.deepEqual(ledger.drops(), { SOCKET_RCVBUFF: slowDrops });
  ledger.assertConserved({ sent: FRAMES, delivered: fastFrames + slow.frames.length, extra: ledger.clones() });
  assert.equal(ledger.clones(), FRAMES);

  fast.close();
  await slow.close();
  await waitUntil(() => streams().length === 0, 'stream sockets closed');
});
