// 10,000 random and mutated ARP, IPv4, ICMP and UDP frames into one host
// (forwarding on, an echo service and a plain socket open). Nothing may throw;
// every buffer the host ever held is accounted for exactly once: dropped with
// a reason, consumed by the layer, read from a socket, or put on the wire;
// and once everything is closed nothing is left in use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP } from '../../src/wire/ipv4.ts';
import { encodeUdp } from '../../src/wire/udp.ts';
import { encodeIcmpEcho, ICMP_ECHO } from '../../src/wire/icmp.ts';
import { encodeArp, ARPOP_REPLY, ARPOP_REQUEST } from '../../src/wire/arp.ts';
import { DROP_REASONS } from '../../src/skb/drop-reason.ts';
import type { UdpSocket } from '../../src/inet/control.ts';
import { cable, ethFor, host, injectFrame } from '../helpers/inet.ts';
import { seededRandom } from '../../src/random.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const N = 10_000;

test(`fuzz: ${N} random/mutated frames (seed ${SEED}): no throw, every buffer accounted for once, nothing left`, async () => {
  const rand = seededRandom(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  const { db, cable: wire } = cable(a, b);
  wire.filter = () => false; // nothing reaches A: replies are counted as sent on B's wire
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  b.inet.addrAdd('eth0', '198.51.100.2/24');
  b.inet.routeAdd({ dst: 'default', gateway: '192.0.2.254' });
  b.stack.sysctl.set({ 'net.ipv4.ip_forward': 1, 'net.ipv4.icmp_ratelimit': 0, 'net.ipv4.icmp_msgs_per_sec': 0 });
  const echo = b.inet.udpOpen({ bind: '0.0.0.0:7', service: 'echo' });
  const plain: UdpSocket = b.inet.udpOpen({ bind: '192.0.2.2:5000', rcvbuf: 8192 });
  const addrs = [0xc0000202, 0xc00002ff, 0xffffffff, 0xc6336402, 0xcb007101, 0x7f000001, 0xe0000001, 0, 0xc0000201, 0xc0000263];
  const ports = [7, 5000, 9, 0, 65535];
  let read = 0;
  const drain = () => {
    for (;;) {
      try {
        plain.recv({ nonblock: true });
        read++;
      } catch {
        return;
      }
    }
  };
  const pool = b.stack.pool.stats;
  const allocs0 = pool.allocs + pool.clones;
  const tx0 = db.stats.txPackets;
  const consumed0 = b.inet.consumed;
  let drops0 = 0;
  for (const r of DROP_REASONS) drops0 += b.stack.drops[r];
  for (let i = 0; i < N; i++) {
    const kind = int(6);
    let l3: Buffer;
    let type = 0x0800;
    const src = pick(addrs);
    const dst = pick(addrs);
    if (kind === 0) {
      type = 0x0806;
      l3 = encodeArp({ op: pick([ARPOP_REQUEST, ARPOP_REPLY, 3, 0]), senderMac: Buffer.from([2, 0, 0x5e, 0, 0x53, int(256)]), senderAddr: src, targetMac: Buffer.alloc(6), targetAddr: pick([0xc0000202, dst]) });
    } else {
      const proto = pick([IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMP, 6, 99]);
      let l4: Buffer;
      if (proto === IPPROTO_UDP) l4 = encodeUdp({ srcPort: int(65536), dstPort: pick(ports) }, Buffer.alloc(int(1600), i & 0xff), { srcAddr: src, dstAddr: dst });
      else if (proto === IPPROTO_ICMP) {
        if (rand() < 0.6) l4 = encodeIcmpEcho({ type: pick([ICMP_ECHO, 0]), id: int(65536), seq: i & 0xffff }, Buffer.alloc(int(200)));
        else {
          // An error quoting something: a random header after the 8-byte ICMP header.
          l4 = Buffer.alloc(8 + 28 + int(40));
          l4[0] = pick([3, 11, 12, 4, 5, 30]);
          l4[1] = int(16);
          for (let k = 8; k < l4.length; k++) l4[k] = int(256);
          l4[8] = 0x45;
          l4[17] = pick([1, 17, 6]);
        }
      } else l4 = Buffer.alloc(int(64), 0xab);
      l3 = Buffer.alloc(20 + l4.length);
      const frag = kind === 5;
      emitIpv4({ totalLength: l3.length, id: frag ? int(8) : int(65536), ttl: pick([0, 1, 2, 64, 255]), protocol: proto, srcAddr: src, dstAddr: dst, flags: frag ? pick([0, 1, 2, 3]) : pick([0, 2]), fragOffset: frag ? int(200) * 8 : 0 }, l3, 0);
      l3.set(l4, 20);
    }
    let frame = ethFor(db, l3, type);
    if (rand() < 0.1) frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    // Mutations: flipped bytes, truncation, extension, plain garbage.
    const m = rand();
    if (m < 0.35) {
      for (let k = 1 + int(3); k > 0; k--) {
        const at = 14 + int(frame.length - 14);
        frame[at] = frame[at]! ^ (1 << int(8));
      }
    }
    else if (m < 0.5) frame = frame.subarray(0, 14 + int(frame.length - 13));
    else if (m < 0.55) frame = Buffer.concat([frame, Buffer.alloc(int(30), 0xee)]);
    else if (m < 0.6) for (let k = 14; k < frame.length; k++) frame[k] = int(256);
    injectFrame(b, 'eth0', frame);
    if (i % 100 === 99) {
      await clock.advance(int(3) * 500);
      drain();
    }
  }
  // Let every timer run out: reassembly (30 s), neighbour resolution and probes.
  await clock.advance(120_000);
  drain();
  const snmp = b.inet.netstat();
  let drops = -drops0;
  for (const r of DROP_REASONS) drops += b.stack.drops[r];
  const made = pool.allocs + pool.clones - allocs0;
  const wireTx = db.stats.txPackets - tx0;
  const consumed = b.inet.consumed - consumed0;
  // The echo service reads its own datagrams: they are InDatagrams too.
  assert.equal(made, drops + consumed + snmp.Udp!.InDatagrams + wireTx,
    `allocated ${made} != drops ${drops} + consumed ${consumed} + read ${snmp.Udp!.InDatagrams} + wire ${wireTx}`);
  assert.equal(read + echo.describe().recv_q, read, 'the echo service drained its queue');
  assert.ok(snmp.Ip!.InReceives > 1000 && snmp.Ip!.InHdrErrors > 0 && snmp.Ip!.ReasmReqds > 0 && snmp.Icmp!.InMsgs > 0 && snmp.Udp!.InDatagrams > 0, 'the fuzz reached every layer');
  echo.close();
  plain.close();
  assert.equal(b.stack.pool.stats.inUse, 0, 'nothing in use with the sockets closed');
  b.stack.close();
  a.stack.close();
  assert.equal(b.stack.pool.stats.inUse, 0);
  assert.equal(b.stack.pool.stats.doubleFrees, 0);
  assert.equal(b.stack.pool.stats.freeWhileListed, 0);
});
