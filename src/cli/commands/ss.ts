// `netstackctl ss [-t] [-u] [-a|-l] [-n] [-m] [-i]`: the stack's TCP and UDP
// sockets in ss's layout (Netid when both kinds are listed, State, Recv-Q,
// Send-Q, Local Address:Port, Peer Address:Port), from GET /v1/sockets. As
// ss: without -a or -l, connections only (no listeners, no unconnected UDP);
// -l listeners only; -m adds the skmem line (r, rb, t, tb, d); -i adds the
// TCP info line (congestion control, rto, rtt, cwnd, bytes, segments,
// windows, retrans).

import type { UdpSocketJson } from '../api-types.ts';

/** A UDP or TCP socket of GET /v1/sockets as ss reads it. */
export type SsSocketJson = UdpSocketJson & {
  tcp_info?: {
    rtt_ms: number;
    rttvar_ms: number;
    rto_ms: number;
    snd_cwnd: number;
    snd_ssthresh: number;
    snd_wnd: number;
    rcv_wnd: number;
    retrans: number;
    lost: number;
    zero_window_probes: number;
    bytes_acked: number;
    bytes_received: number;
    segs_out: number;
    segs_in: number;
    congestion_control?: string;
  };
};

function netidOf(s: SsSocketJson): string {
  return s.type === 'stream' ? 'tcp' : 'udp';
}
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

/** ss -i's second line for a TCP socket: tcp_info fields by ss's names (retrans: now/total). */
function infoLine(s: SsSocketJson): string | null {
  const i = s.tcp_info;
  if (i === undefined) return null;
  // ss names the congestion control first ("cubic rto:204 rtt:...").
  const parts = [...(i.congestion_control !== undefined ? [i.congestion_control] : []), `rto:${i.rto_ms}`, `rtt:${i.rtt_ms}/${i.rttvar_ms}`, `cwnd:${i.snd_cwnd}`];
  // ss prints ssthresh only once slow start has ended (below "infinity").
  if (i.snd_ssthresh < 0xffff) parts.push(`ssthresh:${i.snd_ssthresh}`);
  parts.push(`bytes_acked:${i.bytes_acked}`, `bytes_received:${i.bytes_received}`, `segs_out:${i.segs_out}`, `segs_in:${i.segs_in}`);
  parts.push(`snd_wnd:${i.snd_wnd}`, `rcv_wnd:${i.rcv_wnd}`);
  if (i.retrans > 0) parts.push(`retrans:0/${i.retrans}`);
  if (i.lost > 0) parts.push(`lost:${i.lost}`);
  if (i.zero_window_probes > 0) parts.push(`zwp:${i.zero_window_probes}`);
  return `\t ${parts.join(' ')}`;
}

export function formatSs(sockets: readonly SsSocketJson[], numeric: boolean, memory: boolean, info = false, netid = false): string {
  const rows = sockets.map((s) => {
    const [la, lp] = split(s.local);
    const [pa, pp] = split(s.peer === '*:*' || s.peer === '' ? '0.0.0.0:*' : s.peer);
    const name = (p: string): string => (numeric ? p : (SERVICES[p] ?? p));
    return { state: s.state, rq: String(s.recv_q), sq: String(s.send_q), la, lp: name(lp), pa, pp: name(pp), s };
  });
  const w = (min: number, cells: string[]): number => Math.max(min, ...cells.map((c) => c.length));
  // ss sizes each column to its header or widest cell; addresses right-aligned up to the colon, ports left.
  const wNetid = w(5, rows.map((r) => netidOf(r.s)));
  const wState = w(5, rows.map((r) => r.state));
  const wRq = w(6, rows.map((r) => r.rq));
  const wSq = w(6, rows.map((r) => r.sq));
  const wLa = w(13, rows.map((r) => r.la));
  const wLp = w(4, rows.map((r) => r.lp));
  const wPa = w(12, rows.map((r) => r.pa));
  const wPp = w(4, rows.map((r) => r.pp));
  let out =
    (netid ? `${'Netid'.padEnd(wNetid)} ` : '') +
    `${'State'.padEnd(wState)} ${'Recv-Q'.padEnd(wRq)} ${'Send-Q'.padEnd(wSq)} ${'Local Address'.padStart(wLa)}:${'Port'.padEnd(wLp)} ` +
    `${'Peer Address'.padStart(wPa)}:${'Port'.padEnd(wPp)}Process\n`;
  for (const r of rows) {
    out +=
      (netid ? `${netidOf(r.s).padEnd(wNetid)} ` : '') +
      `${r.state.padEnd(wState)} ${r.rq.padEnd(wRq)} ${r.sq.padEnd(wSq)} ${r.la.padStart(wLa)}:${r.lp.padEnd(wLp)} ` +
      `${r.pa.padStart(wPa)}:${r.pp.padEnd(wPp)}${''.padEnd(7)}\n`;
    if (memory) {
      const s = r.s;
      out += `\t skmem:(r${s.rmem ?? 0},rb${s.rcvbuf ?? 0},t${s.wmem ?? 0},tb${s.sndbuf ?? 0},f0,w0,o0,bl0,d${s.drops ?? 0})\n`;
    }
    const line = info ? infoLine(r.s) : null;
    if (line !== null) out += `${line}\n`;
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
  let info = false;
  let all = false;
  let listening = false;
  let tcp = false;
  let udp = false;
  for (const a of args) {
    if (!/^-[a-zA-Z]+$/.test(a)) throw new CliError(`ss: bad argument "${a}"\nTry "netstackctl ss help".`, 255);
    for (const c of a.slice(1)) {
      if (c === 'u') udp = true;
      else if (c === 't') tcp = true;
      else if (c === 'a') all = true;
      else if (c === 'l') listening = true;
      else if (c === 'n') numeric = true;
      else if (c === 'm') memory = true;
      else if (c === 'i') info = true;
      else if (c === 'w' || c === 'x' || c === '0') throw new CliError(`ss: -${c}: only TCP (-t) and UDP (-u) sockets are listed here; "netstackctl sockets" lists packet sockets`, 255);
      else throw new CliError(`ss: invalid option -- '${c}'\nTry "netstackctl ss help".`, 255);
    }
  }
  if (!tcp && !udp) tcp = udp = true;
  const list = await ctx.client.get<{ family?: string; type?: string; state?: string }[]>('/v1/sockets');
  // ss's state filter: -a everything; -l listeners (and unconnected UDP, ss's "listening" UDP);
  // neither: connections (everything but LISTEN, and UDP only when connected).
  const listener = (s: SsSocketJson): boolean => s.state === 'LISTEN' || s.state === 'UNCONN';
  const sockets = (list.filter((s) => s.family === 'inet') as SsSocketJson[])
    .filter((s) => (s.type === 'stream' ? tcp : udp))
    .filter((s) => all || (listening ? listener(s) : !listener(s)));
  if (ctx.opts.json) printJson(ctx, sockets);
  else print(ctx, formatSs(sockets, numeric, memory, info, tcp && udp));
}
