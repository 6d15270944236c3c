// `netstackctl capture dev X`: like tcpdump -e -n. Without -w, frames come
// over the WebSocket stream and print one decoded line each; with -w, the
// HTTP capture route's pcapng (or pcap) is written to a file or to stdout
// (never to a terminal). Either way -c N stops after N packets, Ctrl-C stops
// cleanly, socket drops are reported on stderr, and a summary line ends it.

import { Words } from '../args.ts';
import { type Context, print } from '../context.ts';
import { CAPTURE_HELP } from '../help.ts';
import { parseUint } from '../values.ts';
import type { CaptureArgs } from '../capture/common.ts';
import { captureLive } from '../capture/live.ts';
import { captureToFile } from '../capture/to-file.ts';

const TOPIC = 'capture';

function parseCaptureArgs(words: Words): CaptureArgs {
  let dev: string | undefined;
  let count: number | undefined;
  let file: string | undefined;
  let format: 'pcap' | 'pcapng' = 'pcapng';
  let direction: 'in' | 'out' | 'both' = 'both';
  let promisc = false;
  let protocol: string | undefined;
  let durationS: number | undefined;
  let rcvbuf: number | undefined;
  while (!words.done) {
    const w = words.next()!;
    const [flag, inline] = w.startsWith('--') && w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
    const value = (): string => inline ?? words.value(flag);
    if (flag === 'dev' || flag === '-i') dev = value();
    else if (flag === '-c' || flag === '--count' || flag === 'count') {
      count = parseUint(value(), 'count', TOPIC);
      if (count === 0) words.fail('"-c" takes a count of at least 1');
    } else if (flag === '-w' || flag === '--write') file = value();
    else if (flag === '--format' || flag === 'format') {
      const v = value();
      if (v !== 'pcap' && v !== 'pcapng') words.fail(`argument "${v}" is wrong: "format" is pcap or pcapng`);
      format = v;
    } else if (flag === '--direction' || flag === 'direction' || flag === '-Q') {
      const v = value();
      if (v !== 'in' && v !== 'out' && v !== 'both' && v !== 'inout') words.fail(`argument "${v}" is wrong: "direction" is in, out or both`);
      direction = v === 'inout' ? 'both' : v;
    } else if (flag === '--promisc' || flag === 'promisc') promisc = true;
    else if (flag === '--protocol' || flag === 'protocol') {
      const v = value();
      if (v !== 'all' && !/^(0x[0-9a-f]{1,4}|[0-9]{1,5})$/i.test(v)) words.fail(`argument "${v}" is wrong: "protocol" is all or an EtherType such as 0x0806`);
      protocol = v;
    } else if (flag === '--duration' || flag === 'duration') durationS = parseUint(value(), 'duration', TOPIC);
    else if (flag === '--rcvbuf' || flag === 'rcvbuf' || flag === '-B') rcvbuf = parseUint(value(), 'rcvbuf', TOPIC, 2_147_483_647);
    else if (w.startsWith('-')) words.fail(`unknown option "${w}"`);
    else if (dev === undefined) dev = w;
    else words.garbage(w);
  }
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  return { dev, count, file, format, direction, promisc, protocol, durationS, rcvbuf };
}

export async function captureCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, CAPTURE_HELP);
    return;
  }
  const a = parseCaptureArgs(new Words(args, TOPIC));
  if (a.file !== undefined) await captureToFile(ctx, a);
  else await captureLive(ctx, a);
}
