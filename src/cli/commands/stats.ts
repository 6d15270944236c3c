// `netstackctl stats`: the whole stack at a glance from GET /v1/stack (sk_buffs,
// backlog, drops by reason) and GET /v1/devices (a netstat -i style counter
// table). Drop reasons with a zero count are listed only with -s.

import type { StackOut } from '../../api/http/schemas/stack.ts';
import type { DeviceJson } from '../api-types.ts';
import { ArgError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatTable } from '../format/table.ts';
import { STATS_HELP } from '../help.ts';
import { fetchDevices } from './link.ts';

export async function statsCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, STATS_HELP);
    return;
  }
  if (args.length > 0) throw new ArgError(`"stats" takes no arguments, got "${args[0]}"`, 'stats');
  const stack = await ctx.client.get<StackOut>('/v1/stack');
  if (ctx.opts.json) {
    printJson(ctx, stack);
    return;
  }
  const devices = await fetchDevices(ctx);
  print(ctx, formatStack(stack, ctx.opts.stats > 0) + '\n' + formatDeviceCounters(devices));
}

export function formatStack(s: StackOut, allReasons: boolean): string {
  const k = s.skb;
  const b = s.backlog;
  let out =
    `skbs: ${k.in_use} in use (${k.bytes} bytes), ${k.allocs} allocs, ${k.frees} frees, ${k.clones} clones, ` +
    `${k.copies} copies, ${k.alloc_failures} alloc failures, ${k.double_frees} double frees\n`;
  out += `backlog: ${b.length}/${b.max} packets, ${b.processed} processed, ${b.dropped} dropped, ${b.time_squeeze} time squeeze\n`;
  out += `drops: ${s.drops_total} in all\n`;
  const reasons = Object.entries(s.drops as Record<string, number>).filter(([, n]) => allReasons || n > 0);
  const width = Math.max(0, ...reasons.map(([r]) => r.length));
  for (const [reason, n] of reasons) out += `    ${reason.padEnd(width)}  ${n}\n`;
  out += `devices: ${s.devices}, sockets: ${s.sockets}, uptime: ${s.uptime_s.toFixed(1)}s\n`;
  return out;
}

export function formatDeviceCounters(devices: readonly DeviceJson[]): string {
  const header = ['Iface', 'MTU', 'RX-OK', 'RX-BYTES', 'RX-ERR', 'RX-DRP', 'TX-OK', 'TX-BYTES', 'TX-ERR', 'TX-DRP', 'QLEN', 'Q-DROP', 'State'];
  const rows = devices.map((d) => {
    const rx = d.stats64?.rx;
    const tx = d.stats64?.tx;
    const n = (v: number | undefined): string => String(v ?? 0);
    return [
      d.ifname, n(d.mtu), n(rx?.packets), n(rx?.bytes), n(rx?.errors), n(rx?.dropped),
      n(tx?.packets), n(tx?.bytes), n(tx?.errors), n(tx?.dropped), n(d.queue?.qlen), n(d.queue?.drops), d.operstate,
    ];
  });
  return formatTable(header, rows, ['left', ...Array<'right'>(11).fill('right'), 'left']);
}
