// A listening netstackd HTTP server on 127.0.0.1:0 for the API tests, and a
// small client over real sockets (fetch).

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { NetStack, type NetStackOptions } from '../../../src/stack/index.ts';
import { until as waitUntil } from '../../helpers/wait.ts';
import { buildApp, type AppOptions } from '../../../src/api/http/app.ts';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is; objects are JSON unless contentType says otherwise. */
  raw?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface TestServer {
  stack: NetStack;
  app: FastifyInstance;
  base: string;
  port: number;
  request(method: string, path: string, opts?: RequestOptions): Promise<Reply>;
  /** Closes the app, then the stack; after that nothing may stay charged. */
  close(): Promise<void>;
}

export async function startServer(
  opts: Partial<Omit<AppOptions, 'stack'>> & { stackOptions?: NetStackOptions; token?: string } = {},
): Promise<TestServer> {
  const { stackOptions, ...appOpts } = opts;
  const stack = new NetStack(stackOptions);
  const app = await buildApp({ ...appOpts, stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    stack,
    app,
    base,
    port,
    async request(method, path, ro = {}) {
      const headers: Record<string, string> = { ...ro.headers };
      let body: string | Uint8Array | undefined;
      if (ro.raw !== undefined) body = ro.raw;
      else if (ro.body !== undefined) body = JSON.stringify(ro.body);
      if (body !== undefined) headers['content-type'] = ro.contentType ?? 'application/json';
      const res = await fetch(base + path, { method, headers, body, signal: ro.signal });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      stack.close();
    },
  };
}

export interface ProblemLike {
  type: string;
  title: string;
  status: number;
  detail: string;
  errno: string;
  instance: string;
  [member: string]: unknown;
}

/** Asserts an RFC 9457 problem with this status and errno, and returns it. */
export function assertProblem(reply: Reply, status: number, errno: string): ProblemLike {
  assert.equal(reply.status, status, `expected ${status} ${errno}, got ${reply.status}: ${reply.text}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const p = reply.json as ProblemLike;
  assert.equal(p.errno, errno, `expected errno ${errno}: ${reply.text}`);
  assert.equal(p.status, status);
  assert.equal(p.type, `urn:netstack:errno:${errno}`);
  assert.equal(typeof p.title, 'string');
  assert.ok(p.title.length > 0);
  assert.equal(typeof p.detail, 'string');
  assert.equal(typeof p.instance, 'string');
  return p;
}

/** What a rejected request must leave unchanged: devices (with counters), sockets, sysctls. */
export async function observableState(server: TestServer): Promise<string> {
  const [devices, sockets, stack] = await Promise.all([
    server.request('GET', '/v1/devices'),
    server.request('GET', '/v1/sockets'),
    server.request('GET', '/v1/stack'),
  ]);
  assert.equal(devices.status, 200);
  assert.equal(sockets.status, 200);
  assert.equal(stack.status, 200);
  const s = stack.json as { sysctl: unknown; drops: unknown; skb: { in_use: number } };
  return JSON.stringify({ devices: devices.json, sockets: sockets.json, sysctl: s.sysctl, drops: s.drops, inUse: s.skb.in_use });
}

/** Runs `reject`, which must be refused, and checks that nothing observable changed. */
export async function assertRejectedWithoutChange(server: TestServer, reject: () => Promise<void>): Promise<void> {
  const before = await observableState(server);
  await reject();
  assert.equal(await observableState(server), before, 'a rejected request changed the stack');
}

/** Polls `pred` between event-loop turns until it holds (the test's own timeout bounds it). */
export function until(pred: () => boolean, what?: string): Promise<void> {
  return waitUntil(pred, what, { intervalMs: 2 });
}

/** An Ethernet frame of `size` bytes (cut short for runts): broadcast, ethertype 0x88b5, `seq` after the header. */
export function testFrame(size = 60, seq = 0): Buffer {
  const f = Buffer.alloc(Math.max(size, 18), 0xab);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x99], 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(seq, 14);
  return f.subarray(0, size);
}

/** Opens a WebSocket and reports the HTTP status of a refused upgrade (101 when it opened). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}
