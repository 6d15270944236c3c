// Interop with the Linux kernel's vxlan driver. A kernel vxlan drops
// datagrams for a peer at one of its own local addresses (local bypass), so
// the kernel side lives in a network namespace of its own, joined to this one
// by a veth pair with addresses that exist only on that pair:
//
//   this process: netstack vxlan 10.250.X.1:4789 --- veth --- 10.250.X.2 [netns] kernel vx0 (VNI 42)
//
// (a) frames sent through the netstack device appear on the kernel's vx0:
//     its rx counters move by exactly that many, and a tcpdump capture on vx0
//     holds the very bytes;
// (b) frames the kernel sends (arping's ARP requests on vx0) arrive at a
//     netstack packet socket, byte for byte what tcpdump saw leave vx0.
// IPv6 is disabled on vx0 so that the kernel sends no MLD/RS frames of its own.
// Everything made here is removed in `finally`; namespaces left behind by a
// killed run (named after a pid that no longer exists) are removed first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetStack, createDevice, describeDevice } from '../../src/stack/index.ts';
import { parsePcap } from '../../src/wire/pcap.ts';
import { ETH_P_ARP } from '../../src/wire/eth.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { buildFrame } from '../helpers/frames.ts';
import { until } from '../helpers/wait.ts';

const PREFIX = 'vxk-';
const pid = process.pid;
const NS = `${PREFIX}${pid}`;
const HOST_IF = `vxh${pid % 1_000_000}`;
const NS_IF = `vxn${pid % 1_000_000}`;
const KERNEL_MAC = '02:00:00:00:42:02';
const STACK_MAC = '02:00:00:00:42:01';

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Cleanup of something that may already be gone.
  }
}

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(p: number): boolean {
  try {
    process.kill(p, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces and host links from earlier runs that were killed before their cleanup. */
function removeStale(): void {
  let names: string[] = [];
  try {
    names = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const owner = Number(n.slice(PREFIX.length));
    if (Number.isInteger(owner) && owner !== pid && !pidAlive(owner)) {
      tryRun('ip', ['netns', 'del', n]);
      tryRun('ip', ['link', 'del', `vxh${owner % 1_000_000}`]);
    }
  }
}

/** A /30 in 10.250.0.0/16 that no interface here uses yet. */
function pickSubnet(): number {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 250; i++) {
    const x = (pid + i) % 250;
    if (!used.includes(` 10.250.${x}.`)) return x;
  }
  throw new Error('no free 10.250.X.0/30 found');
}

/** Why this machine cannot run the test, or null. */
function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  for (const tool of ['ip', 'tcpdump', 'arping']) if (!hasTool(tool)) return `${tool} is not installed`;
  return null;
}

/** tcpdump inside the namespace; resolves once it is listening. */
async function startCapture(file: string, count: number, filter: string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', NS, 'tcpdump', '-i', 'vx0', '-n', '-U', '--immediate-mode', '-w', file, '-c', String(count), ...filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`tcpdump exited (${code}) before listening: ${err.trim()}`)));
  });
  return child;
}

