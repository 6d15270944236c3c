// `netstackctl maddr add|del LLADDR dev X` and `maddr show [dev X]`, as
// `ip maddress`: the device's link-layer multicast list, changed with PATCH
// {multicast: {add|del}}.

import { Words } from '../args.ts';
import { ArgError, CliError, EXIT_LOOKUP } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { MADDR_HELP } from '../help.ts';
import { parseLladdr } from '../values.ts';
import { devicePath, onDevice } from './device.ts';
import { fetchDevices } from './link.ts';

const TOPIC = 'maddr';

export async function maddrCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'add': case 'del': case 'delete':
      return maddrChange(ctx, words, verb === 'add' ? 'add' : 'del');
    case 'show': case 'list': case 'lst': case 'ls':
      return maddrShow(ctx, words);
    case 'help':
      print(ctx, MADDR_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown`, TOPIC);
  }
}

async function maddrChange(ctx: Context, words: Words, op: 'add' | 'del'): Promise<void> {
  let addr: string | undefined;
  let dev: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value(w);
    else if (addr === undefined) addr = parseLladdr(w === 'address' ? words.value(w) : w, TOPIC);
    else words.garbage(w);
  }
  if (addr === undefined) words.fail(`"maddr ${op}" needs a link-layer multicast address`);
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  const body = { multicast: { [op]: [addr] } };
  const updated = await onDevice(dev, ctx.client.patch<unknown>(devicePath(dev), { body, style: 'rtnetlink' }));
  if (ctx.opts.json) printJson(ctx, updated);
}

async function maddrShow(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  let devices = await fetchDevices(ctx);
  if (dev !== undefined) {
    devices = devices.filter((d) => d.ifname === dev);
    if (devices.length === 0) throw new CliError(`Device "${dev}" does not exist.`, EXIT_LOOKUP);
  }
  if (ctx.opts.json) {
    printJson(ctx, devices.map((d) => ({ ifindex: d.ifindex, ifname: d.ifname, multicast: d.multicast ?? [] })));
    return;
  }
  // ip maddr's layout: "N:\tname" then "\tlink  ADDR[ users N]" per entry.
  let out = '';
  for (const d of devices) {
    out += `${d.ifindex}:\t${d.ifname}\n`;
    for (const m of d.multicast ?? []) out += `\tlink  ${m.address}${m.users !== undefined && m.users !== 1 ? ` users ${m.users}` : ''}\n`;
  }
  print(ctx, out);
}
