// The real service as a child process for the reliability suite: started on
// port 0 (the "listening" log line says where), killed however the test likes.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/wait.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Service {
  base: string;
  port: number;
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start netstackd with these arguments and wait (bounded) until it listens. */
export async function startService(args: string[], env: Record<string, string> = {}): Promise<Service> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('NETSTACK_TOKEN' in env)) delete childEnv['NETSTACK_TOKEN'];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--listen', '127.0.0.1:0', ...args], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ unparsed: line });
    }
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  await until(() => done || logs.some((l) => l['msg'] === 'listening'), 'the service to listen', {
    timeoutMs: 60_000,
    intervalMs: 20,
    detail: () => stderr,
  });
  if (done) throw new Error(`the service exited before listening: ${stderr}`);
  const port = Number(logs.find((l) => l['msg'] === 'listening')!['port']);
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    proc,
    logs,
    exited,
    async kill(signal = 'SIGKILL') {
      if (!done) proc.kill(signal);
      await exited;
    },
  };
}
