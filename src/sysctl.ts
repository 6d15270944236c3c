// The sysctls the model reads, with Linux's defaults and limits. The
// net.core table is built in; a protocol registers its own names when it is
// attached (as register_net_sysctl does), so the HTTP API, the config file
// and the core agree on one table.
//
// Most sysctls are one integer (proc_dointvec_minmax). Two other shapes
// exist because Linux has them where a user types them:
// - a word from a list (tcp_congestion_control: "reno", "cubic"); an unknown
//   word is ENOENT, as tcp_set_default_congestion_control answers;
// - a vector of integers on one line (tcp_rmem "4096 131072 6291456",
//   ip_local_port_range "32768 60999"), given as a JSON array or as the text
//   `sysctl` prints (numbers separated by blanks or tabs).
// Integers stay in `values`, a plain object the hot path reads without a
// call; a vector's elements are kept there too under member names
// (net.ipv4.tcp_rmem_max), so a reader never unpacks an array per segment.

import { NetError, type ErrnoName } from './errno.ts';

export const SYSCTL_DEFAULTS = {
  'net.core.rmem_default': 212992,
  'net.core.rmem_max': 212992,
  'net.core.wmem_default': 212992,
  'net.core.wmem_max': 212992,
  'net.core.netdev_max_backlog': 1000,
  'net.core.netdev_budget': 300,
  'net.core.netdev_budget_usecs': 2000,
  'net.core.dev_weight': 64,
} as const;

export type SysctlName = keyof typeof SYSCTL_DEFAULTS;
export type SysctlValues = Record<SysctlName, number>;

/** A sysctl's value as the API shows it: an integer, a word, or a vector of integers. */
export type SysctlValue = number | string | readonly number[];

/** One integer sysctl a protocol adds: its default and the bounds proc_dointvec_minmax checks. */
export interface SysctlSpec {
  default: number;
  min: number;
  max: number;
  /** Mode 0444: shown, never written (EACCES), not saved in the state file. */
  readOnly?: boolean;
}

/** A word from a fixed list (proc_dostring and a lookup, as tcp_congestion_control). */
export interface SysctlStringSpec {
  type: 'string';
  default: string;
  choices: readonly string[];
  /** Mode 0444 (tcp_available_congestion_control): shown, never written (EACCES), not saved. */
  readOnly?: boolean;
}

/**
 * Several integers on one line (proc_dointvec on an array), each within
 * min..max. `ordered`: no element may be smaller than the one before
 * (ipv4_local_port_range refuses a range whose end is below its start).
 * `members` name each element in `values` for readers; writing a member
 * name sets that element alone (older versions had the pair as two sysctls).
 */
export interface SysctlVectorSpec {
  type: 'vector';
  default: readonly number[];
  min: number;
  max: number;
  ordered?: boolean;
  /** The first element's smallest value, when above min (ipv4_local_port_range: ip_unprivileged_port_start, 1024). */
  startMin?: number;
  members?: readonly string[];
  /** Mode 0444: shown, never written (EACCES), not saved in the state file. */
  readOnly?: boolean;
}

export type AnySysctlSpec = SysctlSpec | SysctlStringSpec | SysctlVectorSpec;

/** Smallest and largest value each sysctl accepts (proc_dointvec_minmax bounds). */
const SYSCTL_RANGE: Record<SysctlName, readonly [number, number]> = {
  'net.core.rmem_default': [2304, 2147483647],
  'net.core.rmem_max': [2304, 2147483647],
  'net.core.wmem_default': [4608, 2147483647],
  'net.core.wmem_max': [4608, 2147483647],
  'net.core.netdev_max_backlog': [1, 2147483647],
  'net.core.netdev_budget': [1, 2147483647],
  'net.core.netdev_budget_usecs': [1, 2147483647],
  'net.core.dev_weight': [1, 2147483647],
};

export const SYSCTL_NAMES = Object.keys(SYSCTL_DEFAULTS) as SysctlName[];

