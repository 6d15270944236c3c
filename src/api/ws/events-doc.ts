// GET /v1/events for the OpenAPI document: @fastify/websocket hides its routes
// from @fastify/swagger, so the app adds this path itself (as it does the
// frame stream's). The route is events.ts.

import { z } from 'zod';
import { EVENTS_PATH, EventsQuerystring, MAX_STATS_MS, MIN_STATS_MS } from './events.ts';

export { EVENTS_PATH };

export const EventMessage = z
  .object({
    type: z.enum(['link', 'addr', 'route', 'neigh', 'socket']).describe('What changed: a link (device), an address, a route, a neighbour or a socket.'),
    action: z
      .enum(['new', 'del', 'change'])
      .describe(
        'new: it was created; del: it was removed; change: it was modified (object shows it after the change). A TCP socket has a change for each state it enters (SYN-SENT .. TIME-WAIT) and a del when it is unhashed (closed, reset, or TIME-WAIT over); one its user still holds has, at a reset or timeout, a change to UNCONN (with error) and its del at the DELETE.',
      ),
    object: z
      .record(z.string(), z.unknown())
      .describe('The resource as its REST route shows it (a link as GET /v1/devices/{name}, a socket of any family as GET /v1/sockets/{id}), when the change happened.'),
  })
  .describe('Server to client: one change, in the order the stack made them.');

export const StatsMessage = z
  .object({
    type: z.literal('stats'),
    ts: z.number().describe('Wall-clock time, ms.'),
    skipped: z.number().int().describe('Snapshots skipped since the last one because the client read too slowly.'),
    devices: z.array(z.record(z.string(), z.unknown())).describe('Per device: ifindex, ifname, operstate, mtu, txqlen, stats64, queue.'),
    sockets: z.array(z.record(z.string(), z.unknown())).describe('As GET /v1/sockets.'),
    stack: z.record(z.string(), z.unknown()).describe('skb, backlog, drops and drops_total, as GET /v1/stack.'),
  })
  .describe(`Server to client, every stats_ms (${MIN_STATS_MS}..${MAX_STATS_MS}) when asked.`);

const DESCRIPTION =
  'WebSocket, like `ip monitor`: every change to links, addresses, routes, neighbours and sockets (packet, UDP and TCP, with each TCP state change) as ' +
  '`{type, action, object}`, once each and in order, and with `stats_ms` a stats snapshot at that period. Nothing is sent that the ' +
  'client did not ask for. A client that falls more than 4 MiB behind is closed with 1013 and reason `ENOBUFS ...` (events would ' +
  'be lost): reconnect and list again. Stats snapshots are skipped first. Under `--token`, authenticate with the bearer header, the ' +
  'session cookie (POST /v1/session), or by offering the token as a Sec-WebSocket-Protocol value next to `netstackd`.';

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return json;
}

export function eventsPathItem(): Record<string, unknown> {
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  return {
    get: {
      summary: 'Watch changes and stats live (WebSocket)',
      description: DESCRIPTION,
      tags: ['streams'],
      parameters: Object.entries(EventsQuerystring.shape).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema: jsonSchemaOf(schema),
        ...(schema.description === undefined ? {} : { description: schema.description }),
      })),
      responses: {
        101: {
          description: 'Switching Protocols: the WebSocket is open.',
          content: { 'application/json': { schema: { oneOf: [jsonSchemaOf(EventMessage), jsonSchemaOf(StatsMessage)] } } },
        },
        400: problem('Invalid query (EINVAL)'),
        404: problem('A plain GET that asks for no upgrade'),
        503: problem('As many event streams are open as the server allows (EAGAIN)'),
      },
    },
  };
}
