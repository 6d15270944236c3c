// `netstackctl addr show [dev X] | add A/N dev X [brd B] [label L] | del A/N dev X`,
// as `ip addr`, over GET /v1/addresses and /v1/devices/{name}/addresses.

import { Words } from '../args.ts';
import type { DeviceJson, IfAddrJson } from '../api-types.ts';
import { ArgError, CliError, EXIT_LOOKUP } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatAddr } from '../format/inet.ts';
import { ADDR_HELP } from '../help.ts';
import { parseIfname } from '../values.ts';
import { devicePath, onDevice } from './device.ts';
import { fetchDevices } from './link.ts';
import { parseIpv4, parsePrefix } from './inet-values.ts';

const TOPIC = 'addr';

export async function addrCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'lst': case 'ls':
      return addrShow(ctx, words);
    case 'add':
      return addrAdd(ctx, words);
    case 'del': case 'delete':
      return addrDel(ctx, words);
    case 'help':
      print(ctx, ADDR_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown`, TOPIC);
  }
}

async function addrShow(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  const [all, devices] = await Promise.all([ctx.client.get<IfAddrJson[]>('/v1/addresses'), ctx.opts.json ? Promise.resolve([]) : fetchDevices(ctx)]);
  let shown = all;
  if (dev !== undefined) {
    shown = all.filter((a) => a.ifname === dev);
    if (shown.length === 0) throw new CliError(`Device "${dev}" does not exist.`, EXIT_LOOKUP);
  }
  if (ctx.opts.json) {
    printJson(ctx, shown);
    return;
  }
  const byName = new Map<string, DeviceJson>(devices.map((d) => [d.ifname, d]));
  print(ctx, shown.map((a) => formatAddr(a, byName.get(a.ifname), byName)).join(''));
}

/** `A/N dev X [brd B] [label L]`, in any order, as ip takes them. */
function addrArgs(words: Words, verb: string): { address: string; dev: string; broadcast?: string; label?: string } {
  let address: string | undefined;
  let dev: string | undefined;
  let broadcast: string | undefined;
  let label: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = parseIfname(words.value(w), 'dev', TOPIC);
    else if (w === 'brd' || w === 'broadcast') broadcast = parseIpv4(words.value(w), w, TOPIC);
    else if (w === 'label') label = words.value(w);
    else if (w === 'local') address = parsePrefix(words.value(w), 'local', TOPIC);
    else if (address === undefined) address = parsePrefix(w, 'local', TOPIC);
    else words.garbage(w);
  }
  if (address === undefined) words.fail(`"addr ${verb}" needs an address (A.B.C.D/N)`);
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  return { address, dev, ...(broadcast === undefined ? {} : { broadcast }), ...(label === undefined ? {} : { label }) };
}

async function addrAdd(ctx: Context, words: Words): Promise<void> {
  const { dev, ...body } = addrArgs(words, 'add');
  const added = await onDevice(dev, ctx.client.post<unknown>(devicePath(dev, '/addresses'), { body, style: 'rtnetlink' }));
  if (ctx.opts.json) printJson(ctx, added);
}

async function addrDel(ctx: Context, words: Words): Promise<void> {
  const { dev, address } = addrArgs(words, 'del');
  await onDevice(dev, ctx.client.delete<unknown>(devicePath(dev, `/addresses/${encodeURIComponent(address)}`), { style: 'rtnetlink' }));
}
