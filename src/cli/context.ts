// What every command gets: the global options, the HTTP client, and the two
// output streams. Output goes through here so `-j`/`-p` are applied in one
// place and a closed pipe (`netstackctl link | head -1`) ends quietly.

import type { Writable } from 'node:stream';
import type { GlobalOptions } from './args.ts';
import { ApiClient } from './client.ts';

export interface Context {
  opts: GlobalOptions;
  client: ApiClient;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  /** Aborted on SIGINT/SIGTERM, for commands that run until interrupted. */
  interrupt: AbortSignal;
}

/** Where a run writes: the process's streams, or others (tests, embedding). */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
}

export function makeContext(opts: GlobalOptions, interrupt: AbortSignal, io: CliIo): Context {
  return { opts, client: new ApiClient(opts.server, opts.token), stdout: io.stdout, stderr: io.stderr, interrupt };
}

export function print(ctx: Context, text: string): void {
  ctx.stdout.write(text);
}

/** A JSON body exactly as the service sent it: one line, or indented with -p. */
export function printJson(ctx: Context, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, ctx.opts.pretty ? 4 : undefined) + '\n');
}

export function warn(ctx: Context, line: string): void {
  ctx.stderr.write(line.endsWith('\n') ? line : line + '\n');
}
