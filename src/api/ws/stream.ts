// GET /v1/devices/{name}/stream: frames of a device over a WebSocket (see
// stream-session.ts for the flow control). The query is validated and the
// device, the client limit and a free packet socket are checked before the
// upgrade, so a bad request is an ordinary problem+json answer (400, 404,
// 429 EMFILE, 503) and never a half-open WebSocket. A plain GET, which asks
// for no upgrade, is 426 Upgrade Required.
//
//   ?protocol=all|0x0800   ethertype to receive (default all)
//   ?direction=in|out|both frames received, sent, or both (default both)
//   ?promisc=0|1           promiscuous mode while the stream lasts
//   ?rcvbuf=BYTES          the stream socket's receive buffer (SO_RCVBUF)
//   ?format=json|binary    one JSON message per frame (frame-json.ts), or
//                          pcap: the global header first, then messages of
//                          several records each; appended, they are a pcap file
//
// Also sent: {type:"drops",count,total} after frames were lost on this
// stream's socket (count new since the last notice, total since it opened),
// and {type:"error",errno,detail} when a frame the client sent could not be
// transmitted. Close codes: 4004 when the device is deleted, 1001 when the
// server shuts down (if the websocket plugin has not closed the client
// first), 1013 when a race let a client past the limit or no socket is left
// (EMFILE), 1011 when the socket could not be opened for another reason.
// Over `maxClients` the upgrade is refused with 503 EAGAIN (Retry-After: 1).
// Every 30 s a ping; a client that did not answer the previous one is dropped.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NetError, isNetError } from '../../errno.ts';
import type { NetStack } from '../../stack/index.ts';
import { DeviceParams, QueryBool } from '../http/schemas/common.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { DirectionParam, PromiscParam, ProtocolParam, RcvbufParam } from './packet-query.ts';
import { CLOSE_CODES, StreamSession } from './stream-session.ts';

export interface StreamPluginOptions {
  stack: NetStack;
  /** Streams open at once; more are refused with 503 before the upgrade. Default 64. */
  maxClients?: number;
  /** ws.bufferedAmount at which a stream stops reading its socket. Default 1 MiB. */
  highWaterMark?: number;
  /** Ping interval. Default 30 s. */
  heartbeatMs?: number;
}

export const DEFAULT_MAX_CLIENTS = 64;
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 30_000;

export const StreamQuerystring = z.object({
  protocol: ProtocolParam.optional(),
  promisc: PromiscParam.optional(),
  rcvbuf: RcvbufParam.optional(),
  direction: DirectionParam.optional(),
  format: z.enum(['json', 'binary']).optional().describe('json (default): one message per frame; binary: pcap, the first message the global header.'),
  detail: QueryBool.optional().describe('1: JSON frame messages also carry `skb` (offsets, len, truesize, users, cloned, who is charged).'),
  trace: QueryBool.optional().describe('1: trace this device\'s frames while the stream lasts (implies detail): each JSON frame message carries `trace`, the sk_buff at every layer it passed.'),
});

/** A close frame's reason is at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  let t = text;
  while (Buffer.byteLength(t) > 123) t = t.slice(0, -1);
  return t;
}

const streamRoutes: FastifyPluginAsyncZod<StreamPluginOptions> = async function streamRoutes(app, opts) {
  const { stack } = opts;
  const maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
  const highWaterMark = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const sessions = new Set<StreamSession>();

  const heartbeat = setInterval(() => {
    for (const s of sessions) if (!s.ping()) s.terminate();
  }, opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  heartbeat.unref();


  app.addHook('preClose', async () => {
    for (const s of [...sessions]) s.close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
  });
  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
  });

  app.route({
    method: 'GET',
    url: '/v1/devices/:name/stream',
    // The edge (api/http/edge.ts) lets a WebSocket upgrade through to this route only.
    config: { websocketRoute: true },
    // Described by hand in the OpenAPI document (app.ts), as the plugin hides its routes.
    schema: { params: DeviceParams, querystring: StreamQuerystring, hide: true },
    // Runs before the upgrade: its errors are HTTP answers.
    preHandler: async (request) => {
      if (!request.ws) return;
      stack.devices.require(request.params.name);
      if (sessions.size >= maxClients) {
        throw new NetError('EAGAIN', `${maxClients} frame streams are open, the most this server allows; try again later`);
      }
      // Refused now, as an HTTP answer, rather than 101 and then close 1013.
      if (stack.sockets.full()) {
        throw new NetError('EMFILE', `no more than ${stack.limits.maxSockets} sockets may be open; close a stream, capture or sender first`);
      }
    },
    // A plain GET: this route speaks only WebSocket (RFC 9110 §15.5.22: 426 names the protocol to upgrade to).
    handler: async (request, reply) => {
      reply.header('upgrade', 'websocket').header('connection', 'Upgrade');
      return sendProblem(reply, problem(request, 426, 'EPROTO', 'this route is a WebSocket: send Connection: Upgrade and Upgrade: websocket'));
    },
    wsHandler: (ws, request) => {
      const log = request.log;
      const dev = stack.devices.get(request.params.name);
      // The device or a free slot may have gone between the check and the upgrade.
      if (dev === undefined) {
        ws.close(CLOSE_CODES.DEVICE_GONE, `device ${request.params.name} was deleted`);
        return;
      }
      if (sessions.size >= maxClients) {
        ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'too many streams; try again later');
        return;
      }
      const q = request.query;
      let session: StreamSession;
      try {
        session = new StreamSession(stack, ws, request.raw.socket, {
          dev,
          format: q.format ?? 'json',
          protocol: q.protocol,
          promisc: q.promisc,
          rcvbuf: q.rcvbuf,
          direction: q.direction,
          highWaterMark,
          owner: `ws ${request.ip}:${request.raw.socket.remotePort ?? 0}`,
          detail: q.detail,
          trace: q.trace,
        });
      } catch (err) {
        const errno = isNetError(err) ? err.errno : 'EIO';
        const detail = err instanceof Error ? err.message : String(err);
        ws.send(JSON.stringify({ type: 'error', errno, detail }));
        const code = errno === 'EMFILE' ? CLOSE_CODES.TRY_AGAIN_LATER : errno === 'ENODEV' ? CLOSE_CODES.DEVICE_GONE : CLOSE_CODES.INTERNAL_ERROR;
        ws.close(code, closeReason(detail));
        return;
      }
      sessions.add(session);
      // The socket hears its device go away (packet_notifier).
      const s = session;
      session.socket.addGoneListener(() => s.close(CLOSE_CODES.DEVICE_GONE, closeReason(`device ${s.dev.name} was deleted`)));
      log.info({ ifname: dev.name, socket: session.socket.id, format: session.format }, 'frame stream opened');
      session.onClosed = (s) => {
        sessions.delete(s);
        log.info({ ifname: s.dev.name, socket: s.socket.id, frames: s.frames, drops: s.drops, transmitted: s.transmitted }, 'frame stream closed');
      };
    },
  });
};

export default streamRoutes;
