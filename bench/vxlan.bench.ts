// VXLAN between two stacks in two processes (each a NetStack with a vxlan
// device and a packet socket), against a bare node:dgram sender/receiver
// pair sending datagrams of the same size (inner frame + 8-byte header) the
// same way (unconnected sends to an IP literal, in batches). The sender runs
// flat out; what counts is what the receiver's application reads, over a
// timed window after a warm-up. Both pairs run in the same session,
// alternating, so that the ratio compares like with like.
//
//   node --import tsx bench/vxlan.bench.ts            (VXLAN_BENCH_SECONDS=2 VXLAN_BENCH_RUNS=5)
//
// The same file is the child process, given a role:
//   vx-recv | vx-send | udp-recv | udp-send  '{"size":64,"port":P,"mac":"..."}'

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchResult, emitResults, fmt, log, machineInfo, median, repoRoot, type BenchResult, envNumber } from './lib.ts';

const ETH_P_TEST = 0x88b5;
const RECV_MAC = '02:00:00:00:be:01';
const SEND_MAC = '02:00:00:00:be:02';
const VXLAN_HLEN = 8;
/** Sends handed to dgram before waiting for their completions (about the packet socket's default sndbuf). */
const BATCH = 256;

type Role = 'vx-recv' | 'vx-send' | 'udp-recv' | 'udp-send';
interface ChildConfig {
  size: number;
  port?: number;
  mac?: string;
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Answers "sample" with the counters and a monotonic time; exits on "exit" or end of stdin. */
function serveControl(sample: () => { count: number; bytes: number }, close: () => void): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'sample') {
      const cpu = process.cpuUsage();
      emit({ ev: 'sample', ...sample(), ns: process.hrtime.bigint().toString(), cpuUs: cpu.user + cpu.system });
    }
    if (line === 'exit') {
      close();
      process.exit(0);
    }
  });
  rl.on('close', () => {
    close();
    process.exit(0);
  });
}

function literalLookup(address: string, _o: unknown, cb: (err: NodeJS.ErrnoException | null, a: string, f: number) => void): void {
  cb(null, address, 4);
}

function testFrame(size: number, dst: string, src: string): Buffer {
  const f = Buffer.alloc(size, 0x5a);
  Buffer.from(dst.split(':').map((h) => parseInt(h, 16))).copy(f, 0);
  Buffer.from(src.split(':').map((h) => parseInt(h, 16))).copy(f, 6);
  f.writeUInt16BE(ETH_P_TEST, 12);
  return f;
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

async function child(role: Role, cfg: ChildConfig): Promise<void> {
  if (role === 'udp-recv') {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    let count = 0;
    let bytes = 0;
    sock.on('message', (msg) => {
      count++;
      bytes += msg.length - VXLAN_HLEN;
    });
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    serveControl(() => ({ count, bytes }), () => sock.close());
    emit({ ev: 'ready', port: sock.address().port });
    return;
  }
  if (role === 'udp-send') {
    const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup, sendBufferSize: 4 << 20 });
    // With a synchronous lookup, 'listening' fires inside bind(): take it through the callback.
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const datagram = Buffer.alloc(cfg.size + VXLAN_HLEN, 0x5a);
    let count = 0;
    serveControl(() => ({ count, bytes: count * cfg.size }), () => sock.close());
    emit({ ev: 'ready' });
    for (;;) {
      let done: () => void = () => {};
      const last = new Promise<void>((r) => (done = r));
      for (let i = 0; i < BATCH - 1; i++) sock.send(datagram, cfg.port!, '127.0.0.1', () => count++);
      sock.send(datagram, cfg.port!, '127.0.0.1', () => {
        count++;
        done();
      });
      await last;
      if ((count & 4095) < BATCH) await yieldToLoop();
    }
  }
  const { NetStack, createDevice } = await import('../src/stack/index.ts');
  const { vxlanOf } = await import('../src/dev/drivers/vxlan.ts');
  const stack = new NetStack({ sysctl: { 'net.core.rmem_max': 64 << 20 } });
  const isRecv = role === 'vx-recv';
  const [dev] = await createDevice(stack, {
    kind: 'vxlan',
    name: 'vx0',
    vni: 42,
    local: '127.0.0.1:0',
    remote: isRecv ? [] : [`127.0.0.1:${cfg.port}`],
    address: isRecv ? RECV_MAC : SEND_MAC,
    mtu: 1500,
    up: true,
  });
  const sock = stack.openPacketSocket({ dev: dev!, protocol: ETH_P_TEST, direction: 'in', ...(isRecv ? { rcvbuf: 32 << 20 } : {}) });
  if (isRecv) {
    let count = 0;
    let bytes = 0;
    sock.sk.onDataReady = () => {
      for (let skb = sock.recv(); skb !== null; skb = sock.recv()) {
        count++;
        bytes += skb.len;
        skb.free();
      }
    };
    serveControl(() => ({ count, bytes }), () => stack.close());
    emit({ ev: 'ready', port: vxlanOf(dev!).boundPort });
    return;
  }
  const frame = testFrame(cfg.size, RECV_MAC, SEND_MAC);
  let count = 0;
  serveControl(() => ({ count, bytes: count * cfg.size }), () => stack.close());
  emit({ ev: 'ready' });
  for (;;) {
    // Synchronous while the socket's sndbuf has room; the send completions that free it run once we wait.
    const r = sock.send(frame);
    if (r instanceof Promise) await r;
    count++;
    if ((count & 4095) === 0) await yieldToLoop();
  }
}

