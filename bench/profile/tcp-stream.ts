// The stream of bench/tcp.bench.ts (tcp-stream-1500: two stacks of one
// process over a veth) alone, for a CPU profile. Not a benchmark (bench/run.ts
// runs only *.bench.ts): it prints the throughput and the throughput per
// CPU-second, which on a shared machine moves less than the wall-clock figure.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile/tcp-stream.ts
//   node --import tsx bench/profile/top.ts /tmp/prof          (PROFILE_SECONDS=3 by default)

import { vethStacks } from '../../test/helpers/veth-stacks.ts';
import { envNumber } from '../lib.ts';

const SECONDS = envNumber('PROFILE_SECONDS', 3);
const B = 0xc0000202;
// The stack's timers are unref'd; this keeps the process up while the run waits on one.
const keepAlive = setInterval(() => {}, 1 << 30);
const { sa, sb, ta, tb } = vethStacks();
const l = tb.proto.listen({ port: 5001 });
const c = ta.proto.connect({ dst: B, dport: 5001 });
await c.waitConnected();
const s = await l.accept();
l.close();
let received = 0;
s.onDataReady = () => {
  for (;;) {
    const r = s.readNow(1 << 20);
    if (r === undefined || r === null) return;
    received += r.length;
  }
};
const chunk = Buffer.alloc(1 << 20, 0x5a);
const warmEnd = performance.now() + 500;
while (performance.now() < warmEnd) await c.write(chunk);
const r0 = received;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
while (performance.now() < t0 + SECONDS * 1000) await c.write(chunk);
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const bits = (received - r0) * 8;
const drops = sa.totalDrops() + sb.totalDrops();
console.log(`${(bits / wall / 1e9).toFixed(2)} Gbit/s, ${(bits / ((cpu.user + cpu.system) / 1e6) / 1e9).toFixed(2)} Gbit per CPU-second, ${drops} frames dropped`);
s.onDataReady = null;
c.abort();
s.abort();
sa.close();
sb.close();
clearInterval(keepAlive);
