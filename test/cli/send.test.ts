// netstackctl send: frames from hex arguments and from pcap / pcapng files
// (written here with the wire encoders) reach the device, byte for byte and
// in order, as its tx counters and a packet socket on the peer show.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { settle } from '../../src/clock.ts';
import { createDevice, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { pcapGlobalHeader, pcapRecordHeader } from '../../src/wire/pcap.ts';
import { pcapngEnhancedPacket, pcapngInterfaceDescription, pcapngSectionHeader } from '../../src/wire/pcapng.ts';
import { buildFrame } from '../helpers/frames.ts';
import { ctl, ctlInProcess, startServer, type TestServer } from './harness.ts';

let srv: TestServer;
let dir: string;
let sa: NetDevice;
let sb: NetDevice;
let rx: PacketSocket;

const run = (...args: string[]) => ctl(args, { url: srv.url });

function frames(n: number, size = 60): Buffer[] {
  return Array.from({ length: n }, (_, i) => buildFrame({ dst: sb, src: sa, seq: i, size }));
}

/** Everything the peer's socket received since the last call. */
async function received(): Promise<Buffer[]> {
  await settle();
  const out: Buffer[] = [];
  for (let f = rx.recvFrame(); f !== null; f = rx.recvFrame()) out.push(Buffer.from(f.data));
  return out;
}

function pcapFile(list: readonly Buffer[], gapMs = 1): Buffer {
  const parts: Buffer[] = [pcapGlobalHeader()];
  list.forEach((f, i) => parts.push(pcapRecordHeader(1_700_000_000_000_000_000n + BigInt(i * gapMs) * 1_000_000n, f.length, f.length), f));
  return Buffer.concat(parts);
}

function pcapngFile(list: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [pcapngSectionHeader(), pcapngInterfaceDescription({ name: 'eth0' })];
  list.forEach((f, i) => parts.push(pcapngEnhancedPacket({ interfaceId: 0, tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data: f })));
  return Buffer.concat(parts);
}

before(async () => {
  srv = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'netstackctl-send-'));
  [sa, sb] = (await createDevice(srv.stack, { kind: 'veth', name: 'sa', peer: 'sb', up: true })) as [NetDevice, NetDevice];
  setLink(srv.stack, 'sb', { up: true });
  // Room for 600 frames of 768 bytes of truesize: rmem_max bounds SO_RCVBUF, as in Linux.
  srv.stack.sysctl.set({ 'net.core.rmem_max': 4 * 1024 * 1024 });
  rx = srv.stack.openPacketSocket({ dev: sb, direction: 'in', rcvbuf: 4 * 1024 * 1024, owner: 'send test' });
});
beforeEach(async () => {
  await received();
});
after(async () => {
  rx.close();
  await srv.close();
  await rm(dir, { recursive: true, force: true });
});

