// Kernel baselines for the in-process TCP figures of bench/tcp.bench.ts, as
// kernel-veth-* is for pipeline-*: two network namespaces joined by a veth
// pair (MTU 1500) with TSO, GSO and GRO off (ethtool -K), so the kernel, too,
// handles one 1448-byte segment at a time.
//
// - kernel-tcp-stream-1500: socat -u of /dev/zero, Gbit/s of payload.
// - kernel-tcp-rr: 1-byte request / 1-byte response, TCP_NODELAY, node:net
//   at both ends (bench/kernel/tcp-rr.mjs): the kernel's TCP plus Node's
//   socket overhead, as tcp-rr pays the stack's plus none of Node's.
//
//   node --import tsx bench/tcp-kernel.bench.ts     (root; TCP_KERNEL_BENCH_SECONDS=3)

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cannotRun, run, runAsync, tryRun } from '../test/helpers/netns.ts';
import { benchResult, emitResults, envNumber, fmt, log, median, repoRoot, type BenchResult } from './lib.ts';

const SECONDS = envNumber('TCP_KERNEL_BENCH_SECONDS', 3);
const pid = process.pid;
const NS1 = `tcpkb-${pid}-1`;
const NS2 = `tcpkb-${pid}-2`;
const results: BenchResult[] = [];
const children: ChildProcess[] = [];

function teardown(): void {
  for (const ns of [NS1, NS2]) tryRun('ip', ['netns', 'del', ns]);
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100 && !run('ip', ['netns', 'exec', NS2, 'ss', '-tln']).includes(`:${port} `); i++) await new Promise((r) => setTimeout(r, 50));
}

const why = cannotRun(['socat', 'ethtool']);
try {
  if (why !== null) throw new Error(why);
  teardown();
  run('ip', ['netns', 'add', NS1]);
  run('ip', ['netns', 'add', NS2]);
  run('ip', ['-n', NS1, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', NS2]);
  for (const [ns, addr] of [[NS1, '192.0.2.1'], [NS2, '192.0.2.2']] as const) {
    run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'v0']);
    run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'v0', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const sink = spawn('ip', ['netns', 'exec', NS2, 'socat', '-u', 'TCP4-LISTEN:9,fork,reuseaddr', 'OPEN:/dev/null'], { stdio: 'ignore' });
  children.push(sink);
  await waitListening(9);
  const bytes = 400 * 1048576;
  const gbps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await runAsync('ip', ['netns', 'exec', NS1, 'sh', '-c', `head -c ${bytes} /dev/zero | socat -u - TCP4:192.0.2.2:9,linger=30`], { timeoutMs: 120_000 });
    if (r.status !== 0) throw new Error(`socat: ${r.stderr}`);
    gbps.push((bytes * 8) / ((performance.now() - t0) / 1000) / 1e9);
  }
  log(`kernel-tcp-stream-1500: ${fmt(median(gbps))} Gbit/s`);
  results.push(benchResult({ bench: 'kernel-tcp-stream-1500', value: median(gbps), unit: 'Gbit/s', note: 'socat between two netns over veth, MTU 1500, TSO/GSO/GRO off; median of 3 x 400 MiB' }));

  const script = path.join(repoRoot, 'bench', 'kernel', 'tcp-rr.mjs');
  const server = spawn('ip', ['netns', 'exec', NS2, process.execPath, script, 'server', '7'], { stdio: 'ignore' });
  children.push(server);
  await waitListening(7);
  const rr: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runAsync('ip', ['netns', 'exec', NS1, process.execPath, script, 'client', '192.0.2.2', '7', String(SECONDS)], { timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`tcp-rr client: ${r.stderr}`);
    rr.push(Number(r.stdout.trim()));
  }
  log(`kernel-tcp-rr: ${fmt(median(rr))} transactions/s`);
  results.push(benchResult({ bench: 'kernel-tcp-rr', value: median(rr), unit: 'transactions/s', note: `node:net at both ends over kernel TCP between two netns (veth, offloads off), TCP_NODELAY; median of 3 x ${SECONDS} s` }));
} catch (err) {
  log(`kernel TCP baselines: not measured: ${(err as Error).message}`);
} finally {
  // ip netns exec execs the program: these pids are socat and node themselves.
  for (const c of children) if (c.exitCode === null) c.kill();
  teardown();
}
emitResults(results);
