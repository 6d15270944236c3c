import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { NetStack } from '../../src/stack/index.ts';
import { attachInet } from '../../src/inet/control.ts';
import { chargen } from '../../src/inet/udp.ts';
import { ETH_P_IP } from '../../src/wire/eth.ts';
import { parseIcmpHeader } from '../../src/wire/icmp.ts';
import { TestDriver } from '../helpers/stack.ts';
import { cable, host, runFor } from '../helpers/inet.ts';

const errno = (name: string) => (e: unknown) => e instanceof NetError && e.errno === name;

function twoHosts() {
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  const { cable: c } = cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, sent: c.sent };
}

test('echo: answered, to our own address through lo, ignored with icmp_echo_ignore_all', async () => {
  const { clock, a, b } = twoHosts();
  const r = await runFor(clock, a.inet.ping({ dst: '192.0.2.2', count: 3, intervalMs: 200, size: 100 }));
  assert.equal(r.transmitted, 3);
  assert.equal(r.received, 3);
  assert.equal(r.loss_percent, 0);
  assert.deepEqual(r.replies.map((x) => x.seq), [1, 2, 3]);
  assert.ok(r.rtt_ms !== null);
  const self = await runFor(clock, a.inet.ping({ dst: '192.0.2.1', count: 1 }));
  assert.equal(self.received, 1);
  assert.ok(a.stack.lo.stats.txPackets >= 2, 'the request and the reply went through lo');
  b.stack.sysctl.set({ 'net.ipv4.icmp_echo_ignore_all': 1 });
  const ignored = await runFor(clock, a.inet.ping({ dst: '192.0.2.2', count: 2, intervalMs: 100, timeoutMs: 300 }));
  assert.equal(ignored.received, 0);
  assert.equal(ignored.loss_percent, 100);
  assert.equal(ignored.rtt_ms, null);
  assert.equal(b.inet.netstat().Icmp!.InEchos, 5);
  assert.equal(b.inet.netstat().Icmp!.OutEchoReps, 3);
  assert.equal(b.inet.netstat().IcmpMsg!.InType8, 5);
  await assert.rejects(a.inet.ping({ dst: '203.0.113.1' }), errno('ENETUNREACH'));
  await assert.rejects(a.inet.ping({ dst: 'x' }), errno('EINVAL'));
  await assert.rejects(a.inet.ping({ dst: '192.0.2.2', count: 0 }), errno('EINVAL'));
  await assert.rejects(a.inet.ping({ dst: '192.0.2.2', src: '192.0.2.9' }), errno('EADDRNOTAVAIL'));
  const ac = new AbortController();
  const p = a.inet.ping({ dst: '192.0.2.2', count: 100, signal: ac.signal });
  await clock.advance(2500);
  ac.abort();
  const stopped = await runFor(clock, p);
  assert.equal(stopped.transmitted, 3, 'an aborted ping stops sending');
  a.stack.close();
  b.stack.close();
});

test('ICMP errors are rate limited per destination: a burst of 6, then one per icmp_ratelimit', async () => {
  const { clock, a, b, sent } = twoHosts();
  const tx = a.inet.udpOpen({});
  await clock.advance(1);
  sent.length = 0;
  for (let i = 0; i < 20; i++) tx.sendTo(Buffer.from('x'), '192.0.2.2:9');
  await clock.advance(1);
  const unreach = () => sent.filter((f) => f.readUInt16BE(12) === ETH_P_IP && f[23] === 1).map((f) => parseIcmpHeader(f, 34)!);
  assert.equal(unreach().length, 6);
  assert.ok(unreach().every((h) => h.type === 3 && h.code === 3 && h.checksumValid));
  assert.equal(b.inet.netstat().Icmp!.OutRateLimitHost, 14);
  assert.equal(b.inet.netstat().Udp!.NoPorts, 20);
  await clock.advance(1000);
  tx.sendTo(Buffer.from('x'), '192.0.2.2:9');
  tx.sendTo(Buffer.from('x'), '192.0.2.2:9');
  await clock.advance(1);
  assert.equal(unreach().length, 7, 'one token a second');
  b.stack.sysctl.set({ 'net.ipv4.icmp_ratelimit': 0 });
  for (let i = 0; i < 5; i++) tx.sendTo(Buffer.from('x'), '192.0.2.2:9');
  await clock.advance(1);
  assert.equal(unreach().length, 12, 'icmp_ratelimit 0 turns the per-host limit off');
  a.stack.close();
  b.stack.close();
});

