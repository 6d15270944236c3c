// Bearer-token authentication. With a token configured, every request needs
// `Authorization: Bearer <token>` except the health check and the Prometheus
// scrape, which monitoring calls without credentials, and the API's own
// documentation (/openapi.json, /docs and its assets), which describes no
// data and must open in a browser that has no way to send the header. The hook runs at
// onRequest, before a WebSocket upgrade, so streams are covered too.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { problem, sendProblem } from './problem.ts';

/** Routes anyone may call. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/metrics', '/openapi.json']);

/** /docs and everything under it (Swagger UI's page, assets and its copy of the document). */
export function isPublicRoute(route: string): boolean {
  return PUBLIC_ROUTES.has(route) || route === '/docs' || route.startsWith('/docs/');
}

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

export function installBearerAuth(app: FastifyInstance, token: string): void {
  const accepts = bearerChecker(token);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && isPublicRoute(route)) return;
    if (accepts(request.headers.authorization)) return;
    reply.header('www-authenticate', 'Bearer realm="netstackd"');
    const detail = request.headers.authorization === undefined ? 'this API needs "Authorization: Bearer <token>"' : 'wrong bearer token';
    return sendProblem(reply, problem(request, 401, 'EACCES', detail));
  });
}
