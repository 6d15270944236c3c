// The service's edge: what happens to a connection before (or instead of) a
// route. Every answer here is problem+json like the routes' own, and nothing
// a client does at this level may hold the service hostage.
//
// - Malformed HTTP (Node's parser refuses it: bad framing, Content-Length
//   with Transfer-Encoding, a bad chunk size, NUL or a raw space in the
//   target, LF-only lines, a header block over the limit, a request that took
//   too long) is answered by clientErrorHandler as problem+json, then the
//   connection closes. When the garbage follows a valid request on the same
//   connection (pipelining), that request's own answer goes out first: Node's
//   default handler writes its 400 only when no response is in flight
//   (socketOnError in lib/_http_server.js), fastify's writes it at once, in
//   the middle of the stream; we wait for the response in flight to finish.
// - Upgrades: only a stream route takes a WebSocket, and only a well-formed
//   WebSocket handshake; anything else (a WebSocket on /healthz, h2c) is
//   refused with problem+json before any upgrade, where `ws` would have
//   answered text/html or the plugin would have upgraded and then closed.
// - Limits: a cap on open connections in total and per client address, so
//   one client cannot use up the process's file descriptors; a request (its
//   headers and its body) must arrive within a time limit, so a client that
//   trickles a body byte by byte is cut, answered 408.

import type { Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { strerror, type ErrnoName } from '../../errno.ts';
import { problem, sendProblem } from './problem.ts';
import { PROBLEM_CONTENT_TYPE, type ProblemBody } from './schemas/problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a WebSocket upgrade (a frame stream); every other route refuses one. */
    websocketRoute?: boolean;
  }
}

