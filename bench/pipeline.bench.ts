// pipeline-64 / pipeline-1500: the whole in-process path on one core.
// packet socket send -> pfifo_fast -> veth -> backlog -> bottom half ->
// eth_type_trans -> tap -> sock_queue_rcv_skb -> read -> free, in bursts of
// BURST frames; each frame goes up the receiving side as the veth transmits
// it (local_bh_enable, as Linux's sendmsg does), and the reader drains the
// socket once per burst, a turn of the event loop later, as in service.
// Baseline: the Linux kernel's own veth + AF_PACKET path between two network
// namespaces (bench/kernel-veth.ts), measured in the same run.
// Target: >= 3 Mpps for 64 B and >= 5x the kernel. Also reports heap growth
// per million frames in steady state (target: none).

import { benchResult, emitResults, fmt, forceGc, log, measure, type BenchResult } from './lib.ts';
import { isUnavailable, kernelVethBaseline } from './kernel-veth.ts';
import { NetStack, createDevice } from '../src/stack/index.ts';
import type { PacketSocket } from '../src/packet/socket.ts';

const BURST = 256;

interface Pipe {
  stack: NetStack;
  tx: PacketSocket;
  rx: PacketSocket;
  frame: Buffer;
}

async function makePipe(size: number): Promise<Pipe> {
  const stack = new NetStack({ sysctl: { 'net.core.wmem_max': 16 << 20, 'net.core.rmem_max': 16 << 20 } });
  const [a, b] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
  // Protocol 0: a send-only socket, as socket(AF_PACKET, SOCK_RAW, 0) is.
  const tx = stack.openPacketSocket({ dev: a!, protocol: 0, sndbuf: 8 << 20 });
  // Like the kernel baseline's recvmmsg reader, it does not ask for SO_TIMESTAMP.
  const rx = stack.openPacketSocket({ dev: b!, direction: 'in', rcvbuf: 8 << 20, timestamps: false });
  const frame = Buffer.alloc(size);
  b!.devAddr.copy(frame, 0);
  a!.devAddr.copy(frame, 6);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  return { stack, tx, rx, frame };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One burst through the pipe; returns frames read at the far end. */
async function burst(p: Pipe): Promise<number> {
  for (let i = 0; i < BURST; i++) {
    const r = p.tx.send(p.frame);
    if (typeof r !== 'string') await r;
  }
  await nextTurn();
  let n = 0;
  for (let skb = p.rx.recv(); skb !== null; skb = p.rx.recv()) {
    n++;
    skb.free();
  }
  return n;
}

async function run(size: 64 | 1500): Promise<BenchResult[]> {
  const p = await makePipe(size);
  const ours = await measure(() => burst(p), { warmupMs: 1000, samples: 9, sampleMs: 300 });
  const lost = p.stack.totalDrops();
  // Steady state: after a warm-up, a million more frames must not grow the heap.
  for (let i = 0; i < 2000; i++) await burst(p);
  forceGc();
  const before = process.memoryUsage().heapUsed;
  let frames = 0;
  while (frames < 1_000_000) frames += await burst(p);
  forceGc();
  const growth = ((process.memoryUsage().heapUsed - before) / frames) * 1e6;
  p.stack.close();
  if (p.stack.pool.stats.inUse !== 0) throw new Error(`leak: ${p.stack.pool.stats.inUse} skbs in use after close`);
  log(`pipeline-${size}: ${fmt(ours.median)} frames/s [${fmt(ours.min)}-${fmt(ours.max)}], ${lost} drops, heap ${fmt(growth)} B per Mframe`);

  const kernel = await kernelVethBaseline(size, 3);
  let baseline: { name: string; value: number } | null = null;
  let note = `one core, bursts of ${BURST}; ${lost} frames dropped during the run`;
  if (isUnavailable(kernel)) {
    log(`kernel baseline unavailable: ${kernel.unavailable}`);
    note += `; kernel baseline unavailable: ${kernel.unavailable}`;
  } else {
    baseline = { name: `kernel-veth-${size}`, value: Math.round(kernel.pps) };
    log(`kernel-veth-${size}: ${fmt(kernel.pps)} frames/s -> ratio ${(ours.median / kernel.pps).toFixed(2)}`);
  }
  return [
    benchResult({
      bench: `pipeline-${size}`,
      value: Math.round(ours.median),
      unit: 'frames/s',
      baseline,
      note,
      extra: {
        min: Math.round(ours.min),
        max: Math.round(ours.max),
        gbps: Number(((ours.median * size * 8) / 1e9).toFixed(2)),
        heap_growth_bytes_per_mframe: Math.round(growth),
      },
    }),
  ];
}

const results = [...(await run(64)), ...(await run(1500))];
emitResults(results);
