// netstackd's command line: node:util parseArgs plus the checks parseArgs
// cannot do (HOST:PORT, positive integers, log levels). A bad argument is a
// UsageError: main prints it with a hint and exits 2.

import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8470;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServiceOptions {
  host: string;
  port: number;
  configFile: string | undefined;
  stateFile: string | undefined;
  /** Bearer token the API requires; from --token or NETSTACK_TOKEN. */
  token: string | undefined;
  logLevel: LogLevel;
  maxDevices: number | undefined;
  maxSockets: number | undefined;
  maxWsClients: number | undefined;
  maxCaptures: number | undefined;
  maxConnections: number | undefined;
  maxConnectionsPerAddress: number | undefined;
  requestTimeoutMs: number | undefined;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: netstackd [options]

A Linux-style network stack in user space, driven over HTTP and WebSocket.

Options:
  --listen HOST:PORT     address to serve the API on (default ${DEFAULT_HOST}:${DEFAULT_PORT});
                         IPv6 as [::1]:8470; port 0 picks a free port (logged as "listening")
  --config FILE          initial setup, JSON or YAML: {devices: [...], sysctl: {...}};
                         ignored when --state names a file that already exists
  --state FILE           save every change to FILE (atomically) and restore it at start
  --token TOKEN          require "Authorization: Bearer TOKEN" on every request
                         (prefer the NETSTACK_TOKEN environment variable: argv is visible in ps)
  --log-level LEVEL      ${LOG_LEVELS.join(', ')} (default info)
  --max-devices N        at most N devices, lo included (default 4096)
  --max-sockets N        at most N sockets held open, every family: streams, captures,
                         UDP and TCP sockets (default 1024); a listener's children and
                         closed TCP sockets finishing (TIME-WAIT) are listed, not counted
  --max-ws-clients N     at most N WebSocket streams at once (default 64)
  --max-captures N       at most N captures at once (default 64)
  --max-connections N    at most N open HTTP connections (default 512); more get 503
  --max-connections-per-address N
                         at most N open connections from one client address (default 128)
  --request-timeout-ms N a request (headers and body) must arrive within N ms (default 30000);
                         a slower one is answered 408 and its connection closed
  -h, --help             show this text

Environment:
  NETSTACK_TOKEN         the token, when --token is not given

Exit status: 0 after a clean shutdown (SIGTERM, SIGINT); 1 on a runtime failure;
2 on a bad argument, config or state file.`;

/** HOST:PORT or [IPv6]:PORT. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]+)$/.exec(text);
  if (m === null) {
    const hint = text.split(':').length > 2 && !text.startsWith('[') ? ' (write IPv6 addresses in brackets: [::1]:8470)' : '';
    throw new UsageError(`--listen ${JSON.stringify(text)}: expected HOST:PORT${hint}`);
  }
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && isIP(host) !== 6) throw new UsageError(`--listen ${JSON.stringify(text)}: ${host} is not an IPv6 address`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) throw new UsageError(`--listen ${JSON.stringify(text)}: port must be within 0..65535`);
  return { host, port };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

function count(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected an integer >= ${min}`);
  }
  return Number(text);
}

function nonEmpty(flag: string, text: string | undefined): string | undefined {
  if (text !== undefined && text === '') throw new UsageError(`${flag}: must not be empty`);
  return text;
}

export function parseServiceArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ServiceOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string' },
        config: { type: 'string' },
        state: { type: 'string' },
        token: { type: 'string' },
        'log-level': { type: 'string' },
        'max-devices': { type: 'string' },
        'max-sockets': { type: 'string' },
        'max-ws-clients': { type: 'string' },
        'max-captures': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-connections-per-address': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. This command does not take positional arguments$/, ''));
  }
  const { host, port } = values.listen === undefined ? { host: DEFAULT_HOST, port: DEFAULT_PORT } : parseListen(values.listen);
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const envToken = env['NETSTACK_TOKEN'];
  const token = nonEmpty('--token', values.token) ?? (envToken === undefined || envToken === '' ? undefined : envToken);
  return {
    host,
    port,
    configFile: nonEmpty('--config', values.config),
    stateFile: nonEmpty('--state', values.state),
    token,
    logLevel: level as LogLevel,
    maxDevices: count('--max-devices', values['max-devices'], 1),
    maxSockets: count('--max-sockets', values['max-sockets'], 0),
    maxWsClients: count('--max-ws-clients', values['max-ws-clients'], 0),
    maxCaptures: count('--max-captures', values['max-captures'], 0),
    maxConnections: count('--max-connections', values['max-connections'], 1),
    maxConnectionsPerAddress: count('--max-connections-per-address', values['max-connections-per-address'], 1),
    requestTimeoutMs: count('--request-timeout-ms', values['request-timeout-ms'], 1),
    help: values.help === true,
  };
}
