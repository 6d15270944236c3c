// trace-*: what the skb trace costs, on the pipeline benchmark's path
// (packet socket send -> pfifo_fast -> veth -> backlog -> bottom half ->
// eth_type_trans -> tap -> socket queue -> read -> free, 64-byte frames in
// bursts of 256), three ways in the same run, samples interleaved so all
// three see the same machine:
//   trace-off-64        nobody asked (traceNeeded 0): the cost the trace
//                       hooks add to everyone, one counter branch per start
//                       point and one field test per layer. Its figure next
//                       to pipeline-64 (measured before the hooks existed)
//                       is the "before"; the ratio asked for is ~1.
//   trace-elsewhere-64  another device is traced: the counter is non-zero,
//                       this path's frames still record nothing.
//   trace-on-64         this path's device is traced: seven points recorded
//                       per frame, and copied into the tap's clone.
// The baseline of the last two is trace-off-64.

import { benchResult, emitResults, fmt, log, median } from './lib.ts';
import { NetStack, createDevice } from '../src/stack/index.ts';
import type { NetDevice } from '../src/dev/netdevice.ts';
import type { PacketSocket } from '../src/packet/socket.ts';

const BURST = 256;
const SAMPLES = 9;
const SAMPLE_MS = 300;

const stack = new NetStack({ sysctl: { 'net.core.wmem_max': 16 << 20, 'net.core.rmem_max': 16 << 20 } });
const [a, b] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
const [other] = await createDevice(stack, { kind: 'dummy', name: 'dummy0' });
const tx: PacketSocket = stack.openPacketSocket({ dev: a!, protocol: 0, sndbuf: 8 << 20 });
const rx: PacketSocket = stack.openPacketSocket({ dev: b!, direction: 'in', rcvbuf: 8 << 20, timestamps: false });
const frame = Buffer.alloc(64);
b!.devAddr.copy(frame, 0);
a!.devAddr.copy(frame, 6);
frame[12] = 0x88;
frame[13] = 0xb5;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function burst(): Promise<number> {
  for (let i = 0; i < BURST; i++) {
    const r = tx.send(frame);
    if (typeof r !== 'string') await r;
  }
  await nextTurn();
  let n = 0;
  for (let skb = rx.recv(); skb !== null; skb = rx.recv()) {
    n++;
    skb.free();
  }
  return n;
}

async function sample(ms: number): Promise<number> {
  const start = performance.now();
  let frames = 0;
  while (performance.now() - start < ms) frames += await burst();
  return frames / ((performance.now() - start) / 1000);
}

type Mode = 'off' | 'elsewhere' | 'on';
function set(mode: Mode, traced: { dev: NetDevice | null }): void {
  if (traced.dev !== null) stack.traceDevice(traced.dev, -1);
  traced.dev = mode === 'off' ? null : mode === 'elsewhere' ? other! : a!;
  if (traced.dev !== null) stack.traceDevice(traced.dev, 1);
}

const traced = { dev: null as NetDevice | null };
const modes: Mode[] = ['off', 'elsewhere', 'on'];
for (const m of modes) {
  set(m, traced);
  await sample(700);
}
const results: Record<Mode, number[]> = { off: [], elsewhere: [], on: [] };
for (let i = 0; i < SAMPLES; i++) {
  for (const m of modes) {
    set(m, traced);
    results[m].push(await sample(SAMPLE_MS));
  }
}
set('off', traced);
stack.close();
if (stack.pool.stats.inUse !== 0) throw new Error(`leak: ${stack.pool.stats.inUse} skbs in use after close`);

const off = Math.round(median(results.off));
const elsewhere = Math.round(median(results.elsewhere));
const on = Math.round(median(results.on));
log(`trace off ${fmt(off)} frames/s, traced elsewhere ${fmt(elsewhere)} (${(elsewhere / off).toFixed(2)}), traced here ${fmt(on)} (${(on / off).toFixed(2)})`);
const note = `64 B, bursts of ${BURST}, ${SAMPLES} interleaved samples of ${SAMPLE_MS} ms each`;
emitResults([
  benchResult({ bench: 'trace-off-64', value: off, unit: 'frames/s', note: `${note}; nobody traces: compare with pipeline-64 (before the hooks)` }),
  benchResult({ bench: 'trace-elsewhere-64', value: elsewhere, unit: 'frames/s', baseline: { name: 'trace-off-64', value: off }, note: `${note}; another device traced` }),
  benchResult({ bench: 'trace-on-64', value: on, unit: 'frames/s', baseline: { name: 'trace-off-64', value: off }, note: `${note}; this path traced, 7 points per frame` }),
]);
