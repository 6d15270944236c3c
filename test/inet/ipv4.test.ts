import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { emitIpv4, IPPROTO_UDP, parseIpv4 } from '../../src/wire/ipv4.ts';
import { encodeUdp } from '../../src/wire/udp.ts';
import { ETH_P_IP } from '../../src/wire/eth.ts';
import { parseIcmpHeader } from '../../src/wire/icmp.ts';
import { cable, ethFor, host, injectFrame, runFor } from '../helpers/inet.ts';

const A = 0xc0000201; // 192.0.2.1
const B = 0xc0000202; // 192.0.2.2

function ip(fields: { src?: number; dst?: number; protocol?: number; ttl?: number; id?: number; flags?: number; fragOffset?: number }, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(20 + payload.length);
  emitIpv4({ totalLength: out.length, id: fields.id ?? 1, ttl: fields.ttl ?? 64, protocol: fields.protocol ?? IPPROTO_UDP, srcAddr: fields.src ?? A, dstAddr: fields.dst ?? B, flags: fields.flags ?? 0, fragOffset: fields.fragOffset ?? 0 }, out, 0);
  out.set(payload, 20);
  return out;
}

function udpTo(port: number, data: Uint8Array, src = A, dst = B): Buffer {
  return encodeUdp({ srcPort: 40000, dstPort: port, }, data, { srcAddr: src, dstAddr: dst });
}

function twoHosts() {
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  const { da, db, cable: c } = cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, da, db, sent: c.sent };
}

test('ip_rcv: each bad header is dropped with its Linux reason and counter; good ones delivered; conservation', async () => {
  const { clock, b, db } = twoHosts();
  const sock = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
  await clock.advance(1);
  const drops0 = { ...b.stack.drops };
  const good = ip({}, udpTo(5000, Buffer.from('ok')));
  const cases: [string, Buffer][] = [
    ['IP_INHDR', good.subarray(0, 12)],
    ['IP_INHDR', Buffer.concat([Buffer.from([0x65]), good.subarray(1)])],
    ['IP_INHDR', Buffer.concat([Buffer.from([0x44]), good.subarray(1)])],
    ['IP_CSUM', Buffer.concat([good.subarray(0, 10), Buffer.from([good[10]! ^ 0xff, good[11]!]), good.subarray(12)])],
    ['PKT_TOO_SMALL', good.subarray(0, good.length - 1)],
    ['IP_INADDRERRORS', ip({ dst: 0xcb007101 }, udpTo(5000, Buffer.from('x'), A, 0xcb007101))],
    ['IP_NOPROTO', ip({ protocol: 99 }, Buffer.from('????????'))],
    ['UDP_CSUM', ip({}, (() => { const u = udpTo(5000, Buffer.from('bad')); u[7]! ^= 1; return u; })())],
    ['NO_SOCKET', ip({}, udpTo(5001, Buffer.from('closed')))],
    ['IP_INVALID_SOURCE', ip({ src: 0xe0000001 }, udpTo(5000, Buffer.from('m'), 0xe0000001))],
  ];
  for (const [, bytes] of cases) injectFrame(b, 'eth0', ethFor(db, bytes));
  injectFrame(b, 'eth0', ethFor(db, good));
  // Link padding after the datagram is not part of it.
  injectFrame(b, 'eth0', ethFor(db, Buffer.concat([good, Buffer.alloc(10)])));
  await clock.advance(1);
  const want: Record<string, number> = {};
  for (const [r] of cases) want[r] = (want[r] ?? 0) + 1;
  for (const [r, n] of Object.entries(want)) assert.equal(b.stack.drops[r as keyof typeof drops0] - drops0[r as keyof typeof drops0], n, r);
  const snmp = b.inet.netstat();
  assert.equal(snmp.Ip!.InHdrErrors, 4);
  assert.equal(snmp.IpExt!.InCsumErrors, 1);
  assert.equal(snmp.IpExt!.InTruncatedPkts, 1);
  assert.equal(snmp.Ip!.InAddrErrors, 1);
  assert.equal(snmp.Ip!.InUnknownProtos, 1);
  assert.equal(snmp.Udp!.InCsumErrors, 1);
  assert.equal(snmp.Udp!.NoPorts, 1);
  assert.equal(snmp.Udp!.InDatagrams, 2);
  assert.equal(snmp.Icmp!.OutDestUnreachs, 2, 'protocol and port unreachable went back');
  const d = sock.recv({ nonblock: true }) as { data: Uint8Array; from: string };
  assert.equal(Buffer.from(d.data).toString(), 'ok');
  assert.equal(d.from, '192.0.2.1:40000');
  sock.close();
  b.stack.close();
  assert.equal(b.stack.pool.stats.inUse, 0);
});

