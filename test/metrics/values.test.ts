import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice, deleteDevice, qdiscReplace, setLink } from '../../src/stack/index.ts';
import { VirtualClock } from '../../src/clock.ts';
import { DROP_REASONS } from '../../src/skb/drop-reason.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { parseExposition, samplesOf, sendFrames, testFrame, valueOf, type Sample } from './helpers.ts';

async function scrape(metrics: { metrics(): Promise<string> }): Promise<Sample[]> {
  return parseExposition(await metrics.metrics());
}

test('device counters match the traffic put through a veth pair, as absolute values on every scrape', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const sender = stack.openPacketSocket({ dev: veth0! });
  const metrics = createMetrics(stack);
  const N = 37;
  sendFrames(sender, N, testFrame(60));
  stack.drain();

  for (let scrapeNo = 0; scrapeNo < 2; scrapeNo++) {
    const s = await scrape(metrics);
    assert.equal(valueOf(s, 'netstack_network_transmit_packets_total', { device: 'veth0' }), N);
    assert.equal(valueOf(s, 'netstack_network_transmit_bytes_total', { device: 'veth0' }), N * 60);
    assert.equal(valueOf(s, 'netstack_network_receive_packets_total', { device: 'veth1' }), N);
    assert.equal(valueOf(s, 'netstack_network_receive_bytes_total', { device: 'veth1' }), N * 60);
    assert.equal(valueOf(s, 'netstack_network_transmit_packets_total', { device: 'veth1' }), 0);
    assert.equal(valueOf(s, 'netstack_network_receive_packets_total', { device: 'veth0' }), 0);
    assert.equal(valueOf(s, 'netstack_softnet_processed_total'), N);
    assert.equal(valueOf(s, 'netstack_softnet_backlog_packets'), 0);
    assert.equal(valueOf(s, 'netstack_socket_sent_packets_total', { socket: String(sender.id), device: 'veth0' }), N);
    assert.equal(valueOf(s, 'netstack_skb_allocs_total'), stack.pool.stats.allocs);
    assert.equal(valueOf(s, 'netstack_skb_frees_total'), stack.pool.stats.frees);
    assert.equal(valueOf(s, 'netstack_skb_in_use'), stack.pool.stats.inUse);
    // Nobody listens for 0x88b5 on veth1: each frame is dropped there, with its reason.
    assert.equal(valueOf(s, 'netstack_drops_total', { reason: 'unhandled_proto' }), N);
    assert.equal(valueOf(s, 'netstack_network_receive_drop_total', { device: 'veth1' }), N);
    assert.equal(valueOf(s, 'netstack_network_receive_nohandler_total', { device: 'veth1' }), 0);
  }
});

test('every drop reason is exported from the first scrape, zeros included, labelled in lower case', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  const s = await scrape(createMetrics(stack));
  const drops = samplesOf(s, 'netstack_drops_total');
  assert.deepEqual(drops.map((d) => d.labels.reason).sort(), DROP_REASONS.map((r) => r.toLowerCase()).sort());
  for (const d of drops) assert.equal(d.value, 0);
});

