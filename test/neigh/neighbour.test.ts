import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { ETH_P_ARP } from '../../src/wire/eth.ts';
import { encodeArp, parseArp, ARPOP_REQUEST, ARPOP_REPLY } from '../../src/wire/arp.ts';
import { cable, host, injectFrame, type Host } from '../helpers/inet.ts';

function pair(): { clock: VirtualClock; a: Host; b: Host; sent: Buffer[]; setFilter: (f: (frame: Buffer) => boolean) => void } {
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  const { cable: c } = cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, sent: c.sent, setFilter: (f) => { c.filter = f; } };
}

const arps = (frames: Buffer[]) => frames.filter((f) => f.readUInt16BE(12) === ETH_P_ARP).map((f) => parseArp(f, 14)!);
const state = (h: Host, dst: string) => h.inet.neighList().find((n) => n.dst === dst)?.state[0];

test('resolution: a broadcast request, a reply, the waiting datagram goes; the asker is learnt STALE', async () => {
  const { clock, a, b, sent } = pair();
  await clock.runUntil(() => false, 20);
  sent.length = 0;
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
  const tx = a.inet.udpOpen({});
  tx.sendTo(Buffer.from('first'), '192.0.2.2:5000');
  assert.equal(state(a, '192.0.2.2'), 'INCOMPLETE');
  await clock.advance(1);
  const [req, rep] = arps(sent);
  assert.equal(req!.op, ARPOP_REQUEST);
  assert.equal(req!.senderIp, '192.0.2.1');
  assert.equal(req!.targetIp, '192.0.2.2');
  assert.equal(sent[0]!.subarray(0, 6).toString('hex'), 'ffffffffffff', 'the request is broadcast');
  assert.equal(rep!.op, ARPOP_REPLY);
  assert.equal(rep!.senderIp, '192.0.2.2');
  assert.equal(state(a, '192.0.2.2'), 'REACHABLE');
  assert.equal(state(b, '192.0.2.1'), 'STALE', 'neigh_event_ns: a request for us teaches us the asker');
  const d = rx.recv({ nonblock: true }) as { data: Uint8Array };
  assert.equal(Buffer.from(d.data).toString(), 'first');
  tx.close();
  rx.close();
});

test('NUD timers: REACHABLE -> STALE; use -> DELAY -> PROBE (unicast) -> REACHABLE on the reply', async () => {
  const { clock, a, b, sent } = pair();
  const tx = a.inet.udpOpen({});
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
  tx.sendTo(Buffer.from('x'), '192.0.2.2:5000');
  await clock.advance(1);
  assert.equal(state(a, '192.0.2.2'), 'REACHABLE');
  // base_reachable_time 30 s randomised to at most 45 s.
  await clock.advance(46_000);
  assert.equal(state(a, '192.0.2.2'), 'STALE');
  sent.length = 0;
  tx.sendTo(Buffer.from('y'), '192.0.2.2:5000');
  assert.equal(state(a, '192.0.2.2'), 'DELAY', 'a STALE entry is used at once and checked later');
  await clock.advance(1);
  assert.equal(arps(sent).length, 0, 'a STALE address is used without asking first');
  await clock.advance(5_000);
  const probes = arps(sent);
  assert.equal(probes.length, 2, 'the unicast probe and its reply');
  assert.equal(sent.find((f) => f.readUInt16BE(12) === ETH_P_ARP)!.subarray(0, 6).toString('hex'), b.stack.getDevice('eth0').devAddr.toString('hex'), 'PROBE asks the known address directly');
  assert.equal(state(a, '192.0.2.2'), 'REACHABLE');
  assert.equal(rx.describe().recv_q > 0, true);
  tx.close();
  rx.close();
});

test('a REACHABLE entry in steady use goes STALE when its time is up, and the next frame starts DELAY (neigh_output reads no clock)', async () => {
  const { clock, a, b } = pair();
  const tx = a.inet.udpOpen({});
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
  tx.sendTo(Buffer.from('x'), '192.0.2.2:5000');
  await clock.advance(1);
  assert.equal(state(a, '192.0.2.2'), 'REACHABLE');
  let left = '';
  for (let t = 0; t < 60 && left === ''; t++) {
    await clock.advance(1000);
    if (state(a, '192.0.2.2') !== 'REACHABLE') left = state(a, '192.0.2.2') ?? 'gone';
    else tx.sendTo(Buffer.from('y'), '192.0.2.2:5000');
  }
  assert.equal(left, 'STALE', 'use while connected does not keep the entry from going stale');
  tx.sendTo(Buffer.from('z'), '192.0.2.2:5000');
  assert.equal(state(a, '192.0.2.2'), 'DELAY');
  await clock.advance(6_000);
  assert.equal(state(a, '192.0.2.2'), 'REACHABLE', 'confirmed by the unicast probe');
  tx.close();
  rx.close();
});

