// netstackctl: parse the global options, pick the object's command, and
// turn whatever went wrong into one message on stderr and iproute2's exit
// status. Only `capture` and `send` outlive a Ctrl-C (to stop cleanly and
// print their summary); anything else is simply interrupted.

import { readFileSync } from 'node:fs';
import { parseCommandLine } from './args.ts';
import { ArgError, CliError, EXIT_ARGS, EXIT_OK, EXIT_SERVICE, UnknownObjectError } from './errors.ts';
import { type CliIo, type Context, makeContext, print } from './context.ts';
import { MAIN_HELP, helpFor } from './help.ts';
type Command = (ctx: Context, args: string[]) => Promise<void>;

// Each object's module is loaded only when its command runs: a `link show`
// does not parse the capture writers or the pcap reader (netstackctl is
// started once per command, so start-up time is most of a call).
const OBJECTS: Record<string, () => Promise<Command>> = {
  link: async () => (await import('./commands/link.ts')).linkCommand,
  bridge: async () => (await import('./commands/bridge.ts')).bridgeCommand,
  maddress: async () => (await import('./commands/maddr.ts')).maddrCommand,
  send: async () => (await import('./commands/send.ts')).sendCommand,
  capture: async () => (await import('./commands/capture.ts')).captureCommand,
  stats: async () => (await import('./commands/stats.ts')).statsCommand,
  sysctl: async () => (await import('./commands/sysctl.ts')).sysctlCommand,
  ioctl: async () => (await import('./commands/ioctl.ts')).ioctlCommand,
  sockets: async () => (await import('./commands/sockets.ts')).socketsCommand,
  monitor: async () => (await import('./commands/monitor.ts')).monitorCommand,
  address: async () => (await import('./commands/addr.ts')).addrCommand,
  route: async () => (await import('./commands/route.ts')).routeCommand,
  neighbour: async () => (await import('./commands/neigh.ts')).neighCommand,
  ping: async () => (await import('./commands/ping.ts')).pingCommand,
  ss: async () => (await import('./commands/ss.ts')).ssCommand,
  nstat: async () => (await import('./commands/nstat.ts')).nstatCommand,
  qdisc: async () => (await import('./commands/qdisc.ts')).qdiscCommand,
};

/** ip's own short forms, which a prefix alone would not reach (`a` is also a prefix of nothing else, `n` of nstat too). */
const ALIASES: Record<string, string> = {
  maddr: 'maddress', a: 'address', addr: 'address', r: 'route', ro: 'route', n: 'neighbour', neigh: 'neighbour', neighbor: 'neighbour',
};

/** The help topic (and error hint) of an object whose name differs from it. */
const TOPICS: Record<string, string> = { maddress: 'maddr', address: 'addr', neighbour: 'neigh' };

/** Commands that watch for Ctrl-C themselves. */
const INTERRUPTIBLE = new Set(['send', 'capture', 'monitor']);

/** Objects by name or by a prefix that names only one, as ip takes `l` for link. */
function findObject(word: string): string | undefined {
  if (Object.hasOwn(ALIASES, word)) return ALIASES[word];
  if (Object.hasOwn(OBJECTS, word)) return word;
  const matches = Object.keys(OBJECTS).filter((k) => k.startsWith(word));
  return matches.length === 1 ? matches[0] : undefined;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `netstackctl, netstackd ${pkg.version ?? 'unknown'}\n`;
  } catch {
    return 'netstackctl\n';
  }
}

/** Runs one command line; resolves to the exit status. */
export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const interrupt = new AbortController();
  let objectName: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (objectName !== undefined && INTERRUPTIBLE.has(objectName) && !interrupt.signal.aborted) interrupt.abort();
    else process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let topic: string | null = null;
  try {
    const { options, words } = parseCommandLine(argv, env);
    const ctx = makeContext(options, interrupt.signal, io);
    if (options.version) {
      print(ctx, version());
      return EXIT_OK;
    }
    const first = words[0];
    if (first === undefined || first === 'help') {
      if (first === undefined && !options.help) {
        io.stderr.write(MAIN_HELP);
        return EXIT_ARGS;
      }
      print(ctx, words[1] !== undefined ? helpFor(findObject(words[1]) ?? null) : MAIN_HELP);
      return EXIT_OK;
    }
    objectName = findObject(first);
    if (objectName === undefined) throw new UnknownObjectError(first);
    topic = TOPICS[objectName] ?? objectName;
    if (options.help) {
      print(ctx, helpFor(topic));
      return EXIT_OK;
    }
    const command = await OBJECTS[objectName]!();
    await command(ctx, words.slice(1));
    return EXIT_OK;
  } catch (err) {
    return report(io, err, topic);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function report(io: CliIo, err: unknown, topic: string | null): number {
  if (err instanceof ArgError) {
    io.stderr.write(err.report(topic));
    return err.exitCode;
  }
  if (err instanceof CliError) {
    // An empty message is an exit status alone (ping without a reply has said everything on stdout).
    if (err.message !== '') io.stderr.write(err.message + '\n');
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`netstackctl: ${message}\n`);
  return EXIT_SERVICE;
}
