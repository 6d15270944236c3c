// Scenario 2: a receiver that never reads. Its receive buffer fills and stays
// full; everything beyond it is dropped at its own queue (SOCKET_RCVBUFF),
// counted, and the process does not grow. Linux's rule (__sock_queue_rcv_skb):
// a frame is refused once rmem >= rcvbuf, so the last one taken may
// overshoot rcvbuf by less than one truesize.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skbTruesize } from '../../src/skb/skbuff.ts';
import { bhDisabled } from '../../src/stack/softnet.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, vethWithSockets, virtualStack } from '../helpers/stack.ts';

for (const rcvbuf of [undefined, 10_000]) {
  test(`a receiver that never reads (rcvbuf ${rcvbuf ?? 'default'}): rmem stops within one frame past rcvbuf, the rest is SOCKET_RCVBUFF`, async () => {
    const { stack } = virtualStack();
    const { a, b, tx, rx } = await vethWithSockets(stack, { rx: rcvbuf !== undefined ? { rcvbuf } : {} });
    const ledger = new Ledger(stack);
    const size = 1000;
    const truesize = skbTruesize(size + 16);
    // A second, reading socket on the same device shows the frames did arrive.
    const reading = stack.openPacketSocket({ dev: b, direction: 'in' });
    let readCount = 0;
    reading.sk.onDataReady = () => {
      readCount += drainSocket(reading).length;
    };
    let maxRmem = 0;
    let peakInUse = 0;
    rx.sk.onDataReady = () => {
      maxRmem = Math.max(maxRmem, rx.sk.rmemAlloc);
      assert.ok(rx.sk.rmemAlloc < rx.sk.rcvbuf + truesize, `rmemAlloc ${rx.sk.rmemAlloc} >= rcvbuf ${rx.sk.rcvbuf} + one frame`);
    };
    const n = 3000;
    let waits = 0;
    for (let i = 0; i < n; i++) {
      // Bottom halves off for the send: the frame waits in the backlog, charged
      // to the sender, so a sender faster than the bottom half meets its own
      // sndbuf (a veth send from process context would be received at once).
      const r = bhDisabled(() => tx.send(buildFrame({ dst: b, src: a, size, seq: i })));
      if (r instanceof Promise) {
        waits++;
        assert.equal(await r, 'sent');
      } else {
        assert.equal(r, 'sent');
      }
      peakInUse = Math.max(peakInUse, stack.pool.stats.inUse);
    }
    stack.drain();
    // Taken while rmem < rcvbuf before charging: ceil(rcvbuf / truesize) frames.
    const fits = Math.ceil(rx.sk.rcvbuf / truesize);
    assert.equal(rx.queued, fits, 'the queue holds what rcvbuf allows');
    assert.equal(rx.sk.rmemAlloc, fits * truesize);
    assert.ok(maxRmem < rx.sk.rcvbuf + truesize);
    assert.ok(maxRmem - truesize < rx.sk.rcvbuf, 'the frame that overshot was taken while there was room');
    assert.equal(rx.sk.drops, n - fits);
    assert.equal(ledger.drops().SOCKET_RCVBUFF, n - fits);
    assert.equal(readCount, n, 'the other socket got every frame');
    assert.ok(waits > 0, 'the sender was throttled by its own buffer, not by the reader');
    assert.ok(peakInUse < fits + 2 * Math.ceil(tx.sk.sndbuf / truesize) + 10, `buffers in use peaked at ${peakInUse}: bounded`);
    // The queued frames are the first ones, in order.
    const firsts = drainSocket(rx).map(seqOf);
    assert.deepEqual(firsts, [...Array(fits).keys()]);
    // Every frame: delivered to `reading`, and to `rx` or dropped there (the clone per frame is the extra unit).
    ledger.assertConserved({ sent: n, delivered: readCount + fits, extra: ledger.clones() });
    closeAndAssertQuiet(stack, [tx, rx, reading]);
  });
}

test('a receiver that never reads, alone: frames are dropped at its queue until it closes', async () => {
  const { stack } = virtualStack();
  const { a, b, tx, rx } = await vethWithSockets(stack, { rx: { rcvbuf: 5000 } });
  const ledger = new Ledger(stack);
  for (let i = 0; i < 50; i++) {
    const r = tx.send(buildFrame({ dst: b, src: a, size: 500, seq: i }));
    if (r instanceof Promise) await r;
  }
  stack.drain();
  const queued = rx.queued;
  assert.ok(queued > 0 && queued < 50);
  rx.close();
  assert.deepEqual(ledger.drops(), { SOCKET_RCVBUFF: 50 - queued, SOCKET_CLOSE: queued });
  ledger.assertConserved({ sent: 50, delivered: 0 });
  closeAndAssertQuiet(stack, [tx, rx]);
});