/** A -- R -- C: two subnets and a router between them. */
function routed(opts: { forward: boolean; mtu2?: number }) {
  const clock = new VirtualClock();
  const a = host(clock);
  const r = host(clock);
  const c = host(clock);
  cable(a, r, 'eth0', ['eth0', 'eth0']);
  const { da: r1 } = cable(r, c, 'eth0', ['eth1', 'eth0']);
  if (opts.mtu2 !== undefined) r1.mtu = opts.mtu2;
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  r.inet.addrAdd('eth0', '192.0.2.254/24');
  r.inet.addrAdd('eth1', '198.51.100.254/24');
  c.inet.addrAdd('eth0', '198.51.100.1/24');
  a.inet.routeAdd({ dst: 'default', gateway: '192.0.2.254' });
  c.inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
  r.stack.sysctl.set({ 'net.ipv4.ip_forward': opts.forward ? 1 : 0 });
  return { clock, a, r, c };
}

test('forwarding: TTL decremented; TTL 1 -> time exceeded; nothing forwarded when ip_forward=0', async () => {
  const { clock, a, r, c } = routed({ forward: true });
  const p = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 2, intervalMs: 10 }));
  assert.equal(p.received, 2);
  assert.equal(p.replies[0]!.ttl, 63, 'one hop took one from the TTL');
  assert.equal(r.inet.netstat().Ip!.ForwDatagrams, 4);
  const t = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1, ttl: 1 }));
  assert.equal(t.received, 0);
  assert.deepEqual(t.errors, [{ seq: 1, from: '192.0.2.254', message: 'Time to live exceeded' }]);
  assert.equal(r.inet.netstat().Icmp!.OutTimeExcds, 1);
  r.stack.sysctl.set({ 'net.ipv4.ip_forward': 0 });
  assert.equal(r.inet.netstat().Ip!.Forwarding, 2);
  const before = c.inet.netstat().Ip!.InReceives;
  const n = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1, timeoutMs: 500 }));
  assert.equal(n.received, 0);
  assert.deepEqual(n.errors, []);
  assert.equal(c.inet.netstat().Ip!.InReceives, before, 'C heard nothing');
  assert.equal(r.inet.netstat().Ip!.InAddrErrors, 1);
  assert.equal(r.stack.drops.IP_INADDRERRORS, 1);
  const un = await runFor(clock, a.inet.ping({ dst: '203.0.113.9', count: 1, timeoutMs: 500 }));
  assert.equal(un.received, 0);
  r.stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
  const nr = await runFor(clock, a.inet.ping({ dst: '203.0.113.9', count: 1, timeoutMs: 500 }));
  assert.deepEqual(nr.errors, [{ seq: 1, from: '192.0.2.254', message: 'Destination Net Unreachable' }]);
  for (const h of [a, r, c]) h.stack.close();
  for (const h of [a, r, c]) assert.equal(h.stack.pool.stats.inUse, 0);
});

