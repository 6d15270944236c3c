// The console's tests drive Debian's chromium through playwright-core
// (nothing downloads a browser), against the real service: `src/main.ts
// --token` in a child process on 127.0.0.1, port 0.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Why the browser tests cannot run here, or null when they can. */
export function cannotRun(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (Debian package chromium; .ci/run installs it)`;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

export interface Service {
  pid: number;
  url: string;
  token: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  rss(): number;
  stop(): Promise<void>;
}

export async function startService(token: string): Promise<Service> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--listen', '127.0.0.1:0', '--token', token], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; address?: string };
        if (rec.msg === 'listening' && typeof rec.address === 'string') resolve(rec.address);
      } catch {
        // not a log record
      }
    });
    void exited.then(() => reject(new Error('the service exited before listening')));
  });
  const headers = { authorization: `Bearer ${token}` };
  return {
    pid: proc.pid!,
    url,
    token,
    async api(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    },
    rss() {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m === null ? 0 : Number(m[1]) * 1024;
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Errors the page logs or throws; a test ends by asserting there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

export async function login(page: Page, service: Service): Promise<void> {
  await page.goto(`${service.url}/console/`);
  await page.getByLabel('Token').fill(service.token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Devices/ }).waitFor();
}

/** An ARP request from 02:00:00:00:00:0a (192.0.2.1) for 192.0.2.N, broadcast: 42 bytes, hex. */
export function arpRequestHex(n: number): string {
  return 'ffffffffffff' + '02000000000a' + '0806' + '0001080006040001' + '02000000000a' + 'c0000201' + '000000000000' + 'c00002' + n.toString(16).padStart(2, '0');
}
