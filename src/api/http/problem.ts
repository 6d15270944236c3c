// Errors as RFC 9457 problem details (application/problem+json) carrying the
// errno name, as the kernel would have returned it from the syscall:
//
//   {"type":"urn:netstack:errno:ENODEV","title":"No such device","status":404,
//    "detail":"Cannot find device \"eth9\"","errno":"ENODEV","instance":"/v1/devices/eth9"}
//
// One table maps every errno to an HTTP status. Where a choice had to be made:
// - ENOENT is 404: an unknown sysctl, a multicast address not on the list,
//   an unknown route all name something that is not there.
// - EOPNOTSUPP is 501 (the device kind lacks the operation, e.g. SIOCSIFMAP
//   on a veth), except where DESIGN §3 says otherwise: deleting `lo` is 400.
//   Routes override the table through their `config.errnoStatus`.
// - EMFILE, ENFILE, ENOSPC (a configured limit of sockets, names or devices is
//   reached) are 429: the client can fix it by removing something.
// - EAGAIN, ENOBUFS, ENOMEM and EINTR are 503 with `Retry-After: 1`: the same
//   request may succeed a moment later. ETIMEDOUT is 504.
// Input that fails validation is 400 EINVAL with the offending path in
// `detail`; a body over the limit is 413 EMSGSIZE; an unsupported content type
// 415 (errno EINVAL). Nothing a client sends may produce a 500: a 500 (EIO) is
// a bug, and is logged.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isNetError, strerror, type ErrnoName, type NetError } from '../../errno.ts';
import { PROBLEM_CONTENT_TYPE, type ProblemBody } from './schemas/problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Statuses for errnos whose meaning depends on the operation (e.g. EOPNOTSUPP). */
    errnoStatus?: Partial<Record<ErrnoName, number>>;
  }
}

export const ERRNO_STATUS: Readonly<Record<ErrnoName, number>> = {
  EPERM: 403,
  ENOENT: 404,
  ESRCH: 404,
  EINTR: 503,
  EIO: 500,
  ENXIO: 404,
  EBADF: 409,
  EAGAIN: 503,
  ENOMEM: 503,
  EACCES: 403,
  EFAULT: 400,
  EBUSY: 409,
  EEXIST: 409,
  ENODEV: 404,
  EINVAL: 400,
  ENFILE: 429,
  EMFILE: 429,
  EPIPE: 409,
  ERANGE: 400,
  ENOSPC: 429,
  ENAMETOOLONG: 400,
  EPROTO: 400,
  EDESTADDRREQ: 400,
  EBADMSG: 400,
  EMSGSIZE: 413,
  EPROTONOSUPPORT: 400,
  EOPNOTSUPP: 501,
  EAFNOSUPPORT: 400,
  EADDRINUSE: 409,
  EADDRNOTAVAIL: 422,
  ENETDOWN: 409,
  ENETUNREACH: 422,
  ECONNABORTED: 502,
  ECONNRESET: 502,
  ENOBUFS: 503,
  EISCONN: 409,
  ENOTCONN: 409,
  ESHUTDOWN: 503,
  ETIMEDOUT: 504,
  ECONNREFUSED: 502,
  EHOSTUNREACH: 422,
  EALREADY: 409,
};

/** Errnos that mean "not now": the answer carries Retry-After. */
const RETRY_LATER: ReadonlySet<ErrnoName> = new Set(['EAGAIN', 'ENOBUFS', 'ENOMEM', 'EINTR']);

/** Extension members a route adds to the problem of one error (e.g. frames sent before it). */
export type ProblemMembers = Pick<ProblemBody, 'sent' | 'dropped' | 'at'>;

const membersOf = new WeakMap<NetError, ProblemMembers>();

/** Attach extension members to an error; the error handler puts them in the problem body. */
export function withProblemMembers(err: NetError, members: ProblemMembers): NetError {
  membersOf.set(err, members);
  return err;
}

export function statusForErrno(errno: ErrnoName, overrides?: Partial<Record<ErrnoName, number>>): number {
  return overrides?.[errno] ?? ERRNO_STATUS[errno];
}

