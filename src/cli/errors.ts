// The ways a netstackctl command fails, each with iproute2's exit code:
// 255 for arguments the CLI itself rejects, 1 for lookups and usage (a device
// that does not exist, a server that cannot be reached), 2 for everything
// else the service refuses. main() prints `message` on stderr and exits.

import { ERRNO, isErrnoName } from '../errno.ts';

export const EXIT_OK = 0;
export const EXIT_LOOKUP = 1;
export const EXIT_SERVICE = 2;
export const EXIT_ARGS = 255;

export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A bad command line: nothing was sent to the service. */
export class ArgError extends CliError {
  /** The object whose help to point at ("link", "send", ...), or null for the top level. */
  readonly topic: string | null;

  constructor(message: string, topic: string | null = null) {
    super(message, EXIT_ARGS);
    this.name = 'ArgError';
    this.topic = topic;
  }

  /** What stderr shows: ip's `Error: ...` line and where to read the grammar. */
  report(fallbackTopic: string | null): string {
    const topic = this.topic ?? fallbackTopic;
    const sentence = /[.?!]$/.test(this.message) ? this.message : `${this.message}.`;
    return `Error: ${sentence}\nTry "netstackctl ${topic !== null ? `${topic} ` : ''}help".\n`;
  }
}

/** An object name netstackctl does not know; ip's one-line wording, which already says where to look. */
export class UnknownObjectError extends ArgError {
  constructor(word: string) {
    super(`Object "${word}" is unknown, try "netstackctl help".`);
    this.name = 'UnknownObjectError';
  }

  override report(): string {
    return this.message + '\n';
  }
}

/** The server could not be reached at all (refused, unresolvable, reset). */
export class UnreachableError extends CliError {
  constructor(url: string, reason: string) {
    super(`netstackctl: cannot reach netstackd at ${url}: ${reason}`, EXIT_LOOKUP);
    this.name = 'UnreachableError';
  }
}

/** An RFC 9457 problem document, as the service sends it. */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  errno?: string;
  type?: string;
  instance?: string;
}

/** The service answered with an error; `problem` is what it said. */
export class ServiceError extends CliError {
  readonly problem: Problem;

  constructor(message: string, problem: Problem, exitCode: number) {
    super(message, exitCode);
    this.name = 'ServiceError';
    this.problem = problem;
  }
}

/** strerror() text for an errno name the service sent; the name itself for one we do not know. */
export function errnoText(errno: string | undefined): string | undefined {
  if (errno === undefined) return undefined;
  return isErrnoName(errno) ? ERRNO[errno].text : errno;
}

/** True when the problem says "no such thing": a lookup error (exit 1), not a refusal (exit 2). */
export function isLookupProblem(p: Problem): boolean {
  return p.status === 404 || p.errno === 'ENODEV' || p.errno === 'ENOENT';
}

/**
 * How a service error reads. `style` 'rtnetlink' is for link-like commands
 * (`RTNETLINK answers: File exists`, as `ip` prints), followed by the
 * service's detail when it says more; 'plain' is `netstackctl: <detail>
 * (<strerror>, <ERRNO>)`.
 */
export function describeProblem(p: Problem, style: 'rtnetlink' | 'plain'): string {
  const text = errnoText(p.errno) ?? p.title ?? `HTTP ${p.status}`;
  const detail = p.detail?.trim();
  const informative = detail !== undefined && detail !== '' && detail !== text && detail !== p.title;
  if (style === 'rtnetlink') {
    const head = `RTNETLINK answers: ${text}`;
    return informative ? `${head}\nnetstackctl: ${detail}${p.errno ? ` (${p.errno})` : ''}` : head;
  }
  const what = informative ? detail : (p.title ?? text);
  const why = p.errno ? ` (${text}, ${p.errno})` : p.title && p.title !== what ? ` (${p.title})` : '';
  return `netstackctl: ${what}${why}`;
}
