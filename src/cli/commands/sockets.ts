// `netstackctl sockets`: GET /v1/sockets as `ss -0 -e -m` would show packet
// sockets: Recv-Q/Send-Q are the bytes charged (rmem/wmem), the local
// address is protocol:device, then the socket's buffers, queue and drops.

import type { SocketOut } from '../../api/http/schemas/stack.ts';
import { ArgError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatTable } from '../format/table.ts';
import { SOCKETS_HELP } from '../help.ts';

/** ss's names for the ethertypes people bind to; others stay hex. */
const PROTO_NAMES: Record<string, string> = { all: '*', '0x0800': 'ip', '0x0806': 'arp', '0x8100': '802.1Q', '0x86dd': 'ipv6', '0x88cc': 'lldp' };

export async function socketsCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, SOCKETS_HELP);
    return;
  }
  if (args.length > 0) throw new ArgError(`"sockets" takes no arguments, got "${args[0]}"`, 'sockets');
  const sockets = await ctx.client.get<SocketOut[]>('/v1/sockets');
  if (ctx.opts.json) printJson(ctx, sockets);
  else print(ctx, formatSockets(sockets));
}

export function formatSockets(sockets: readonly SocketOut[]): string {
  const header = ['Netid', 'State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'Id', 'Dir', 'Rcvbuf', 'Sndbuf', 'Queue', 'Drops', 'Rx', 'Tx', 'Process'];
  const rows = sockets.map((s) => {
    const netid = s.family === 'packet' ? `p_${s.type}` : s.type === 'stream' ? 'tcp' : s.type === 'dgram' ? 'udp' : 'raw';
    const local = s.family === 'packet'
      ? `${PROTO_NAMES[s.protocol ?? ''] ?? s.protocol ?? '*'}:${s.device ?? '*'}${s.promisc ? ' promisc' : ''}`
      : s.local;
    return [
      netid, s.state, String(s.rmem), String(s.wmem), local, s.peer,
      String(s.id), s.direction ?? '-', String(s.rcvbuf), String(s.sndbuf), String(s.queue ?? '-'), String(s.drops),
      String(s.received ?? '-'), String(s.sent ?? '-'), s.owner ?? '',
    ];
  });
  const align = ['left', 'left', 'right', 'right', 'left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] as const;
  return formatTable(header, rows, align);
}