export function problem(request: FastifyRequest, status: number, errno: ErrnoName, detail: string): ProblemBody {
  return { type: `urn:netstack:errno:${errno}`, title: strerror(errno), status, detail, errno, instance: request.url };
}

/** Send a problem; the body is serialized here so no response schema can turn it into a 500. */
export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  reply.code(body.status).type(PROBLEM_CONTENT_TYPE);
  if (RETRY_LATER.has(body.errno as ErrnoName)) reply.header('retry-after', '1');
  if (reply.request.headers.upgrade !== undefined) closeAfterResponse(reply);
  return reply.send(JSON.stringify(body));
}

/**
 * A refused WebSocket upgrade: its socket has left the HTTP server's care, so
 * nothing else would ever close it (and `app.close()` would wait for it).
 */
function closeAfterResponse(reply: FastifyReply): void {
  const socket = reply.raw.socket;
  if (socket === null) return;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => socket.destroy());
}

interface ValidationIssue {
  instancePath: string;
  message?: string;
}

function validationProblem(request: FastifyRequest, context: string, issues: readonly ValidationIssue[]): ProblemBody {
  const listed = issues.slice(0, 20).map((i) => ({
    path: context + (i.instancePath === '/' ? '' : i.instancePath),
    message: i.message ?? 'invalid',
  }));
  const first = listed[0] ?? { path: context, message: 'invalid' };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return { ...problem(request, 400, 'EINVAL', `${first.path}: ${first.message}${more}`), issues: listed };
}

interface HttpishError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/** Errors fastify raises itself before a handler runs (parsing, limits, routing). */
function frameworkProblem(request: FastifyRequest, err: HttpishError): ProblemBody | null {
  const status = typeof err.statusCode === 'number' ? err.statusCode : 0;
  if (status < 400 || status > 499) return null;
  const message = typeof err.message === 'string' ? err.message : 'bad request';
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem(request, 413, 'EMSGSIZE', 'request body is larger than the limit');
  if (status === 404) return problem(request, 404, 'ENOENT', message);
  if (status === 415) {
    const given = request.headers['content-type'];
    const accepted = request.routeOptions.config?.rawBody === true ? 'application/json or application/octet-stream' : 'application/json';
    const what = given === undefined ? 'a body without a content type' : `content type "${given.slice(0, 100)}"`;
    return problem(request, 415, 'EINVAL', `${what} is not accepted here; send ${accepted}`);
  }
  if (status === 414) return problem(request, 414, 'ENAMETOOLONG', message);
  return problem(request, status, 'EINVAL', message);
}

/** The one place an error becomes a response. */
export function problemFromError(request: FastifyRequest, err: unknown): ProblemBody | null {
  if (isNetError(err)) {
    const status = statusForErrno(err.errno, request.routeOptions.config.errnoStatus);
    return { ...problem(request, status, err.errno, err.message), ...membersOf.get(err) };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    return validationProblem(request, String(err.validationContext ?? 'request'), err.validation);
  }
  if (typeof err === 'object' && err !== null) {
    const e = err as HttpishError;
    if (Array.isArray(e.validation)) return validationProblem(request, String(e.validationContext ?? 'request'), e.validation as ValidationIssue[]);
    return frameworkProblem(request, e);
  }
  return null;
}

/** setErrorHandler, setNotFoundHandler: every error and every unknown route as problem+json. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    const body = problemFromError(request, err);
    if (body !== null) {
      if (body.status >= 500) request.log.warn({ errno: body.errno, detail: body.detail }, 'request failed');
      return sendProblem(reply, body);
    }
    request.log.error({ err }, 'unexpected error');
    return sendProblem(reply, problem(request, 500, 'EIO', 'internal error; the server log has the details'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(request, 404, 'ENOENT', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** For fastify's frameworkErrors option: a malformed URL and the like, before routing. */
export function frameworkErrorProblem(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const body = problemFromError(request, err) ?? problem(request, 400, 'EINVAL', 'malformed request');
  sendProblem(reply, body);
}
