// The capture routes over a real listening server, judged by the real
// tshark: what was sent is what tshark reads (addresses, ethertype, VLAN id,
// length, interface name, direction), in pcapng and classic pcap, for one
// device and for all of them, and live through a pipe while frames are sent.

import { skbTruesize } from '../../src/skb/skbuff.ts';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { NetStack, createDevice, deleteDevice } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { formatMac } from '../../src/wire/mac.ts';
import { parsePcapng } from '../../src/wire/pcapng.ts';
import { buildFrame, seqOf } from '../helpers/frames.ts';
import { Ledger } from '../helpers/conservation.ts';
import { until } from '../helpers/wait.ts';
import { startServer, type TestServer } from '../api/ws/server.ts';
import { LiveTshark, TSHARK_MISSING, readCapture, type Row } from './tshark.ts';

interface Lab {
  stack: NetStack;
  server: TestServer;
  veth0: NetDevice;
  veth1: NetDevice;
  vlan: NetDevice;
  tx0: PacketSocket;
  tx1: PacketSocket;
  txVlan: PacketSocket;
}

/** veth0 <-> veth1, a VLAN channel veth0.10, a sending socket on each, a server. */
async function lab(t: TestContext): Promise<Lab> {
  const stack = new NetStack();
  const [veth0, veth1] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  const [vlan] = await createDevice(stack, { kind: 'vlan', name: 'veth0.10', link: 'veth0', id: 10, up: true });
  const server = await startServer(stack);
  const l: Lab = {
    stack,
    server,
    veth0: veth0!,
    veth1: veth1!,
    vlan: vlan!,
    tx0: stack.openPacketSocket({ dev: veth0!, protocol: 0 }),
    tx1: stack.openPacketSocket({ dev: veth1!, protocol: 0 }),
    txVlan: stack.openPacketSocket({ dev: vlan!, protocol: 0 }),
  };
  t.after(async () => {
    await server.close();
    stack.close();
  });
  return l;
}

function send(sock: PacketSocket, frame: Buffer): void {
  assert.equal(sock.send(frame), 'sent');
}

/** GET a capture that ends by itself (count or duration); `during` runs once the headers are in. */
async function download(url: string, during: () => void | Promise<void>): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(url);
  if (res.ok) await during();
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get('content-type') ?? '', body };
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

function expectRow(row: Row, want: Partial<Row>): void {
  const got: Partial<Row> = {};
  for (const k of Object.keys(want) as (keyof Row)[]) got[k] = row[k];
  assert.deepEqual(got, want);
}

test('pcapng of one device: addresses, ethertype, VLAN id, length, interface and direction as sent', async (t) => {
  if (TSHARK_MISSING) return t.skip(TSHARK_MISSING);
  const l = await lab(t);
  const mac0 = formatMac(l.veth0.devAddr);
  const mac1 = formatMac(l.veth1.devAddr);
  const out = buildFrame({ dst: l.veth1, src: l.veth0, type: 0x0800, size: 60 });
  const inbound = buildFrame({ dst: l.veth0, src: l.veth1, type: 0x0806, size: 342 });
  const broadcast = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: l.veth1, type: 0x88b5, size: 1514 });
  const tagged = buildFrame({ dst: l.veth1, src: l.vlan, type: 0x0800, size: 100 });
  const cap = await download(`${l.server.url}/v1/devices/veth0/capture?count=4`, async () => {
    send(l.tx0, out);
    send(l.tx1, inbound);
    send(l.tx1, broadcast);
    send(l.txVlan, tagged);
  });
  assert.equal(cap.status, 200);
  assert.equal(cap.type, 'application/x-pcapng');
  const { rows } = readCapture(cap.body);
  assert.equal(rows.length, 4, `tshark rows: ${JSON.stringify(rows)}`);
  const byLen = new Map(rows.map((r) => [r['frame.len'], r]));
  expectRow(byLen.get('60')!, {
    'frame.interface_name': 'veth0',
    'eth.src': mac0,
    'eth.dst': mac1,
    'eth.type': hex4(0x0800),
    'vlan.id': '',
    'frame.packet_flags_direction': '0x00000002',
  });
  expectRow(byLen.get('342')!, {
    'frame.interface_name': 'veth0',
    'eth.src': mac1,
    'eth.dst': mac0,
    'eth.type': hex4(0x0806),
    'frame.packet_flags_direction': '0x00000001',
  });
  expectRow(byLen.get('1514')!, {
    'eth.dst': 'ff:ff:ff:ff:ff:ff',
    'eth.type': hex4(0x88b5),
    'frame.packet_flags_direction': '0x00000001',
  });
  // Sent through the channel: on veth0 it leaves tagged, 4 bytes longer.
  expectRow(byLen.get('104')!, {
    'frame.interface_name': 'veth0',
    'eth.src': formatMac(l.vlan.devAddr),
    'eth.dst': mac1,
    'eth.type': hex4(0x8100),
    'vlan.id': '10',
    'frame.packet_flags_direction': '0x00000002',
  });
  // The file closes with the capture socket's statistics.
  const parsed = parsePcapng(cap.body);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.statistics.map((s) => [s.usrDeliv, s.ifDrop]), [[4n, 0n]]);
  await waitFor(() => l.stack.packetSockets().every((s) => !s.owner.startsWith('capture')), 'capture socket closed');
});

