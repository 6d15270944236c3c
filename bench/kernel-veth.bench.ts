// The kernel's AF_PACKET/veth rate on its own, so the baseline every veth
// benchmark divides by is visible in BENCHMARKS.md as well.
//
//   node --expose-gc --import tsx bench/kernel-veth.bench.ts
//   KERNEL_VETH_SECONDS=3 KERNEL_VETH_RUNS=3 (defaults)

import { benchResult, emitResults, fmt, log, machineInfo, type BenchResult, envNumber } from './lib.ts';
import { isUnavailable, KERNEL_VETH_BATCH, kernelVethRuns, type KernelVethSize } from './kernel-veth.ts';

const seconds = envNumber('KERNEL_VETH_SECONDS', 3);
const runs = Math.round(envNumber('KERNEL_VETH_RUNS', 3));

const m = machineInfo();
log(`kernel-veth: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; ${runs} runs x ${seconds} s per size`);

const results: BenchResult[] = [];
for (const size of [64, 1500] as const satisfies readonly KernelVethSize[]) {
  const s = await kernelVethRuns(size, seconds, runs, (i, r) =>
    log(
      `  ${size} B run ${i + 1}/${runs}: rx ${fmt(r.pps)} frames/s (tx ${fmt(r.txPps)}), ` +
        `${r.gbps.toFixed(2)} Gbit/s, ${r.drops} sock drops`,
    ),
  );
  if (isUnavailable(s)) {
    // No entry rather than a made-up one; the reason is printed, not swallowed.
    log(`kernel-veth-${size}: unavailable: ${s.unavailable}`);
    continue;
  }
  log(`kernel-veth-${size}: median ${fmt(s.pps)} frames/s [${fmt(s.ppsMin)}-${fmt(s.ppsMax)}], ${s.gbps.toFixed(2)} Gbit/s`);
  results.push(
    benchResult({
      bench: `kernel-veth-${size}`,
      value: Math.round(s.pps),
      unit: 'frames/s',
      note:
        `${s.gbps.toFixed(2)} Gbit/s; Linux AF_PACKET -> veth -> AF_PACKET across 2 netns, ` +
        `${size} B frames, batch ${KERNEL_VETH_BATCH}, median of ${runs} x ${seconds} s` +
        (s.drops > 0 ? `; ${s.drops} sock drops` : ''),
      extra: {
        pps_min: Math.round(s.ppsMin),
        pps_max: Math.round(s.ppsMax),
        gbps: Number(s.gbps.toFixed(3)),
        sock_drops: s.drops,
        runs,
        seconds_per_run: seconds,
        frame_bytes: size,
        batch: KERNEL_VETH_BATCH,
      },
    }),
  );
}

emitResults(results);
