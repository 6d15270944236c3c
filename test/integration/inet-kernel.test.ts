// IPv4 against the Linux kernel. Two namespaces, each with a kernel vxlan
// joined to this process's stack over its own veth underlay:
//
//   [ns A] vx0 192.0.2.2/24 ==VNI 42== vx0 192.0.2.1  netstack  vx1 203.0.113.1 ==VNI 43== vx0 203.0.113.2/24 [ns C]
//
// The kernel pings the stack and learns its MAC; the stack pings the kernel;
// 4000-byte pings both ways (fragmented to the 1450-byte vxlan MTU and
// reassembled); UDP both ways with socat; the echo service; a closed port
// answers port unreachable (socat sees ECONNREFUSED); the stack routes
// between the two namespaces (TTL - 1; TTL 1 -> time exceeded; nothing when
// ip_forward=0); a neighbour that never answers -> EHOSTUNREACH.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { NetError } from '../../src/errno.ts';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { attachInet } from '../../src/inet/control.ts';
import { until } from '../helpers/wait.ts';
import { cannotRun, kernelVxlan, removeStale, run, runAsync, tryRun } from '../helpers/netns.ts';

const PREFIX = 'inetk-';
const pid = process.pid;
const NS_A = `${PREFIX}${pid}-a`;
const NS_C = `${PREFIX}${pid}-c`;
const hostIfs = (p: number) => [`ika${p % 1_000_000}`, `ikc${p % 1_000_000}`];
const [IF_A, IF_C] = hostIfs(pid) as [string, string];
const MAC_A = '02:00:00:00:43:02';
const MAC_C = '02:00:00:00:44:02';
const STACK_MAC_A = '02:00:00:00:43:01';
const STACK_MAC_C = '02:00:00:00:44:01';

const inNs = (ns: string, cmd: string[]) => runAsync('ip', ['netns', 'exec', ns, ...cmd]);

function icmpInEchos(ns: string): number {
  const lines = run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InEchos')]);
}

