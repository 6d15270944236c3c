// What goes wrong with a config or state file, said so that the reader can
// find the spot: `config deploy/a.json: devices[2].mtu: must be <= 65535`.
// The service prints it and exits 2; the file is never touched.

import type { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The offending place inside the file, as `devices[2].mtu`; '' for the file as a whole. */
    readonly where: string = '',
  ) {
    super(message);
  }
}

/** ['devices', 2, 'mtu'] -> devices[2].mtu; keys that are not identifiers are quoted: sysctl["net.core.rmem_max"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function typeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'number' && !Number.isFinite(input)) return String(input);
  return `${typeof input} ${JSON.stringify(input)}`;
}

function oneOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** One zod issue in plain words, without the path. */
function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return `must be ${op} ${issue.maximum}`;
    }
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters long`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entries`;
      return `must be ${op} ${issue.minimum}`;
    }
    case 'invalid_type':
      if (issue.input === undefined) return `is required (${issue.expected})`;
      if (issue.expected === 'int') return `must be an integer, not ${typeName(issue.input)}`;
      return `must be ${issue.expected === 'array' || issue.expected === 'object' ? 'an' : 'a'} ${issue.expected}, not ${typeName(issue.input)}`;
    case 'invalid_value':
      if (issue.input === undefined) return `is required (${oneOf(issue.values)})`;
      return `must be ${issue.values.length === 1 ? oneOf(issue.values) : `one of ${oneOf(issue.values)}`}`;
    case 'invalid_union':
      if ('options' in issue && issue.discriminator !== undefined && issue.options !== undefined) {
        return `${issue.input === undefined ? 'is required, ' : ''}must be one of ${oneOf(issue.options)}`;
      }
      return issue.message;
    case 'invalid_format':
      return issue.message;
    default:
      return issue.message;
  }
}

export interface IssueLine {
  /** devices[2].mtu; '(top level)' for the document itself. */
  where: string;
  text: string;
}

/** Every issue as a place and plain words; an unknown key is named in the place. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): IssueLine[] {
  const lines: IssueLine[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push({ where: formatPath([...issue.path, key]), text: 'unknown key' });
      continue;
    }
    const where = formatPath(issue.path);
    lines.push({ where: where === '' ? '(top level)' : where, text: issueText(issue) });
  }
  return lines;
}