test('a slow reader loses frames at its own socket: socket memory, socket drops and the drop reason agree', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const sender = stack.openPacketSocket({ dev: veth0! });
  // The smallest receive buffer: room for a few frames only.
  const reader = stack.openPacketSocket({ dev: veth1!, rcvbuf: 0 });
  const tap = stack.openPacketSocket({});
  const metrics = createMetrics(stack);
  sendFrames(sender, 20);
  stack.drain();

  const s = await scrape(metrics);
  const readerLabels = { socket: String(reader.id), device: 'veth1' };
  assert.ok(reader.sk.drops > 0, 'the test needs the reader to have dropped frames');
  assert.equal(valueOf(s, 'netstack_socket_drops_total', readerLabels), reader.sk.drops);
  assert.equal(valueOf(s, 'netstack_socket_received_packets_total', readerLabels), 20 - reader.sk.drops);
  assert.equal(valueOf(s, 'netstack_socket_receive_queue_packets', readerLabels), reader.queued);
  assert.equal(valueOf(s, 'netstack_socket_rmem_bytes', readerLabels), reader.sk.rmemAlloc);
  assert.ok(reader.sk.rmemAlloc > 0);
  assert.equal(valueOf(s, 'netstack_socket_rcvbuf_bytes', readerLabels), reader.sk.rcvbuf);
  assert.equal(valueOf(s, 'netstack_drops_total', { reason: 'socket_rcvbuff' }), reader.sk.drops);
  // An unbound tap hears both ends: 20 out on veth0, 20 in on veth1.
  assert.equal(valueOf(s, 'netstack_socket_received_packets_total', { socket: String(tap.id), device: 'all' }), 40);
  assert.equal(samplesOf(s, 'netstack_socket_rmem_bytes').length, 3);

  // Reading everything credits the memory back; the gauges follow.
  for (let skb = reader.recv(); skb !== null; skb = reader.recv()) skb.free();
  for (let skb = tap.recv(); skb !== null; skb = tap.recv()) skb.free();
  const after = await scrape(metrics);
  assert.equal(valueOf(after, 'netstack_socket_rmem_bytes', readerLabels), 0);
  assert.equal(valueOf(after, 'netstack_skb_in_use'), 0);
  assert.equal(valueOf(after, 'netstack_skb_bytes'), 0);

  // A closed socket's series go away.
  reader.close();
  const closed = await scrape(metrics);
  assert.equal(samplesOf(closed, 'netstack_socket_drops_total', { socket: String(reader.id) }).length, 0);
  assert.equal(samplesOf(closed, 'netstack_socket_drops_total').length, 2);
});

test('a stopped transmit queue shows its qlen, backlog, drops and sent counts in tc\'s words; netem shows what it holds', async (t) => {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  t.after(() => stack.close());
  // A 1 Mbit/s link whose TX ring holds 2 frames, behind a pfifo of 4: the rest are refused.
  const [slow0] = await createDevice(stack, { kind: 'veth', name: 'slow0', peer: 'slow1', up: true, speed_mbps: 1, tx_ring: 2 });
  qdiscReplace(stack, 'slow0', { kind: 'pfifo', limit: 4 });
  const [held0] = await createDevice(stack, { kind: 'dummy', name: 'held0', up: true, netem: { delayMs: 1000 } });
  const sender = stack.openPacketSocket({ dev: slow0! });
  const other = stack.openPacketSocket({ dev: held0! });
  const metrics = createMetrics(stack);
  const frame = testFrame(60);
  const results = Array.from({ length: 9 }, () => sender.send(frame));
  assert.deepEqual(results.filter((r) => r === 'dropped').length, 3);
  for (let i = 0; i < 2; i++) other.send(frame);
  stack.drain();

  const s = await scrape(metrics);
  assert.equal(valueOf(s, 'netstack_netem_held_packets', { device: 'held0' }), 2);
  assert.equal(valueOf(s, 'netstack_qdisc_qlen', { device: 'slow0' }), 4);
  assert.equal(valueOf(s, 'netstack_qdisc_backlog_bytes', { device: 'slow0' }), 4 * 60);
  assert.equal(valueOf(s, 'netstack_qdisc_sent_packets_total', { device: 'slow0' }), 2, 'two went to the ring');
  assert.equal(valueOf(s, 'netstack_qdisc_sent_bytes_total', { device: 'slow0' }), 2 * 60);
  assert.equal(valueOf(s, 'netstack_qdisc_stopped', { device: 'slow0' }), 1);
  assert.equal(valueOf(s, 'netstack_qdisc_drops_total', { device: 'slow0' }), 3);
  assert.equal(valueOf(s, 'netstack_qdisc_overlimits_total', { device: 'slow0' }), 0, 'a fifo drop is no overlimit');
  assert.equal(valueOf(s, 'netstack_drops_total', { reason: 'qdisc_drop' }), 3);
  assert.equal(valueOf(s, 'netstack_network_transmit_packets_total', { device: 'slow0' }), 0, 'nothing has left the wire yet');
  assert.ok(valueOf(s, 'netstack_socket_wmem_bytes', { socket: String(sender.id), device: 'slow0' }) > 0);

  await clock.advance(5000);
  stack.drain();
  const later = await scrape(metrics);
  assert.equal(valueOf(later, 'netstack_qdisc_qlen', { device: 'slow0' }), 0);
  assert.equal(valueOf(later, 'netstack_qdisc_backlog_bytes', { device: 'slow0' }), 0);
  assert.equal(valueOf(later, 'netstack_qdisc_sent_packets_total', { device: 'slow0' }), 6);
  assert.equal(valueOf(later, 'netstack_qdisc_stopped', { device: 'slow0' }), 0);
  assert.equal(valueOf(later, 'netstack_netem_held_packets', { device: 'held0' }), 0);
  assert.equal(valueOf(later, 'netstack_network_transmit_packets_total', { device: 'slow0' }), 6);
  assert.equal(valueOf(later, 'netstack_socket_wmem_bytes', { socket: String(sender.id), device: 'slow0' }), 0);
  // No netem on a device, no netem series.
  assert.equal(samplesOf(later, 'netstack_netem_held_packets', { device: 'lo' }).length, 0);
});