test('forwarding copies no frame that has room for the next link header (skb_cow to LL_RESERVED_SPACE); a shared one is copied', async () => {
  const { clock, a, r, c } = routed({ forward: true });
  await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1 }));
  // Frames off the cable have NET_SKB_PAD (16) + 14 bytes in front of IP:
  // enough for an Ethernet header, not for a locally built frame's 64.
  const copies0 = r.stack.pool.stats.copies;
  const p = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 5, intervalMs: 10 }));
  assert.equal(p.received, 5);
  assert.equal(p.replies[0]!.ttl, 63);
  assert.equal(r.inet.netstat().Ip!.ForwDatagrams, 12);
  assert.equal(r.stack.pool.stats.copies, copies0, 'forwarded in place');
  // A tap holding a clone makes the data shared: forwarding then writes a
  // copy, and the tap still sees the frame as it arrived (TTL 64).
  const tap = r.stack.openPacketSocket({ dev: r.stack.getDevice('eth0'), direction: 'in' });
  const q = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1 }));
  assert.equal(q.received, 1);
  assert.ok(r.stack.pool.stats.copies > copies0, 'a shared frame is copied before its TTL changes');
  let sawTtl64 = false;
  for (let m = tap.recv(); m !== null; m = tap.recv()) {
    const f = m.bytes;
    if (f[12] === 0x08 && f[13] === 0x00 && f[14 + 9] === 1 && f[14 + 8] === 64) sawTtl64 = true;
    m.free();
  }
  assert.ok(sawTtl64, 'the clone the tap holds was not written');
  tap.close();
  for (const h of [a, r, c]) h.stack.close();
  for (const h of [a, r, c]) assert.equal(h.stack.pool.stats.inUse, 0);
});

test('MTU: DF too big -> fragmentation needed with the MTU, learnt as the path MTU; fragments cross a smaller link', async () => {
  const { clock, a, r, c } = routed({ forward: true, mtu2: 1000 });
  const first = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1, size: 1200 }));
  assert.deepEqual(first.errors, [{ seq: 1, from: '192.0.2.254', message: 'Frag needed and DF set (mtu = 1000)' }]);
  assert.equal(r.inet.netstat().Ip!.FragFails, 1);
  const second = await runFor(clock, a.inet.ping({ dst: '198.51.100.1', count: 1, size: 1200 }));
  assert.equal(second.received, 1, 'the next datagram is fragmented at the source to the learnt MTU');
  // Bigger than A's own link: fragmented at A, and again at R for the 1000-byte hop.
  const rx = c.inet.udpOpen({ bind: '0.0.0.0:6000' });
  const tx = a.inet.udpOpen({});
  const data = Buffer.alloc(6000, 0).map((_, i) => i & 0xff);
  tx.sendTo(data, '198.51.100.1:6000');
  const d = await runFor(clock, Promise.resolve(rx.recv({ timeoutMs: 1000 })));
  assert.deepEqual(Buffer.from(d.data), Buffer.from(data));
  assert.ok(a.inet.netstat().Ip!.FragCreates >= 5);
  assert.ok(c.inet.netstat().Ip!.ReasmOKs >= 2);
  rx.close();
  tx.close();
  for (const h of [a, r, c]) h.stack.close();
  for (const h of [a, r, c]) assert.equal(h.stack.pool.stats.inUse, 0);
});

/** The fragments of `datagram` (a whole IPv4 datagram) cut at `cuts` payload offsets. */
function fragments(datagram: Buffer, cuts: number[]): Buffer[] {
  const h = parseIpv4(datagram)!;
  const payload = datagram.subarray(20);
  const points = [...new Set(cuts.map((c) => (c % Math.ceil(payload.length / 8)) * 8).filter((c) => c > 0 && c < payload.length))].sort((x, y) => x - y);
  const bounds = [0, ...points, payload.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const piece = payload.subarray(bounds[i]!, bounds[i + 1]!);
    const more = i + 2 < bounds.length;
    out.push(ip({ src: h.srcAddr, dst: h.dstAddr, id: h.id, protocol: h.protocol, flags: more ? 1 : 0, fragOffset: bounds[i]! }, piece));
  }
  return out;
}

