// vxlan remotes and their resolution: the configured peers (the all-zeros
// fdb entries) and peers met through learning, and the dns.lookup of a
// remote given by name: bounded at creation, retried at send time while it
// does not resolve, refreshed in the background once it does.

import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../../../logger.ts';

const RESOLVE_RETRY_MS = 1000;
const RESOLVE_REFRESH_MS = 60_000;
/** How long creation waits for remote names before going on without them. */
const CREATE_RESOLVE_WAIT_MS = 1000;

/** An fdb destination: a configured remote, or a peer met only through learning. */
export class Remote {
  /** The address to send to, in the socket's family form; null while unresolved. */
  address: string | null = null;
  resolvedAt = -Infinity;
  lastAttempt = -Infinity;
  lookupPending = false;
  /** Why the last lookup failed (e.g. ENOTFOUND), for `ip -d link`. */
  lastError: string | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    /** A name that needs resolving (not an IP literal). */
    readonly isName: boolean,
    /** Configured (permanent) rather than learned. */
    readonly permanent: boolean,
  ) {}
}


/** "host", "host:port" or "[v6]:port" with an IP literal host (bridge fdb add ... dst), or null. */
export function parseLiteralEndpoint(text: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  const bare = m === null && net.isIPv6(text) ? { host: text, port: defaultPort } : null;
  if (bare !== null) return bare;
  if (m === null || net.isIP(m[1]!) === 0) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!, port };
}

/** What resolution needs from the device. */
export interface ResolverHost {
  readonly family: 4 | 6;
  readonly closed: boolean;
  now(): number;
  readonly log: Logger;
  readonly ifname: string;
}

/** An IPv4 peer on a dual-stack IPv6 socket is written as ::ffff:a.b.c.d, as rinfo shows it. */
export function socketForm(socketFamily: 4 | 6, address: string, family: 4 | 6): string {
  return socketFamily === 6 && family === 4 ? `::ffff:${address}` : address;
}

/** Look a remote's name up; failures leave it unresolved, to be retried at send time. */
export function resolveRemote(host: ResolverHost, r: Remote): Promise<void> {
  if (r.lookupPending || host.closed) return Promise.resolve();
  r.lookupPending = true;
  r.lastAttempt = host.now();
  return dns.promises.lookup(r.host, { family: host.family === 4 ? 4 : 0 }).then(
    ({ address, family }) => {
      r.lookupPending = false;
      r.address = socketForm(host.family, address, family as 4 | 6);
      r.resolvedAt = host.now();
      r.lastError = null;
    },
    (err: NodeJS.ErrnoException) => {
      r.lookupPending = false;
      const first = r.lastError === null;
      r.lastError = err.code ?? err.message;
      // Keep a known address through a transient failure; a peer that is away keeps failing quietly.
      if (first) host.log.warn({ ifname: host.ifname, host: r.host, err: r.lastError }, 'vxlan remote does not resolve (yet)');
    },
  );
}

/** At send time: retry an unresolved name at most once a second, refresh a resolved one every minute. */
export function refreshRemote(host: ResolverHost, r: Remote): void {
  if (!r.isName) return;
  const now = host.now();
  if (r.address === null ? now - r.lastAttempt >= RESOLVE_RETRY_MS : now - r.resolvedAt >= RESOLVE_REFRESH_MS) {
    void resolveRemote(host, r);
  }
}

/** At creation: give every name a first chance, bounded so that slow DNS cannot stall `ip link add`. */
export async function resolveAll(host: ResolverHost, remotes: readonly Remote[]): Promise<void> {
  const names = remotes.filter((r) => r.isName);
  if (names.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CREATE_RESOLVE_WAIT_MS);
  });
  await Promise.race([Promise.all(names.map((r) => resolveRemote(host, r))), deadline]);
  clearTimeout(timer);
}
