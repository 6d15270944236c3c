// `netstackctl bridge fdb show|add|del`, as bridge(8): the forwarding tables
// of bridges and vxlan devices through /v1/devices/{name}/fdb. "dev PORT"
// names a bridge port (the entry lives in its bridge's table, `master`), the
// bridge itself, or a vxlan device (its own table, `self`).

import { Words } from '../args.ts';
import type { DeviceJson, FdbJson } from '../api-types.ts';
import { ArgError, CliError, EXIT_LOOKUP } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { BRIDGE_HELP } from '../help.ts';
import { parseIfname, parseLladdr } from '../values.ts';
import { devicePath, onDevice } from './device.ts';
import { fetchDevices } from './link.ts';

const TOPIC = 'bridge';

export async function bridgeCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const object = words.next();
  if (object === 'help' || object === undefined) {
    print(ctx, BRIDGE_HELP);
    return;
  }
  if (object !== 'fdb') throw new ArgError(`Object "${object}" is unknown, try "bridge help".`, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'lst': case 'ls':
      return fdbShow(ctx, words);
    case 'add': case 'append': case 'replace':
      return fdbChange(ctx, words, 'add');
    case 'del': case 'delete':
      return fdbChange(ctx, words, 'del');
    case 'help':
      print(ctx, BRIDGE_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown, try "bridge fdb help".`, TOPIC);
  }
}

/** A table and whose it is: a bridge's rows say `master BR`, a vxlan device's `self`. */
interface Table {
  owner: DeviceJson;
  rows: FdbJson[];
}

function hasTable(d: DeviceJson): boolean {
  return d.kind === 'bridge' || d.kind === 'vxlan';
}

async function tableOf(ctx: Context, owner: DeviceJson): Promise<Table> {
  const rows = await onDevice(owner.ifname, ctx.client.get<FdbJson[]>(devicePath(owner.ifname, '/fdb')));
  return { owner, rows };
}

/** bridge(8)'s line: `MAC dev X [dst D] master BR|self [permanent|static]` (learned entries have no state word). */
export function formatFdbRow(row: FdbJson, owner: DeviceJson): string {
  let line = `${row.mac} dev ${row.ifname}`;
  if (row.dst !== undefined) line += ` dst ${row.dst}`;
  line += owner.kind === 'bridge' ? ` master ${owner.ifname}` : ' self';
  if (row.state !== 'learned') line += ` ${row.state}`;
  return line;
}

async function fdbShow(ctx: Context, words: Words): Promise<void> {
  let dev: string | undefined;
  let br: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value(w);
    else if (w === 'br' || w === 'brport') {
      if (w === 'br') br = words.value(w);
      else dev = words.value(w);
    } else if (dev === undefined) dev = w;
    else words.garbage(w);
  }
  const devices = await fetchDevices(ctx);
  const byName = new Map(devices.map((d) => [d.ifname, d]));
  let owners = devices.filter(hasTable);
  let only: string | undefined;
  if (br !== undefined) {
    const b = byName.get(br);
    if (b === undefined) throw new CliError(`Cannot find bridge device "${br}"`, EXIT_LOOKUP);
    owners = [b];
  }
  if (dev !== undefined) {
    const d = byName.get(dev);
    if (d === undefined) throw new CliError(`Cannot find device "${dev}"`, EXIT_LOOKUP);
    const owner = d.master !== undefined ? byName.get(d.master) : hasTable(d) ? d : undefined;
    owners = owner === undefined ? [] : owners.filter((o) => o === owner);
    only = dev;
  }
  const tables = await Promise.all(owners.map((o) => tableOf(ctx, o)));
  const pick = (t: Table): FdbJson[] => (only === undefined ? t.rows : t.rows.filter((r) => r.ifname === only));
  if (ctx.opts.json) {
    printJson(ctx, tables.flatMap((t) => pick(t).map((r) => (t.owner.kind === 'bridge' ? { ...r, master: t.owner.ifname } : r))));
    return;
  }
  let out = '';
  for (const t of tables) for (const r of pick(t)) out += formatFdbRow(r, t.owner) + '\n';
  print(ctx, out);
}

async function fdbChange(ctx: Context, words: Words, op: 'add' | 'del'): Promise<void> {
  let mac: string | undefined;
  let dev: string | undefined;
  let dst: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = parseIfname(words.value(w), 'dev', TOPIC);
    else if (w === 'dst') dst = words.value(w);
    // bridge(8)'s flags for where the entry goes and what it is: the device decides here.
    else if (w === 'master' || w === 'self' || w === 'static' || w === 'dynamic') continue;
    else if (mac === undefined) mac = parseLladdr(w, TOPIC);
    else words.garbage(w);
  }
  if (mac === undefined) words.fail(`"fdb ${op}" needs a link-layer address`);
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  const d = await onDevice(dev, ctx.client.get<DeviceJson>(devicePath(dev), { query: { stats: 0 } }));
  const owner = d.master ?? d.ifname;
  let result: unknown;
  if (op === 'add') {
    const body: Record<string, unknown> = { mac, ifname: d.ifname };
    if (dst !== undefined) body.dst = dst;
    result = await onDevice(owner, ctx.client.post<unknown>(devicePath(owner, '/fdb'), { body, style: 'rtnetlink' }));
  } else {
    result = await onDevice(owner, ctx.client.delete<unknown>(devicePath(owner, '/fdb'), { query: { mac, dst }, style: 'rtnetlink' }));
  }
  if (ctx.opts.json) printJson(ctx, result);
}
