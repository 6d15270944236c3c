// `netstackctl neigh show [dev X] | add A lladdr M dev X | del A dev X |
// flush dev X`, as `ip neigh`, over /v1/neighbours. Entries added here are
// PERMANENT (`nud permanent` is accepted and is the only state offered).

import { Words } from '../args.ts';
import type { NeighJson } from '../api-types.ts';
import { ArgError, CliError, EXIT_SERVICE, ServiceError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatNeigh } from '../format/inet.ts';
import { NEIGH_HELP } from '../help.ts';
import { parseIfname, parseLladdr } from '../values.ts';
import { onDevice } from './device.ts';
import { parseIpv4 } from './inet-values.ts';

const TOPIC = 'neigh';

export async function neighCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'lst': case 'ls':
      return neighShow(ctx, words);
    case 'add': case 'replace': case 'change':
      return neighAdd(ctx, words);
    case 'del': case 'delete':
      return neighDel(ctx, words);
    case 'flush':
      return neighFlush(ctx, words);
    case 'help':
      print(ctx, NEIGH_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown`, TOPIC);
  }
}

async function neighShow(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  let list = await ctx.client.get<NeighJson[]>('/v1/neighbours');
  if (dev !== undefined) list = list.filter((n) => n.dev === dev);
  if (ctx.opts.json) printJson(ctx, list);
  else print(ctx, list.map((n) => formatNeigh(n, dev === undefined)).join(''));
}

function neighArgs(words: Words, verb: string, needLladdr: boolean): { dst: string; dev: string; lladdr?: string } {
  let dst: string | undefined;
  let dev: string | undefined;
  let lladdr: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = parseIfname(words.value(w), 'dev', TOPIC);
    else if (w === 'lladdr' && needLladdr) lladdr = parseLladdr(words.value(w), TOPIC);
    else if (w === 'nud' && needLladdr) {
      const state = words.value(w);
      if (state !== 'permanent') words.fail(`only "nud permanent" entries can be added, not "${state}"`);
    } else if (w === 'to') dst = parseIpv4(words.value(w), w, TOPIC);
    else if (dst === undefined) dst = parseIpv4(w, 'to', TOPIC);
    else words.garbage(w);
  }
  if (dst === undefined) words.fail(`"neigh ${verb}" needs an address`);
  if (dev === undefined) words.fail('Device and destination are required arguments.');
  if (needLladdr && lladdr === undefined) words.fail('"neigh add" needs "lladdr MAC"');
  return { dst, dev, ...(lladdr === undefined ? {} : { lladdr }) };
}

async function neighAdd(ctx: Context, words: Words): Promise<void> {
  const body = neighArgs(words, 'add', true);
  const made = await onDevice(body.dev, ctx.client.post<unknown>('/v1/neighbours', { body, style: 'rtnetlink' }));
  if (ctx.opts.json) printJson(ctx, made);
}

async function neighDel(ctx: Context, words: Words): Promise<void> {
  const q = neighArgs(words, 'del', false);
  try {
    await onDevice(q.dev, ctx.client.delete<unknown>('/v1/neighbours', { query: { dst: q.dst, dev: q.dev }, style: 'rtnetlink' }));
  } catch (err) {
    // ip neigh del of an entry that is not there: "RTNETLINK answers: No such file or directory", exit 2.
    if (err instanceof ServiceError && err.problem.errno === 'ENOENT') throw new CliError('RTNETLINK answers: No such file or directory', EXIT_SERVICE);
    throw err;
  }
}

async function neighFlush(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  if (dev === undefined) words.fail('Flush requires arguments.');
  const r = await onDevice(dev, ctx.client.delete<{ flushed: number }>('/v1/neighbours', { query: { dev }, style: 'rtnetlink' }));
  if (ctx.opts.json) printJson(ctx, r);
}
