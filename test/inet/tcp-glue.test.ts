// TCP on IPv4 between two stacks joined by a simulated cable: protocol 6
// reaches TCP, segments leave through ip.output with the route's source and
// MSS, resets answer closed ports, ICMP errors reach connecting sockets, ids
// come from the stack's one counter, and Tcp/TcpExt join netstat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { tcpOf } from '../../src/inet/tcp-glue.ts';
import { setLink } from '../../src/stack/index.ts';
import { cable, host, runFor } from '../helpers/inet.ts';

const errno = (name: string) => (e: unknown) => e instanceof NetError && e.errno === name;

function twoHosts() {
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  const { cable: c } = cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, cable: c, ta: tcpOf(a.inet)!, tb: tcpOf(b.inet)! };
}

test('echo service over IPv4: 200 kB back intact, ids unique with UDP sockets, counters in netstat', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const udp = a.inet.udpOpen({});
  const l = await tb.open({ bind: '0.0.0.0:7', listen: 16, service: 'echo' });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:7' }));
  assert.notEqual(c.id, udp.id);
  const row = ta.describe(c);
  assert.equal(row.state, 'ESTAB');
  assert.match(row.local, /^192\.0\.2\.1:\d+$/);
  assert.equal(row.peer, '192.0.2.2:7');
  assert.equal(c.sk.mss, 1500 - 40 - 12, 'the route MTU less IPv4, TCP and the timestamp option');
  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 255;
  const w = c.sk.write(data);
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < data.length) {
    const r = await runFor(clock, c.sk.read(65536));
    assert.ok(r !== null);
    chunks.push(r);
    got += r.length;
  }
  assert.equal(await runFor(clock, w), data.length);
  assert.ok(Buffer.concat(chunks).equals(data));
  const listed = tb.list().map((e) => tb.describe(e));
  assert.ok(listed.some((r) => r.id === l.id && r.state === 'LISTEN'));
  assert.ok(listed.some((r) => r.state === 'ESTAB' && r.peer === row.local && r.service === 'echo'));
  const ns = a.inet.netstat() as unknown as Record<string, Record<string, number>>;
  assert.equal(ns.Tcp!.ActiveOpens, 1);
  assert.equal(ns.Tcp!.CurrEstab, 1);
  assert.ok(ns.Tcp!.OutSegs! > 0 && ns.TcpExt !== undefined);
  assert.equal((b.inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.PassiveOpens, 1);
  ta.close(c);
  await clock.advance(1000);
  assert.deepEqual(tb.list().map((e) => e.id), [l.id], 'the server side is gone after FIN both ways; only the listener is left');
  assert.deepEqual(ta.list().map((e) => ta.describe(e).state), ['TIME-WAIT']);
  a.stack.close();
  b.stack.close();
});

test('a closed port answers RST: ECONNREFUSED; a bad bind, listen twice and no route are refused', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.2:9' })), errno('ECONNREFUSED'));
  assert.equal((b.inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.OutRsts, 1);
  await assert.rejects(ta.open({ connect: '203.0.113.1:80' }), errno('ENETUNREACH'));
  await assert.rejects(ta.open({ connect: '192.0.2.2:0' }), errno('EINVAL'));
  await assert.rejects(ta.open({ connect: '192.0.2.2:70000' }), errno('EINVAL'));
  await assert.rejects(ta.open({ bind: '198.51.100.1:80', listen: true }), errno('EADDRNOTAVAIL'));
  await tb.open({ bind: '0.0.0.0:80', listen: true });
  await assert.rejects(tb.open({ bind: '192.0.2.2:80', listen: true }), errno('EADDRINUSE'));
  // Connecting from a port a listener holds is a bind conflict (inet_csk_bind_conflict), not a connection to itself.
  const before = tb.list().length;
  await assert.rejects(tb.open({ bind: '192.0.2.2:80', connect: '192.0.2.1:9' }), errno('EADDRINUSE'));
  await assert.rejects(tb.open({ bind: '127.0.0.1:80', connect: '127.0.0.1:80' }), errno('EADDRINUSE'));
  assert.equal(tb.list().length, before);
  assert.equal(ta.list().length, 0, 'a refused connection leaves nothing behind');
  a.stack.close();
  b.stack.close();
});

test('no answer: ETIMEDOUT after timeout_ms; a neighbour that never answers: EHOSTUNREACH', async () => {
  const { clock, a, b, ta, cable: c } = twoHosts();
  c.filter = (frame) => frame.readUInt16BE(12) !== 0x0800; // ARP passes, IPv4 is lost
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.2:80', timeoutMs: 3000 })), errno('ETIMEDOUT'));
  assert.equal(ta.list().length, 0);
  c.filter = () => true;
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.77:80' })), errno('EHOSTUNREACH'));
  a.stack.close();
  b.stack.close();
});

