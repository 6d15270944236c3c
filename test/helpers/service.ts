// The real service as a child process (`node --import tsx src/main.ts`), for
// the integration tests that start it, restart it or watch it refuse to start:
// spawned with the test's arguments, its JSON log lines collected, waited for
// (bounded) until it logs where it listens, killed when the test ends.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Only a guard against a service that never comes up; startup normally takes a few seconds (tsx). */
const STARTUP_GUARD_MS = 60_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Service {
  url: string;
  proc: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<Exit>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function spawnService(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; logs: Record<string, unknown>[]; stderr: () => string; exited: Promise<Exit> } {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('NETSTACK_TOKEN' in env)) delete childEnv['NETSTACK_TOKEN'];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ unparsed: line });
    }
  });
  // 'close': the process has exited and its output has been read to the end.
  const exited = new Promise<Exit>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  return { proc, logs, stderr: () => err, exited };
}

/** Start the service and wait for its `listening` line, which carries the address (port 0 picks one). */
export async function startService(t: { after: (fn: () => Promise<void> | void) => void }, args: string[], env: Record<string, string> = {}): Promise<Service> {
  const s = spawnService(args, env);
  let exited: Exit | null = null;
  void s.exited.then((e) => (exited = e));
  t.after(async () => {
    if (exited === null) {
      s.proc.kill('SIGKILL');
      await s.exited;
    }
  });
  for (let polls = Math.ceil(STARTUP_GUARD_MS / 50); ; polls--) {
    const line = s.logs.find((l) => l['msg'] === 'listening');
    if (line !== undefined) {
      const url = line['address'];
      assert.equal(typeof url, 'string');
      return {
        ...s,
        url: url as string,
        stop: async (signal = 'SIGTERM') => {
          s.proc.kill(signal);
          return s.exited;
        },
      };
    }
    if (exited !== null) assert.fail(`the service exited (${JSON.stringify(exited)}) before listening:\n${s.stderr()}`);
    if (polls <= 0) assert.fail('the service never logged "listening"');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Run the service expecting it to refuse to start. */
export async function runRefused(args: string[]): Promise<{ exit: Exit; stderr: string; logs: Record<string, unknown>[] }> {
  const s = spawnService(args);
  const exit = await s.exited;
  return { exit, stderr: s.stderr(), logs: s.logs };
}

export async function api(base: string, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(new URL(url, base), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as unknown) };
}
