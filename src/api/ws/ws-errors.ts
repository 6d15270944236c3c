// Errors on an open WebSocket, as @fastify/websocket hands them over (its
// errorHandler option). What a client did wrong (a message over maxPayload,
// a bad frame, an invalid close code: `ws` raises them as WS_ERR_* with the
// close code it has already sent, e.g. 1009) is a client error: one info line
// for the connection, no stack trace, and the close handshake `ws` began is
// left to finish. A connection that broke (ECONNRESET, EPIPE) is the same
// at debug level. Anything else is a bug of ours: logged as an error, and
// the connection is dropped.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

const PEER_GONE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

interface WsError extends Error {
  code?: string;
}

/** The close code `ws` attached to a protocol error (its kStatusCode symbol), when there is one. */
function closeCodeOf(err: WsError): number | undefined {
  for (const sym of Object.getOwnPropertySymbols(err)) {
    const v = (err as unknown as Record<symbol, unknown>)[sym];
    if (sym.description === 'status-code' && typeof v === 'number') return v;
  }
  return undefined;
}

export function wsErrorHandler(this: unknown, err: WsError, socket: WebSocket, request: FastifyRequest, _reply: FastifyReply): void {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code?.startsWith('WS_ERR_') === true) {
    request.log.info({ wsError: code, closeCode: closeCodeOf(err), reason: err.message }, 'WebSocket client error: connection closed');
    return;
  }
  if (code !== undefined && PEER_GONE.has(code)) {
    request.log.debug({ wsError: code }, 'WebSocket connection broken by the peer');
    socket.terminate();
    return;
  }
  request.log.error({ err }, 'WebSocket handler error');
  socket.terminate();
}