test('a neighbour that never answers: 3 probes, FAILED, queued datagrams dropped as NEIGH_FAILED, EHOSTUNREACH to the senders', async () => {
  const { clock, a, sent } = pair();
  const connected = a.inet.udpOpen({ connect: '192.0.2.99:9' });
  const unconnected = a.inet.udpOpen({});
  sent.length = 0;
  connected.sendTo(Buffer.from('one'));
  unconnected.sendTo(Buffer.from('two'), '192.0.2.99:9');
  await clock.advance(2_999);
  assert.equal(state(a, '192.0.2.99'), 'INCOMPLETE');
  await clock.advance(2);
  assert.equal(state(a, '192.0.2.99'), 'FAILED');
  const reqs = arps(sent).filter((r) => r.targetIp === '192.0.2.99');
  assert.equal(reqs.length, 3, 'mcast_solicit broadcast requests, retrans_time apart');
  assert.equal(a.stack.drops.NEIGH_FAILED, 2);
  assert.throws(() => connected.recv({ nonblock: true }), (e: NetError) => e.errno === 'EHOSTUNREACH');
  assert.throws(() => unconnected.recv({ nonblock: true }), (e: NetError) => e.errno === 'EHOSTUNREACH');
  assert.throws(() => connected.recv({ nonblock: true }), (e: NetError) => e.errno === 'EAGAIN', 'the error is reported once');
  assert.equal(connected.describe().wmem, 0, 'the dropped datagrams gave their send memory back');
  const ping = a.inet.ping({ dst: '192.0.2.99', count: 1, timeoutMs: 5_000 });
  let r: Awaited<typeof ping> | undefined;
  void ping.then((x) => { r = x; });
  await clock.runUntil(() => r !== undefined);
  assert.equal(r!.received, 0);
  assert.deepEqual(r!.errors, [{ seq: 1, from: '192.0.2.1', message: 'Destination Host Unreachable' }]);
  connected.close();
  unconnected.close();
  a.stack.close();
  assert.equal(a.stack.pool.stats.inUse, 0);
});

test('unres_qlen_bytes bounds the queue: the oldest frames go first, as NEIGH_QUEUEFULL', async () => {
  const { clock, a, b, setFilter } = pair();
  a.stack.sysctl.set({ 'net.ipv4.neigh.default.unres_qlen_bytes': 8192 });
  setFilter((f) => f.readUInt16BE(12) !== ETH_P_ARP);
  const rx = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
  const tx = a.inet.udpOpen({});
  for (let i = 0; i < 20; i++) tx.sendTo(Buffer.from([i]), '192.0.2.2:5000');
  const n = a.inet.neigh.lookup(a.stack.getDevice('eth0'), 0xc0000202)!;
  assert.ok(n.queueBytes <= 8192, `queue holds ${n.queueBytes} bytes`);
  assert.equal(a.stack.drops.NEIGH_QUEUEFULL + n.queue.length, 20);
  assert.ok(a.stack.drops.NEIGH_QUEUEFULL > 0);
  setFilter(() => true);
  await clock.advance(1_001);
  // The retried request is answered; what waited goes out, newest ones, in order.
  const got: number[] = [];
  for (;;) {
    try {
      got.push((rx.recv({ nonblock: true }) as { data: Uint8Array }).data[0]!);
    } catch {
      break;
    }
  }
  assert.equal(got.length, 20 - a.stack.drops.NEIGH_QUEUEFULL);
  assert.deepEqual(got, [...got].sort((x, y) => x - y));
  assert.equal(got[got.length - 1], 19);
  tx.close();
  rx.close();
});

