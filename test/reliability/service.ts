// The real service as a child process for the reliability suite: started on
// port 0 (the "listening" log line says where), killed however the test likes.

import type { ChildProcess } from 'node:child_process';
import { spawnService, type Exit } from '../helpers/service.ts';
import { until } from '../helpers/wait.ts';

export interface Service {
  base: string;
  port: number;
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<Exit>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start netstackd with these arguments and wait (bounded) until it listens. */
export async function startService(args: string[], env: Record<string, string> = {}): Promise<Service> {
  const s = spawnService(['--listen', '127.0.0.1:0', ...args], env);
  const { proc, logs, exited } = s;
  let done = false;
  void exited.then(() => (done = true));
  await until(() => done || logs.some((l) => l['msg'] === 'listening'), 'the service to listen', {
    timeoutMs: 60_000,
    intervalMs: 20,
    detail: () => s.stderr(),
  });
  if (done) throw new Error(`the service exited before listening: ${s.stderr()}`);
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