test('UDP: bind rules, ephemeral ports, send errors, describe()', async () => {
  const { clock, a, b } = twoHosts();
  const s1 = a.inet.udpOpen({ bind: '192.0.2.1:5000' });
  assert.throws(() => a.inet.udpOpen({ bind: '0.0.0.0:5000' }), errno('EADDRINUSE'));
  assert.throws(() => a.inet.udpOpen({ bind: '192.0.2.1:5000' }), errno('EADDRINUSE'));
  const s2 = a.inet.udpOpen({ bind: '127.0.0.1:5000' });
  assert.throws(() => a.inet.udpOpen({ bind: '203.0.113.1:1' }), errno('EADDRNOTAVAIL'));
  assert.throws(() => a.inet.udpOpen({ bind: '1.2.3:1' }), errno('EINVAL'));
  assert.throws(() => a.inet.udpOpen({ bind: '0.0.0.0:70000' }), errno('EINVAL'));
  assert.throws(() => a.inet.udpOpen({ connect: '203.0.113.1:9' }), errno('ENETUNREACH'));
  assert.throws(() => a.inet.udpOpen({ service: 'echo' }), errno('EINVAL'));
  const n0 = a.inet.udpSockets().length;
  a.stack.sysctl.set({ 'net.ipv4.ip_local_port_range_min': 40000, 'net.ipv4.ip_local_port_range_max': 40001 });
  const e1 = a.inet.udpOpen({ bind: '0.0.0.0:0' });
  const e2 = a.inet.udpOpen({ bind: '0.0.0.0:0' });
  assert.deepEqual([e1.describe().local, e2.describe().local].sort(), ['0.0.0.0:40000', '0.0.0.0:40001']);
  assert.throws(() => a.inet.udpOpen({ bind: '0.0.0.0:0' }), errno('EADDRINUSE'));
  assert.equal(a.inet.udpSockets().length, n0 + 2, 'failed opens leave nothing behind');
  assert.throws(() => s1.sendTo(Buffer.from('x')), errno('EDESTADDRREQ'));
  assert.throws(() => s1.sendTo(Buffer.alloc(65508), '192.0.2.2:9'), errno('EMSGSIZE'));
  assert.throws(() => s1.sendTo(Buffer.from('x'), '203.0.113.1:9'), errno('ENETUNREACH'));
  assert.throws(() => s1.sendTo(Buffer.from('x'), '192.0.2.2:0'), errno('EINVAL'));
  a.stack.sysctl.set({ 'net.ipv4.ip_local_port_range_max': 40002 });
  const c = a.inet.udpOpen({ connect: '192.0.2.2:7', rcvbuf: 4096, sndbuf: 8192 });
  assert.deepEqual(c.describe(), {
    id: c.id, family: 'inet', type: 'dgram', state: 'ESTAB', local: c.describe().local, peer: '192.0.2.2:7',
    recv_q: 0, send_q: 0, rmem: 0, rcvbuf: 8192, wmem: 0, sndbuf: 16384, drops: 0,
  });
  assert.equal(c.describe().local, '192.0.2.1:40002', 'connect bound the source the route chose');
  assert.notEqual(c.id, s1.id);
  const ids = new Set([s1, s2, e1, e2, c].map((s) => s.id));
  const pkt = a.stack.openPacketSocket({});
  assert.equal(ids.has(pkt.id), false, 'ids are unique across packet and UDP sockets');
  pkt.close();
  c.close();
  assert.throws(() => c.sendTo(Buffer.from('x')), errno('EBADF'));
  await clock.advance(1);
  a.stack.close();
  b.stack.close();
});

test('UDP: a connected socket hears ECONNREFUSED; recv waits, times out, is interrupted', async () => {
  const { clock, a, b } = twoHosts();
  const c = a.inet.udpOpen({ connect: '192.0.2.2:9' });
  c.sendTo(Buffer.from('anyone?'));
  await clock.advance(1);
  assert.throws(() => c.recv({ nonblock: true }), errno('ECONNREFUSED'));
  assert.throws(() => c.recv({ nonblock: true }), errno('EAGAIN'));
  await assert.rejects(runFor(clock, Promise.resolve(c.recv({ timeoutMs: 50 }))), errno('EAGAIN'));
  const ac = new AbortController();
  const waiting = c.recv({ signal: ac.signal });
  ac.abort();
  await assert.rejects(Promise.resolve(waiting), errno('EINTR'));
  let readable = 0;
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:9' });
  const off = rx.onReadable(() => readable++);
  const pending = rx.recv();
  c.sendTo(Buffer.from('now'));
  const d = await runFor(clock, Promise.resolve(pending));
  assert.equal(Buffer.from(d.data).toString(), 'now');
  assert.equal(readable, 1);
  off();
  c.close();
  rx.close();
  a.stack.close();
  b.stack.close();
});

