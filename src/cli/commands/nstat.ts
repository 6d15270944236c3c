// `netstackctl nstat [-a] [-z] [-j]`: GET /v1/netstat in nstat's layout,
// "#kernel" then one counter a line (IpInReceives, UdpNoPorts, ...). nstat
// shows what changed since its last run (a history file); this one has no
// history and always shows the absolute values, as `nstat -a` does.

import { type Context, print, printJson } from '../context.ts';
import { CliError } from '../errors.ts';
import { formatNstat } from '../format/inet.ts';
import { NSTAT_HELP } from '../help.ts';

export async function nstatCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, NSTAT_HELP);
    return;
  }
  let zeros = false;
  const patterns: string[] = [];
  for (const a of args) {
    if (a === '-z' || a === '--zeros') zeros = true;
    else if (a === '-a' || a === '--ignore' || a === '-r' || a === '--reset' || a === '-n' || a === '--nooutput' || a === '-s' || a === '--noupdate') continue;
    else if (a.startsWith('-')) throw new CliError(`nstat: invalid option "${a}"\nTry "netstackctl nstat help".`, 255);
    else patterns.push(a);
  }
  const counters = await ctx.client.get<Record<string, Record<string, number>>>('/v1/netstat');
  // nstat's PATTERN: shell globs on the full name (UdpNoPorts, Icmp*).
  const res = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  const shown: Record<string, Record<string, number>> = {};
  for (const [group, fields] of Object.entries(counters)) {
    for (const [field, value] of Object.entries(fields)) {
      if (res.length > 0 && !res.some((r) => r.test(group + field))) continue;
      (shown[group] ??= {})[field] = value;
    }
  }
  if (ctx.opts.json) {
    const flat: Record<string, number> = {};
    for (const [group, fields] of Object.entries(shown)) for (const [field, v] of Object.entries(fields)) if (v !== 0 || zeros) flat[group + field] = v;
    printJson(ctx, { kernel: flat });
  } else {
    print(ctx, formatNstat(shown, zeros));
  }
}