async function captureDone(child: ChildProcess, what: string): Promise<void> {
  if (child.exitCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGINT'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0, `tcpdump captured ${what} and exited`);
}

function readCapture(file: string): Buffer[] {
  const p = parsePcap(readFileSync(file));
  assert.ok(p.ok, 'tcpdump wrote a readable pcap');
  assert.equal(p.linktype, 1, 'Ethernet link type');
  return p.records.map((r) => Buffer.from(r.data));
}

function kernelVxStats(): { rx: { packets: number; bytes: number }; tx: { packets: number } } {
  const [link] = JSON.parse(run('ip', ['-n', NS, '-j', '-s', 'link', 'show', 'vx0'])) as { stats64: { rx: { packets: number; bytes: number }; tx: { packets: number } } }[];
  return link!.stats64;
}

function waitFor(cond: () => boolean, what: string): Promise<void> {
  return until(cond, what, { timeoutMs: 15_000, intervalMs: 10 });
}

test('netstack vxlan and a Linux kernel vxlan exchange frames both ways, byte-exact', async (t) => {
  const why = cannotRun();
  if (why !== null) {
    console.log(`# vxlan-kernel: skipped: ${why}`);
    t.skip(why);
    return;
  }
  removeStale();
  try {
    run('ip', ['netns', 'add', NS]);
  } catch (err) {
    const reason = `cannot create a network namespace: ${(err as Error).message}`;
    console.log(`# vxlan-kernel: skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vxlan-kernel-'));
  const stack = new NetStack();
  const captures: ChildProcess[] = [];
  let sock: PacketSocket | null = null;
  try {
    const x = pickSubnet();
    const hostAddr = `10.250.${x}.1`;
    const nsAddr = `10.250.${x}.2`;
    run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS]);
    run('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', HOST_IF]);
    run('ip', ['link', 'set', HOST_IF, 'up']);
    run('ip', ['-n', NS, 'addr', 'add', `${nsAddr}/30`, 'dev', NS_IF]);
    run('ip', ['-n', NS, 'link', 'set', NS_IF, 'up']);
    run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    try {
      run('ip', ['-n', NS, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', hostAddr, 'local', nsAddr, 'nolearning']);
    } catch (err) {
      const reason = `the kernel cannot create a vxlan device: ${(err as Error).message}`;
      console.log(`# vxlan-kernel: skipped: ${reason}`);
      t.skip(reason);
      return;
    }
    run('ip', ['-n', NS, 'link', 'set', 'vx0', 'address', KERNEL_MAC]);
    run('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.vx0.disable_ipv6=1']);
    run('ip', ['-n', NS, 'addr', 'add', '192.168.250.2/24', 'dev', 'vx0']);
    run('ip', ['-n', NS, 'link', 'set', 'vx0', 'up']);

    const [dev] = await createDevice(stack, {
      kind: 'vxlan',
      name: 'vx0',
      vni: 42,
      local: `${hostAddr}:4789`,
      remote: [`${nsAddr}:4789`],
      address: STACK_MAC,
      up: true,
    });
    sock = stack.openPacketSocket({ dev: dev!, direction: 'in' });

    // (a) netstack -> kernel
    const aFile = path.join(tmp, 'to-kernel.pcap');
    const frames = [
      buildFrame({ dst: KERNEL_MAC, src: STACK_MAC, size: 60, seq: 1 }),
      buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: STACK_MAC, size: 100, seq: 2 }),
      buildFrame({ dst: KERNEL_MAC, src: STACK_MAC, size: 1000, seq: 3 }),
      buildFrame({ dst: KERNEL_MAC, src: STACK_MAC, size: 1450 + 14, seq: 4 }),
      buildFrame({ dst: '01:00:5e:00:00:fb', src: STACK_MAC, size: 64, seq: 5 }),
    ];
    const rx0 = kernelVxStats().rx;
    const capA = await startCapture(aFile, frames.length, ['ether', 'proto', '0x88b5']);
    captures.push(capA);
    for (const f of frames) assert.equal(sock.send(f), 'sent');
    await captureDone(capA, `${frames.length} frames from netstack`);
    assert.deepEqual(readCapture(aFile), frames, 'the kernel vx0 saw exactly the frames netstack sent');
    await waitFor(() => kernelVxStats().rx.packets - rx0.packets >= frames.length, 'kernel vx0 rx counters');
    const rx1 = kernelVxStats().rx;
    assert.equal(rx1.packets - rx0.packets, frames.length, 'kernel vx0 rx_packets');
    // Linux's vxlan counts rx bytes after eth_type_trans has pulled the Ethernet header.
    assert.equal(rx1.bytes - rx0.bytes, frames.reduce((n, f) => n + f.length - 14, 0), 'kernel vx0 rx_bytes');
    assert.equal(dev!.stats.txPackets, frames.length);

    // (b) kernel -> netstack
    const bFile = path.join(tmp, 'from-kernel.pcap');
    const capB = await startCapture(bFile, 3, ['arp']);
    captures.push(capB);
    try {
      run('ip', ['netns', 'exec', NS, 'arping', '-c', '3', '-w', '5', '-I', 'vx0', '192.168.250.1']);
    } catch {
      // No one answers ARP for 192.168.250.1 (netstack has no ARP), so arping exits non-zero.
    }
    await captureDone(capB, "arping's 3 requests");
    const sentByKernel = readCapture(bFile);
    assert.equal(sentByKernel.length, 3);
    for (const f of sentByKernel) assert.equal(f.readUInt16BE(12), ETH_P_ARP);
    const arrived: Buffer[] = [];
    await waitFor(() => {
      for (let fr = sock!.recvFrame(); fr !== null; fr = sock!.recvFrame()) if (fr.protocol === ETH_P_ARP) arrived.push(fr.data);
      return arrived.length >= 3;
    }, 'the ARP requests reached the netstack packet socket');
    assert.deepEqual(arrived, sentByKernel, 'netstack received exactly what the kernel sent');
    assert.equal(stack.drops.VXLAN_INVALID_HDR + stack.drops.VXLAN_VNI_NOT_FOUND, 0, 'the kernel header parsed cleanly');
    // The kernel's source MAC was learned behind the namespace end, at its configured port.
    const fdb = describeDevice(dev!).linkinfo.info_data!.fdb as Record<string, unknown>[];
    assert.deepEqual(fdb.find((e) => e.mac === KERNEL_MAC), { mac: KERNEL_MAC, dst: nsAddr, port: 4789, state: 'dynamic', age_s: 0 });
  } finally {
    for (const c of captures) if (c.exitCode === null) c.kill('SIGKILL');
    sock?.close();
    stack.close();
    tryRun('ip', ['netns', 'del', NS]);
    tryRun('ip', ['link', 'del', HOST_IF]);
    rmSync(tmp, { recursive: true, force: true });
  }
});
