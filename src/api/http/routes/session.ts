// /v1/session: a browser's login and logout under --token (see ../session.ts).
//   GET    -> {token_required, authenticated}: what the console asks first
//   POST   {token} -> 204 and the HttpOnly, SameSite=Strict session cookie;
//             a wrong token is 401 EACCES and sets nothing
//   DELETE -> 204; the session is forgotten and the cookie cleared
// All three are public (auth.ts): they are how a browser gets credentials.
// Without a token configured the API is open, and POST answers 204 with no cookie.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { tokenChecker } from '../auth.ts';
import { problem, sendProblem } from '../problem.ts';
import { problemResponses } from '../schemas/index.ts';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type SessionStore } from '../session.ts';

export const SessionLogin = z.strictObject({
  token: z.string().min(1).max(4096).describe('The token the server was started with (--token).'),
});

export const SessionState = z.object({
  token_required: z.boolean().describe('The server runs with a token: the API needs a session or a bearer token.'),
  authenticated: z.boolean().describe('This request carried valid credentials (always true without a token).'),
});

export interface SessionPluginOptions {
  token: string | undefined;
  sessions: SessionStore;
}

const sessionRoutes: FastifyPluginAsyncZod<SessionPluginOptions> = async function sessionRoutes(app, { token, sessions }) {
  const check = token === undefined ? null : tokenChecker(token);
  const authenticated = (authorization: string | undefined, cookie: string | undefined): boolean => {
    if (check === null) return true;
    if (sessions.valid(readCookie(cookie, SESSION_COOKIE))) return true;
    const m = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return m !== null && check(m[1]!);
  };

  app.get(
    '/v1/session',
    {
      schema: {
        summary: 'Whether a token is needed, and whether this request has valid credentials',
        tags: ['service'],
        security: [],
        response: { 200: SessionState },
      },
    },
    async (request) => ({ token_required: check !== null, authenticated: authenticated(request.headers.authorization, request.headers.cookie) }),
  );

  app.post(
    '/v1/session',
    {
      schema: {
        summary: 'Log in: trade the token for a session cookie (HttpOnly, SameSite=Strict)',
        tags: ['service'],
        security: [],
        body: SessionLogin,
        response: { 204: z.null().describe('Logged in; Set-Cookie carries the session.'), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      if (check === null) return reply.code(204).send(null);
      if (!check(request.body.token)) {
        return sendProblem(reply, problem(request, 401, 'EACCES', 'wrong token'));
      }
      // A login replaces the session this browser had.
      sessions.delete(readCookie(request.headers.cookie, SESSION_COOKIE));
      reply.header('set-cookie', sessionCookie(sessions.create()));
      reply.header('cache-control', 'no-store');
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/v1/session',
    {
      schema: {
        summary: 'Log out: forget the session and clear its cookie',
        tags: ['service'],
        security: [],
        response: { 204: z.null().describe('Logged out.') },
      },
    },
    async (request, reply) => {
      sessions.delete(readCookie(request.headers.cookie, SESSION_COOKIE));
      reply.header('set-cookie', clearedSessionCookie());
      return reply.code(204).send(null);
    },
  );
};

export default sessionRoutes;
