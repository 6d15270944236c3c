// `netstackctl sysctl [-n] [-a] [NAME...]` and `sysctl [-w] NAME=VALUE...`,
// as sysctl(8): `net.core.rmem_default = 212992`, names with dots or
// slashes, a prefix such as `net.core` naming everything under it. A vector
// prints as the kernel's file reads, tab-separated
// (`net.ipv4.tcp_rmem = 4096\t131072\t6291456`), and is written as one
// word: `net.ipv4.tcp_rmem="4096 131072 6291456"`; a word value such as
// `net.ipv4.tcp_congestion_control=reno` goes as it is.

import type { StackOut } from '../../api/http/schemas/stack.ts';
import { Words } from '../args.ts';
import { CliError, EXIT_LOOKUP, ServiceError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { SYSCTL_HELP } from '../help.ts';

const TOPIC = 'sysctl';

type SysctlValue = number | string | readonly number[];
type SysctlValues = Record<string, SysctlValue>;

export async function sysctlCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, SYSCTL_HELP);
    return;
  }
  const words: Words = new Words(args, TOPIC);
  let valuesOnly = false;
  let write = false;
  const names: string[] = [];
  const assignments: [string, SysctlValue][] = [];
  while (!words.done) {
    const w = words.next()!;
    if (w === '-n' || w === '--values') valuesOnly = true;
    else if (w === '-w' || w === '--write') write = true;
    else if (w === '-a' || w === '-A' || w === '--all') continue;
    else if (w.startsWith('-')) words.fail(`unknown option "${w}"`);
    else if (w.includes('=')) {
      const name = normalise(w.slice(0, w.indexOf('=')).trim());
      const text = w.slice(w.indexOf('=') + 1).trim();
      if (text === '') words.fail(`argument "${w}" is wrong: "${name}" needs a value`);
      // An integer goes as a number; anything else (a word, "4096 131072 6291456") as text the service parses.
      assignments.push([name, /^-?[0-9]+$/.test(text) ? Number(text) : text]);
    } else if (write) {
      words.fail(`"${w}" must be of the form name=value`);
    } else {
      names.push(normalise(w));
    }
  }
  if (assignments.length > 0 && names.length > 0) words.fail('give either names to read or name=value pairs to write, not both');
  if (write && assignments.length === 0) words.fail('"-w" needs at least one name=value');

  if (assignments.length > 0) {
    // Text for a sysctl that holds an integer is the user's mistake, told before anything is sent.
    if (assignments.some(([, v]) => typeof v === 'string')) {
      const current = (await ctx.client.get<StackOut>('/v1/stack')).sysctl as SysctlValues;
      for (const [name, v] of assignments) {
        if (typeof v === 'string' && typeof current[name] === 'number') words.fail(`argument "${name}=${v}" is wrong: "${name}" takes an integer`);
      }
    }
    let after: SysctlValues;
    try {
      after = await ctx.client.patch<SysctlValues>('/v1/stack/sysctl', { body: Object.fromEntries(assignments) });
    } catch (err) {
      if (err instanceof ServiceError && err.problem.errno === 'ENOENT') {
        throw new CliError(`netstackctl: ${err.problem.detail ?? 'unknown sysctl'} (No such file or directory, ENOENT)`, EXIT_LOOKUP);
      }
      throw err;
    }
    if (ctx.opts.json) printJson(ctx, after);
    else print(ctx, assignments.map(([name]) => line(name, after[name], valuesOnly)).join(''));
    return;
  }

  const stack = await ctx.client.get<StackOut>('/v1/stack');
  const all = stack.sysctl as SysctlValues;
  let shown: string[];
  if (names.length === 0) {
    shown = Object.keys(all).sort();
  } else {
    shown = [];
    for (const name of names) {
      const matches = Object.keys(all).filter((k) => k === name || k.startsWith(name + '.')).sort();
      if (matches.length === 0) throw new CliError(`netstackctl: cannot stat sysctl "${name}" (No such file or directory, ENOENT)`, EXIT_LOOKUP);
      shown.push(...matches);
    }
  }
  if (ctx.opts.json) printJson(ctx, Object.fromEntries(shown.map((k) => [k, all[k]])));
  else print(ctx, shown.map((k) => line(k, all[k], valuesOnly)).join(''));
}

/** sysctl(8) takes net/core/x as well as net.core.x. */
function normalise(name: string): string {
  return name.replace(/\//g, '.');
}

function line(name: string, value: SysctlValue | undefined, valuesOnly: boolean): string {
  const v = value === undefined ? '?' : Array.isArray(value) ? value.join('\t') : String(value);
  return valuesOnly ? `${v}\n` : `${name} = ${v}\n`;
}
