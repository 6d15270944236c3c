// `netstackctl route show | add | del | get`, as `ip route`, over /v1/routes.
// A route that is not there is ip's "RTNETLINK answers: No such process"
// (exit 2), not a lookup error.

import { SeenKeywords, Words } from '../args.ts';
import type { RouteJson } from '../api-types.ts';
import { ArgError, CliError, EXIT_SERVICE, ServiceError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatRoute, formatRouteGet } from '../format/inet.ts';
import { ROUTE_HELP } from '../help.ts';
import { parseIfname, parseUint } from '../values.ts';
import { onDevice } from './device.ts';
import { parseIpv4, parseRouteDst } from './inet-values.ts';

const TOPIC = 'route';

export async function routeCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'lst': case 'ls':
      return routeShow(ctx, words);
    case 'add':
      return routeAdd(ctx, words);
    case 'del': case 'delete':
      return routeDel(ctx, words);
    case 'get':
      return routeGet(ctx, words);
    case 'help':
      print(ctx, ROUTE_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown`, TOPIC);
  }
}

async function routeShow(ctx: Context, words: Words): Promise<void> {
  let dev: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value(w);
    else words.garbage(w);
  }
  let routes = await ctx.client.get<RouteJson[]>('/v1/routes');
  // `ip route show` is the main table's unicast routes; the local table is another listing.
  routes = routes.filter((r) => r.type === undefined || r.type === 'unicast');
  if (dev !== undefined) routes = routes.filter((r) => r.dev === dev);
  if (ctx.opts.json) printJson(ctx, routes);
  else print(ctx, routes.map(formatRoute).join(''));
}

interface RouteArgs {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  src?: string;
}

function routeArgs(words: Words, verb: string, full: boolean): RouteArgs {
  const seen = new SeenKeywords(TOPIC);
  const out: Partial<RouteArgs> = {};
  while (!words.done) {
    const w = words.next()!;
    if (w === 'via') {
      const v = words.value(w);
      seen.once(w, v);
      out.gateway = parseIpv4(v, w, TOPIC);
    } else if (w === 'dev' || w === 'oif') {
      const v = words.value(w);
      seen.once('dev', v);
      out.dev = parseIfname(v, 'dev', TOPIC);
    } else if (full && (w === 'metric' || w === 'priority' || w === 'preference')) {
      const v = words.value(w);
      seen.once('metric', v);
      out.metric = parseUint(v, 'metric', TOPIC);
    } else if (full && w === 'src') {
      const v = words.value(w);
      seen.once(w, v);
      out.src = parseIpv4(v, w, TOPIC);
    } else if (w === 'to') {
      const v = words.value(w);
      seen.once('to', v);
      out.dst = parseRouteDst(v, TOPIC);
    } else if (out.dst === undefined) {
      out.dst = parseRouteDst(w, TOPIC);
    } else {
      words.garbage(w);
    }
  }
  if (out.dst === undefined) words.fail(`"route ${verb}" needs a destination (default or A.B.C.D/N)`);
  return out as RouteArgs;
}

async function routeAdd(ctx: Context, words: Words): Promise<void> {
  const body = routeArgs(words, 'add', true);
  if (body.gateway === undefined && body.dev === undefined) words.fail('"route add" needs "via GATEWAY" or "dev NAME"');
  const request = ctx.client.post<unknown>('/v1/routes', { body, style: 'rtnetlink' });
  const made = body.dev !== undefined ? await onDevice(body.dev, request) : await request;
  if (ctx.opts.json) printJson(ctx, made);
}

async function routeDel(ctx: Context, words: Words): Promise<void> {
  const q = routeArgs(words, 'del', false);
  try {
    await ctx.client.delete<unknown>('/v1/routes', { query: { dst: q.dst, gateway: q.gateway, dev: q.dev }, style: 'rtnetlink' });
  } catch (err) {
    if (err instanceof ServiceError && err.problem.errno === 'ESRCH') throw new CliError('RTNETLINK answers: No such process', EXIT_SERVICE);
    throw err;
  }
}

async function routeGet(ctx: Context, words: Words): Promise<void> {
  let dst: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'to') dst = parseIpv4(words.value(w), w, TOPIC);
    else if (dst === undefined) dst = parseIpv4(w, 'to', TOPIC);
    else words.garbage(w);
  }
  if (dst === undefined) words.fail('"route get" needs a destination address');
  const r = await ctx.client.get<RouteJson>('/v1/routes/get', { query: { dst }, style: 'rtnetlink' });
  if (ctx.opts.json) printJson(ctx, r);
  else print(ctx, formatRouteGet(dst, r));
}
