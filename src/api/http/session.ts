// Browser sessions under --token. A browser cannot put an Authorization header
// on a WebSocket, and a page should not keep the token where scripts can read
// it; so POST /v1/session trades the token for a cookie the browser sends by
// itself: HttpOnly (scripts cannot read it), SameSite=Strict (another site's
// page cannot make the browser send it, which is what protects against
// cross-site requests), Path=/. The cookie holds a random session id, never
// the token; logout forgets the id on the server, so a copied cookie dies
// with it.

import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'netstackd_session';
/** Sessions live this long after login. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** At most this many sessions; a login past it forgets the oldest. */
export const MAX_SESSIONS = 1024;

export class SessionStore {
  /** id -> expiry (ms, Date.now clock); insertion order is login order. */
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    private readonly max = MAX_SESSIONS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  create(): string {
    const id = randomBytes(32).toString('base64url');
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(id, this.now() + this.ttlMs);
    return id;
  }

  /** A Map lookup by a 256-bit random id: nothing to learn from its timing. */
  valid(id: string | undefined): boolean {
    if (id === undefined) return false;
    const expires = this.sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }
}

/** The value of one cookie in a Cookie header (RFC 6265 §5.4 layout), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, ttlMs = SESSION_TTL_MS): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The subprotocol a browser offers next to its token; the server selects it. */
export const WS_SUBPROTOCOL = 'netstackd';
