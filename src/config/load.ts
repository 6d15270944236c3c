// Reading `--config FILE` (JSON or YAML) and `--state FILE` (JSON) into
// validated objects. Every failure is a ConfigError that names the file and,
// where it can, the place inside it; nothing here writes to either file.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, describeIssues } from './errors.ts';
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

export function parseState(text: string, file: string): StateFile {
  const what = `state ${file}`;
  if (text.trim() === '') throw new ConfigError(`${what}: the file is empty`);
  return validate(stateFileSchema, parseText(text, 'json', what), what);
}

/** The saved state, or null when the file does not exist yet (first start). */
export async function loadStateFile(file: string): Promise<StateFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`state ${file}: cannot read: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
  }
  return parseState(text, file);
}
