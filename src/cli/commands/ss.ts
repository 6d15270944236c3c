// `netstackctl ss -u -a [-n]`: the stack's UDP sockets in ss's layout
// (State, Recv-Q, Send-Q, Local Address:Port, Peer Address:Port), from
// GET /v1/sockets. -m adds ss's skmem line (r, rb, t, tb, d).

import type { UdpSocketJson } from '../api-types.ts';
import { type Context, print, printJson } from '../context.ts';
import { CliError } from '../errors.ts';
import { SS_HELP } from '../help.ts';

/** /etc/services names of the ports the built-in services use; others stay numbers. */
const SERVICES: Record<string, string> = { '7': 'echo', '9': 'discard', '19': 'chargen' };

function split(endpoint: string): [string, string] {
  const i = endpoint.lastIndexOf(':');
  const addr = i < 0 ? endpoint : endpoint.slice(0, i);
  const port = i < 0 ? '*' : endpoint.slice(i + 1);
  return [addr === '*' || addr === '' ? '0.0.0.0' : addr, port === '0' ? '*' : port];
}

export function formatSs(sockets: readonly UdpSocketJson[], numeric: boolean, memory: boolean): string {
  const rows = sockets.map((s) => {
    const [la, lp] = split(s.local);
    const [pa, pp] = split(s.peer === '*:*' || s.peer === '' ? '0.0.0.0:*' : s.peer);
    const name = (p: string): string => (numeric ? p : (SERVICES[p] ?? p));
    return { state: s.state, rq: String(s.recv_q), sq: String(s.send_q), la, lp: name(lp), pa, pp: name(pp), s };
  });
  const w = (min: number, cells: string[]): number => Math.max(min, ...cells.map((c) => c.length));
  // ss sizes each column to its header or widest cell; addresses right-aligned up to the colon, ports left.
  const wState = w(5, rows.map((r) => r.state));
  const wRq = w(6, rows.map((r) => r.rq));
  const wSq = w(6, rows.map((r) => r.sq));
  const wLa = w(13, rows.map((r) => r.la));
  const wLp = w(4, rows.map((r) => r.lp));
  const wPa = w(12, rows.map((r) => r.pa));
  const wPp = w(4, rows.map((r) => r.pp));
  let out =
    `${'State'.padEnd(wState)} ${'Recv-Q'.padEnd(wRq)} ${'Send-Q'.padEnd(wSq)} ${'Local Address'.padStart(wLa)}:${'Port'.padEnd(wLp)} ` +
    `${'Peer Address'.padStart(wPa)}:${'Port'.padEnd(wPp)}Process\n`;
  for (const r of rows) {
    out +=
      `${r.state.padEnd(wState)} ${r.rq.padEnd(wRq)} ${r.sq.padEnd(wSq)} ${r.la.padStart(wLa)}:${r.lp.padEnd(wLp)} ` +
      `${r.pa.padStart(wPa)}:${r.pp.padEnd(wPp)}${''.padEnd(7)}\n`;
    if (memory) {
      const s = r.s;
      out += `\t skmem:(r${s.rmem ?? 0},rb${s.rcvbuf ?? 0},t${s.wmem ?? 0},tb${s.sndbuf ?? 0},f0,w0,o0,bl0,d${s.drops ?? 0})\n`;
    }
  }
  return out;
}

export async function ssCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, SS_HELP);
    return;
  }
  let numeric = false;
  let memory = false;
  let all = false;
  for (const a of args) {
    if (!/^-[a-zA-Z]+$/.test(a)) throw new CliError(`ss: bad argument "${a}"\nTry "netstackctl ss help".`, 255);
    for (const c of a.slice(1)) {
      if (c === 'u') continue;
      else if (c === 'a') all = true;
      else if (c === 'l') all = true;
      else if (c === 'n') numeric = true;
      else if (c === 'm') memory = true;
      else if (c === 't' || c === 'w' || c === 'x' || c === '0') throw new CliError(`ss: -${c}: only UDP sockets (-u) are listed here; "netstackctl sockets" lists packet sockets`, 255);
      else throw new CliError(`ss: invalid option -- '${c}'\nTry "netstackctl ss help".`, 255);
    }
  }
  const list = await ctx.client.get<{ family?: string; state?: string }[]>('/v1/sockets');
  // UDP sockets are all "unconnected listeners" to ss: -a or -l shows UNCONN ones, without them only ESTAB.
  const sockets = (list.filter((s) => s.family === 'inet') as UdpSocketJson[]).filter((s) => all || s.state === 'ESTAB');
  if (ctx.opts.json) printJson(ctx, sockets);
  else print(ctx, formatSs(sockets, numeric, memory));
}
