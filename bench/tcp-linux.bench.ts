// tcp-linux-vxlan: Linux sends into the stack's TCP discard service over
// VXLAN (a namespace's kernel vxlan, a veth underlay, the stack's vxlan
// device, IPv4, TCP with checksums both ways, the discard service reading as
// data arrives), against Linux sending to Linux over kernel VXLAN between two
// namespaces joined by a veth pair, in the same run. socat -u with the same
// byte count on both; tx checksum offload off on the kernel vxlans in both
// cases (as the stack needs it), GSO/GRO left as the kernel has them.
//
//   node --import tsx bench/tcp-linux.bench.ts       (TCP_LINUX_BENCH_MB=200; root)

import { spawn, type ChildProcess } from 'node:child_process';
import { createDevice } from '../src/stack/index.ts';
import { NetStack } from '../src/stack/netstack.ts';
import { attachInet, inetInternals } from '../src/inet/control.ts';
import { tcpOf } from '../src/inet/tcp-glue.ts';
import { cannotRun, kernelVxlan, run, runAsync, tryRun } from '../test/helpers/netns.ts';
import { benchResult, emitResults, envNumber, fmt, log, median, type BenchResult } from './lib.ts';

const MB = envNumber('TCP_LINUX_BENCH_MB', 200);
const RUNS = 3;
const pid = process.pid;
const NS_S = `tcpb-${pid}-s`;
const NS_K1 = `tcpb-${pid}-k1`;
const NS_K2 = `tcpb-${pid}-k2`;
const IF_S = `tbs${pid % 1_000_000}`;
const results: BenchResult[] = [];

function teardown(): void {
  for (const ns of [NS_S, NS_K1, NS_K2]) tryRun('ip', ['netns', 'del', ns]);
  tryRun('ip', ['link', 'del', IF_S]);
}

/** Seconds for `bytes` from socat in `ns` to `dst`. */
async function send(ns: string, dst: string): Promise<number> {
  const t0 = performance.now();
  const r = await runAsync('ip', ['netns', 'exec', ns, 'sh', '-c', `head -c ${MB * 1048576} /dev/zero | socat -u - TCP4:${dst},linger=30`], { timeoutMs: 300_000 });
  if (r.status !== 0) throw new Error(`socat to ${dst}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const why = cannotRun(['socat', 'ethtool']);
const stack = new NetStack();
attachInet(stack);
const keep = setInterval(() => {}, 1000);
let sink: ChildProcess | undefined;
try {
  if (why !== null) throw new Error(why);
  teardown();
  const a = kernelVxlan({ ns: NS_S, hostIf: IF_S, nsIf: 'u0', vni: 46, mac: '02:00:00:00:46:02', cidr: '192.0.2.2/24', txChecksum: false });
  await createDevice(stack, { kind: 'vxlan', name: 'vx0', vni: 46, local: `${a.host}:4789`, remote: [`${a.nsAddr}:4789`], address: '02:00:00:00:46:01', up: true });
  const inet = inetInternals(stack)!;
  inet.addrAdd('vx0', '192.0.2.1/24');
  await tcpOf(inet)!.open({ bind: '0.0.0.0:9', listen: 16, service: 'discard' });

  // Linux to Linux: two namespaces, a veth underlay, kernel vxlans over it.
  run('ip', ['netns', 'add', NS_K1]);
  run('ip', ['netns', 'add', NS_K2]);
  run('ip', ['-n', NS_K1, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', NS_K2]);
  for (const [ns, under, over] of [[NS_K1, '198.51.100.1', '203.0.113.1'], [NS_K2, '198.51.100.2', '203.0.113.2']] as const) {
    const remote = under.endsWith('.1') ? '198.51.100.2' : '198.51.100.1';
    run('ip', ['-n', ns, 'addr', 'add', `${under}/30`, 'dev', 'u0']);
    run('ip', ['-n', ns, 'link', 'set', 'u0', 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '47', 'dstport', '4789', 'remote', remote, 'local', under]);
    run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'vx0', 'tx', 'off']);
    run('ip', ['-n', ns, 'addr', 'add', `${over}/24`, 'dev', 'vx0']);
    run('ip', ['-n', ns, 'link', 'set', 'vx0', 'up']);
  }
  sink = spawn('ip', ['netns', 'exec', NS_K2, 'socat', '-u', 'TCP4-LISTEN:9,fork,reuseaddr', 'OPEN:/dev/null'], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !run('ip', ['netns', 'exec', NS_K2, 'ss', '-tln']).includes(':9 '); i++) await new Promise((r) => setTimeout(r, 50));

  const ours: number[] = [];
  const kernel: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push((MB * 8 * 1.048576) / 1000 / (await send(NS_S, '192.0.2.1:9')));
    kernel.push((MB * 8 * 1.048576) / 1000 / (await send(NS_K1, '203.0.113.2:9')));
  }
  log(`tcp-linux-vxlan: Linux -> netstack discard ${fmt(median(ours))} Gbit/s, Linux -> Linux ${fmt(median(kernel))} Gbit/s`);
  results.push(
    benchResult({
      bench: 'tcp-linux-vxlan',
      value: median(ours),
      unit: 'Gbit/s',
      baseline: { name: 'Linux to Linux over kernel VXLAN (two netns, veth underlay)', value: median(kernel) },
      note: `socat -u of ${MB} MiB into the discard service; median of ${RUNS}; the kernel side keeps GSO/GRO, tx checksum offload off on both`,
      extra: { runs: RUNS, mib: MB },
    }),
  );
} catch (err) {
  log(`tcp-linux-vxlan: not measured: ${(err as Error).message}`);
} finally {
  clearInterval(keep);
  stack.close();
  // ip netns exec execs socat: this pid is the sink itself.
  if (sink !== undefined && sink.exitCode === null) sink.kill();
  teardown();
}
emitResults(results);
