// Reading `--config FILE` (JSON or YAML) and `--state FILE` (JSON) into
// validated objects. Every failure is a ConfigError that names the file and,
// where it can, the place inside it; nothing here writes to either file.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, describeIssues } from './errors.ts';
import { isWellFormedName, repairName } from '../dev/names.ts';
import { configFileSchema, stateFileSchema, type ConfigFile, type StateFile } from './schema.ts';

type Format = 'json' | 'yaml';

/** By extension; otherwise by content: JSON documents start with `{`. */
function formatOf(file: string, text: string): Format {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

function parseText(text: string, format: Format, what: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ConfigError(`${what}: not valid JSON: ${(err as Error).message}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) throw new ConfigError(`${what}: not valid YAML: ${first.message.split('\n')[0]}`);
  return doc.toJS() as unknown;
}

function validate<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  // reportInput: the issues carry the offending value, so a missing key reads as "is required".
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  const lines = describeIssues(r.error.issues);
  throw new ConfigError(lines.map((l) => `${what}: ${l.where}: ${l.text}`).join('\n'), lines[0]?.where ?? '');
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${what}: cannot read: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
  }
}

/** Parse and validate config text; `file` decides the format and names the file in errors. */
export function parseConfig(text: string, file: string): ConfigFile {
  const what = `config ${file}`;
  return validate(configFileSchema, parseText(text, formatOf(file, text), what), what);
}

export async function loadConfigFile(file: string): Promise<ConfigFile> {
  return parseConfig(await readText(file, `config ${file}`), file);
}

/** A device name an older version saved that this one would refuse, and the name it is restored under. */
export interface RenamedDevice {
  from: string;
  to: string;
}

const NAME_FIELDS = ['name', 'peer', 'link'] as const;

/**
 * Older versions let a name with a lone UTF-16 surrogate in (JSON.stringify
 * writes it as an escape, JSON.parse gives it back). Such a device could
 * never be deleted: its name has no UTF-8 form, so no URL names it. It is
 * restored under a repaired name instead (repairName: '_' for each lone
 * surrogate, or dev%d), in every field that refers to it, so the state still
 * loads, nothing is lost, and the device can be renamed or deleted.
 */
function repairLegacyNames(data: unknown): RenamedDevice[] {
  if (typeof data !== 'object' || data === null) return [];
  const devices = (data as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) return [];
  const entries = devices.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null);
  const names = new Set<string>();
  for (const e of entries) for (const f of NAME_FIELDS) if (typeof e[f] === 'string') names.add(e[f]);
  const renamed = new Map<string, string>();
  for (const name of names) {
    if (isWellFormedName(name)) continue;
    const to = repairName(name, (n) => names.has(n) || [...renamed.values()].includes(n));
    renamed.set(name, to);
  }
  if (renamed.size === 0) return [];
  for (const e of entries) {
    for (const f of NAME_FIELDS) {
      const v = e[f];
      if (typeof v === 'string' && renamed.has(v)) e[f] = renamed.get(v);
    }
  }
  return [...renamed].map(([from, to]) => ({ from, to }));
}

const LEGACY_PORT_RANGE = ['net.ipv4.ip_local_port_range_min', 'net.ipv4.ip_local_port_range_max'] as const;

/**
 * Older versions saved the local port range as two sysctls and took any
 * pair (a decreasing one, or a privileged start, failed only when a port was
 * chosen). This version refuses such a pair as Linux's
 * ipv4_local_port_range does, which would stop the service at start from its
 * own state file: the pair is dropped instead (the default range applies)
 * and said. Returns what was dropped, for the log.
 */
function repairLegacySysctls(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const sysctl = (data as { sysctl?: unknown }).sysctl;
  if (typeof sysctl !== 'object' || sysctl === null) return [];
  const map = sysctl as Record<string, unknown>;
  const [lo, hi] = LEGACY_PORT_RANGE.map((k) => map[k]);
  const start = typeof lo === 'number' ? lo : 32768;
  const end = typeof hi === 'number' ? hi : 60999;
  if ((lo === undefined && hi === undefined) || (start >= 1024 && start <= end)) return [];
  for (const k of LEGACY_PORT_RANGE) delete map[k];
  return [`net.ipv4.ip_local_port_range ${start} ${end}, which an older version saved, is not a valid range: the default applies`];
}

/** What was repaired while loading an older state file, for the log. */
export interface StateRepairs {
  renamed?: (renamed: RenamedDevice[]) => void;
  sysctls?: (dropped: string[]) => void;
}

/** Parse and validate state text; `repairs` hears of what was repaired on the way (repairLegacyNames, repairLegacySysctls). */
export function parseState(text: string, file: string, repairs: StateRepairs | ((renamed: RenamedDevice[]) => void) = {}): StateFile {
  const hear: StateRepairs = typeof repairs === 'function' ? { renamed: repairs } : repairs;
  const what = `state ${file}`;
  if (text.trim() === '') throw new ConfigError(`${what}: the file is empty`);
  const data = parseText(text, 'json', what);
  const renamed = repairLegacyNames(data);
  const dropped = repairLegacySysctls(data);
  const state = validate(stateFileSchema, data, what);
  if (renamed.length > 0) hear.renamed?.(renamed);
  if (dropped.length > 0) hear.sysctls?.(dropped);
  return state;
}

/** The saved state, or null when the file does not exist yet (first start). */
export async function loadStateFile(file: string, repairs: StateRepairs | ((renamed: RenamedDevice[]) => void) = {}): Promise<StateFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`state ${file}: cannot read: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
  }
  return parseState(text, file, repairs);
}
