// The internet layer survives a restart: addresses, static routes,
// permanent neighbours, service sockets and net.ipv4 sysctls from --config,
// and those changed over the API afterwards, come back from --state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Only a guard against a service that never comes up; startup normally takes a few seconds (tsx). */
const STARTUP_GUARD_MS = 60_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Service {
  url: string;
  proc: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<Exit>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function spawnService(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; logs: Record<string, unknown>[]; stderr: () => string; exited: Promise<Exit> } {
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
async function startService(t: { after: (fn: () => Promise<void> | void) => void }, args: string[], env: Record<string, string> = {}): Promise<Service> {
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
async function runRefused(args: string[]): Promise<{ exit: Exit; stderr: string; logs: Record<string, unknown>[] }> {
  const s = spawnService(args);
  const exit = await s.exited;
  return { exit, stderr: s.stderr(), logs: s.logs };
}

async function api(base: string, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(new URL(url, base), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as unknown) };
}


interface Snapshot {
  addresses: unknown;
  routes: unknown;
  neighbours: unknown;
  sockets: unknown;
  sysctl: unknown;
}

async function snapshot(base: string): Promise<Snapshot> {
  const get = async (url: string): Promise<unknown> => {
    const r = await api(base, 'GET', url);
    assert.equal(r.status, 200, url);
    return r.json;
  };
  const addresses = (await get('/v1/addresses')) as { ifname: string; addr_info: unknown[] }[];
  const neighbours = (await get('/v1/neighbours')) as { state: string[] }[];
  const sockets = (await get('/v1/sockets')) as { family: string; local: string; peer: string; rcvbuf: number }[];
  const sysctl = ((await get('/v1/stack')) as { sysctl: Record<string, number> }).sysctl;
  return {
    addresses: addresses.map((a) => [a.ifname, a.addr_info]),
    routes: await get('/v1/routes'),
    neighbours: neighbours.filter((n) => n.state.includes('PERMANENT')),
    sockets: sockets.filter((s) => s.family === 'inet').map((s) => [s.local, s.peer]).sort(),
    sysctl: Object.fromEntries(Object.entries(sysctl).filter(([k]) => k.startsWith('net.ipv4.'))),
  };
}

test('addresses, routes, permanent neighbours, service sockets and net.ipv4 sysctls come back after a restart', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'lab.yaml');
  const state = path.join(dir, 'state.json');
  writeFileSync(
    config,
    [
      'devices:',
      '  - { kind: dummy, name: d0, up: true }',
      'addresses:',
      '  - { dev: d0, address: 198.51.100.1/24 }',
      'routes:',
      '  - { dst: 203.0.113.0/24, gateway: 198.51.100.254, metric: 7 }',
      'neighbours:',
      '  - { dst: 198.51.100.254, dev: d0, lladdr: "02:00:00:00:00:fe" }',
      'sockets:',
      '  - { bind: "0.0.0.0:7", service: echo }',
      'sysctl:',
      '  net.ipv4.ip_default_ttl: 32',
    ].join('\n'),
  );
  const first = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  const base = first.url;
  const fromConfig = await snapshot(base);
  assert.deepEqual((fromConfig.addresses as [string, { local: string }[]][]).find(([n]) => n === 'd0')?.[1].map((i) => i.local), ['198.51.100.1']);
  assert.deepEqual(fromConfig.sockets, [['0.0.0.0:7', '0.0.0.0:*']]);
  assert.equal((fromConfig.sysctl as Record<string, number>)['net.ipv4.ip_default_ttl'], 32);

  // Changes over the API after start.
  for (const [method, url, body] of [
    ['POST', '/v1/devices/d0/addresses', { address: '192.0.2.1/28' }],
    ['POST', '/v1/routes', { dst: 'default', gateway: '192.0.2.14' }],
    ['POST', '/v1/neighbours', { dst: '192.0.2.14', dev: 'd0', lladdr: '02:00:00:00:00:0e' }],
    ['POST', '/v1/sockets', { type: 'udp', bind: '192.0.2.1:9', service: 'discard' }],
    ['PATCH', '/v1/stack/sysctl', { 'net.ipv4.ip_forward': 1 }],
    ['DELETE', '/v1/routes?dst=203.0.113.0/24', undefined],
  ] as const) {
    const r = await api(base, method, url, body);
    assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  const before = await snapshot(base);
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { addresses: unknown[]; sockets: unknown[] };
  assert.equal(saved.addresses.length, 2);
  assert.equal(saved.sockets.length, 2);

  const second = await startService(t, ['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(await snapshot(second.url), before);
  assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
});