test('classic pcap: the same frames, nanosecond timestamps taken while they passed', async (t) => {
  if (TSHARK_MISSING) return t.skip(TSHARK_MISSING);
  const l = await lab(t);
  const frames = [60, 61, 1514].map((size, i) => buildFrame({ dst: l.veth1, src: l.veth0, type: 0x88b5, size, seq: i }));
  const before = Date.now() / 1000;
  const cap = await download(`${l.server.url}/v1/devices/veth1/capture?format=pcap&count=3&direction=in`, () => {
    for (const f of frames) send(l.tx0, f);
  });
  const after = Date.now() / 1000;
  assert.equal(cap.type, 'application/vnd.tcpdump.pcap');
  const { rows, extra } = readCapture(cap.body, ['frame.time_epoch']);
  assert.deepEqual(
    rows.map((r) => [r['eth.src'], r['eth.dst'], r['eth.type'], r['frame.len']]),
    frames.map((f) => [formatMac(l.veth0.devAddr), formatMac(l.veth1.devAddr), '0x88b5', String(f.length)]),
  );
  for (const [ts] of extra) {
    const s = Number(ts);
    assert.ok(s >= before - 0.001 && s <= after + 0.001, `timestamp ${ts} within the test's ${before}..${after}`);
    assert.match(ts!, /\.\d{9}$/, 'nanosecond resolution');
  }
});

test('GET /v1/capture: every device in one pcapng, one interface each, with direction', async (t) => {
  if (TSHARK_MISSING) return t.skip(TSHARK_MISSING);
  const l = await lab(t);
  const frames = [0, 1, 2].map((seq) => buildFrame({ dst: l.veth1, src: l.veth0, seq }));
  const cap = await download(`${l.server.url}/v1/capture?count=6`, () => {
    for (const f of frames) send(l.tx0, f);
  });
  assert.equal(cap.status, 200);
  const { rows, extra } = readCapture(cap.body, ['frame.interface_id']);
  assert.equal(rows.length, 6);
  const seen = rows.map((r, i) => `${r['frame.interface_name']}/${extra[i]![0]}/${r['frame.packet_flags_direction']}`);
  assert.deepEqual(seen.filter((s) => s.startsWith('veth0')).length, 3);
  assert.deepEqual(new Set(seen), new Set(['veth0/0/0x00000002', 'veth1/1/0x00000001']));
  const parsed = parsePcapng(cap.body);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.interfaces.map((i) => i.name), ['veth0', 'veth1']);
});

test('live: tshark reading the HTTP stream from a pipe shows each frame while the capture runs', async (t) => {
  if (TSHARK_MISSING) return t.skip(TSHARK_MISSING);
  const l = await lab(t);
  const tshark = new LiveTshark();
  t.after(() => tshark.stop());
  const req = http.get(`${l.server.url}/v1/devices/veth1/capture`);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  assert.equal(res.statusCode, 200);
  res.pipe(tshark.child.stdin);
  for (let i = 0; i < 3; i++) {
    const size = 60 + i * 100;
    send(l.tx0, buildFrame({ dst: l.veth1, src: l.veth0, size, seq: i }));
    // The frame shows up while the response is still open: nothing waits for the end.
    const row = await tshark.row(i);
    expectRow(row, { 'frame.interface_name': 'veth1', 'frame.len': String(size), 'eth.src': formatMac(l.veth0.devAddr), 'frame.packet_flags_direction': '0x00000001' });
  }
  assert.equal(res.complete, false, 'the capture is still running');
  const captures = (): number => l.stack.packetSockets().filter((s) => s.owner.startsWith('capture')).length;
  assert.equal(captures(), 1);
  // The client going away closes the capture socket.
  req.destroy();
  await waitFor(() => captures() === 0, 'capture socket closed after the client left');
});

