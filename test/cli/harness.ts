// netstackctl as users run it: a child process (`node --import tsx
// src/cli/main.ts ...`) talking over real sockets to a netstackd app that
// this test process listens with on 127.0.0.1, port 0. The server lives in
// the test process so tests can look at the stack directly.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/http/app.ts';
import { NetStack } from '../../src/stack/index.ts';
import { runCli } from '../../src/cli/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface TestServer {
  url: string;
  stack: NetStack;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServer(opts: { token?: string } = {}): Promise<TestServer> {
  const stack = new NetStack();
  const app = await buildApp(opts.token !== undefined ? { stack, token: opts.token } : { stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stack,
    app,
    async close() {
      await app.close();
      stack.close();
    },
  };
}

export interface CtlResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output (capture -w -). */
  raw: Buffer;
}

export interface CtlOptions {
  /** NETSTACK_URL for the child; undefined leaves it unset. */
  url?: string | undefined;
  env?: Record<string, string>;
  stdin?: Uint8Array;
}

function childEnv(opts: CtlOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  delete env.NETSTACK_URL;
  delete env.NETSTACK_TOKEN;
  if (opts.url !== undefined) env.NETSTACK_URL = opts.url;
  if (opts.env?.NETSTACK_TOKEN !== undefined) env.NETSTACK_TOKEN = opts.env.NETSTACK_TOKEN;
  return env;
}

/** A running netstackctl, for commands that last (capture): read its output as it comes, signal it. */
export class Ctl {
  readonly child: ChildProcess;
  private out: Buffer[] = [];
  private err = '';
  private readonly exited: Promise<CtlResult>;
  private waiters: (() => void)[] = [];

  constructor(args: readonly string[], opts: CtlOptions = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: childEnv(opts), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.out.push(c);
      this.wake();
    });
    this.child.stderr!.on('data', (c: Buffer) => {
      this.err += c.toString('utf8');
      this.wake();
    });
    if (opts.stdin !== undefined) this.child.stdin!.end(opts.stdin);
    else this.child.stdin!.end();
    this.exited = once(this.child, 'close').then(([code, signal]) => {
      const raw = Buffer.concat(this.out);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null, stdout: raw.toString('utf8'), stderr: this.err, raw };
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  get stdout(): string {
    return Buffer.concat(this.out).toString('utf8');
  }

  get stderr(): string {
    return this.err;
  }

  /** Resolves once `test` holds for the output so far; rejects if the process ends first. */
  async until(test: (ctl: Ctl) => boolean, what: string): Promise<void> {
    let ended = false;
    void this.exited.then(() => {
      ended = true;
      this.wake();
    });
    while (!test(this)) {
      if (ended) throw new Error(`netstackctl exited before ${what}; stderr: ${this.err}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  done(): Promise<CtlResult> {
    return this.exited;
  }
}

/** Runs netstackctl to completion. */
export function ctl(args: readonly string[], opts: CtlOptions = {}): Promise<CtlResult> {
  return new Ctl(args, opts).done();
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  srv.close();
  await once(srv, 'close');
  return address.port;
}

/** GET a JSON body straight from the server, bypassing the CLI (to compare against). */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The same command line through runCli() in this process, with the output
 * captured: for tables of argument cases, where a process per case would
 * only add start-up time (the exit-status plumbing is covered by ctl()).
 */
export async function ctlInProcess(
  args: readonly string[],
  opts: { url?: string; env?: Record<string, string>; stdoutIsTTY?: boolean } = {},
): Promise<CtlResult> {
  const stdout: PassThrough & { isTTY?: boolean } = new PassThrough();
  if (opts.stdoutIsTTY === true) stdout.isTTY = true;
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  let err = '';
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const env: NodeJS.ProcessEnv = { ...opts.env };
  if (opts.url !== undefined) env.NETSTACK_URL = opts.url;
  const code = await runCli(args, env, { stdout, stderr });
  stdout.end();
  stderr.end();
  const raw = Buffer.concat(out);
  return { code, signal: null, stdout: raw.toString('utf8'), stderr: err, raw };
}
