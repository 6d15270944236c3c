// GET /v1/events: the stack's changes as they happen, like `ip monitor`, and
// stats snapshots at the rate the client asks for.
//
//   ?types=link,socket   which changes to receive (default all: link, addr,
//                        route, neigh, socket); types= (empty) asks for none
//   ?stats_ms=1000       a {type:"stats"} snapshot every stats_ms (250..60000);
//                        none unless asked
//
// Server to client, JSON text messages:
//   {type:"link"|"addr"|"route"|"neigh"|"socket", action:"new"|"del"|"change", object}
//     object: the resource as its REST route shows it (a link as GET
//     /v1/devices/{name}, a socket as GET /v1/sockets lists it), taken when
//     the change happened. Changes arrive once each, in the order the stack
//     made them.
//   {type:"stats", ts, devices:[...], sockets:[...], stack:{...}}
//
// A slow client: each change is serialized once for every client and handed
// to ws. While more than `statsHighWater` bytes wait unsent, stats snapshots
// are skipped (the next one says how many in `skipped`). Changes are never
// skipped, since a list kept from them would silently go wrong; when more than
// `maxBuffered` bytes wait, the client is closed with 1013 and the reason says
// ENOBUFS, as netlink reports an overrun: it reconnects and reads the lists
// again. So a client costs at most maxBuffered, whatever it does.

import { z } from 'zod';
import type { WebSocket } from 'ws';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { STACK_EVENT_TYPES, type NetStack, type StackEventObjects, type StackEventType, type StackEventListener } from '../../stack/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { NetError } from '../../errno.ts';
import { deviceOut } from '../http/routes/devices.ts';
import { allSockets, socketOut } from '../http/routes/sockets.ts';
import { stackOut } from '../http/routes/stack.ts';

export const EVENTS_PATH = '/v1/events';
export const MIN_STATS_MS = 250;
export const MAX_STATS_MS = 60_000;
export const DEFAULT_EVENT_CLIENTS = 64;
export const DEFAULT_EVENTS_MAX_BUFFERED = 4 * 1024 * 1024;
export const DEFAULT_STATS_HIGH_WATER = 256 * 1024;

/** Close codes of the events stream. */
export const EVENTS_CLOSE = { GOING_AWAY: 1001, TOO_SLOW: 1013 } as const;

export const EventsQuerystring = z.object({
  types: z
    .string()
    .regex(/^((link|addr|route|neigh|socket)(,(link|addr|route|neigh|socket))*)?$/, {
      message: 'expected a comma-separated list of link, addr, route, neigh, socket',
    })
    .optional()
    .describe('Changes to receive, comma-separated: link, addr, route, neigh, socket (default all; empty for none).'),
  stats_ms: z
    .string()
    .regex(/^[0-9]{1,6}$/, { message: 'expected milliseconds, a decimal integer' })
    .transform(Number)
    .pipe(z.number().int().min(MIN_STATS_MS, { message: `stats_ms is at least ${MIN_STATS_MS}` }).max(MAX_STATS_MS, { message: `stats_ms is at most ${MAX_STATS_MS}` }))
    .optional()
    .describe(`A {type:"stats"} snapshot every stats_ms milliseconds (${MIN_STATS_MS}..${MAX_STATS_MS}); none when absent.`),
});

export interface EventsPluginOptions {
  stack: NetStack;
  maxClients?: number;
  /** Bytes waiting in a client's ws after which it is closed (changes would be lost). */
  maxBuffered?: number;
  /** Bytes waiting after which stats snapshots are skipped. */
  statsHighWater?: number;
  /** For stackOut's uptime. */
  startedAt?: number;
  /** Ping interval. Default 30 s. */
  heartbeatMs?: number;
}

/** The API shape of an event's object, built once per event for every client. */
function eventObject<T extends StackEventType>(type: T, object: StackEventObjects[T]): unknown {
  switch (type) {
    case 'link':
      return deviceOut(object as StackEventObjects['link']);
    case 'socket':
      return socketOut(object as StackEventObjects['socket']);
    default:
      // addr, route and neigh producers publish plain API-shaped objects.
      return object;
  }
}

/** A snapshot younger than this is sent again rather than built again. */
const SNAPSHOT_REUSE_MS = 50;

/** The body of one stats snapshot (without type and skipped): what the console's rates and gauges need, in the REST shapes. */
export function statsSnapshot(stack: NetStack, startedAt: number): string {
  const st = stackOut(stack, startedAt);
  return JSON.stringify({
    ts: stack.clock.wallNow(),
    devices: stack.devices.list().map((dev) => {
      const d = deviceOut(dev);
      return { ifindex: d.ifindex, ifname: d.ifname, operstate: d.operstate, mtu: d.mtu, txqlen: d.txqlen, stats64: d.stats64, queue: d.queue };
    }),
    sockets: allSockets(stack),
    stack: { skb: st.skb, backlog: st.backlog, drops: st.drops, drops_total: st.drops_total },
  });
}

