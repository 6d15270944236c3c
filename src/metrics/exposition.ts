// The Prometheus text format (0.0.4) for the netstack_ families, written
// directly from the stack's numbers. prom-client's own formatter allocates
// several objects per series (label entries, arrays, a WeakMap entry), which
// at 1000 devices x 20-odd families dominates a scrape; this writer produces
// the same bytes (test/metrics/exposition.test.ts holds it to that) with one
// string append per series and label text rendered once per label set.

import type { Family } from './family.ts';

const NEEDS_LABEL_ESCAPE = /[\\\n"]/;

/** escapeLabelValue, as prom-client and the format define it. */
function escapeLabelValue(v: string): string {
  return NEEDS_LABEL_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}

function renderLabels(labels: Readonly<Record<string, string>>): string {
  let out = '';
  let sep = '{';
  for (const k in labels) {
    out += `${sep}${k}="${escapeLabelValue(labels[k]!)}"`;
    sep = ',';
  }
  return sep === '{' ? '' : `${out}}`;
}

/** Rendered text of the frozen label sets (labels.ts), which are reused scrape after scrape. */
const rendered = new WeakMap<object, string>();

function labelText(labels: Readonly<Record<string, string>>): string {
  if (!Object.isFrozen(labels)) return renderLabels(labels);
  let text = rendered.get(labels);
  if (text === undefined) {
    text = renderLabels(labels);
    rendered.set(labels, text);
  }
  return text;
}

/** One family: HELP, TYPE and a line per series, lines joined by newlines, no trailing one. */
export function writeFamily(f: Family): string {
  const name = f.name;
  let out = `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}`;
  f.read((labels, value) => {
    out += `\n${name}${labelText(labels)} ${valueText(value)}`;
  });
  return out;
}

/**
 * Every family, separated by a blank line as prom-client separates them.
 * Runs synchronously, so all numbers come from the same instant of the stack.
 */
export function writeFamilies(families: readonly Family[]): string {
  const parts: string[] = new Array(families.length);
  for (let i = 0; i < families.length; i++) parts[i] = writeFamily(families[i]!);
  return parts.join('\n\n');
}