test('duration_s ends a capture by itself with a file tshark reads', async (t) => {
  if (TSHARK_MISSING) return t.skip(TSHARK_MISSING);
  const l = await lab(t);
  const cap = await download(`${l.server.url}/v1/devices/veth1/capture?duration_s=0.3`, () => {
    send(l.tx0, buildFrame({ dst: l.veth1, src: l.veth0 }));
  });
  const { rows } = readCapture(cap.body);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!['frame.interface_name'], 'veth1');
});

test('a client that stops reading: frames drop at the capture socket only, counted in the statistics that close the file', async (t) => {
  const l = await lab(t);
  const ledger = new Ledger(l.stack);
  const req = http.get(`${l.server.url}/v1/devices/veth1/capture?rcvbuf=65536&direction=in`);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  res.pause();
  const [sock] = l.stack.packetSockets().filter((s) => s.owner.startsWith('capture'));
  const sent = 20_000;
  let maxRmem = 0;
  for (let i = 0; i < sent; i += 100) {
    for (let j = 0; j < 100; j++) {
      // The backlog may hold frames back for a turn on a busy machine: then the sender waits for its send buffer.
      const r = l.tx0.send(buildFrame({ dst: l.veth1, src: l.veth0, size: 1000, seq: i + j }));
      assert.equal(r instanceof Promise ? await r : r, 'sent');
    }
    await new Promise((resolve) => setImmediate(resolve));
    maxRmem = Math.max(maxRmem, sock!.sk.rmemAlloc);
  }
  assert.ok(sock!.sk.drops > 0, 'the capture socket dropped frames');
  // Linux's rule (rmem >= rcvbuf refuses, before charging): at most one frame past rcvbuf.
  assert.ok(maxRmem < sock!.sk.rcvbuf + skbTruesize(1014 + 16), `receive memory ${maxRmem} < rcvbuf ${sock!.sk.rcvbuf} + one frame`);
  // Deleting the device ends the file properly; then the client reads it all.
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => res.once('end', resolve));
  deleteDevice(l.stack, 'veth0');
  res.resume();
  await ended;
  const parsed = parsePcapng(Buffer.concat(chunks));
  assert.ok(parsed.ok);
  const [isb] = parsed.statistics;
  assert.equal(isb!.ifDrop, BigInt(sock!.sk.drops));
  assert.equal(parsed.packets.length + Number(isb!.ifDrop), sent, 'written + dropped = sent');
  assert.equal(ledger.drops().SOCKET_RCVBUFF, sock!.sk.drops, 'the drops are socket_rcvbuff, at this socket');
  // The frames kept are in the order sent, each once.
  const seqs = parsed.packets.map((p) => seqOf(p.data));
  assert.ok(seqs.every((x, i) => i === 0 || x > seqs[i - 1]!), 'strictly increasing sequence numbers');
  if (!TSHARK_MISSING) assert.equal(readCapture(Buffer.concat(chunks)).rows.length, parsed.packets.length);
});

test('bad requests are refused with problem+json before anything is opened', async (t) => {
  const l = await lab(t);
  const sockets = l.stack.sockets.size;
  const cases: [string, number, string][] = [
    ['/v1/devices/nope0/capture', 404, 'ENODEV'],
    ['/v1/devices/veth0/capture?format=pcapx', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?count=0', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?count=-1', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?duration_s=abc', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?snaplen=0', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?direction=sideways', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?protocol=0x12345', 400, 'EINVAL'],
    ['/v1/devices/veth0/capture?promisc=maybe', 400, 'EINVAL'],
    ['/v1/capture?format=pcap', 400, 'EINVAL'],
  ];
  for (const [path, status, errno] of cases) {
    const res = await fetch(l.server.url + path);
    assert.equal(res.status, status, path);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
    const body = (await res.json()) as { errno: string };
    assert.equal(body.errno, errno, path);
  }
  assert.equal(l.stack.sockets.size, sockets, 'no socket was opened');
});

function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return until(cond, what, { timeoutMs, intervalMs: 10 });
}