/** A built-in (net.core) name; a Sysctl table may know more (see Sysctl.has). */
export function isSysctlName(name: string): name is SysctlName {
  return Object.hasOwn(SYSCTL_DEFAULTS, name);
}

/** A refused value, naming the sysctl it was for (the config file points at it). */
export class SysctlError extends NetError {
  constructor(
    errno: ErrnoName,
    readonly sysctl: string,
    detail: string,
  ) {
    super(errno, detail);
  }
}

function isStringSpec(s: AnySysctlSpec): s is SysctlStringSpec {
  return (s as SysctlStringSpec).type === 'string';
}

function isVectorSpec(s: AnySysctlSpec): s is SysctlVectorSpec {
  return (s as SysctlVectorSpec).type === 'vector';
}

/** How a vector is written: "4096 131072 6291456". */
export function formatSysctlVector(v: readonly number[]): string {
  return v.join(' ');
}

/** The value `name` takes from `input`, or a SysctlError saying why not. Never changes anything. */
function parseValue(name: string, spec: AnySysctlSpec, input: unknown): SysctlValue {
  if (isStringSpec(spec)) {
    if (typeof input !== 'string') throw new SysctlError('EINVAL', name, `${name} takes one of: ${spec.choices.join(', ')}`);
    const word = input.trim();
    if (!spec.choices.includes(word)) {
      throw new SysctlError('ENOENT', name, `${name}: "${word}" is not available (${spec.choices.join(', ')})`);
    }
    return word;
  }
  if (isVectorSpec(spec)) {
    const n = spec.default.length;
    const example = `"${formatSysctlVector(spec.default)}" or [${spec.default.join(', ')}]`;
    let v: unknown[];
    if (typeof input === 'string') {
      const words = input.trim() === '' ? [] : input.trim().split(/\s+/);
      if (!words.every((w) => /^-?[0-9]{1,16}$/.test(w))) throw new SysctlError('EINVAL', name, `${name} takes ${n} integers, such as ${example}`);
      v = words.map(Number);
    } else if (Array.isArray(input)) {
      v = input;
    } else {
      throw new SysctlError('EINVAL', name, `${name} takes ${n} integers, such as ${example}`);
    }
    if (v.length !== n || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
      throw new SysctlError('EINVAL', name, `${name} takes ${n} integers, such as ${example}`);
    }
    const ints = v as number[];
    for (const x of ints) {
      if (x < spec.min || x > spec.max) throw new SysctlError('EINVAL', name, `${name}: every value must be within ${spec.min}..${spec.max}`);
    }
    if (spec.startMin !== undefined && ints[0]! < spec.startMin) {
      throw new SysctlError('EINVAL', name, `${name}: the first value must be at least ${spec.startMin}`);
    }
    if (spec.ordered === true) {
      for (let i = 1; i < n; i++) {
        if (ints[i]! < ints[i - 1]!) {
          throw new SysctlError('EINVAL', name, `${name}: "${formatSysctlVector(ints)}" decreases; each value must be at least the one before`);
        }
      }
    }
    return Object.freeze([...ints]);
  }
  if (typeof input !== 'number' || !Number.isInteger(input)) throw new SysctlError('EINVAL', name, `${name} takes an integer`);
  if (input < spec.min || input > spec.max) throw new SysctlError('EINVAL', name, `${name} must be within ${spec.min}..${spec.max}`);
  return input;
}

export class Sysctl {
  /**
   * Every integer sysctl, and every vector's elements under their member
   * names: what hot paths read. Words and whole vectors are in value().
   */
  readonly values: SysctlValues & Record<string, number> = { ...SYSCTL_DEFAULTS };
  /** Every public name, built-in first, then in registration order. */
  private readonly specs = new Map<string, AnySysctlSpec>(
    SYSCTL_NAMES.map((name) => [name, { default: SYSCTL_DEFAULTS[name], min: SYSCTL_RANGE[name][0], max: SYSCTL_RANGE[name][1] }]),
  );
  /** Words and vectors by name. */
  private readonly typed = new Map<string, string | readonly number[]>();
  /** A member name -> its vector and index. */
  private readonly members = new Map<string, { vector: string; index: number }>();
  private listeners: ((changed: string[]) => void)[] = [];

