// Many devices coming and going (issue 12, "keep it linear"): what one more
// device costs at 1,000 devices and at 10,000, in this process, on the stack.
//
// devices-delete-addressed-10k: deleting devices that each have an address
//   (its local route), a static route and a permanent neighbour, one by one;
//   time per delete at 10,000 devices; baseline: the same at 1,000 (a ratio
//   near 1 is linear: the FIB's routes by device, not a pass over the table).
//   The addresses are the 768 of the documentation networks, reused in turn
//   (no frame is sent), so at 10,000 up to 14 devices share a prefix.
// state-change-10k: with a state saver attached (its write kept in memory, so
//   the figure is the saver's own work, not the disk's), a device created
//   with an address and then written, one by one, as a client waiting for
//   each 2xx does; time per create + write at 10,000 devices; baseline: the
//   same at 1,000. `extra` has what a full snapshot (the saver before) costs
//   at 10,000, and what one fsync'd write of the 10,000-device file costs:
//   that write is O(file size) with one JSON file, and stays.
//
//   node --expose-gc --import tsx bench/device-churn.bench.ts
//   CHURN_BENCH_SAMPLE=200 (devices timed at each size)

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VirtualClock } from '../src/clock.ts';
import { NetStack, createDevice, deleteDevice } from '../src/stack/index.ts';
import { attachInet, inetInternals } from '../src/inet/control.ts';
import type { InetStack } from '../src/inet/inet.ts';
import { StateSaver } from '../src/config/state-saver.ts';
import { snapshotStack } from '../src/config/snapshot.ts';
import { writeFileAtomic } from '../src/config/atomic-write.ts';
import { benchResult, emitResults, envNumber, fmt, forceGc, log, machineInfo, median, type BenchResult } from './lib.ts';

const SAMPLE = envNumber('CHURN_BENCH_SAMPLE', 200);
const SMALL = 1000;
const LARGE = 10_000;

const m = machineInfo();
log(`device-churn: ${m.cpuCount}x ${m.cpuModel}, ${m.kernel}, node ${m.node}; ${SAMPLE} devices timed at ${SMALL} and at ${LARGE}`);

function docAddr(i: number): string {
  const nets = ['192.0.2', '198.51.100', '203.0.113'];
  const k = i % 768;
  return `${nets[k >> 8]}.${k & 255}`;
}

function newStack(): { stack: NetStack; inet: InetStack } {
  const stack = new NetStack({ clock: new VirtualClock(), limits: { maxDevices: LARGE + SAMPLE + 16 } });
  attachInet(stack);
  const room = LARGE + SAMPLE + 16;
  stack.sysctl.set({ 'net.ipv4.neigh.default.gc_thresh2': room, 'net.ipv4.neigh.default.gc_thresh3': room });
  return { stack, inet: inetInternals(stack)! };
}

async function addressed(stack: NetStack, inet: InetStack, i: number): Promise<void> {
  await createDevice(stack, { kind: 'dummy', name: `d${i}`, up: true });
  inet.addrAdd(`d${i}`, `${docAddr(i)}/32`);
  inet.routeAdd({ dst: `${docAddr(i + 1)}/32`, dev: `d${i}`, metric: Math.floor(i / 768) });
  inet.neighAdd({ dst: docAddr(i + 2), dev: `d${i}`, lladdr: '02:00:00:00:00:01' });
}

const sinceUs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;

const results: BenchResult[] = [];

// ---- devices-delete-addressed-10k ----

/** Microseconds per delete of SAMPLE addressed devices among `count`, median of 3 rounds. */
async function deletePerDevice(count: number, withAddresses: boolean): Promise<number> {
  const { stack, inet } = newStack();
  const rounds: number[] = [];
  for (let i = 0; i < count; i++) {
    if (withAddresses) await addressed(stack, inet, i);
    else await createDevice(stack, { kind: 'dummy', name: `d${i}`, up: true });
  }
  for (let round = 0; round < 3; round++) {
    forceGc();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < SAMPLE; i++) deleteDevice(stack, `d${round * SAMPLE + i}`);
    rounds.push(sinceUs(t0) / SAMPLE);
  }
  stack.close();
  return median(rounds);
}

