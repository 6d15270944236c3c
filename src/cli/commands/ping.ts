// `netstackctl ping [-c N] [-i S] [-s SIZE] [-t TTL] [-W S] [-I SRC] DST`:
// the stack pings (POST /v1/ping) and the CLI prints what iputils ping
// prints, with its exit status: 0 some reply, 1 none, 2 an error (no route,
// a bad argument). The service answers when the pings are done, so the
// lines appear together at the end; without -c it sends 4, not forever.

import { type Context, print, printJson } from '../context.ts';
import type { PingResultJson } from '../api-types.ts';
import { CliError, ServiceError, errnoText } from '../errors.ts';
import { formatPingBody, formatPingHeader } from '../format/inet.ts';
import { PING_HELP } from '../help.ts';
import { isIpv4 } from './inet-values.ts';

const EXIT_NO_REPLY = 1;
const EXIT_ERROR = 2;

function bad(message: string): never {
  throw new CliError(`ping: ${message}`, EXIT_ERROR);
}

function number(flag: string, value: string | undefined, min: number, max: number, integer: boolean): number {
  if (value === undefined) bad(`option requires an argument -- '${flag.slice(1)}'`);
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) bad(`invalid argument: '${value}'`);
  if (n < min || n > max) bad(`invalid argument: '${value}': out of range: ${min} <= value <= ${max}`);
  return n;
}

export async function pingCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, PING_HELP);
    return;
  }
  const body: { dst?: string; count: number; interval_ms: number; size: number; ttl?: number; timeout_ms?: number; src?: string } = {
    count: 4,
    interval_ms: 1000,
    size: 56,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    // -c4 as well as -c 4, as getopt takes them.
    const m = /^(-[ciIstW])(.*)$/.exec(a);
    if (m !== null) {
      const flag = m[1]!;
      const value = m[2] !== '' ? m[2] : args[++i];
      switch (flag) {
        case '-c': body.count = number(flag, value, 1, 1000, true); break;
        case '-i': body.interval_ms = Math.round(number(flag, value, 0, 60, false) * 1000); break;
        case '-s': body.size = number(flag, value, 0, 65507, true); break;
        case '-t': body.ttl = number(flag, value, 1, 255, true); break;
        case '-W': body.timeout_ms = Math.max(1, Math.round(number(flag, value, 0, 3600, false) * 1000)); break;
        case '-I':
          if (value === undefined || !isIpv4(value)) bad(`invalid source address: ${value ?? ''}`);
          body.src = value;
          break;
      }
    } else if (a.startsWith('-') && a !== '-') {
      bad(`invalid option -- '${a.slice(1)}'\nUsage: netstackctl ping [-c count] [-i interval] [-s size] [-t ttl] [-W timeout] [-I address] destination`);
    } else if (body.dst === undefined) {
      if (!isIpv4(a)) bad(`${a}: Name or service not known`);
      body.dst = a;
    } else {
      bad(`extra argument "${a}"`);
    }
  }
  if (body.dst === undefined) bad('usage error: Destination address required');
  if (!ctx.opts.json) print(ctx, formatPingHeader({ dst: body.dst, size: body.size }));
  let res: PingResultJson;
  try {
    res = await ctx.client.post<PingResultJson>('/v1/ping', { body, signal: ctx.interrupt });
  } catch (err) {
    // ping's own words for a send that cannot even start: "ping: connect: Network is unreachable".
    if (err instanceof ServiceError && err.problem.errno !== undefined && err.problem.status !== 400) {
      throw new CliError(`ping: connect: ${errnoText(err.problem.errno)}`, EXIT_ERROR);
    }
    if (err instanceof ServiceError) throw new CliError(err.message, EXIT_ERROR);
    throw err;
  }
  if (ctx.opts.json) {
    printJson(ctx, res);
  } else {
    // ping's "time": from the first request to the last one's answer (or its sending, without one).
    const lastSeq = res.transmitted;
    const last = res.replies.find((r) => r.seq === lastSeq);
    const elapsed = Math.max(0, res.transmitted - 1) * body.interval_ms + (last?.time_ms ?? 0);
    print(ctx, formatPingBody(res, body.size, elapsed));
  }
  if (res.received === 0) throw new CliError('', EXIT_NO_REPLY);
}