test('gc_thresh3 caps the table: no entry, NEIGH_CREATEFAIL; a forced gc makes room from FAILED ones', async () => {
  const { clock, a } = pair();
  a.stack.sysctl.set({ 'net.ipv4.neigh.default.gc_thresh3': 4, 'net.ipv4.neigh.default.gc_thresh2': 2, 'net.ipv4.neigh.default.gc_thresh1': 1 });
  const tx = a.inet.udpOpen({});
  for (let i = 10; i < 14; i++) tx.sendTo(Buffer.from('x'), `192.0.2.${i}:9`);
  assert.equal(a.inet.neigh.entries, 4);
  tx.sendTo(Buffer.from('x'), '192.0.2.20:9');
  assert.equal(a.stack.drops.NEIGH_CREATEFAIL, 1, 'resolving entries are not collected');
  await clock.advance(3_100);
  assert.throws(() => tx.recv({ nonblock: true }), (e: NetError) => e.errno === 'EHOSTUNREACH', 'the failures were reported');
  tx.sendTo(Buffer.from('x'), '192.0.2.21:9');
  assert.equal(a.stack.drops.NEIGH_CREATEFAIL, 1);
  assert.ok(a.inet.neigh.entries <= 4);
  assert.equal(state(a, '192.0.2.21'), 'INCOMPLETE');
  tx.close();
  a.stack.close();
});

test('permanent entries: added, listed, never overridden by ARP, deleted; flush leaves them', async () => {
  const { clock, a, b } = pair();
  const v = a.inet.neighAdd({ dst: '192.0.2.2', dev: 'eth0', lladdr: '02:00:5e:00:53:99' });
  assert.deepEqual(v, { dst: '192.0.2.2', dev: 'eth0', lladdr: '02:00:5e:00:53:99', state: ['PERMANENT'] });
  // B announces itself (gratuitous ARP on a new address): A keeps what the user set.
  b.inet.addrAdd('eth0', '192.0.2.3/24');
  b.inet.arp.announce(b.stack.getDevice('eth0'), 0xc0000202);
  await clock.advance(1);
  assert.equal(a.inet.neighList().find((n) => n.dst === '192.0.2.2')?.lladdr, '02:00:5e:00:53:99');
  assert.equal(a.inet.neighFlush('eth0'), 0);
  assert.throws(() => a.inet.neighAdd({ dst: '192.0.2.2', dev: 'eth0', lladdr: 'zz' }), (e: NetError) => e.errno === 'EINVAL');
  assert.throws(() => a.inet.neighAdd({ dst: '192.0.2.2', dev: 'nope', lladdr: '02:00:00:00:00:01' }), (e: NetError) => e.errno === 'ENODEV');
  a.inet.neighDel({ dst: '192.0.2.2', dev: 'eth0' });
  assert.throws(() => a.inet.neighDel({ dst: '192.0.2.2', dev: 'eth0' }), (e: NetError) => e.errno === 'ENOENT');
});

test('ARP answers for our own addresses only (any of them: arp_ignore 0), and learns nothing from others\' chatter', async () => {
  const { clock, a, b, sent } = pair();
  b.inet.addrAdd('lo', '203.0.113.7/32');
  await clock.advance(1);
  const bdev = b.stack.getDevice('eth0');
  const ask = (tip: number, sip = 0xc0000263) => {
    const frame = Buffer.alloc(42);
    frame.fill(0xff, 0, 6);
    Buffer.from([2, 0, 0x5e, 0, 0x53, 0x63]).copy(frame, 6);
    frame.writeUInt16BE(ETH_P_ARP, 12);
    frame.set(encodeArp({ op: ARPOP_REQUEST, senderMac: Buffer.from([2, 0, 0x5e, 0, 0x53, 0x63]), senderAddr: sip, targetMac: Buffer.alloc(6), targetAddr: tip }), 14);
    injectFrame(b, 'eth0', frame);
  };
  sent.length = 0;
  ask(0xc000024d); // 192.0.2.77: not ours
  await clock.advance(1);
  assert.equal(arps(sent).length, 0, 'no reply for an address that is not ours');
  assert.equal(state(b, '192.0.2.99'), undefined, 'and the asker is not learnt');
  ask(0xcb007107); // 203.0.113.7 lives on lo: still ours
  await clock.advance(1);
  const [rep] = arps(sent);
  assert.equal(rep?.op, ARPOP_REPLY);
  assert.equal(rep?.senderIp, '203.0.113.7');
  assert.equal(rep?.senderMac.toString('hex'), bdev.devAddr.toString('hex'));
  assert.equal(state(b, '192.0.2.99'), 'STALE');
  a.stack.close();
  b.stack.close();
});
