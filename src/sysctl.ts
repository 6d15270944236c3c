// The sysctls the model reads, with Linux's defaults and limits. The
// net.core table is built in; a protocol registers its own names when it is
// attached (as register_net_sysctl does), so the HTTP API, the config file
// and the core agree on one table.

import { NetError } from './errno.ts';

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

/** One sysctl a protocol adds: its default and the bounds proc_dointvec_minmax checks. */
export interface SysctlSpec {
  default: number;
  min: number;
  max: number;
}

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

export class Sysctl {
  readonly values: SysctlValues & Record<string, number> = { ...SYSCTL_DEFAULTS };
  private readonly ranges = new Map<string, readonly [number, number]>(Object.entries(SYSCTL_RANGE));
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
   * All are checked before any is added; a name that exists already is EEXIST.
   */
  register(specs: Record<string, SysctlSpec>): void {
    for (const [name, s] of Object.entries(specs)) {
      if (this.ranges.has(name)) throw new NetError('EEXIST', `sysctl "${name}" is already registered`);
      if (![s.default, s.min, s.max].every(Number.isInteger) || s.min > s.max || s.default < s.min || s.default > s.max) {
        throw new NetError('EINVAL', `sysctl "${name}": default ${s.default} must be an integer within ${s.min}..${s.max}`);
      }
    }
    for (const [name, s] of Object.entries(specs)) {
      this.ranges.set(name, [s.min, s.max]);
      this.values[name] = s.default;
    }
  }

  has(name: string): boolean {
    return this.ranges.has(name);
  }

  /** Every name this table knows, built-in first, then in registration order. */
  names(): string[] {
    return [...this.ranges.keys()];
  }

  /** The bounds of a known name. */
  range(name: string): readonly [number, number] | undefined {
    return this.ranges.get(name);
  }

  get(name: SysctlName): number;
  get(name: string): number;
  get(name: string): number {
    const v = this.values[name];
    if (v === undefined) throw new NetError('ENOENT', `unknown sysctl "${name}"`);
    return v;
  }

  /** Validate every change first, then apply them all, so a bad one changes nothing. */
  set(changes: Partial<Record<string, number>>): void {
    const checked: [string, number][] = [];
    for (const [name, value] of Object.entries(changes)) {
      const range = this.ranges.get(name);
      if (range === undefined) throw new NetError('ENOENT', `unknown sysctl "${name}"`);
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new NetError('EINVAL', `${name} takes an integer`);
      }
      const [min, max] = range;
      if (value < min || value > max) throw new NetError('EINVAL', `${name} must be within ${min}..${max}`);
      checked.push([name, value]);
    }
    for (const [name, value] of checked) this.values[name] = value;
    if (checked.length > 0) for (const fn of this.listeners) fn(checked.map(([name]) => name));
  }

  snapshot(): SysctlValues & Record<string, number> {
    return { ...this.values };
  }
}
