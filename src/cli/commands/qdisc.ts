// `netstackctl qdisc show [dev X]` and `qdisc replace dev X root KIND [limit N]`,
// as tc: GET and PUT /v1/devices/{name}/qdisc.

import { Words } from '../args.ts';
import { ArgError } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { QDISC_HELP } from '../help.ts';
import { parseUint } from '../values.ts';
import { formatQdisc, type QdiscJson } from '../format/qdisc.ts';
import { devicePath, onDevice } from './device.ts';
import { fetchDevices } from './link.ts';

const TOPIC = 'qdisc';
const KINDS = ['pfifo_fast', 'pfifo', 'bfifo', 'noqueue'];

export async function qdiscCommand(ctx: Context, args: string[]): Promise<void> {
  const words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'ls':
      return qdiscShow(ctx, words);
    case 'replace': case 'add': case 'change':
      return qdiscReplace(ctx, words);
    case 'help':
      print(ctx, QDISC_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown, try "netstackctl qdisc help".`, TOPIC);
  }
}

async function qdiscShow(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  let qdiscs: QdiscJson[];
  if (dev !== undefined) {
    qdiscs = [await onDevice(dev, ctx.client.get<QdiscJson>(devicePath(dev, '/qdisc')))];
  } else {
    // As tc: devices whose qdisc is active (up with carrier) or one the user attached.
    const devices = await fetchDevices(ctx);
    const all = await Promise.all(devices.map((d) => ctx.client.get<QdiscJson & { refcnt?: number }>(devicePath(d.ifname, '/qdisc'))));
    qdiscs = all.filter((q, i) => q.handle !== '0:' || devices[i]!.flags.includes('LOWER_UP'));
  }
  if (ctx.opts.json) {
    printJson(ctx, qdiscs);
    return;
  }
  print(ctx, qdiscs.map((q) => formatQdisc(q, { stats: ctx.opts.stats > 0, withDev: dev === undefined })).join(''));
}

async function qdiscReplace(ctx: Context, words: Words): Promise<void> {
  let dev: string | undefined;
  let kind: string | undefined;
  let limit: number | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value(w);
    else if (w === 'root') continue;
    else if (w === 'limit') limit = parseUint(words.value(w), 'limit', TOPIC);
    else if (KINDS.includes(w) && kind === undefined) kind = w;
    else words.fail(`What is "${w}"? Only "root" qdiscs of kind ${KINDS.join(', ')} are known.`);
  }
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  if (kind === undefined) words.fail(`"qdisc replace" needs a kind: ${KINDS.join(', ')}`);
  const body = limit === undefined ? { kind } : { kind, limit };
  const q = await onDevice(dev, ctx.client.request<QdiscJson>('PUT', devicePath(dev, '/qdisc'), { body }));
  if (ctx.opts.json) printJson(ctx, q);
}