test('link state gauges follow ip link set: up, mtu, txqueuelen, info', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  await createDevice(stack, { kind: 'dummy', name: 'dummy0', up: true });
  const metrics = createMetrics(stack);

  let s = await scrape(metrics);
  for (const device of ['lo', 'veth0', 'veth1', 'dummy0']) assert.equal(valueOf(s, 'netstack_network_up', { device }), 1, device);
  assert.equal(valueOf(s, 'netstack_network_mtu_bytes', { device: 'lo' }), 65536);
  assert.equal(valueOf(s, 'netstack_network_info', { device: 'veth0', kind: 'veth', operstate: 'up', adminstate: 'up' }), 1);
  assert.equal(valueOf(s, 'netstack_network_info', { device: 'dummy0', kind: 'dummy', operstate: 'unknown' }), 1);

  setLink(stack, 'veth1', { up: false });
  setLink(stack, 'veth0', { mtu: 1400, txqlen: 77, address: '02:00:00:00:00:aa' });
  s = await scrape(metrics);
  // veth0 is still administratively up, but without a peer it has no carrier.
  assert.equal(valueOf(s, 'netstack_network_up', { device: 'veth0' }), 0);
  assert.equal(valueOf(s, 'netstack_network_up', { device: 'veth1' }), 0);
  assert.equal(valueOf(s, 'netstack_network_mtu_bytes', { device: 'veth0' }), 1400);
  assert.equal(valueOf(s, 'netstack_network_transmit_queue_length', { device: 'veth0' }), 77);
  assert.equal(valueOf(s, 'netstack_network_carrier_changes_total', { device: 'veth0' }), 2);
  // The info series carries the current address only.
  const info = samplesOf(s, 'netstack_network_info', { device: 'veth0' });
  assert.equal(info.length, 1);
  assert.equal(info[0]!.labels.address, '02:00:00:00:00:aa');
  assert.equal(info[0]!.labels.operstate, 'lowerlayerdown');
  assert.equal(valueOf(s, 'netstack_network_info', { device: 'veth1', adminstate: 'down', operstate: 'down' }), 1);
});

