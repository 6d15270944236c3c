// netstackd: arguments -> saved state or config -> stack -> HTTP app ->
// listen; SIGTERM/SIGINT -> stop accepting, close the streams with a close
// frame, save the state, close the stack, exit 0. A shutdown that hangs is
// cut short by a timer and exits 1.
//
// When --state names a file that exists, it wins over --config: the config
// is only the first setup, and the state is everything that happened since.

import type { AddressInfo } from 'node:net';
import { pino, type Logger as PinoLogger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { NetStack, type NetStackLimits } from './stack/index.ts';
import { USAGE, UsageError, isLoopbackHost, parseServiceArgs, type ServiceOptions } from './config/args.ts';
import { ConfigError } from './config/errors.ts';
import { loadConfigFile, loadStateFile } from './config/load.ts';
import { applySetup, type StackSetup } from './config/apply.ts';
import { StateSaver } from './config/state-saver.ts';
import { removeStaleTempFiles } from './config/atomic-write.ts';
import { attachInet } from './inet/control.ts';

const SHUTDOWN_TIMEOUT_MS = 5000;
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

/** A message for a human on stderr, and the same as a log line for collectors. */
function refuse(log: PinoLogger | null, message: string, code: number): never {
  log?.fatal({ exitCode: code }, message);
  process.stderr.write(`netstackd: ${message}\n`);
  process.exit(code);
}

/** The object without its undefined members (exactOptionalPropertyTypes-proof options). */
function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The state file if it exists, else the config file, else nothing. */
async function initialSetup(opts: ServiceOptions, log: PinoLogger): Promise<{ setup: StackSetup; source: string } | null> {
  if (opts.stateFile !== undefined) {
    const removed = await removeStaleTempFiles(opts.stateFile);
    if (removed.length > 0) log.warn({ files: removed }, 'removed temporary files an interrupted save left behind');
    const state = await loadStateFile(opts.stateFile, {
      renamed: (renamed) => {
        // JSON.stringify escapes the lone surrogates, so the log line shows what the name was.
        for (const r of renamed) log.warn({ from: r.from, to: r.to }, 'the state file holds a device name that is not valid UTF-8: restored under a new name');
      },
      sysctls: (dropped) => {
        for (const d of dropped) log.warn(d);
      },
    });
    if (state !== null) {
      if (opts.configFile !== undefined) {
        log.info({ state: opts.stateFile, config: opts.configFile }, 'state file exists: restoring it; the config file is not applied');
      }
      return { setup: state, source: `state ${opts.stateFile}` };
    }
  }
  if (opts.configFile !== undefined) return { setup: await loadConfigFile(opts.configFile), source: `config ${opts.configFile}` };
  return null;
}

async function main(): Promise<void> {
  let opts: ServiceOptions;
  try {
    opts = parseServiceArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`netstackd: ${err.message}\nTry 'netstackd --help' for more information.\n`);
    process.exit(EXIT_USAGE);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }

  // Synchronous writes: lines keep their order and none is lost when the process exits.
  const log = pino(
    { name: 'netstackd', level: opts.logLevel, redact: ['req.headers.authorization'] },
    pino.destination({ dest: 1, sync: true }),
  );
  const limits: Partial<NetStackLimits> = {};
  if (opts.maxDevices !== undefined) limits.maxDevices = opts.maxDevices;
  if (opts.maxSockets !== undefined) limits.maxSockets = opts.maxSockets;
  const stack = new NetStack({ logger: log, limits });
  // IPv4 before any setup: its sysctls (net.ipv4.*) and state live in it.
  attachInet(stack);

  let saver: StateSaver | null = null;
  try {
    const initial = await initialSetup(opts, log);
    if (initial !== null) {
      await applySetup(stack, initial.setup, initial.source);
      log.info({ from: initial.source, devices: stack.devices.size }, 'configuration applied');
    }
    if (opts.stateFile !== undefined) {
      saver = new StateSaver(stack, opts.stateFile, { logger: log });
      try {
        await saver.start();
      } catch (err) {
        throw new ConfigError(`state ${opts.stateFile}: cannot write: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    stack.close();
    if (err instanceof ConfigError) refuse(log, err.message, EXIT_USAGE);
    throw err;
  }

  const durable = saver;
  let app: FastifyInstance;
  try {
    // Loaded only now, so --help and argument errors answer without loading fastify.
    const { buildApp } = await import('./api/http/app.ts');
    app = await buildApp({
      stack,
      loggerInstance: log,
      ...(opts.token === undefined ? {} : { token: opts.token }),
      // A 2xx for a change means the state file holds it (fsync'd).
      ...(durable === null ? {} : { commit: () => durable.commit() }),
      limits: definedOnly({
        maxWsClients: opts.maxWsClients,
        maxCaptures: opts.maxCaptures,
        maxConnections: opts.maxConnections,
        maxConnectionsPerAddress: opts.maxConnectionsPerAddress,
        requestTimeoutMs: opts.requestTimeoutMs,
      }),
      // Addresses, routes, neighbours and sockets have no notifier: every change made over HTTP marks the state dirty.
      ...(saver === null ? {} : { onChange: () => saver?.changed() }),
    });
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    log.fatal({ err }, 'cannot start the HTTP server');
    await saver?.stop().catch(() => undefined);
    stack.close();
    process.stderr.write(`netstackd: cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}\n`);
    process.exit(EXIT_RUNTIME);
  }

  const bound = app.server.address() as AddressInfo;
  const hostPart = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info({ address: `http://${hostPart}:${bound.port}`, host: bound.address, port: bound.port }, 'listening');
  if (!isLoopbackHost(opts.host) && opts.token === undefined) {
    log.warn({ host: opts.host }, 'listening beyond loopback without a token: anyone who can reach this port controls the stack (set NETSTACK_TOKEN)');
  }

  let closing = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (closing) {
      log.warn({ reason }, 'asked again while shutting down: exiting now');
      process.exit(EXIT_RUNTIME);
    }
    closing = true;
    log.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown did not finish in time: exiting');
      process.exit(EXIT_RUNTIME);
    }, SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    let exitCode = code;
    try {
      // Stops accepting, closes every WebSocket with a close frame (preClose), waits for requests in flight.
      await app.close();
    } catch (err) {
      log.error({ err }, 'error while closing the HTTP server');
      exitCode = EXIT_RUNTIME;
    }
    if (saver !== null) {
      try {
        await saver.stop();
        log.info({ file: saver.file }, 'state saved');
      } catch (err) {
        log.error({ err, file: saver.file }, 'could not save state');
        exitCode = EXIT_RUNTIME;
      }
    }
    stack.close();
    log.info({ exitCode }, 'stopped');
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    void shutdown('uncaughtException', EXIT_RUNTIME);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    void shutdown('unhandledRejection', EXIT_RUNTIME);
  });
}

await main();