class EventsClient {
  statsSkipped = 0;
  /** Answered the last ping (heartbeat). */
  alive = true;
  private timer: NodeJS.Timeout | null = null;
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly types: ReadonlySet<StackEventType>,
    private readonly maxBuffered: number,
    private readonly statsHighWater: number,
    /** Called once when the client is done with, however it ended. */
    private readonly onGone: (client: EventsClient) => void,
  ) {}

  startStats(ms: number, snapshot: (skipped: number) => string): void {
    this.timer = setInterval(() => {
      if (this.closed) return;
      if (this.ws.bufferedAmount > this.statsHighWater) {
        this.statsSkipped++;
        return;
      }
      const skipped = this.statsSkipped;
      this.statsSkipped = 0;
      this.ws.send(snapshot(skipped));
    }, ms);
  }

  /** A change: sent, or the client closed when it is too far behind. */
  change(message: string): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount + message.length > this.maxBuffered) {
      this.close(EVENTS_CLOSE.TOO_SLOW, 'ENOBUFS: events were lost because the client read too slowly; reconnect and list again');
      return;
    }
    this.ws.send(message);
  }

  /**
   * The close frame waits behind what is already buffered; ws destroys the
   * connection if the peer does not answer it in 30 s. The client stops
   * costing anything new at once.
   */
  close(code: number, reason: string): void {
    this.dispose();
    this.ws.close(code, reason);
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.onGone(this);
  }
}

const eventsRoutes: FastifyPluginAsyncZod<EventsPluginOptions> = async function eventsRoutes(app, opts) {
  const { stack } = opts;
  const maxClients = opts.maxClients ?? DEFAULT_EVENT_CLIENTS;
  const maxBuffered = opts.maxBuffered ?? DEFAULT_EVENTS_MAX_BUFFERED;
  const statsHighWater = opts.statsHighWater ?? DEFAULT_STATS_HIGH_WATER;
  const startedAt = opts.startedAt ?? stack.clock.now();
  const clients = new Set<EventsClient>();
  let unsubscribe: (() => void) | null = null;

  // A peer that vanished without a close would keep its slot: ping every 30 s,
  // drop one that did not answer the previous ping (as the frame streams do).
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.dispose();
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));

  // Clients with the same period ask at about the same moments: one snapshot serves all of a moment.
  let lastSnapshot: { at: number; body: string } | null = null;
  const snapshot = (skipped: number): string => {
    const now = stack.clock.now();
    if (lastSnapshot === null || now - lastSnapshot.at > SNAPSHOT_REUSE_MS) lastSnapshot = { at: now, body: statsSnapshot(stack, startedAt) };
    return `{"type":"stats","skipped":${skipped},${lastSnapshot.body.slice(1)}`;
  };

  // One listener on the bus while anyone listens; none (and no cost in the stack) otherwise.
  const onEvent: StackEventListener = (type, action, object) => {
    let message: string | null = null;
    for (const c of clients) {
      if (!c.types.has(type)) continue;
      message ??= JSON.stringify({ type, action, object: eventObject(type, object) });
      c.change(message);
    }
  };
  const remove = (c: EventsClient): void => {
    clients.delete(c);
    if (clients.size === 0 && unsubscribe !== null) {
      unsubscribe();
      unsubscribe = null;
    }
  };

  app.addHook('preClose', async () => {
    for (const c of [...clients]) c.close(EVENTS_CLOSE.GOING_AWAY, 'server shutting down');
  });

  app.route({
    method: 'GET',
    url: EVENTS_PATH,
    // The edge (api/http/edge.ts) lets a WebSocket upgrade through to stream routes only.
    config: { websocketRoute: true },
    schema: { querystring: EventsQuerystring, hide: true },
    preHandler: async (request) => {
      if (!request.ws) return;
      if (clients.size >= maxClients) throw new NetError('EAGAIN', `${maxClients} event streams are open, the most this server allows; try again later`);
    },
    // A plain GET: this route speaks only WebSocket.
    handler: async (request, reply) => {
      reply.header('upgrade', 'websocket').header('connection', 'Upgrade');
      return sendProblem(reply, problem(request, 426, 'EPROTO', 'this route is a WebSocket: send Connection: Upgrade and Upgrade: websocket'));
    },
    wsHandler: (ws, request) => {
      const q = request.query;
      const types = new Set<StackEventType>(
        q.types === undefined ? STACK_EVENT_TYPES : q.types === '' ? [] : (q.types.split(',') as StackEventType[]),
      );
      const client = new EventsClient(ws, types, maxBuffered, statsHighWater, remove);
      clients.add(client);
      if (unsubscribe === null) unsubscribe = stack.events.subscribe(onEvent);
      if (q.stats_ms !== undefined) client.startStats(q.stats_ms, snapshot);
      ws.on('close', () => client.dispose());
      ws.on('pong', () => {
        client.alive = true;
      });
      ws.on('error', () => client.dispose());
    },
  });
};

export default eventsRoutes;