test('UDP: a slow reader loses datagrams at its own queue (RcvbufErrors); all memory returns', async () => {
  const { clock, a, b } = twoHosts();
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:5000', rcvbuf: 1 });
  const tx = a.inet.udpOpen({ connect: '192.0.2.2:5000' });
  for (let i = 0; i < 10; i++) tx.sendTo(Buffer.alloc(1000, i));
  await clock.advance(1);
  const snmp = b.inet.netstat().Udp!;
  assert.ok(snmp.RcvbufErrors > 0);
  assert.equal(snmp.InDatagrams + snmp.RcvbufErrors, 10);
  assert.equal(b.stack.drops.SOCKET_RCVBUFF, snmp.RcvbufErrors);
  assert.equal(rx.describe().drops, snmp.RcvbufErrors);
  rx.close();
  tx.close();
  a.stack.close();
  b.stack.close();
  assert.equal(b.stack.pool.stats.inUse, 0);
  assert.equal(b.stack.pool.stats.bytes, 0);
});

test('UDP: a slow link makes the sender wait (allocSendSkb), and completion wakes it', async () => {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  const inet = attachInet(stack);
  const drv = new TestDriver(stack, { name: 'slow0' });
  inet.addrAdd('slow0', '198.51.100.1/24');
  inet.neighAdd({ dst: '198.51.100.2', dev: 'slow0', lladdr: '02:00:5e:00:53:02' });
  drv.complete();
  const tx = inet.udpOpen({ connect: '198.51.100.2:9', sndbuf: 4608 });
  let sent = 0;
  for (;;) {
    try {
      tx.sendTo(Buffer.alloc(1000), undefined, { nonblock: true });
      sent++;
    } catch (e) {
      assert.equal((e as NetError).errno, 'EAGAIN');
      break;
    }
  }
  assert.ok(sent >= 1 && tx.describe().wmem >= tx.describe().sndbuf);
  const waiting = tx.sendTo(Buffer.alloc(1000));
  assert.ok(waiting instanceof Promise, 'a blocking send waits');
  let done = false;
  void (waiting as Promise<number>).then(() => { done = true; });
  await clock.advance(10);
  assert.equal(done, false);
  drv.complete();
  await clock.advance(1);
  assert.equal(done, true, 'freed transmit memory woke the sender');
  drv.complete();
  assert.equal(tx.describe().wmem, 0);
  tx.close();
  stack.close();
  assert.equal(stack.pool.stats.inUse, 0);
});

test('services: echo (RFC 862), discard (863), chargen (864)', async () => {
  const { clock, a, b } = twoHosts();
  b.inet.udpOpen({ bind: '0.0.0.0:7', service: 'echo' });
  b.inet.udpOpen({ bind: '0.0.0.0:9', service: 'discard' });
  b.inet.udpOpen({ bind: '0.0.0.0:19', service: 'chargen' });
  const c = a.inet.udpOpen({});
  c.sendTo(Buffer.from('echo me'), '192.0.2.2:7');
  const e = await runFor(clock, Promise.resolve(c.recv({ timeoutMs: 100 })));
  assert.equal(e.from, '192.0.2.2:7');
  assert.equal(Buffer.from(e.data).toString(), 'echo me');
  c.sendTo(Buffer.from('gone'), '192.0.2.2:9');
  await assert.rejects(runFor(clock, Promise.resolve(c.recv({ timeoutMs: 100 }))), errno('EAGAIN'));
  c.sendTo(Buffer.from('x'), '192.0.2.2:19');
  const g = await runFor(clock, Promise.resolve(c.recv({ timeoutMs: 100 })));
  assert.equal(g.from, '192.0.2.2:19');
  assert.ok(g.data.length <= 512);
  assert.deepEqual(Buffer.from(g.data), Buffer.from(chargen(g.data.length)));
  assert.equal(Buffer.from(chargen(74)).toString(), ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n');
  assert.equal(b.inet.netstat().Udp!.InDatagrams, 3);
  a.stack.close();
  b.stack.close();
  assert.equal(b.stack.pool.stats.inUse, 0);
});
