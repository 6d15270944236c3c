// `netstackctl monitor [ all | link | socket | addr | route | neigh ]... [ label ]`:
// the service's changes as `ip monitor` prints them, from the /v1/events
// WebSocket, until Ctrl-C or the server closes the stream. A link prints as
// `ip link show` does, a removed object with "Deleted " before it (as
// ipmonitor.c does for RTM_DELLINK); `label` puts ip's [LINK] banner first;
// -j prints each event's JSON as the service sent it. A UDP or TCP socket
// prints ss's columns (Netid State Local Peer), once when it opens, at each
// TCP state change, and "Deleted " when it is gone, the way `ss -E` reports
// a socket's end.

import WebSocket from 'ws';
import type { DeviceJson } from '../api-types.ts';
import { problemError, unreachableError } from '../client.ts';
import { CliError, EXIT_SERVICE } from '../errors.ts';
import { type Context, print } from '../context.ts';
import { formatLink } from '../format/link.ts';
import { Words } from '../args.ts';

const TOPIC = 'monitor';
const OBJECTS = ['link', 'addr', 'route', 'neigh', 'socket'] as const;
type MonitorObject = (typeof OBJECTS)[number];
/** How long to wait for the server's close frame after ours. */
const CLOSE_GRACE_MS = 2000;

export const MONITOR_HELP = `Usage: netstackctl monitor [ all | OBJECT ]... [ label ]
OBJECT := link | socket | addr | route | neigh

Prints every change the service makes, as ip monitor does, until Ctrl-C:
a link as "ip link show" prints it, a removed one after "Deleted ";
a UDP or TCP socket as ss's Netid, State, Local and Peer columns, again at
each TCP state change (LISTEN, SYN-SENT, ESTAB, FIN-WAIT-1, TIME-WAIT, ...).
"label" starts each line with the object, as [LINK]. -j prints the events' JSON.
`;

interface EventMessage {
  type: MonitorObject;
  action: 'new' | 'del' | 'change';
  object: Record<string, unknown>;
}

interface SocketJson {
  id: number;
  family?: string;
  type?: string;
  /** Packet sockets. */
  device?: string | null;
  protocol?: string;
  owner?: string;
  /** Inet sockets. */
  state?: string;
  local?: string;
  peer?: string;
  service?: string;
}

/** ss's Netid for an inet socket row. */
function netid(s: SocketJson): string {
  return s.type === 'stream' ? 'tcp' : 'udp';
}

/** One event as ip monitor would print it; ends with a newline. */
export function formatEvent(msg: EventMessage, byName: Map<string, DeviceJson>, label: boolean): string {
  const banner = label ? `[${msg.type.toUpperCase()}]` : '';
  const deleted = msg.action === 'del' ? 'Deleted ' : '';
  if (msg.type === 'link') {
    const dev = msg.object as unknown as DeviceJson;
    if (msg.action === 'del') byName.delete(dev.ifname);
    else byName.set(dev.ifname, dev);
    return banner + deleted + formatLink(dev, byName, { stats: 0, details: false });
  }
  if (msg.type === 'socket') {
    const s = msg.object as unknown as SocketJson;
    if (s.family === 'inet') {
      const service = s.service ? ` service ${s.service}` : '';
      return `${banner}${deleted}socket ${s.id}: ${netid(s)} ${s.state} ${s.local} ${s.peer}${service}\n`;
    }
    const owner = s.owner ? ` owner "${s.owner}"` : '';
    return `${banner}${deleted}socket ${s.id}: packet dev ${s.device ?? '*'} protocol ${s.protocol}${owner}\n`;
  }
  // Addresses, routes and neighbours print their JSON until their ip layouts land here.
  return `${banner}${deleted}${msg.type} ${JSON.stringify(msg.object)}\n`;
}

function parseMonitorArgs(words: Words): { types: MonitorObject[]; label: boolean } {
  const types = new Set<MonitorObject>();
  let label = false;
  while (!words.done) {
    const w = words.next()!;
    if (w === 'all') for (const o of OBJECTS) types.add(o);
    else if (w === 'label') label = true;
    else if ((OBJECTS as readonly string[]).includes(w)) types.add(w as MonitorObject);
    else if (w === 'address') types.add('addr');
    else if (w === 'neighbour' || w === 'neighbor') types.add('neigh');
    else words.garbage(w);
  }
  return { types: types.size === 0 ? [...OBJECTS] : [...types], label };
}

export async function monitorCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, MONITOR_HELP);
    return;
  }
  const { types, label } = parseMonitorArgs(new Words(args, TOPIC));
  const ws = new WebSocket(ctx.client.wsUrl('/v1/events', { types: types.join(',') }), { headers: ctx.client.headers(), perMessageDeflate: false });
  const byName = new Map<string, DeviceJson>();
  let closing = false;
  let failure: Error | undefined;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'done');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    } else ws.terminate();
  };
  ctx.interrupt.addEventListener('abort', stop);
  const closed = new Promise<[number, Buffer]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason])));
  ws.on('unexpected-response', (_req, res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      void problemError(new Response(body === '' ? null : body, { status: res.statusCode ?? 0 }), 'plain').then((err) => {
        failure = err;
        closing = true;
        ws.terminate();
      });
    });
  });
  ws.on('error', (err: Error) => {
    if (failure !== undefined) return;
    failure = unreachableError(ctx.client.base, err) ?? new CliError(`netstackctl: event stream error: ${err.message}`, EXIT_SERVICE);
  });
  ws.on('message', (raw, isBinary) => {
    if (closing || isBinary) return;
    const text = raw.toString();
    if (ctx.opts.json) {
      print(ctx, text + '\n');
      return;
    }
    let msg: EventMessage;
    try {
      msg = JSON.parse(text) as EventMessage;
    } catch {
      return;
    }
    if (!(OBJECTS as readonly string[]).includes(msg.type)) return;
    print(ctx, formatEvent(msg, byName, label));
  });
  const [code, reason] = await closed;
  ctx.interrupt.removeEventListener('abort', stop);
  if (failure !== undefined) throw failure;
  if (!closing && code !== 1000) {
    const why = reason.length > 0 ? `: ${reason.toString('utf8')}` : '';
    throw new CliError(`netstackctl: the server closed the event stream (code ${code}${why})`, EXIT_SERVICE);
  }
}
