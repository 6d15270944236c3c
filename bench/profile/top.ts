// Summarise a V8 .cpuprofile (node --cpu-prof): the functions with the most
// self time, then, for the functions named on the command line, their
// inclusive time (themselves and everything they called). A directory
// argument takes its largest profile (the main thread's; --import tsx adds a
// loader thread's).
//
//   node --import tsx bench/profile/top.ts /tmp/prof [count] [function ...]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [arg, countArg, ...named] = process.argv.slice(2);
if (arg === undefined) {
  console.error('usage: top.ts PROFILE|DIR [count] [function ...]');
  process.exit(2);
}
let file = arg;
if (statSync(arg).isDirectory()) {
  const files = readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(arg, f));
  files.sort((a, b) => statSync(b).size - statSync(a).size);
  if (files[0] === undefined) throw new Error(`no .cpuprofile in ${arg}`);
  file = files[0];
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfTime = new Map<number, number>();
let total = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  selfTime.set(id, (selfTime.get(id) ?? 0) + dt);
  total += dt;
});
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of selfTime) {
  const k = label(byId.get(id)!);
  self.set(k, (self.get(k) ?? 0) + t);
  // Each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
    const name = byId.get(x)!.callFrame.functionName;
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + t);
  }
}
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time`);
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 30))) console.log(`${pct(t)}  ${k}`);
if (named.length > 0) {
  console.log('\ninclusive time');
  for (const name of named) console.log(`${pct(inclusive.get(name) ?? 0)}  ${name}`);
}