describe('send HEX', () => {
  it('sends each argument as one frame, in order', async () => {
    const [f0, f1] = frames(2);
    const tx0 = sa.stats.txPackets;
    const bytes0 = sa.stats.txBytes;
    // Separators between hex digits are allowed.
    const withColons = f1!.toString('hex').match(/../g)!.join(':');
    const r = await run('send', 'dev', 'sa', f0!.toString('hex'), withColons);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2 frames sent, 0 dropped\n');
    assert.equal(sa.stats.txPackets - tx0, 2);
    assert.equal(sa.stats.txBytes - bytes0, 120);
    assert.deepEqual(await received(), [f0, f1]);
  });

  it('-j prints the service\'s {sent, dropped}', async () => {
    const [f] = frames(1);
    const r = await run('-j', 'send', 'dev', 'sa', f!.toString('hex'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { sent: 1, dropped: 0 });
    assert.deepEqual(await received(), [f]);
  });
});

describe('send -f', () => {
  it('replays a classic pcap file', async () => {
    const list = frames(3, 100);
    const file = join(dir, 'three.pcap');
    await writeFile(file, pcapFile(list));
    const tx0 = sa.stats.txPackets;
    const r = await run('send', 'dev', 'sa', '-f', file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '3 frames sent, 0 dropped\n');
    assert.equal(sa.stats.txPackets - tx0, 3);
    assert.deepEqual(await received(), list);
  });

  it('replays a pcapng file, and one read from stdin', async () => {
    const list = frames(4);
    const file = join(dir, 'four.pcapng');
    await writeFile(file, pcapngFile(list));
    let r = await run('send', 'dev', 'sa', '-f', file);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await received(), list);
    r = await ctl(['send', 'dev', 'sa', '-f', '-'], { url: srv.url, stdin: pcapngFile(list) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await received(), list);
  });

  it('sends a file larger than one request in batches, all of it in order', async () => {
    const list = frames(600);
    const file = join(dir, 'many.pcap');
    await writeFile(file, pcapFile(list));
    const tx0 = sa.stats.txPackets;
    const r = await run('-j', 'send', 'dev', 'sa', '-f', file);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { sent: 600, dropped: 0 });
    assert.equal(sa.stats.txPackets - tx0, 600);
    const got = await received();
    assert.equal(got.length, 600);
    assert.deepEqual(got, list);
  });

  it('--pace replays with the recorded gaps and still sends every frame in order', async () => {
    const list = frames(5);
    const file = join(dir, 'paced.pcap');
    await writeFile(file, pcapFile(list, 20));
    const r = await run('send', 'dev', 'sa', '-f', file, '--pace');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '5 frames sent, 0 dropped\n');
    assert.deepEqual(await received(), list);
  });

  it('warns about a file cut inside a record and sends the complete ones', async () => {
    const list = frames(2);
    const file = join(dir, 'cut.pcap');
    const whole = pcapFile(list);
    await writeFile(file, whole.subarray(0, whole.length - 10));
    const r = await run('send', 'dev', 'sa', '-f', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ends inside a packet; sending the 1 complete ones/);
    assert.deepEqual(await received(), [list[0]]);
  });
});

describe('send errors', () => {
  it('a device that is down is refused with ENETDOWN, exit 2', async () => {
    await createDevice(srv.stack, { kind: 'dummy', name: 'sdown' });
    const [f] = frames(1);
    const r = await run('send', 'dev', 'sdown', f!.toString('hex'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(Network is down, ENETDOWN\)\n$/);
    assert.equal(srv.stack.devices.get('sdown')!.stats.txPackets, 0);
  });

  it('an unknown device is exit 1, a frame over the MTU exit 2 (EMSGSIZE)', async () => {
    const [f] = frames(1);
    let r = await run('send', 'dev', 'nosuch', f!.toString('hex'));
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
    const [big] = frames(1, 1600);
    const tx0 = sa.stats.txPackets;
    r = await run('send', 'dev', 'sa', big!.toString('hex'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Message too long, EMSGSIZE/);
    assert.equal(sa.stats.txPackets, tx0);
  });

  it('files that are missing or not captures are exit 1', async () => {
    let r = await run('send', 'dev', 'sa', '-f', join(dir, 'missing.pcap'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^netstackctl: cannot read .*missing\.pcap: /);
    const junk = join(dir, 'junk.pcap');
    await writeFile(junk, Buffer.from('this is not a capture file at all'));
    r = await run('send', 'dev', 'sa', '-f', junk);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /junk\.pcap: not a pcap or pcapng file/);
  });

  it('bad arguments are exit 255 and send nothing', async () => {
    const tx0 = sa.stats.txPackets;
    const child = await run('send', 'dev', 'sa', 'abc');
    assert.equal(child.code, 255);
    assert.match(child.stderr, /"abc" is not a frame in hex/);
    assert.match(child.stderr, /Try "netstackctl send help"\./);
    const cases: [string[], RegExp][] = [
      [['send', 'dev', 'sa', 'zz'], /"zz" is not a frame in hex/],
      [['send', 'dev', 'sa'], /nothing to send/],
      [['send', 'ffff'], /"dev" argument is required/],
      [['send', 'dev', 'sa', '--pace', 'ffff'], /"--pace" applies to "-f FILE" only/],
      [['send', 'dev', 'sa', '-f', 'x.pcap', 'ffff'], /not both/],
      [['send', 'dev', 'sa', '--bogus'], /unknown option "--bogus"/],
    ];
    for (const [args, message] of cases) {
      const r = await ctlInProcess(args, { url: srv.url });
      assert.equal(r.code, 255, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(sa.stats.txPackets, tx0);
  });
});
