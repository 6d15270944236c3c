// `netstackctl ioctl dev X REQUEST [FIELD VALUE]...`: one interface ioctl
// through POST /v1/devices/X/ioctl, with struct ifreq's field names (the
// `ifr_` prefix may be left out), and the ifreq the service hands back.

import type { IoctlResultOut } from '../../api/http/schemas/ioctl.ts';
import { Words } from '../args.ts';
import { type Context, print, printJson } from '../context.ts';
import { IOCTL_HELP } from '../help.ts';
import { parseIfname, parseLladdr, parseUint } from '../values.ts';
import { devicePath, onDevice } from './device.ts';

const TOPIC = 'ioctl';

const REQUESTS = [
  'SIOCGIFFLAGS', 'SIOCSIFFLAGS', 'SIOCGIFMTU', 'SIOCSIFMTU', 'SIOCGIFHWADDR', 'SIOCSIFHWADDR', 'SIOCADDMULTI',
  'SIOCDELMULTI', 'SIOCGIFTXQLEN', 'SIOCSIFTXQLEN', 'SIOCSIFNAME', 'SIOCGIFINDEX', 'SIOCGIFMAP', 'SIOCSIFMAP',
];
const MAP_FIELDS = ['mem_start', 'mem_end', 'base_addr', 'irq', 'dma', 'port'];

/** A signed map field: -1 means "leave as it is". */
function mapValue(v: string): number {
  return v === '-1' ? -1 : parseUint(v, 'ifr_map', TOPIC);
}

export async function ioctlCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, IOCTL_HELP);
    return;
  }
  const words: Words = new Words(args, TOPIC);
  let dev: string | undefined;
  const body: Record<string, unknown> = {};
  const map: Record<string, number> = {};
  let family: number | undefined;
  while (!words.done) {
    const w = words.next()!;
    const key = w.replace(/^ifr_/, '');
    if (w === 'dev') dev = words.value(w);
    else if (REQUESTS.includes(w.toUpperCase())) {
      if (body.request !== undefined) words.garbage(w);
      body.request = w.toUpperCase();
    } else if (key === 'flags') {
      const v = words.value(w);
      body.ifr_flags = /^(0x[0-9a-f]+|[0-9]+)$/i.test(v) ? parseUint(v, 'ifr_flags', TOPIC) : v.split(',').map((f) => f.trim().toUpperCase());
    } else if (key === 'mtu') body.ifr_mtu = parseUint(words.value(w), 'ifr_mtu', TOPIC);
    else if (key === 'qlen' || key === 'txqlen') body.ifr_qlen = parseUint(words.value(w), 'ifr_qlen', TOPIC);
    else if (key === 'newname') body.ifr_newname = parseIfname(words.value(w), 'ifr_newname', TOPIC);
    else if (key === 'hwaddr') body.ifr_hwaddr = { sa_data: parseLladdr(words.value(w), TOPIC) };
    else if (key === 'family' || key === 'sa_family') family = parseUint(words.value(w), 'sa_family', TOPIC, 65535);
    else if (MAP_FIELDS.includes(key.replace(/^map\./, ''))) map[key.replace(/^map\./, '')] = mapValue(words.value(w));
    else if (dev === undefined && body.request === undefined) dev = w;
    else words.garbage(w);
  }
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  if (body.request === undefined) words.fail(`which ioctl? one of ${REQUESTS.join(', ')}`);
  if (family !== undefined) {
    if (body.ifr_hwaddr === undefined) words.fail('"family" goes with "hwaddr"');
    (body.ifr_hwaddr as Record<string, unknown>).sa_family = family;
  }
  if (Object.keys(map).length > 0) body.ifr_map = map;
  const result = await onDevice(dev, ctx.client.post<IoctlResultOut>(devicePath(dev, '/ioctl'), { body }));
  if (ctx.opts.json) {
    printJson(ctx, result);
    return;
  }
  print(ctx, formatIfreq(result));
}

export function formatIfreq(r: IoctlResultOut): string {
  let out = `${r.request} ifr_name ${r.ifr_name}\n`;
  if (r.ifr_flags !== undefined) out += `ifr_flags 0x${r.ifr_flags.toString(16)}${r.flags ? ` <${r.flags.join(',')}>` : ''}\n`;
  if (r.ifr_mtu !== undefined) out += `ifr_mtu ${r.ifr_mtu}\n`;
  if (r.ifr_hwaddr !== undefined) out += `ifr_hwaddr ${r.ifr_hwaddr.sa_data} sa_family ${r.ifr_hwaddr.sa_family}\n`;
  if (r.ifr_qlen !== undefined) out += `ifr_qlen ${r.ifr_qlen}\n`;
  if (r.ifr_newname !== undefined) out += `ifr_newname ${r.ifr_newname}\n`;
  if (r.ifr_ifindex !== undefined) out += `ifr_ifindex ${r.ifr_ifindex}\n`;
  if (r.ifr_map !== undefined) out += `ifr_map ${MAP_FIELDS.map((k) => `${k} ${(r.ifr_map as Record<string, number>)[k]}`).join(' ')}\n`;
  return out;
}