export const DEFAULT_MAX_CONNECTIONS = 512;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 128;
/** Time for a request's header block to arrive, from its first byte. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Time for a whole request (headers and body) to arrive; a slow body is cut with 408. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface EdgeLimits {
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The problem as a complete HTTP/1.1 response that closes the connection, for sockets no route owns. */
function rawProblemResponse(body: ProblemBody, extraHeaders = ''): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${body.status} ${STATUS_CODES[body.status] ?? 'Error'}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\n` +
    `${extraHeaders}Connection: close\r\n\r\n${text}`
  );
}

function bareProblem(status: number, errno: ErrnoName, detail: string, instance: string): ProblemBody {
  return { type: `urn:netstack:errno:${errno}`, title: strerror(errno), status, detail, errno, instance };
}

/** The request target of the bytes Node could not parse, when it is readable; the problem's `instance`. */
function targetOf(raw: unknown): string {
  if (!Buffer.isBuffer(raw)) return '';
  const m = /^[A-Z]{1,16} ([\x21-\x7e]{1,200}) /.exec(raw.subarray(0, 256).toString('latin1'));
  return m?.[1] ?? '';
}

interface ClientError extends Error {
  code?: string;
  reason?: string;
  rawPacket?: unknown;
}

/** llhttp's codes, in words a client can act on. */
function clientErrorProblem(err: ClientError): ProblemBody {
  const instance = targetOf(err.rawPacket);
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return bareProblem(431, 'EMSGSIZE', 'the request header block is larger than the server accepts', instance);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return bareProblem(408, 'ETIMEDOUT', 'the request (headers and body) did not arrive in time', instance);
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return bareProblem(400, 'EPROTO', 'a request cannot have both Content-Length and Transfer-Encoding', instance);
    default:
      return bareProblem(400, 'EPROTO', `malformed HTTP request: ${(err.reason ?? err.message).replace(/\.$/, '')}`, instance);
  }
}

/**
 * fastify's clientErrorHandler: a problem+json answer for what Node's HTTP
 * parser refused, written after the response in flight on this connection
 * (if any) so a pipelined request is answered first, then the connection closes.
 */
export function clientErrorHandler(err: ClientError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = clientErrorProblem(err);
  const answer = (): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(rawProblemResponse(body));
    socket.resume();
    // A client that does not read its answer must not keep the connection.
    setTimeout(() => socket.destroy(), 2000).unref();
  };
  // Node keeps the response being written on the socket (socket._httpMessage).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  // Garbage inside the body of the request in flight (a bad chunk size) is that request's error: answer it now.
  const ownBody = inFlight?.req !== undefined && !inFlight.req.complete;
  if (inFlight !== null && inFlight !== undefined && !inFlight.writableFinished && !ownBody) {
    if (inFlight.headersSent && !inFlight.writableEnded) {
      // The answer has started and may go on for long (a capture): appending would corrupt it.
      inFlight.once('finish', () => socket.destroy());
    } else {
      inFlight.once('finish', answer);
    }
    inFlight.once('close', () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
    return;
  }
  answer();
}

const WS_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** Why this upgrade request is not a WebSocket handshake `ws` would accept, or null. */
function handshakeProblem(headers: Record<string, string | string[] | undefined>): string | null {
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !WS_KEY.test(key.trim())) return 'missing or invalid Sec-WebSocket-Key header';
  const version = headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return 'missing or unsupported Sec-WebSocket-Version header (13 is supported)';
  return null;
}

/**
 * Only WebSocket upgrades, only on stream routes, only well-formed: checked at
 * onRequest, before the upgrade and before the body. Must be installed after
 * the websocket plugin, whose own onRequest hook marks upgrade requests.
 */
export function installUpgradeGate(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const upgrade = request.headers.upgrade;
    if (upgrade === undefined) return;
    if (upgrade.toLowerCase() !== 'websocket') {
      return sendProblem(reply, problem(request, 400, 'EPROTONOSUPPORT', `upgrade to "${upgrade.slice(0, 40)}" is not supported; speak HTTP/1.1, or WebSocket on a stream route`));
    }
    if (request.routeOptions.config?.websocketRoute !== true) {
      // Not found at all is the not-found handler's 404; a known route that is not a stream is 400.
      if (request.routeOptions.url === undefined) return;
      return sendProblem(reply, problem(request, 400, 'EINVAL', `${request.method} ${request.routeOptions.url} is not a WebSocket route; only the stream routes (/v1/devices/{name}/stream, /v1/events, /v1/sockets/{id}/stream) take one`));
    }
    const why = handshakeProblem(request.headers);
    if (why !== null) {
      reply.header('sec-websocket-version', '13, 8');
      return sendProblem(reply, problem(request, 400, 'EPROTO', why));
    }
  });
}

/**
 * Caps on open connections, total and per client address, checked as each
 * connection is accepted: the one over a cap is answered 503 EAGAIN
 * (problem+json, Retry-After) and closed, before Node parses anything.
 */
export function installConnectionLimits(server: Server, limits: { maxConnections: number; maxConnectionsPerAddress: number }): { open: () => number } {
  let open = 0;
  const perAddress = new Map<string, number>();
  // The refused connection must never reach Node's HTTP connection listener
  // (it would parse a request and answer on a socket already ended), so the
  // listeners there are now are called from here, for admitted connections only.
  const admitted = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = perAddress.get(address) ?? 0;
    const over =
      open >= limits.maxConnections
        ? `${limits.maxConnections} connections are open, the most this server allows`
        : mine >= limits.maxConnectionsPerAddress
          ? `${limits.maxConnectionsPerAddress} connections from ${address} are open, the most this server allows per address`
          : null;
    if (over !== null) {
      socket.on('error', () => socket.destroy());
      // Read (and drop) what the client sends, so its FIN is seen and the socket closes.
      socket.resume();
      socket.end(rawProblemResponse(bareProblem(503, 'EAGAIN', `${over}; try again later`, ''), 'Retry-After: 1\r\n'));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open++;
    perAddress.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (perAddress.get(address) ?? 1) - 1;
      // Deleted at zero: a map of every address ever seen would only grow.
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    for (const listener of admitted) listener.call(server, socket);
  });
  return { open: () => open };
}