test('IPv4, ICMP and UDP against the Linux kernel over VXLAN, and routing between two namespaces', async (t) => {
  const why = cannotRun(['ping', 'socat', 'ethtool', 'ss']);
  if (why !== null) {
    console.log(`# inet-kernel: skipped: ${why}`);
    t.skip(why);
    return;
  }
  removeStale(PREFIX, hostIfs);
  // The stack's timers do not hold the event loop open (they are unref'd, as a service's should be).
  const keepAlive = setInterval(() => {}, 1000);
  const stack = new NetStack();
  const inet = attachInet(stack);
  try {
    let a;
    let c;
    try {
      a = kernelVxlan({ ns: NS_A, hostIf: IF_A, nsIf: 'u0', vni: 42, mac: MAC_A, cidr: '192.0.2.2/24', txChecksum: false });
      c = kernelVxlan({ ns: NS_C, hostIf: IF_C, nsIf: 'u0', vni: 43, mac: MAC_C, cidr: '203.0.113.2/24', avoid: [a.host, a.nsAddr], txChecksum: false });
    } catch (err) {
      const reason = `cannot build the namespaces: ${(err as Error).message}`;
      console.log(`# inet-kernel: skipped: ${reason}`);
      t.skip(reason);
      return;
    }
    await createDevice(stack, { kind: 'vxlan', name: 'vx0', vni: 42, local: `${a.host}:4789`, remote: [`${a.nsAddr}:4789`], address: STACK_MAC_A, up: true });
    await createDevice(stack, { kind: 'vxlan', name: 'vx1', vni: 43, local: `${c.host}:4789`, remote: [`${c.nsAddr}:4789`], address: STACK_MAC_C, up: true });
    inet.addrAdd('vx0', '192.0.2.1/24');
    inet.addrAdd('vx1', '203.0.113.1/24');
    run('ip', ['-n', NS_A, 'route', 'add', '203.0.113.0/24', 'via', '192.0.2.1']);
    run('ip', ['-n', NS_C, 'route', 'add', '192.0.2.0/24', 'via', '203.0.113.1']);

    await t.test('the kernel pings the stack and learns its MAC', async () => {
      const r = await inNs(NS_A, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.1']);
      assert.equal(r.status, 0, r.stdout + r.stderr + JSON.stringify({ drops: Object.fromEntries(Object.entries(stack.drops).filter(([, v]) => v > 0)), snmp: inet.netstat(), dev: stack.getDevice('vx0').stats, neigh: inet.neighList() }));
      assert.match(r.stdout, /3 packets transmitted, 3 received/);
      const [n] = JSON.parse(run('ip', ['-n', NS_A, '-j', 'neigh', 'show', '192.0.2.1', 'dev', 'vx0'])) as { lladdr: string }[];
      assert.equal(n!.lladdr, STACK_MAC_A);
    });

    await t.test('the stack pings the kernel', async () => {
      const r = await inet.ping({ dst: '192.0.2.2', count: 3, intervalMs: 200 });
      assert.equal(r.received, 3, JSON.stringify(r));
      assert.equal(r.replies[0]!.ttl, 64);
      assert.equal(inet.neighList().find((n) => n.dst === '192.0.2.2')?.lladdr, MAC_A);
    });

    await t.test('4000-byte pings both ways (fragmented and reassembled)', async () => {
      const k = await inNs(NS_A, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', '4000', '192.0.2.1']);
      assert.equal(k.status, 0, k.stdout + k.stderr);
      assert.match(k.stdout, /4008 bytes from 192\.0\.2\.1/);
      const r = await inet.ping({ dst: '192.0.2.2', count: 2, intervalMs: 200, size: 4000 });
      assert.equal(r.received, 2, JSON.stringify(r));
      const snmp = inet.netstat();
      assert.ok(snmp.Ip!.ReasmOKs! >= 4 && snmp.Ip!.FragCreates! >= 6, JSON.stringify(snmp.Ip));
    });

    await t.test('UDP both ways with socat, and the echo service', async () => {
      const listener = spawn('ip', ['netns', 'exec', NS_A, 'socat', '-u', 'UDP4-RECVFROM:5000,bind=192.0.2.2', 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      listener.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      await until(() => run('ip', ['netns', 'exec', NS_A, 'ss', '-uln']).includes('192.0.2.2:5000'), 'socat listening', { timeoutMs: 10_000 });
      const tx = inet.udpOpen({});
      tx.sendTo(Buffer.from('hello from netstack'), '192.0.2.2:5000');
      await until(() => out.includes('hello from netstack'), 'socat received the datagram', { timeoutMs: 10_000 });
      // UDP4-RECVFROM ends after one datagram; kill it if it has not.
      if (listener.exitCode === null && listener.signalCode === null) {
        listener.kill();
        await once(listener, 'exit');
      }
      tx.close();

      const rx = inet.udpOpen({ bind: '0.0.0.0:6000' });
      const k = await inNs(NS_A, ['sh', '-c', 'printf "hello from linux" | socat -u STDIN UDP4-SENDTO:192.0.2.1:6000']);
      assert.equal(k.status, 0, k.stderr);
      const d = await Promise.resolve(rx.recv({ timeoutMs: 5000 })).catch((e: unknown) => {
        throw new Error(`${String(e)} ${JSON.stringify({ drops: Object.fromEntries(Object.entries(stack.drops).filter(([, v]) => v > 0)), udp: inet.netstat().Udp })}`);
      });
      assert.equal(Buffer.from(d.data).toString(), 'hello from linux');
      assert.match(d.from, /^192\.0\.2\.2:\d+$/);
      rx.close();

      inet.udpOpen({ bind: '0.0.0.0:7', service: 'echo' });
      const e = await inNs(NS_A, ['sh', '-c', 'printf "echo me" | socat -t 2 - UDP4:192.0.2.1:7']);
      assert.equal(e.status, 0, e.stderr);
      assert.equal(e.stdout, 'echo me');
    });

    await t.test('a closed port answers port unreachable: the kernel socket sees ECONNREFUSED', async () => {
      const before = inet.netstat().Udp!.NoPorts!;
      const r = await inNs(NS_A, ['sh', '-c', 'printf x | socat -t 2 - UDP4:192.0.2.1:9999']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Connection refused/);
      assert.equal(inet.netstat().Udp!.NoPorts, before + 1);
    });

    await t.test('routing between the namespaces: TTL - 1, time exceeded at TTL 1, nothing with ip_forward=0', async () => {
      stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
      const r = await inNs(NS_A, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '203.0.113.2']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /from 203\.0\.113\.2: icmp_seq=1 ttl=63/);
      const t1 = await inNs(NS_A, ['ping', '-c', '1', '-t', '1', '-W', '2', '203.0.113.2']);
      assert.notEqual(t1.status, 0);
      assert.match(t1.stdout, /From 192\.0\.2\.1 icmp_seq=1 Time to live exceeded/);
      stack.sysctl.set({ 'net.ipv4.ip_forward': 0 });
      const echos = icmpInEchos(NS_C);
      const off = await inNs(NS_A, ['ping', '-c', '2', '-i', '0.2', '-W', '1', '203.0.113.2']);
      assert.notEqual(off.status, 0);
      assert.match(off.stdout, /2 packets transmitted, 0 received/);
      assert.equal(icmpInEchos(NS_C), echos, 'nothing reached the far namespace');
      assert.ok(inet.netstat().Ip!.InAddrErrors! >= 2);
    });

    await t.test('a neighbour that never answers: EHOSTUNREACH to ping and to a connected UDP socket', async () => {
      const sock = inet.udpOpen({ connect: '192.0.2.98:9' });
      sock.sendTo(Buffer.from('anyone?'));
      const [p] = await Promise.all([inet.ping({ dst: '192.0.2.99', count: 1, timeoutMs: 5000 })]);
      assert.equal(p.received, 0);
      assert.deepEqual(p.errors, [{ seq: 1, from: '192.0.2.1', message: 'Destination Host Unreachable' }]);
      await until(() => {
        try {
          sock.recv({ nonblock: true });
        } catch (e) {
          return (e as NetError).errno === 'EHOSTUNREACH';
        }
        return false;
      }, 'EHOSTUNREACH on the socket', { timeoutMs: 10_000 });
      assert.ok(stack.drops.NEIGH_FAILED >= 2);
      sock.close();
    });
  } finally {
    clearInterval(keepAlive);
    stack.close();
    tryRun('ip', ['netns', 'del', NS_A]);
    tryRun('ip', ['netns', 'del', NS_C]);
    tryRun('ip', ['link', 'del', IF_A]);
    tryRun('ip', ['link', 'del', IF_C]);
  }
});
