// HTTP to netstackd with Node's global fetch: JSON in and out, problem+json
// errors turned into ServiceError, and a refused or unresolvable server into
// UnreachableError with a sentence a user can act on.

import {
  EXIT_LOOKUP,
  EXIT_SERVICE,
  ServiceError,
  UnreachableError,
  describeProblem,
  isLookupProblem,
  type Problem,
} from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  signal?: AbortSignal;
  /** How errors read: ip's `RTNETLINK answers: ...` for link-like commands. */
  style?: 'rtnetlink' | 'plain';
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  // fetch wraps the socket error in `cause`; happy eyeballs may wrap it again in an AggregateError.
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const o = e as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.code === 'string' && o.code in NETWORK_REASONS) return o.code;
    if (Array.isArray(o.errors) && o.errors.length > 0) e = o.errors[0];
    else e = o.cause;
  }
  return undefined;
}

/** An UnreachableError when `err` is a connection failure (refused, unresolvable, reset), else undefined. */
export function unreachableError(base: string, err: unknown): UnreachableError | undefined {
  const code = networkCode(err);
  return code === undefined ? undefined : new UnreachableError(base, NETWORK_REASONS[code]!);
}

/** `host:port` or a URL, normalised to an http(s) URL without a trailing slash. */
export function normaliseServer(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
  return withScheme.replace(/\/+$/, '');
}

export class ApiClient {
  readonly base: string;

  constructor(
    server: string,
    private readonly token: string | undefined,
  ) {
    this.base = normaliseServer(server);
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.base + path);
    if (query) for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** The ws:// or wss:// URL for a WebSocket route. */
  wsUrl(path: string, query?: Query): string {
    return this.url(path, query).replace(/^http/i, 'ws');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json, application/problem+json', ...extra };
    if (this.token !== undefined) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  get<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  post<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, opts);
  }

  patch<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, opts);
  }

  delete<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, opts);
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.fetch(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ServiceError(`netstackctl: the server sent a body that is not JSON (HTTP ${res.status})`, { status: res.status }, EXIT_SERVICE);
    }
  }

  /** The raw response of a successful request (for streamed bodies); errors are thrown as for request(). */
  async fetch(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const init: RequestInit = { method, headers: this.headers(), signal: opts.signal ?? null };
    if (opts.body !== undefined) {
      init.headers = this.headers({ 'content-type': 'application/json' });
      init.body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, opts.query), init);
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError') throw err;
      const cause = (err as { cause?: { message?: unknown } }).cause;
      throw unreachableError(this.base, err) ?? new UnreachableError(this.base, typeof cause?.message === 'string' ? cause.message : String(err));
    }
    if (!res.ok) throw await problemError(res, opts.style ?? 'plain');
    return res;
  }
}

/** Reads an error response into a ServiceError; a body that is not a problem document still gives a status line. */
export async function problemError(res: Response, style: 'rtnetlink' | 'plain'): Promise<ServiceError> {
  let problem: Problem = { status: res.status, title: res.statusText || `HTTP ${res.status}` };
  try {
    const text = await res.text();
    if (text !== '') problem = toProblem(JSON.parse(text), res.status) ?? { ...problem, detail: text.slice(0, 500) };
  } catch {
    // A body that is not JSON: the status line is all we can say.
  }
  return serviceError(problem, style);
}

export function serviceError(problem: Problem, style: 'rtnetlink' | 'plain'): ServiceError {
  // The service refuses a missing or wrong token with 401 only; a 403 is the
  // operation's own refusal (EACCES on a read-only sysctl), not a token matter.
  if (problem.status === 401) {
    const detail = problem.detail ?? problem.title ?? 'not authorized';
    return new ServiceError(`netstackctl: ${detail} (HTTP ${problem.status}; give the token with --token or NETSTACK_TOKEN)`, problem, EXIT_LOOKUP);
  }
  return new ServiceError(describeProblem(problem, style), problem, isLookupProblem(problem) ? EXIT_LOOKUP : EXIT_SERVICE);
}

/** A problem+json document, or fastify's plain `{statusCode, error, message}`, as a Problem. */
export function toProblem(body: unknown, status: number): Problem | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const o = body as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const p: Problem = { status: typeof o.status === 'number' ? o.status : typeof o.statusCode === 'number' ? o.statusCode : status };
  const title = str(o.title) ?? str(o.error);
  const detail = str(o.detail) ?? str(o.message);
  const errno = str(o.errno) ?? (typeof o.code === 'string' && /^E[A-Z0-9]+$/.test(o.code) ? o.code : undefined);
  if (title !== undefined) p.title = title;
  if (detail !== undefined) p.detail = detail;
  if (errno !== undefined) p.errno = errno;
  if (str(o.type) !== undefined) p.type = str(o.type)!;
  if (str(o.instance) !== undefined) p.instance = str(o.instance)!;
  return p;
}