  /** Be told after every successful set (state saving, logs). Returns the unsubscribe function. */
  subscribe(fn: (changed: string[]) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /**
   * register_net_sysctl: a protocol adds its names with defaults and bounds.
   * All are checked before any is added; a name (or member name) that exists
   * already is EEXIST.
   */
  register(specs: Record<string, AnySysctlSpec>): void {
    const seen = new Set<string>();
    const claim = (name: string): void => {
      if (this.specs.has(name) || this.members.has(name) || seen.has(name)) throw new NetError('EEXIST', `sysctl "${name}" is already registered`);
      seen.add(name);
    };
    for (const [name, s] of Object.entries(specs)) {
      claim(name);
      if (isStringSpec(s)) {
        if (!s.choices.includes(s.default)) throw new NetError('EINVAL', `sysctl "${name}": default "${s.default}" is not one of ${s.choices.join(', ')}`);
      } else if (isVectorSpec(s)) {
        if (s.members !== undefined && s.members.length !== s.default.length) throw new NetError('EINVAL', `sysctl "${name}": one member name per element`);
        for (const m of s.members ?? []) claim(m);
        parseValue(name, s, s.default);
      } else if (![s.default, s.min, s.max].every(Number.isInteger) || s.min > s.max || s.default < s.min || s.default > s.max) {
        throw new NetError('EINVAL', `sysctl "${name}": default ${s.default} must be an integer within ${s.min}..${s.max}`);
      }
    }
    for (const [name, s] of Object.entries(specs)) {
      this.specs.set(name, s);
      this.store(name, s, s.default);
      if (isVectorSpec(s)) for (const [index, m] of (s.members ?? []).entries()) this.members.set(m, { vector: name, index });
    }
  }

  private store(name: string, spec: AnySysctlSpec, value: SysctlValue): void {
    if (typeof value === 'number') {
      this.values[name] = value;
      return;
    }
    this.typed.set(name, typeof value === 'string' ? value : Object.freeze([...value]));
    if (isVectorSpec(spec) && spec.members !== undefined && typeof value !== 'string') {
      for (const [i, m] of spec.members.entries()) this.values[m] = value[i]!;
    }
  }

  /** A public name (not a member name). */
  has(name: string): boolean {
    return this.specs.has(name);
  }

  /** Every public name this table knows, built-in first, then in registration order. */
  names(): string[] {
    return [...this.specs.keys()];
  }

  /** The bounds of a known integer name (a vector's: of each element). */
  range(name: string): readonly [number, number] | undefined {
    const s = this.specs.get(name);
    return s === undefined || isStringSpec(s) ? undefined : [s.min, s.max];
  }

  /** How `name` is written: 'int', 'string' or 'vector'; undefined when unknown. */
  kind(name: string): 'int' | 'string' | 'vector' | undefined {
    const s = this.specs.get(name);
    return s === undefined ? undefined : isStringSpec(s) ? 'string' : isVectorSpec(s) ? 'vector' : 'int';
  }

  /** An integer sysctl, or one element of a vector by its member name. */
  get(name: SysctlName): number;
  get(name: string): number;
  get(name: string): number {
    const v = Object.hasOwn(this.values, name) ? this.values[name] : undefined;
    if (v === undefined) {
      if (this.specs.has(name)) throw new NetError('EINVAL', `sysctl "${name}" is not an integer`);
      throw new NetError('ENOENT', `unknown sysctl "${name}"`);
    }
    return v;
  }

  /** Any public sysctl's value. */
  value(name: string): SysctlValue {
    if (!this.specs.has(name)) throw new NetError('ENOENT', `unknown sysctl "${name}"`);
    return this.typed.get(name) ?? this.values[name]!;
  }

  /** A word sysctl (tcp_congestion_control). */
  getString(name: string): string {
    const v = this.typed.get(name);
    if (typeof v !== 'string') throw new NetError(this.specs.has(name) ? 'EINVAL' : 'ENOENT', `sysctl "${name}" is not a word`);
    return v;
  }

  /** A vector sysctl (tcp_rmem), frozen. */
  getVector(name: string): readonly number[] {
    const v = this.typed.get(name);
    if (v === undefined || typeof v === 'string') throw new NetError(this.specs.has(name) ? 'EINVAL' : 'ENOENT', `sysctl "${name}" is not a vector`);
    return v;
  }

  /**
   * Validate every change first, then apply them all, so a bad one changes
   * nothing. A member name changes its element of the vector; the vector
   * is then checked whole. Refusals are SysctlErrors naming the sysctl.
   */
  set(changes: Readonly<Record<string, unknown>>): void {
    const next = new Map<string, SysctlValue>();
    // Vectors written through member names: checked whole once every element is in.
    const viaMembers = new Map<string, { elements: number[]; member: string }>();
    for (const [name, input] of Object.entries(changes)) {
      const member = this.members.get(name);
      if (member !== undefined) {
        if (this.specs.get(member.vector)!.readOnly === true) throw new SysctlError('EACCES', name, `${name} is read-only`);
        if (typeof input !== 'number' || !Number.isInteger(input)) throw new SysctlError('EINVAL', name, `${name} takes an integer`);
        const pending = viaMembers.get(member.vector);
        const elements = pending?.elements ?? [...((next.get(member.vector) ?? this.typed.get(member.vector)) as readonly number[])];
        elements[member.index] = input;
        viaMembers.set(member.vector, { elements, member: name });
        continue;
      }
      const spec = this.specs.get(name);
      if (spec === undefined) throw new SysctlError('ENOENT', name, `unknown sysctl "${name}"`);
      // A 0444 file: sysctl -w answers "permission denied". Writing back the
      // value it holds changes nothing and is let through, so a map copied
      // from GET /v1/stack into a config file or a PATCH still applies.
      if (spec.readOnly === true) {
        if (this.holds(name, spec, input)) continue;
        throw new SysctlError('EACCES', name, `${name} is read-only`);
      }
      next.set(name, parseValue(name, spec, input));
      viaMembers.delete(name);
    }
    for (const [vector, { elements, member }] of viaMembers) {
      try {
        next.set(vector, parseValue(vector, this.specs.get(vector)!, elements));
      } catch (err) {
        if (err instanceof SysctlError) throw new SysctlError(err.errno, member, `${member}: ${err.message}`);
        throw err;
      }
    }
    for (const [name, value] of next) this.store(name, this.specs.get(name)!, value);
    if (next.size > 0) for (const fn of this.listeners) fn([...next.keys()]);
  }

  /** Whether `input` parses to the value `name` holds now. */
  private holds(name: string, spec: AnySysctlSpec, input: unknown): boolean {
    let v: SysctlValue;
    try {
      v = parseValue(name, { ...spec, readOnly: false } as AnySysctlSpec, input);
    } catch {
      return false;
    }
    const now = this.typed.get(name) ?? this.values[name]!;
    return Array.isArray(v) ? Array.isArray(now) && v.length === now.length && v.every((x, i) => x === now[i]) : v === now;
  }

  /**
   * Every public sysctl and its value, in names() order: a copy.
   * `writable`: only those a set() takes (what a state file saves).
   */
  snapshot(opts: { writable?: boolean } = {}): Record<string, SysctlValue> {
    const out: Record<string, SysctlValue> = {};
    for (const [name, spec] of this.specs) {
      if (opts.writable === true && spec.readOnly === true) continue;
      out[name] = this.typed.get(name) ?? this.values[name]!;
    }
    return out;
  }
}
