// The skb trace: a frame of a traced device records each layer it passes,
// with the pointers as they were there; a frame of an untraced device
// records nothing, and with no device traced nothing starts at all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { NetStack } from '../../src/stack/index.ts';
import { ETH_HLEN } from '../../src/wire/eth.ts';
import { buildFrame } from '../helpers/frames.ts';
import { closeAndAssertQuiet } from '../helpers/conservation.ts';
import { sendNow, vethWithSockets } from '../helpers/stack.ts';
import { TRACE_MAX_PER_SECOND, skbTraceSampled } from '../../src/skb/trace.ts';

test('a traced frame records every layer from transmit to the socket queue', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  stack.traceDevice(a, 1);
  sendNow(tx, buildFrame({ dst: b, src: a, size: 100 }));
  await settle();
  const skb = rx.recv();
  assert.ok(skb !== null && skb.trace !== null);
  const layers = skb.trace.map((p) => p.layer);
  assert.deepEqual(layers, ['dev_queue_xmit', 'ndo_start_xmit', 'netif_rx', 'netif_receive_skb', 'eth_type_trans', 'packet_rcv', 'sock_queue_rcv_skb']);
  const at = Object.fromEntries(skb.trace.map((p) => [p.layer, p]));
  // eth_type_trans pulls the link header: data moves on by 14, len shrinks by 14, tail stays.
  assert.equal(at.eth_type_trans!.data - at.netif_receive_skb!.data, ETH_HLEN);
  assert.equal(at.netif_receive_skb!.len - at.eth_type_trans!.len, ETH_HLEN);
  assert.equal(at.eth_type_trans!.tail, at.netif_receive_skb!.tail);
  assert.equal(at.eth_type_trans!.mac_header, at.netif_receive_skb!.data);
  // packet_rcv puts it back, as AF_PACKET SOCK_RAW shows whole frames.
  assert.equal(at.packet_rcv!.data, at.eth_type_trans!.mac_header);
  assert.equal(at.packet_rcv!.len, 100);
  // The sender's socket pays until the driver hands it over; the receiver's once queued.
  assert.equal(at.dev_queue_xmit!.charged, 'wmem');
  assert.equal(at.dev_queue_xmit!.dev, a.name);
  assert.equal(at.netif_rx!.dev, b.name);
  assert.equal(at.sock_queue_rcv_skb!.charged, 'rmem');
  assert.equal(at.sock_queue_rcv_skb!.sk!.rmem, skb.truesize);
  assert.equal(at.sock_queue_rcv_skb!.truesize, skb.truesize);
  skb.free();
  stack.traceDevice(a, -1);
  assert.equal(stack.traceNeeded, 0);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('tracing the receiving device starts at netif_rx; an untraced path records nothing', async () => {
  const stack = new NetStack();
  const { a, b, tx, rx } = await vethWithSockets(stack);
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  const plain = rx.recv()!;
  assert.equal(plain.trace, null);
  plain.free();
  stack.traceDevice(b, 1);
  sendNow(tx, buildFrame({ dst: b, src: a }));
  await settle();
  const traced = rx.recv()!;
  assert.equal(traced.trace?.[0]?.layer, 'netif_rx');
  traced.free();
  stack.traceDevice(b, -1);
  stack.traceDevice(b, -1); // one too many is ignored: the counter never goes negative
  assert.equal(stack.traceNeeded, 0);
  assert.equal(b.traceUsers, 0);
  closeAndAssertQuiet(stack, [tx, rx]);
});

test('a flood is sampled: at most TRACE_MAX_PER_SECOND frames a second start a trace on one device', () => {
  const dev = { traceWindowStart: -Infinity, traceInWindow: 0 };
  let started = 0;
  for (let i = 0; i < TRACE_MAX_PER_SECOND * 3; i++) if (skbTraceSampled(dev, 5000 + i * 0.1)) started++;
  assert.equal(started, TRACE_MAX_PER_SECOND, 'one window, one budget');
  assert.equal(skbTraceSampled(dev, 6000), true, 'the next second starts a new window');
});
