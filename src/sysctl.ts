// The net.core sysctls the model reads, with Linux's defaults and limits.
// One table, so the HTTP API, the config file and the core agree on names.

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

export function isSysctlName(name: string): name is SysctlName {
  return Object.hasOwn(SYSCTL_DEFAULTS, name);
}

/** A sysctl a protocol adds when it attaches (register_net_sysctl): default and accepted range. */
export interface SysctlSpec {
  default: number;
  min: number;
  max: number;
}

export class Sysctl {
  /** net.core values, plus whatever protocols registered (by their full names). */
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

  get(name: SysctlName): number;
  get(name: string): number | undefined;
  get(name: string): number | undefined {
    return this.ranges.has(name) ? this.values[name] : undefined;
  }

  /** Whether `name` is a net.core sysctl or one a protocol registered. */
  has(name: string): boolean {
    return this.ranges.has(name);
  }

  /**
   * Add a protocol's sysctls with their defaults. A name already known is
   * EEXIST (two protocols must not share a knob), and nothing is added.
   */
  register(specs: Record<string, SysctlSpec>): void {
    for (const [name, spec] of Object.entries(specs)) {
      if (this.ranges.has(name)) throw new NetError('EEXIST', `sysctl "${name}" is already registered`);
      if (!Number.isInteger(spec.default) || spec.default < spec.min || spec.default > spec.max) {
        throw new NetError('EINVAL', `sysctl "${name}": default ${spec.default} is outside ${spec.min}..${spec.max}`);
      }
    }
    for (const [name, spec] of Object.entries(specs)) {
      this.ranges.set(name, [spec.min, spec.max]);
      this.values[name] = spec.default;
    }
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
