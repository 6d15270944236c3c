// netstackctl start-up: wall time of one `netstackctl link show` process
// against a running service (lo and a veth pair), the compiled bin
// (dist/, built by `npm run build`) against the baseline of `node -e ''`
// (Node's own start-up on this machine) and, for reference, the same command
// run from the TypeScript sources through tsx (what every call cost before
// dist/). Target: under 150 ms per call on the reference machine.
//
//   node --expose-gc --import tsx bench/cli.bench.ts
//   CLI_BENCH_RUNS=15 (timed runs per variant, default)

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { benchResult, emitResults, envNumber, fmt, log, machineInfo, median, repoRoot } from './lib.ts';

const RUNS = Math.max(3, Math.round(envNumber('CLI_BENCH_RUNS', 15)));
const m = machineInfo();
log(`cli: ${m.cpuCount}x ${m.cpuModel}, node ${m.node}; ${RUNS} runs per variant`);

if (!existsSync(path.join(repoRoot, 'dist/cli/main.js'))) {
  log('  dist/ missing: building it (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}

function timeRun(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

// The service runs in its own process: spawnSync blocks this one.
const server = spawn(
  process.execPath,
  [path.join(repoRoot, 'bin/netstackd.js'), '--listen', '127.0.0.1:0', '--log-level', 'info'],
  { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
);
const serverUrl = await new Promise<string>((resolve, reject) => {
  let buf = '';
  server.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const hit = /"address":"(http:\/\/[^"]+)"/.exec(buf);
    if (hit) resolve(hit[1]!);
  });
  server.once('exit', (code) => reject(new Error(`netstackd exited ${code}`)));
});
// A benchmark that throws must not leave the service running.
process.on('exit', () => server.kill('SIGTERM'));
log(`  service at ${serverUrl}`);
execFileSync(process.execPath, [path.join(repoRoot, 'bin/netstackctl.js'), '--server', serverUrl, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);

const variants: Record<string, string[]> = {
  node: ['-e', ''],
  compiled: [path.join(repoRoot, 'bin/netstackctl.js'), '--server', serverUrl, 'link', 'show'],
  tsx: ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), '--server', serverUrl, 'link', 'show'],
};
const times: Record<string, number[]> = { node: [], compiled: [], tsx: [] };
for (const args of Object.values(variants)) timeRun(args); // warm the file cache
for (let i = 0; i < RUNS; i++) {
  // Alternate the variants so machine noise hits each alike.
  for (const [name, args] of Object.entries(variants)) times[name]!.push(timeRun(args));
}
server.kill('SIGTERM');

const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>;
log(`  node -e '': ${fmt(med.node!)} ms; netstackctl link show: ${fmt(med.compiled!)} ms compiled, ${fmt(med.tsx!)} ms through tsx`);

emitResults([
  benchResult({
    bench: 'cli-link-show',
    value: med.compiled!,
    unit: 'ms',
    baseline: { name: 'node-empty-start', value: med.node! },
    note: `median wall ms of one \`netstackctl link show\` process (compiled dist/, lazy command modules) against a running netstackd; baseline: \`node -e ''\`; target < 150 ms`,
    extra: { tsx_ms: med.tsx!, runs: RUNS },
  }),
]);
