// `netstackctl link ...`: ip link's show, add, set and del, over
// GET/POST/PATCH/DELETE /v1/devices. Each mutating command is one request,
// so the service validates the whole change before applying any of it.

import { SeenKeywords, Words } from '../args.ts';
import type { DeviceJson } from '../api-types.ts';
import { ArgError, CliError, EXIT_LOOKUP } from '../errors.ts';
import { type Context, print, printJson } from '../context.ts';
import { formatLink, formatLinkBrief } from '../format/link.ts';
import { LINK_HELP } from '../help.ts';
import { parseIfname, parseLladdr, parseOnOff, parseUint } from '../values.ts';
import { devicePath, onDevice } from './device.ts';
import { type NetemBody, parseNetem } from './netem.ts';

const TOPIC = 'link';

export async function linkCommand(ctx: Context, args: string[]): Promise<void> {
  const words: Words = new Words(args, TOPIC);
  const verb = words.next() ?? 'show';
  switch (verb) {
    case 'show': case 'list': case 'lst': case 'ls':
      return linkShow(ctx, words);
    case 'add': case 'create':
      return linkAdd(ctx, words);
    case 'set': case 'change':
      return linkSet(ctx, words);
    case 'del': case 'delete':
      return linkDel(ctx, words);
    case 'help':
      print(ctx, LINK_HELP);
      return;
    default:
      throw new ArgError(`Command "${verb}" is unknown`, TOPIC);
  }
}

export async function fetchDevices(ctx: Context): Promise<DeviceJson[]> {
  return ctx.client.get<DeviceJson[]>('/v1/devices');
}

async function linkShow(ctx: Context, words: Words): Promise<void> {
  let dev: string | undefined;
  let upOnly = false;
  let kind: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value('dev');
    else if (w === 'up') upOnly = true;
    else if (w === 'type') kind = words.value('type');
    else if (dev === undefined) dev = w;
    else words.garbage(w);
  }
  const all = await fetchDevices(ctx);
  let shown = all;
  if (dev !== undefined) {
    shown = all.filter((d) => d.ifname === dev || String(d.ifindex) === dev);
    if (shown.length === 0) throw new CliError(`Device "${dev}" does not exist.`, EXIT_LOOKUP);
  }
  if (upOnly) shown = shown.filter((d) => d.flags.includes('UP'));
  if (kind !== undefined) shown = shown.filter((d) => (d.linkinfo?.info_kind ?? d.kind) === kind);
  if (ctx.opts.json) {
    printJson(ctx, shown);
    return;
  }
  const byName = new Map(all.map((d) => [d.ifname, d]));
  let out = '';
  for (const d of shown) {
    out += ctx.opts.brief ? formatLinkBrief(d, byName) : formatLink(d, byName, { stats: ctx.opts.stats, details: ctx.opts.details });
  }
  print(ctx, out);
}

/** Settings both `link add` and `link set` take; returns false for a word that is not one. */
function commonSetting(words: Words, key: string, body: Record<string, unknown>, seen: SeenKeywords): boolean {
  const topic = words.topic;
  switch (key) {
    case 'up': case 'down':
      seen.once('up/down', key);
      body.up = key === 'up';
      return true;
    case 'mtu': {
      const v = words.value(key);
      seen.once(key, v);
      body.mtu = parseUint(v, 'mtu', topic);
      return true;
    }
    case 'address': case 'addr': case 'lladdr': {
      const v = words.value(key);
      seen.once('address', v);
      body.address = parseLladdr(v, topic);
      return true;
    }
    case 'txqueuelen': case 'txqlen': case 'qlen': {
      const v = words.value(key);
      seen.once('txqueuelen', v);
      body.txqlen = parseUint(v, 'txqueuelen', topic);
      return true;
    }
    case 'promisc': {
      const v = words.value(key);
      seen.once(key, v);
      body.promisc = parseOnOff(v, key, topic);
      return true;
    }
    case 'allmulticast': case 'allmulti': {
      const v = words.value(key);
      seen.once('allmulticast', v);
      body.allmulti = parseOnOff(v, 'allmulticast', topic);
      return true;
    }
    case 'netem': {
      seen.once('netem', words.peek() ?? '');
      const netem: NetemBody | null = parseNetem(words);
      body.netem = netem;
      return true;
    }
    default:
      return false;
  }
}

const ADD_KINDS = ['veth', 'dummy', 'vlan', 'vxlan', 'bridge'];