{
  await deletePerDevice(SMALL, true); // warm-up: the JIT, so the 1,000 figure is not the cold one
  const small = await deletePerDevice(SMALL, true);
  const large = await deletePerDevice(LARGE, true);
  const bare = await deletePerDevice(LARGE, false);
  log(`  delete, addressed: ${fmt(small)} µs/device at ${SMALL}, ${fmt(large)} at ${LARGE} (x${fmt(large / small)}); without addresses at ${LARGE}: ${fmt(bare)}`);
  results.push(
    benchResult({
      bench: 'devices-delete-addressed-10k',
      value: large,
      unit: 'µs/device',
      baseline: { name: `the same delete among ${SMALL} devices`, value: small },
      note:
        `deleting a dummy device that has an address, a static route and a permanent neighbour, among ${LARGE} such devices (median of 3 rounds of ${SAMPLE}); ` +
        `${fmt(small)} µs among ${SMALL}; a device without any among ${LARGE}: ${fmt(bare)} µs. Before the FIB kept routes by device: 67 µs at 1,000, 677 µs at 4,000`,
      extra: { us_1k: small, us_10k: large, us_10k_no_addresses: bare, per_device_ratio_10k_1k: large / small },
    }),
  );
}

// ---- state-change-10k ----

/** Microseconds per (create addressed device + write) for SAMPLE devices after `count` exist; and the saver's file size. */
async function stateChangePerDevice(count: number): Promise<{ us: number; text: string; bytes: number; fullMs: number; serializedPerWrite: number }> {
  const { stack, inet } = newStack();
  let text = '';
  const saver = new StateSaver(stack, '/nonexistent/state.json', {
    write: async (_file, t) => {
      text = t;
    },
  });
  await saver.start();
  for (let i = 0; i < count; i++) await addressed(stack, inet, i);
  await saver.commit();
  forceGc();
  const pieces = saver.text.piecesSerialized;
  const writes = saver.writes;
  const t0 = process.hrtime.bigint();
  for (let i = count; i < count + SAMPLE; i++) {
    await addressed(stack, inet, i);
    await saver.commit();
  }
  const us = sinceUs(t0) / SAMPLE;
  const serializedPerWrite = (saver.text.piecesSerialized - pieces) / (saver.writes - writes);
  // What each write cost before: a snapshot of every device, stringified.
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t1 = process.hrtime.bigint();
    JSON.stringify(snapshotStack(stack).state, null, 2);
    times.push(sinceUs(t1) / 1000);
  }
  await saver.stop();
  stack.close();
  return { us, text, bytes: text.length, fullMs: median(times), serializedPerWrite };
}

{
  await stateChangePerDevice(SMALL); // warm-up
  const small = await stateChangePerDevice(SMALL);
  const large = await stateChangePerDevice(LARGE);
  // One real write of the 10,000-device text (the saver's, as it hands it over), fsync'd (file and directory), as every durable ack waits for.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-churn-'));
  const fsyncs: number[] = [];
  try {
    const body = large.text;
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      await writeFileAtomic(path.join(dir, 'state.json'), body);
      fsyncs.push(sinceUs(t0) / 1000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const fsyncMs = median(fsyncs);
  log(
    `  create + write with --state: ${fmt(small.us)} µs/device at ${SMALL}, ${fmt(large.us)} at ${LARGE} (x${fmt(large.us / small.us)}); ` +
      `${fmt(large.serializedPerWrite)} device shares serialized per write; full snapshot at ${LARGE}: ${fmt(large.fullMs)} ms; ` +
      `file ${fmt(large.bytes / 1048576)} MiB, one fsync'd write of it ${fmt(fsyncMs)} ms`,
  );
  results.push(
    benchResult({
      bench: 'state-change-10k',
      value: large.us,
      unit: 'µs/change',
      baseline: { name: `the same change among ${SMALL} devices`, value: small.us },
      note:
        `a dummy device created with an address, a static route and a permanent neighbour, then the state text built and handed to an in-memory write, one at a time, among ${LARGE} devices (${SAMPLE} timed); ` +
        `${fmt(small.us)} µs among ${SMALL}; ${fmt(large.serializedPerWrite)} device shares serialized per write; ` +
        `a full snapshot of ${LARGE} devices (each write before) takes ${fmt(large.fullMs)} ms; the ${fmt(large.bytes / 1048576)} MiB file written and fsync'd takes ${fmt(fsyncMs)} ms (O(file size), unchanged)`,
      extra: {
        us_1k: small.us,
        us_10k: large.us,
        per_change_ratio_10k_1k: large.us / small.us,
        serialized_per_write: large.serializedPerWrite,
        full_snapshot_ms_10k: large.fullMs,
        file_bytes_10k: large.bytes,
        fsync_write_ms_10k: fsyncMs,
      },
    }),
  );
}

emitResults(results);
