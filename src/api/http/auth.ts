// Bearer-token authentication. With a token configured, every request needs
// `Authorization: Bearer <token>` except the health check and the Prometheus
// scrape, which monitoring calls without credentials. The hook runs at
// onRequest, before a WebSocket upgrade, so streams are covered too, and
// before any body is read.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problem, sendProblem } from './problem.ts';

/** Routes anyone may call. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/metrics']);

// Comparing digests keeps the comparison constant-time whatever the lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A checker for `Authorization` header values, constant-time in the token. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  if (token === '') throw new RangeError('the API token must not be empty');
  const expected = digest(token);
  return (header) => {
    if (header === undefined) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m === null) return false;
    return timingSafeEqual(digest(m[1]!), expected);
  };
}

/**
 * The 401 goes out before the body is read (onRequest). Node would then read
 * and drop the whole body to keep the connection (req._dump), so a stranger
 * could still trickle 100 KB at one byte a second; instead the connection
 * closes once the answer is out.
 */
function refuseBody(raw: IncomingMessage, reply: FastifyReply): void {
  const hasBody = raw.headers['transfer-encoding'] !== undefined || (raw.headers['content-length'] ?? '0') !== '0';
  if (!hasBody || raw.complete) return;
  // Node ends and destroys the socket once a `Connection: close` answer is flushed (destroySoon).
  reply.header('connection', 'close');
}

export function installBearerAuth(app: FastifyInstance, token: string): void {
  const accepts = bearerChecker(token);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    if (accepts(request.headers.authorization)) return;
    reply.header('www-authenticate', 'Bearer realm="netstackd"');
    refuseBody(request.raw, reply);
    const detail = request.headers.authorization === undefined ? 'this API needs "Authorization: Bearer <token>"' : 'wrong bearer token';
    return sendProblem(reply, problem(request, 401, 'EACCES', detail));
  });
}