test('series of deleted devices disappear; a renamed device shows under its new name only', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  await createDevice(stack, { kind: 'dummy', name: 'dummy0', up: true });
  const sender = stack.openPacketSocket({ dev: veth0! });
  const metrics = createMetrics(stack);
  sendFrames(sender, 5);
  stack.drain();
  const deviceFamilies = (s: Sample[]): Set<string> => new Set(s.filter((x) => x.labels.device !== undefined).map((x) => x.name));

  const before = await scrape(metrics);
  const families = deviceFamilies(before);
  assert.ok(families.size >= 20, `expected many per-device families, got ${families.size}`);
  for (const name of families) {
    if (name.startsWith('netstack_socket_') || name === 'netstack_netem_held_packets') continue;
    assert.equal(samplesOf(before, name, { device: 'veth0' }).length, 1, name);
  }

  deleteDevice(stack, 'veth0');
  setLink(stack, 'dummy0', { up: false });
  setLink(stack, 'dummy0', { name: 'renamed0' });
  const after = await scrape(metrics);
  for (const gone of ['veth0', 'veth1', 'dummy0']) {
    assert.deepEqual(after.filter((x) => x.labels.device === gone), [], `${gone} still has series`);
  }
  for (const name of families) {
    if (name.startsWith('netstack_socket_') || name === 'netstack_netem_held_packets') continue;
    assert.equal(samplesOf(after, name, { device: 'renamed0' }).length, 1, name);
    assert.equal(samplesOf(after, name, { device: 'lo' }).length, 1, name);
  }
  assert.equal(valueOf(after, 'netstack_network_up', { device: 'renamed0' }), 0);
  // The socket bound to veth0 stays open, and says its device is gone.
  assert.equal(valueOf(after, 'netstack_socket_sent_packets_total', { socket: String(sender.id), device: 'gone:veth0' }), 5);
  // The stack-wide totals remember the traffic of devices that are gone.
  assert.equal(valueOf(after, 'netstack_softnet_processed_total'), 5);
});

test('netstack_sockets counts every family of the socket table by type and state; rmem/wmem sums per family; the per-socket series stay packet-only', async (t) => {
  const clock = new VirtualClock();
  const { host, runFor } = await import('../helpers/inet.ts');
  const { tcpOf } = await import('../../src/inet/tcp-glue.ts');
  const h = host(clock);
  t.after(() => h.stack.close());
  const metrics = createMetrics(h.stack);
  const tcp = tcpOf(h.inet)!;
  const tap = h.stack.openPacketSocket({});
  const udp = h.inet.udpOpen({ bind: '127.0.0.1:5353' });
  const l = await tcp.open({ bind: '127.0.0.1:80', listen: 4 });
  const c = await runFor(clock, tcp.open({ connect: '127.0.0.1:80' }));
  // Data the server side has not read: charged to the child's receive memory.
  await runFor(clock, c.sk.write(Buffer.alloc(1000, 1)));
  await clock.advance(10);
  const s = await scrape(metrics);
  const n = (family: string, type: string, state: string): number => valueOf(s, 'netstack_sockets', { family, type, state });
  assert.equal(n('packet', 'raw', 'UNCONN'), 1);
  assert.equal(n('inet', 'dgram', 'UNCONN'), 1);
  assert.equal(n('inet', 'stream', 'LISTEN'), 1);
  assert.equal(n('inet', 'stream', 'ESTAB'), 2, 'the connection and the child in the accept queue');
  assert.equal(samplesOf(s, 'netstack_sockets').reduce((a, x) => a + x.value, 0), h.stack.sockets.size);
  const child = l.sk.acceptQueue[0]!;
  assert.ok(child.rmemAlloc > 0);
  assert.equal(valueOf(s, 'netstack_sockets_rmem_bytes', { family: 'inet', type: 'stream' }), child.rmemAlloc + c.sk.rmemAlloc);
  assert.equal(valueOf(s, 'netstack_sockets_rmem_bytes', { family: 'inet', type: 'dgram' }), 0);
  assert.deepEqual(samplesOf(s, 'netstack_socket_rmem_bytes').map((x) => x.labels.socket), [String(tap.id)]);
  tcp.close(c, true);
  tcp.close(l);
  udp.close();
  tap.close();
  await clock.advance(10);
  const after = await scrape(metrics);
  assert.equal(samplesOf(after, 'netstack_sockets').length, 0, 'no series for sockets that are gone');
});
