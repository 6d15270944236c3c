// A connection keeps its route (sk_dst_cache) and checks it against the
// routing state's generation before each segment (dst_check): a bulk stream
// looks its route up once, and a change of routes, addresses or devices
// reaches an established connection at its next segment. On input, the
// answer "this destination is ours" is kept for the last address while the
// local table is unchanged, and a broadcast destination is still refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { allocSkbFrom } from '../../src/skb/skbuff.ts';
import { emitTcp, TCP_HLEN, TCP_SYN } from '../../src/wire/tcp.ts';
import { runFor } from '../helpers/inet.ts';
import { vethStacks } from '../helpers/veth-stacks.ts';

function pair() {
  const clock = new VirtualClock();
  const p = { clock, ...vethStacks({ a: { clock }, b: { clock } }) };
  // Count A's route lookups.
  let lookups = 0;
  const routeOutput = p.ia.routeOutput.bind(p.ia);
  p.ia.routeOutput = (dst, src) => {
    lookups++;
    return routeOutput(dst, src);
  };
  return { ...p, lookups: () => lookups };
}

async function connect(p: ReturnType<typeof pair>) {
  const l = await p.tb.open({ bind: '0.0.0.0:9', listen: 4 });
  let received = 0;
  p.tb.setAcceptHook(l, (child) => {
    void (async () => {
      for (let x = await child.sk.read(); x !== null; x = await child.sk.read()) received += x.length;
    })();
  });
  const c = await runFor(p.clock, p.ta.open({ connect: '192.0.2.2:9' }));
  return { c, received: () => received };
}

const ipStats = (p: ReturnType<typeof pair>) => p.ia.netstat().Ip!;

test('a bulk stream looks its route up once, not per segment', async () => {
  const p = pair();
  const { c, received } = await connect(p);
  const before = p.lookups();
  const out0 = ipStats(p).OutRequests!;
  const size = 300_000;
  await runFor(p.clock, c.sk.write(Buffer.alloc(size, 7)));
  await p.clock.runUntil(() => received() === size);
  const segments = ipStats(p).OutRequests! - out0;
  assert.ok(segments > 200, `${segments} segments went out`);
  assert.ok(p.lookups() - before <= 1, `${p.lookups() - before} route lookups for ${segments} segments`);
  p.sa.close();
  p.sb.close();
});

test('a route deleted under an established connection stops its segments; added back, they flow again', async () => {
  const p = pair();
  const { c, received } = await connect(p);
  await runFor(p.clock, c.sk.write(Buffer.alloc(50_000, 1)));
  await p.clock.runUntil(() => received() === 50_000);
  // The connected route goes: the kept route is stale at the next segment.
  p.ia.routeDel({ dst: '192.0.2.0/24', dev: 'veth0' });
  const noRoute0 = ipStats(p).OutNoRoutes!;
  void c.sk.write(Buffer.alloc(50_000, 2));
  await p.clock.advance(2_000);
  assert.equal(received(), 50_000, 'nothing crossed without a route');
  assert.ok(ipStats(p).OutNoRoutes! > noRoute0, 'the segments were refused for want of a route (IP_OUTNOROUTES)');
  // The route comes back: the retransmissions find it.
  p.ia.routeAdd({ dst: '192.0.2.0/24', dev: 'veth0' });
  await p.clock.runUntil(() => received() === 100_000);
  assert.equal(received(), 100_000);
  p.sa.close();
  p.sb.close();
});

test('the kept route follows the device: a lower MTU is seen at the next segment', async () => {
  const p = pair();
  const { c, received } = await connect(p);
  await runFor(p.clock, c.sk.write(Buffer.alloc(20_000, 1)));
  await p.clock.runUntil(() => received() === 20_000);
  const lookups = p.lookups();
  p.va.mtu = 1000;
  await runFor(p.clock, c.sk.write(Buffer.alloc(20_000, 2)));
  await p.clock.runUntil(() => received() === 40_000);
  assert.ok(p.lookups() > lookups, 'looked up again');
  assert.equal(c.sk.mss, 1000 - 40 - 12, 'TCP heard the new MTU (ip_output refused the bigger segments: EMSGSIZE)');
  p.sa.close();
  p.sb.close();
});

test('a segment to our broadcast address is refused (IP_INADDRERRORS), also between segments to our own address', async () => {
  const p = pair();
  const { c, received } = await connect(p);
  await runFor(p.clock, c.sk.write(Buffer.alloc(10_000, 1)));
  await p.clock.runUntil(() => received() === 10_000);
  const inErrs0 = p.tb.proto.mib.tcp.InErrs;
  // The skb crosses the veth by reference: its drop is counted by the stack whose pool it came from.
  const inaddr = () => p.sa.drops.IP_INADDRERRORS + p.sb.drops.IP_INADDRERRORS;
  const drops0 = inaddr();
  // A SYN to the listener's port, sent to 192.0.2.255: IPv4 delivers it (a broadcast of ours), TCP must not take it.
  const skb = allocSkbFrom(p.sa.pool, 256)!;
  skb.reserve(128);
  const at = skb.put(TCP_HLEN);
  emitTcp({ srcPort: 40000, dstPort: 9, seq: 1, ack: 0, flags: TCP_SYN, window: 65535 }, null, skb.buf, at, 0, { srcAddr: 0xc0000201, dstAddr: 0xc00002ff });
  assert.equal(p.ia.ip.output(skb, { src: 0xc0000201, dst: 0xc00002ff, protocol: 6 }), null);
  await p.clock.advance(10);
  assert.equal(inaddr() - drops0, 1, 'the broadcast segment was dropped');
  assert.equal(p.tb.proto.mib.tcp.InErrs - inErrs0, 1, "B's TCP refused it");
  // The connection goes on.
  await runFor(p.clock, c.sk.write(Buffer.alloc(10_000, 2)));
  await p.clock.runUntil(() => received() === 20_000);
  assert.equal(received(), 20_000);
  assert.equal(inaddr() - drops0, 1);
  p.sa.close();
  p.sb.close();
});
