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

export class Sysctl {
  readonly values: SysctlValues = { ...SYSCTL_DEFAULTS };
  private listeners: ((changed: SysctlName[]) => void)[] = [];

  /** Be told after every successful set (state saving, logs). Returns the unsubscribe function. */
  subscribe(fn: (changed: SysctlName[]) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  get(name: SysctlName): number {
    return this.values[name];
  }

  /** Validate every change first, then apply them all, so a bad one changes nothing. */
  set(changes: Partial<Record<string, number>>): void {
    const checked: [SysctlName, number][] = [];
    for (const [name, value] of Object.entries(changes)) {
      if (!isSysctlName(name)) throw new NetError('ENOENT', `unknown sysctl "${name}"`);
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new NetError('EINVAL', `${name} takes an integer`);
      }
      const [min, max] = SYSCTL_RANGE[name];
      if (value < min || value > max) throw new NetError('EINVAL', `${name} must be within ${min}..${max}`);
      checked.push([name, value]);
    }
    for (const [name, value] of checked) this.values[name] = value;
    if (checked.length > 0) for (const fn of this.listeners) fn(checked.map(([name]) => name));
  }

  snapshot(): SysctlValues {
    return { ...this.values };
  }
}