test('property: any fragmentation, order and duplication yields the datagram (or, with overlaps, nothing) and frees all memory', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 9, max: 3000 }),
      fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      fc.boolean(),
      async (size, cuts, order, dups, overlap) => {
        const { clock, b, db } = twoHosts();
        const sock = b.inet.udpOpen({ bind: '0.0.0.0:5000' });
        const data = Buffer.alloc(size).map((_, i) => (i * 7) & 0xff);
        const whole = ip({ id: 77 }, udpTo(5000, data));
        let frags = fragments(whole, cuts);
        // Shuffle by the random keys, then repeat some fragments.
        frags = frags.map((f, i) => [order[i] ?? i, f] as const).sort((x, y) => x[0] - y[0]).map(([, f]) => f);
        for (const k of dups) frags.push(frags[k % frags.length]!);
        let overlapping = false;
        if (overlap && frags.length > 1) {
          // A fragment that straddles two others: not a duplicate, so the queue dies.
          const half = ip({ id: 77, flags: 1, fragOffset: 8 }, whole.subarray(20 + 8, 20 + Math.min(whole.length - 20, 8 + 16)));
          if (whole.length - 20 > 24) {
            frags.splice(1, 0, half);
            overlapping = true;
          }
        }
        for (const f of frags) injectFrame(b, 'eth0', ethFor(db, f));
        await clock.advance(1);
        let got: Buffer | null = null;
        try {
          got = Buffer.from((sock.recv({ nonblock: true }) as { data: Uint8Array }).data);
        } catch (e) {
          assert.equal((e as NetError).errno, 'EAGAIN');
        }
        if (got !== null) assert.deepEqual(got, data, 'what arrives is the datagram, whole');
        else assert.ok(overlapping || frags.length === 0, 'only an overlap may stop it');
        await clock.advance(31_000);
        assert.equal(b.inet.frags.mem, 0, 'no fragment memory is held after ipfrag_time');
        assert.equal(b.inet.frags.queueCount, 0);
        sock.close();
        b.stack.close();
        assert.equal(b.stack.pool.stats.inUse, 0);
      },
    ),
    { numRuns: 80 },
  );
});

test('reassembly under a flood: memory never passes ipfrag_high_thresh; a timed-out queue answers time exceeded', async () => {
  const { clock, a, b, db, sent } = twoHosts();
  b.stack.sysctl.set({ 'net.ipv4.ipfrag_high_thresh': 65536 });
  let peak = 0;
  for (let id = 0; id < 500; id++) {
    injectFrame(b, 'eth0', ethFor(db, ip({ id, flags: 1 }, Buffer.alloc(1000, id & 0xff))));
    if (id % 50 === 49) {
      await clock.advance(0);
      peak = Math.max(peak, b.inet.frags.mem);
    }
  }
  await clock.advance(1);
  assert.ok(peak <= 65536 && b.inet.frags.mem <= 65536, `peak ${peak}`);
  assert.ok(b.stack.drops.NOMEM > 0, 'fragments over the threshold were dropped');
  assert.ok(b.inet.netstat().Ip!.ReasmFails > 0);
  sent.length = 0;
  await clock.advance(30_000);
  assert.equal(b.inet.frags.mem, 0);
  assert.ok(b.stack.drops.FRAG_REASM_TIMEOUT > 0);
  assert.ok(b.inet.netstat().Ip!.ReasmTimeout > 0);
  const icmps = sent.filter((f) => f.readUInt16BE(12) === ETH_P_IP && f[14 + 9] === 1).map((f) => parseIcmpHeader(f, 34)!);
  assert.ok(icmps.length > 0 && icmps.every((h) => h.type === 11 && h.code === 1), 'fragment reassembly time exceeded');
  assert.ok(icmps.length <= 6 + 1, 'and rate limited per destination (a burst of 6)');
  assert.ok(a.inet.netstat().Icmp!.InTimeExcds > 0);
  a.stack.close();
  b.stack.close();
  assert.equal(b.stack.pool.stats.inUse, 0);
});
