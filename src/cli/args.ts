// The command line: global options may stand anywhere (`netstackctl -s link
// show` and `netstackctl link show -s` alike, as users type both), and what
// is left is iproute2's keyword-value grammar, read with a small walker
// rather than an option parser, which cannot express `link set dev X mtu N`.

import { ArgError } from './errors.ts';

export interface GlobalOptions {
  server: string;
  token: string | undefined;
  json: boolean;
  pretty: boolean;
  /** How many times -s was given (ip's show_stats). */
  stats: number;
  details: boolean;
  brief: boolean;
  help: boolean;
  version: boolean;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8470';

export interface ParsedCommandLine {
  options: GlobalOptions;
  /** Everything that is not a global option, in order. */
  words: string[];
}

const VALUE_OPTIONS = new Set(['--server', '--token']);

/**
 * Pulls the global options out of `argv`. Unknown dashed words stay in
 * `words`, since commands have options of their own (`capture -c`, `send -f`,
 * `sysctl -w`). After `--` nothing is taken as an option.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const options: GlobalOptions = {
    server: env.NETSTACK_URL !== undefined && env.NETSTACK_URL !== '' ? env.NETSTACK_URL : DEFAULT_SERVER,
    token: env.NETSTACK_TOKEN !== undefined && env.NETSTACK_TOKEN !== '' ? env.NETSTACK_TOKEN : undefined,
    json: false,
    pretty: false,
    stats: 0,
    details: false,
    brief: false,
    help: false,
    version: false,
  };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_OPTIONS.has(name)) {
      let value: string | undefined;
      if (eq > 0) value = arg.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined || value === '') throw new ArgError(`option "${name}" needs a value`);
      if (name === '--server') options.server = value;
      else options.token = value;
      continue;
    }
    switch (arg) {
      case '-j': case '-json': case '--json': options.json = true; break;
      case '-p': case '-pretty': case '--pretty': options.pretty = true; break;
      case '-s': case '-stats': case '-statistics': case '--stats': options.stats++; break;
      case '-d': case '-details': case '--details': options.details = true; break;
      case '-br': case '-brief': case '--brief': options.brief = true; break;
      case '-h': case '-help': case '--help': options.help = true; break;
      case '-V': case '-Version': case '--version': options.version = true; break;
      default: words.push(arg);
    }
  }
  return { options, words };
}

/** A cursor over a command's words, with iproute2's error messages. */
export class Words {
  private pos = 0;

  constructor(
    private readonly words: readonly string[],
    /** The help topic errors point to. */
    readonly topic: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.words.length;
  }

  peek(): string | undefined {
    return this.words[this.pos];
  }

  next(): string | undefined {
    return this.words[this.pos++];
  }

  /** The rest, consumed. */
  rest(): string[] {
    const out = this.words.slice(this.pos);
    this.pos = this.words.length;
    return out;
  }

  /** The value after keyword `key`; a missing one is ip's "Command line is not complete". */
  value(key: string): string {
    const v = this.next();
    if (v === undefined) throw new ArgError(`command line is not complete: "${key}" needs a value`, this.topic);
    return v;
  }

  fail(message: string): never {
    throw new ArgError(message, this.topic);
  }

  /** The rest as `[dev] NAME`, nothing else allowed; undefined when absent. */
  deviceOnly(): string | undefined {
    let dev: string | undefined;
    while (!this.done) {
      const w = this.next()!;
      if (w === 'dev') dev = this.value(w);
      else if (dev === undefined) dev = w;
      else this.garbage(w);
    }
    return dev;
  }

  /** ip's wording for a word it does not understand in this place. */
  garbage(word: string): never {
    throw new ArgError(`either "${word}" is a duplicate, or "${word}" is a garbage`, this.topic);
  }
}

/** Remembers which keywords a command has seen, to refuse `mtu 1400 mtu 1300` as ip does. */
export class SeenKeywords {
  private readonly seen = new Set<string>();

  constructor(private readonly topic: string) {}

  once(key: string, value: string): void {
    if (this.seen.has(key)) throw new ArgError(`duplicate "${key}": "${value}" is the second value`, this.topic);
    this.seen.add(key);
  }
}
