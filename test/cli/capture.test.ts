// netstackctl capture: the live tcpdump-like view over the WebSocket stream
// and the -w file from the HTTP capture route, each ended by -c, by Ctrl-C
// (SIGINT) or by the device going away, with drop notices and the summary
// line on stderr.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { settle } from '../../src/clock.ts';
import { createDevice, deleteDevice, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { parsePcap } from '../../src/wire/pcap.ts';
import { parsePcapng } from '../../src/wire/pcapng.ts';
import { Ctl, ctl, ctlInProcess, startServer, type TestServer } from './harness.ts';
import { untilAsync } from '../helpers/wait.ts';

let srv: TestServer;
let dir: string;
let ca: NetDevice;
let tx: PacketSocket;

/** An ARP request from 02:00:00:00:00:0a (10.0.0.1) for 10.0.0.N, broadcast: 42 bytes. */
function arpRequest(n: number): Buffer {
  return Buffer.from('ffffffffffff' + '02000000000a' + '0806' + '0001080006040001' + '02000000000a' + '0a000001' + '000000000000' + '0a0000' + n.toString(16).padStart(2, '0'), 'hex');
}

const arpLine = (n: number): RegExp =>
  new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{6} 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 42: Request who-has 10\\.0\\.0\\.${n} tell 10\\.0\\.0\\.1$`);

async function sendArp(...ns: number[]): Promise<void> {
  for (const n of ns) assert.equal(tx.send(arpRequest(n)), 'sent');
  await settle();
}

const listening = (c: Ctl): boolean => c.stderr.includes('listening on ');
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

before(async () => {
  srv = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'netstackctl-capture-'));
  [ca] = (await createDevice(srv.stack, { kind: 'veth', name: 'ca', peer: 'cb', up: true })) as [NetDevice, NetDevice];
  setLink(srv.stack, 'cb', { up: true });
  // Room for a whole burst of 300 small frames (768 bytes of truesize each) in the send buffer.
  tx = srv.stack.openPacketSocket({ dev: ca, owner: 'capture test', sndbuf: 1 << 20 });
  // Live capture needs the stream route: without it these tests fail, not skip.
  assert.ok(srv.app.hasRoute({ method: 'GET', url: '/v1/devices/:name/stream' }), 'buildApp registers GET /v1/devices/:name/stream');
});
after(async () => {
  tx.close();
  await srv.close();
  await rm(dir, { recursive: true, force: true });
});

describe('capture (live, WebSocket stream)', () => {
  it('-c N prints N tcpdump-like lines and the summary', async () => {
    const c = new Ctl(['capture', 'dev', 'cb', '-c', '3'], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(2, 3, 4, 5);
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out.length, 3, r.stdout);
    out.forEach((l, i) => assert.match(l, arpLine(i + 2)));
    assert.equal(r.stderr, 'listening on cb, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n3 packets captured, 0 dropped by socket\n');
  });

  it('-j prints the stream\'s JSON messages, one per line', async () => {
    const c = new Ctl(['-j', 'capture', 'dev', 'cb', '-c', '1', '--direction', 'in'], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(7);
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const msgs = lines(r.stdout).map((l) => JSON.parse(l) as { type: string; ifname: string; len: number; data: string });
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.type, 'frame');
    assert.equal(msgs[0]!.ifname, 'cb');
    assert.equal(msgs[0]!.len, 42);
    assert.equal(msgs[0]!.data, arpRequest(7).toString('hex'));
  });

  it('Ctrl-C ends the capture cleanly with the summary', async () => {
    const c = new Ctl(['capture', 'dev', 'cb'], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(9);
    await c.until((x) => lines(x.stdout).length === 1, 'the first frame');
    c.child.kill('SIGINT');
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    assert.match(lines(r.stdout)[0]!, arpLine(9));
    assert.match(r.stderr, /\n1 packet captured, 0 dropped by socket\n$/);
    assert.equal(srv.stack.packetSockets().filter((s) => s.owner.startsWith('ws ')).length, 0, 'the stream socket is closed');
  });

  it('reports frames its socket dropped, and counts them in the summary', async () => {
    const burst = 300;
    const c = new Ctl(['capture', 'dev', 'cb', '--rcvbuf', '2304'], { url: srv.url });
    await c.until(listening, 'listening');
    const rcvbuffDrops = srv.stack.drops.SOCKET_RCVBUFF;
    // One burst, queued faster than any client reads: the small receive buffer overflows.
    for (let i = 0; i < burst; i++) assert.equal(tx.send(arpRequest(1 + (i % 200))), 'sent');
    await settle();
    const dropTotal = (x: Ctl): number => {
      const all = [...x.stderr.matchAll(/dropped by socket \((\d+) in all\)/g)];
      return all.length === 0 ? 0 : Number(all[all.length - 1]![1]);
    };
    await c.until((x) => lines(x.stdout).length + dropTotal(x) === burst, 'every frame printed or reported dropped');
    c.child.kill('SIGINT');
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const captured = lines(r.stdout).length;
    const dropped = dropTotal(c);
    assert.ok(dropped > 0, 'a 2304-byte receive buffer cannot hold a 300-frame burst');
    assert.match(r.stderr, new RegExp(`\\n${captured} packets? captured, ${dropped} dropped by socket\\n$`));
    assert.equal(srv.stack.drops.SOCKET_RCVBUFF - rcvbuffDrops, dropped);
  });

  it('ends with exit 1 when the device is deleted under it', async () => {
    await createDevice(srv.stack, { kind: 'dummy', name: 'cgone', up: true });
    const c = new Ctl(['capture', 'dev', 'cgone'], { url: srv.url });
    await c.until(listening, 'listening');
    deleteDevice(srv.stack, 'cgone');
    const r = await c.done();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /0 packets captured, 0 dropped by socket\nnetstackctl: device "cgone" went away/);
  });

  it('an unknown device is exit 1 with ip\'s message', async () => {
    const r = await ctl(['capture', 'dev', 'nosuch', '-c', '1'], { url: srv.url });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
  });
});

describe('capture -w (HTTP capture route)', () => {
  it('writes a pcapng file of -c N packets', async () => {
    const file = join(dir, 'two.pcapng');
    const c = new Ctl(['capture', 'dev', 'cb', '-c', '2', '-w', file], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(11, 12, 13);
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /\n2 packets captured, 0 dropped by socket\n$/);
    const p = parsePcapng(await readFile(file));
    assert.ok(p.ok);
    assert.equal(p.truncated, false);
    assert.deepEqual(p.packets.map((x) => Buffer.from(x.data)), [arpRequest(11), arpRequest(12)]);
    assert.equal(p.interfaces[0]?.name, 'cb');
  });

  it('writes classic pcap with --format pcap', async () => {
    const file = join(dir, 'one.pcap');
    const c = new Ctl(['capture', 'dev', 'cb', '-c', '1', '-w', file, '--format', 'pcap'], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(14);
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const p = parsePcap(await readFile(file));
    assert.ok(p.ok);
    assert.deepEqual(p.records.map((x) => Buffer.from(x.data)), [arpRequest(14)]);
  });

  it('"-w -" writes the capture to stdout (a pipe), never to a terminal', async () => {
    const c = new Ctl(['capture', 'dev', 'cb', '-c', '1', '-w', '-'], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(15);
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const p = parsePcapng(r.raw);
    assert.ok(p.ok);
    assert.deepEqual(p.packets.map((x) => Buffer.from(x.data)), [arpRequest(15)]);

    const tty = await ctlInProcess(['capture', 'dev', 'cb', '-w', '-'], { url: srv.url, stdoutIsTTY: true });
    assert.equal(tty.code, 1);
    assert.match(tty.stderr, /refusing to write binary capture data to a terminal/);
    assert.equal(tty.raw.length, 0);
  });

  it('Ctrl-C leaves a complete file and prints the summary', async () => {
    const file = join(dir, 'interrupted.pcapng');
    const c = new Ctl(['capture', 'dev', 'cb', '-w', file], { url: srv.url });
    await c.until(listening, 'listening');
    await sendArp(16);
    // The packet is in the file once its block has been written; wait for that, not for a time.
    await untilAsync(async () => {
      const p = parsePcapng(await readFile(file).catch(() => Buffer.alloc(0)));
      return p.ok && p.packets.length === 1;
    }, 'the packet block in the file');
    c.child.kill('SIGINT');
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\n1 packet captured, 0 dropped by socket\n$/);
    const p = parsePcapng(await readFile(file));
    assert.ok(p.ok);
    assert.equal(p.truncated, false);
    assert.deepEqual(p.packets.map((x) => Buffer.from(x.data)), [arpRequest(16)]);
  });

  it('an unknown device is exit 1; bad arguments are exit 255', async () => {
    const r = await ctl(['capture', 'dev', 'nosuch', '-w', join(dir, 'none.pcapng')], { url: srv.url });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
    const cases: [string[], RegExp][] = [
      [['capture', 'dev', 'cb', '-c', '0'], /"-c" takes a count of at least 1/],
      [['capture', 'dev', 'cb', '-c', 'many'], /invalid "count" value/],
      [['capture', 'dev', 'cb', '--direction', 'sideways'], /"direction" is in, out or both/],
      [['capture', 'dev', 'cb', '--format', 'csv', '-w', 'x'], /"format" is pcap or pcapng/],
      [['capture', 'dev', 'cb', '--protocol', 'ipx'], /"protocol" is all or an EtherType/],
      [['capture', '-c', '1'], /"dev" argument is required/],
      [['capture', 'dev', 'cb', '-x'], /unknown option "-x"/],
    ];
    for (const [args, message] of cases) {
      const x = await ctlInProcess(args, { url: srv.url });
      assert.equal(x.code, 255, args.join(' '));
      assert.match(x.stderr, message, args.join(' '));
    }
  });
});