// ---- the parent: spawn pairs, sample the receiver ----

class Child {
  readonly proc: ChildProcess;
  private pending: ((e: Record<string, unknown>) => void)[] = [];

  constructor(role: Role, cfg: ChildConfig) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), role, JSON.stringify(cfg)], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as Record<string, unknown>;
      this.pending.shift()?.(e);
    });
    this.proc.on('exit', (code) => {
      for (const p of this.pending.splice(0)) p({ ev: 'exit', code });
    });
  }

  /** The next line the child prints, as an object. */
  next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  async sample(): Promise<{ count: number; ns: bigint; cpuUs: number }> {
    const p = this.next();
    this.proc.stdin!.write('sample\n');
    const e = await p;
    if (e.ev !== 'sample') throw new Error(`child did not answer: ${JSON.stringify(e)}`);
    return { count: Number(e.count), ns: BigInt(String(e.ns)), cpuUs: Number(e.cpuUs) };
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const gone = once(this.proc, 'exit');
    this.proc.stdin!.write('exit\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Rate {
  rxPps: number;
  txPps: number;
  /** CPU time (user + system) per frame, in µs, at each end: less sensitive to a busy machine than the rates. */
  rxCpuUs: number;
  txCpuUs: number;
}

async function runPair(kind: 'vx' | 'udp', size: number, seconds: number): Promise<Rate> {
  const recv = new Child(`${kind}-recv`, { size });
  const ready = await recv.next();
  if (ready.ev !== 'ready') throw new Error(`${kind}-recv did not start`);
  const send = new Child(`${kind}-send`, { size, port: Number(ready.port), mac: RECV_MAC });
  try {
    if ((await send.next()).ev !== 'ready') throw new Error(`${kind}-send did not start`);
    await sleep(1000);
    const [r0, s0] = await Promise.all([recv.sample(), send.sample()]);
    await sleep(seconds * 1000);
    const [r1, s1] = await Promise.all([recv.sample(), send.sample()]);
    return {
      rxPps: (r1.count - r0.count) / (Number(r1.ns - r0.ns) / 1e9),
      txPps: (s1.count - s0.count) / (Number(s1.ns - s0.ns) / 1e9),
      rxCpuUs: (r1.cpuUs - r0.cpuUs) / Math.max(1, r1.count - r0.count),
      txCpuUs: (s1.cpuUs - s0.cpuUs) / Math.max(1, s1.count - s0.count),
    };
  } finally {
    await Promise.all([send.stop(), recv.stop()]);
  }
}

async function main(): Promise<void> {
  const seconds = envNumber('VXLAN_BENCH_SECONDS', 2);
  const runs = Math.round(envNumber('VXLAN_BENCH_RUNS', 5));
  const m = machineInfo();
  log(`vxlan: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; ${runs} runs x ${seconds} s per size and pair`);
  const results: BenchResult[] = [];
  for (const size of [64, 1500]) {
    const vx: Rate[] = [];
    const udp: Rate[] = [];
    for (let i = 0; i < runs; i++) {
      // Alternate, so that drift in the machine's speed hits both alike.
      vx.push(await runPair('vx', size, seconds));
      udp.push(await runPair('udp', size, seconds));
      log(
        `  ${size} B run ${i + 1}/${runs}: vxlan rx ${fmt(vx[i]!.rxPps)}/s (tx ${fmt(vx[i]!.txPps)}; ` +
          `cpu rx ${vx[i]!.rxCpuUs.toFixed(2)} tx ${vx[i]!.txCpuUs.toFixed(2)} us/frame), ` +
          `dgram rx ${fmt(udp[i]!.rxPps)}/s (tx ${fmt(udp[i]!.txPps)}; ` +
          `cpu rx ${udp[i]!.rxCpuUs.toFixed(2)} tx ${udp[i]!.txCpuUs.toFixed(2)} us/frame)`,
      );
    }
    const rx = median(vx.map((r) => r.rxPps));
    const base = median(udp.map((r) => r.rxPps));
    // Each vxlan run against the dgram run right after it: steadier than the ratio of medians when the machine is busy.
    const paired = median(vx.map((r, i) => r.rxPps / udp[i]!.rxPps));
    const gbps = (rx * size * 8) / 1e9;
    const baseGbps = (base * size * 8) / 1e9;
    log(
      `vxlan-${size}: ${fmt(rx)} frames/s (${gbps.toFixed(3)} Gbit/s) vs dgram ${fmt(base)}/s: ` +
        `ratio ${(rx / base).toFixed(2)}, paired ${paired.toFixed(2)}`,
    );
    results.push(
      benchResult({
        bench: `vxlan-${size}`,
        value: Math.round(rx),
        unit: 'frames/s',
        baseline: { name: `dgram-pair-${size}`, value: Math.round(base) },
        note:
          `${gbps.toFixed(3)} Gbit/s of inner frames at the receiving stack's packet socket; ` +
          `baseline: bare node:dgram pair, ${size + VXLAN_HLEN} B datagrams; two processes on loopback; ` +
          `median of ${runs} x ${seconds} s`,
        extra: {
          paired_ratio_median: Number(paired.toFixed(3)),
          gbps: Number(gbps.toFixed(4)),
          baseline_gbps: Number(baseGbps.toFixed(4)),
          tx_pps: Math.round(median(vx.map((r) => r.txPps))),
          baseline_tx_pps: Math.round(median(udp.map((r) => r.txPps))),
          rx_cpu_us_per_frame: Number(median(vx.map((r) => r.rxCpuUs)).toFixed(3)),
          baseline_rx_cpu_us_per_frame: Number(median(udp.map((r) => r.rxCpuUs)).toFixed(3)),
          tx_cpu_us_per_frame: Number(median(vx.map((r) => r.txCpuUs)).toFixed(3)),
          baseline_tx_cpu_us_per_frame: Number(median(udp.map((r) => r.txCpuUs)).toFixed(3)),
          load_avg_1m: Number(os.loadavg()[0]!.toFixed(2)),
          rx_pps_min: Math.round(Math.min(...vx.map((r) => r.rxPps))),
          rx_pps_max: Math.round(Math.max(...vx.map((r) => r.rxPps))),
          frame_bytes: size,
          runs,
          seconds_per_run: seconds,
        },
      }),
    );
  }
  emitResults(results);
}

const role = process.argv[2];
if (role === undefined) {
  await main();
} else {
  await child(role as Role, JSON.parse(process.argv[3] ?? '{}') as ChildConfig);
}
