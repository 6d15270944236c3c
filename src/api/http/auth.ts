// Authentication under a token. With a token configured, every request needs
// one of:
//   - `Authorization: Bearer <token>` (the CLI, scripts);
//   - the session cookie that POST /v1/session sets (the console, see session.ts);
//   - on a WebSocket upgrade, the token as one of the Sec-WebSocket-Protocol
//     values (a browser cannot set headers on a WebSocket; it offers
//     ["netstackd", token] and the server selects "netstackd").
// The health check, the Prometheus scrape, the session routes, the console's
// static files and the API's own documentation (/openapi.json, /docs) are
// public: monitoring calls without credentials, the console must load to show
// its login form, and the documentation describes no data. The hook runs at
// onRequest, before a WebSocket upgrade, so streams are covered too, and
// before any body is read.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problem, sendProblem } from './problem.ts';
import { readCookie, SESSION_COOKIE, type SessionStore } from './session.ts';

/** Routes anyone may call. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/metrics', '/openapi.json', '/v1/session', '/console', '/console/', '/console/*']);

/** /docs and everything under it (Swagger UI's page, assets and its copy of the document). */
export function isPublicRoute(route: string): boolean {
  return PUBLIC_ROUTES.has(route) || route === '/docs' || route.startsWith('/docs/');
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A constant-time check of a candidate token. */
export function tokenChecker(token: string): (candidate: string) => boolean {
  if (token === '') throw new RangeError('the API token must not be empty');
  const expected = digest(token);
  return (candidate) => timingSafeEqual(digest(candidate), expected);
}

/** A checker for `Authorization` header values, constant-time in the token. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const check = tokenChecker(token);
  return (header) => {
    if (header === undefined) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m === null) return false;
    return check(m[1]!);
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

export function installBearerAuth(app: FastifyInstance, token: string, sessions?: SessionStore): void {
  const accepts = bearerChecker(token);
  const check = tokenChecker(token);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && isPublicRoute(route)) return;
    if (accepts(request.headers.authorization)) return;
    if (sessions !== undefined && sessions.valid(readCookie(request.headers.cookie, SESSION_COOKIE))) return;
    const offered = request.headers['sec-websocket-protocol'];
    if (typeof offered === 'string' && request.headers.upgrade?.toLowerCase() === 'websocket' && offered.split(',').some((p) => check(p.trim()))) return;
    reply.header('www-authenticate', 'Bearer realm="netstackd"');
    refuseBody(request.raw, reply);
    const detail = request.headers.authorization === undefined ? 'this API needs "Authorization: Bearer <token>" or a session (POST /v1/session)' : 'wrong bearer token';
    return sendProblem(reply, problem(request, 401, 'EACCES', detail));
  });
}