test('path MTU: a router with a 1000-byte link answers "fragmentation needed" and TCP lowers its MSS', async () => {
  const clock = new VirtualClock();
  const a = host(clock);
  const r = host(clock);
  const b = host(clock);
  cable(a, r, 'eth0');
  cable(r, b, 'eth1', ['eth1', 'eth0']);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  r.inet.addrAdd('eth0', '192.0.2.254/24');
  r.inet.addrAdd('eth1', '198.51.100.254/24');
  b.inet.addrAdd('eth0', '198.51.100.2/24');
  a.inet.routeAdd({ dst: 'default', gateway: '192.0.2.254' });
  b.inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
  r.stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
  setLink(r.stack, 'eth1', { mtu: 1000 });
  const ta = tcpOf(a.inet)!;
  const tb = tcpOf(b.inet)!;
  const l = await tb.open({ bind: '0.0.0.0:9', listen: 4 });
  let got: Promise<Buffer> | undefined;
  tb.setAcceptHook(l, (child) => {
    got = (async () => {
      const chunks: Buffer[] = [];
      for (let x = await child.sk.read(); x !== null; x = await child.sk.read()) chunks.push(x);
      return Buffer.concat(chunks);
    })();
  });
  const c = await runFor(clock, ta.open({ connect: '198.51.100.2:9' }));
  assert.equal(c.sk.mss, 1448, 'both ends are on 1500-byte links');
  const data = Buffer.alloc(50_000, 7);
  await runFor(clock, c.sk.write(data));
  ta.close(c);
  await clock.advance(5000);
  assert.ok(got !== undefined);
  assert.ok((await runFor(clock, got)).equals(data), 'everything arrived, in segments that fit');
  assert.equal(c.sk.mss, 1000 - 40 - 12, 'the MSS follows the path MTU (less the timestamp option)');
  assert.ok(r.inet.netstat().Icmp!.OutDestUnreachs! >= 1);
  for (const h of [a, r, b]) h.stack.close();
});

test('path MTU drops mid-transfer: queued segments are cut to the new MSS (tcp_fragment), DF on every segment, scoreboard right', async () => {
  // The router's far link shrinks (it answers "fragmentation needed"), or the sender's own link does (ip_output refuses with EMSGSIZE).
  for (const [sack, where] of [[1, 'router'], [0, 'router'], [1, 'local']] as const) {
    const clock = new VirtualClock();
    const a = host(clock);
    const r = host(clock);
    const b = host(clock);
    const { da, cable: ar } = cable(a, r, 'eth0');
    const { cable: rb } = cable(r, b, 'eth1', ['eth1', 'eth0']);
    a.inet.addrAdd('eth0', '192.0.2.1/24');
    r.inet.addrAdd('eth0', '192.0.2.254/24');
    r.inet.addrAdd('eth1', '198.51.100.254/24');
    b.inet.addrAdd('eth0', '198.51.100.2/24');
    a.inet.routeAdd({ dst: 'default', gateway: '192.0.2.254' });
    b.inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
    r.stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
    const ta = tcpOf(a.inet)!;
    const tb = tcpOf(b.inet)!;
    for (const t of [ta, tb]) t.tcpSysctl.set({ 'net.ipv4.tcp_sack': sack });
    // Every TCP datagram a sends: DF set, never a fragment.
    let tcpFrames = 0;
    let withoutDf = 0;
    let fragments = 0;
    ar.filter = (frame, from) => {
      if (from === da && frame.readUInt16BE(12) === 0x0800 && frame[14 + 9] === 6) {
        tcpFrames++;
        const fw = frame.readUInt16BE(14 + 6);
        if ((fw & 0x4000) === 0) withoutDf++;
        if ((fw & 0x3fff) !== 0) fragments++;
      }
      return true;
    };
    // The router's far side is slow enough that a window of full-sized segments is in flight when the MTU drops.
    let rbFrames = 0;
    rb.filter = () => {
      rbFrames++;
      return true;
    };
    const l = await tb.open({ bind: '0.0.0.0:9', listen: 4 });
    const chunks: Buffer[] = [];
    let got = 0;
    let eof = false;
    tb.setAcceptHook(l, (child) => {
      void (async () => {
        for (let x = await child.sk.read(); x !== null; x = await child.sk.read()) {
          chunks.push(x);
          got += x.length;
        }
        eof = true;
      })();
    });
    const c = await runFor(clock, ta.open({ connect: '198.51.100.2:9' }));
    assert.equal(c.sk.mss, 1448);
    const data = Buffer.alloc(600_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 255;
    let written = false;
    void c.sk.write(data).then(() => {
      written = true;
      ta.close(c);
    });
    let bad: string | null = null;
    const check = (): void => {
      bad ??= c.sk.scoreboardError();
    };
    await clock.runUntil(() => {
      check();
      return got > 100_000 && c.sk.info().unacked >= 10;
    });
    // A window of 1448-byte segments is in flight: the router's link shrinks under them.
    if (where === 'router') setLink(r.stack, 'eth1', { mtu: 1000 });
    else setLink(a.stack, 'eth0', { mtu: 1000 });
    await clock.runUntil(() => {
      check();
      return eof && c.sk.info().unacked === 0;
    });
    assert.equal(bad, null, `scoreboard (sack=${sack}, ${where})`);
    assert.ok(written);
    assert.ok(Buffer.concat(chunks).equals(data), `every byte, in order (sack=${sack}, ${where})`);
    assert.equal(c.sk.mss, 1000 - 40 - 12);
    if (where === 'router') assert.ok(r.inet.netstat().Icmp!.OutDestUnreachs! >= 1, 'the router said "fragmentation needed"');
    else assert.ok(a.inet.netstat().Ip!.FragFails! >= 1, 'ip_output refused the segments too big for the link');
    assert.ok(c.sk.info().total_retrans >= 1, 'the segments too big for the new path went again');
    assert.ok(tcpFrames > 400);
    assert.equal(withoutDf, 0, 'DF on every TCP segment');
    assert.equal(fragments, 0, 'no TCP segment was fragmented');
    assert.equal(a.inet.netstat().Ip!.FragCreates, 0);
    assert.equal(b.inet.netstat().Ip!.ReasmReqds, 0);
    assert.ok(rbFrames > 0);
    const i = c.sk.info();
    assert.equal(i.unacked + i.lost + i.sacked + i.retrans, 0, 'nothing left on the scoreboard');
    await clock.advance(120_000);
    for (const h of [a, r, b]) h.stack.close();
    for (const h of [a, r, b]) assert.equal(h.stack.pool.stats.inUse, 0);
  }
});