async function linkAdd(ctx: Context, words: Words): Promise<void> {
  const body: Record<string, unknown> = {};
  const seen = new SeenKeywords(TOPIC);
  let name: string | undefined;
  let parent: string | undefined;
  let kind: string | undefined;
  while (!words.done && kind === undefined) {
    const w = words.next()!;
    if (w === 'type') {
      kind = words.value('type');
    } else if (w === 'name' || w === 'dev') {
      const v = words.value(w);
      seen.once('name', v);
      name = parseIfname(v, 'name', TOPIC);
    } else if (w === 'link') {
      const v = words.value(w);
      seen.once('link', v);
      parent = v;
    } else if (!commonSetting(words, w, body, seen)) {
      if (name !== undefined) words.garbage(w);
      name = parseIfname(w, 'name', TOPIC);
    }
  }
  if (kind === undefined) words.fail('"link add" needs "type" (veth, dummy, vlan, vxlan or bridge)');
  if (!ADD_KINDS.includes(kind)) words.fail(`unknown device type "${kind}" (veth, dummy, vlan, vxlan or bridge)`);
  body.kind = kind;
  if (name !== undefined) body.name = name;
  if (parent !== undefined && kind !== 'vlan') words.fail(`"link ${parent}" applies to type vlan only`);

  const remotes: string[] = [];
  while (!words.done) {
    const w = words.next()!;
    if (kind === 'veth' && w === 'peer') {
      if (words.peek() === 'name') words.next();
      const v = words.value('peer');
      seen.once('peer', v);
      body.peer = parseIfname(v, 'peer name', TOPIC);
    } else if ((kind === 'vlan' || kind === 'vxlan') && (w === 'id' || (kind === 'vxlan' && w === 'vni'))) {
      const v = words.value(w);
      seen.once('id', v);
      // The 12-bit field's range; the service refuses the reserved 0 and 4095 as the kernel does.
      const n = parseUint(v, w, TOPIC, kind === 'vlan' ? 4095 : 0xffffff);
      if (kind === 'vlan') body.id = n;
      else body.vni = n;
    } else if (kind === 'vxlan' && w === 'local') {
      const v = words.value(w);
      seen.once('local', v);
      body.local = hostPort(v, 'local');
    } else if (kind === 'vxlan' && w === 'remote') {
      remotes.push(hostPort(words.value(w), 'remote'));
    } else if (kind === 'bridge' && w === 'ageing_time') {
      // ip-link(8) takes centiseconds here; the service keeps seconds.
      const v = words.value(w);
      seen.once('ageing_time', v);
      body.ageing_time = Math.round(parseUint(v, w, TOPIC, 100_000_000) / 100);
    } else if (kind === 'vxlan' && (w === 'learning' || w === 'nolearning')) {
      seen.once('learning', w);
      body.learning = w === 'learning';
    } else if (!commonSetting(words, w, body, seen)) {
      words.garbage(w);
    }
  }
  if (kind === 'vlan') {
    if (parent === undefined) words.fail('type vlan needs "link PARENT"');
    if (body.id === undefined) words.fail('type vlan needs "id N"');
    body.link = parent;
  }
  if (kind === 'vxlan') {
    if (body.vni === undefined) words.fail('type vxlan needs "id VNI"');
    if (remotes.length > 0) body.remote = remotes;
  }
  const request = ctx.client.post<unknown>('/v1/devices', { body, style: 'rtnetlink' });
  const created = parent !== undefined ? await onDevice(parent, request) : await request;
  if (ctx.opts.json) printJson(ctx, created);
}

/** `HOST:PORT` (the port may be left out: VXLAN's 4789 is the service's default). */
function hostPort(value: string, what: string): string {
  const m = /^(\[[0-9a-f:.]+\]|[^:\s]+)(?::([0-9]{1,5}))?$/i.exec(value);
  if (m === null || (m[2] !== undefined && Number(m[2]) > 65535)) {
    throw new ArgError(`argument "${value}" is wrong: "${what}" takes HOST:PORT`, TOPIC);
  }
  return value;
}

async function linkSet(ctx: Context, words: Words): Promise<void> {
  const body: Record<string, unknown> = {};
  const seen = new SeenKeywords(TOPIC);
  let dev: string | undefined;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') {
      const v = words.value(w);
      seen.once('dev', v);
      dev = v;
    } else if (w === 'name') {
      const v = words.value(w);
      seen.once('name', v);
      body.name = parseIfname(v, 'name', TOPIC);
    } else if (w === 'master') {
      const v = words.value(w);
      seen.once('master', v);
      body.master = parseIfname(v, 'master', TOPIC);
    } else if (w === 'nomaster') {
      seen.once('master', w);
      body.master = null;
    } else if (!commonSetting(words, w, body, seen)) {
      if (dev !== undefined) words.garbage(w);
      dev = w;
    }
  }
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  if (Object.keys(body).length === 0) words.fail(`nothing to change on "${dev}" (up, down, mtu, address, promisc, allmulticast, txqueuelen, name, master, nomaster, netem)`);
  const updated = await onDevice(dev, ctx.client.patch<unknown>(devicePath(dev), { body, style: 'rtnetlink' }));
  if (ctx.opts.json) printJson(ctx, updated);
}

async function linkDel(ctx: Context, words: Words): Promise<void> {
  const dev = words.deviceOnly();
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  const deleted = await onDevice(dev, ctx.client.delete<unknown>(devicePath(dev), { style: 'rtnetlink' }));
  if (ctx.opts.json && deleted !== undefined) printJson(ctx, deleted);
}
