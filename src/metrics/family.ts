// A metric family whose values are read from the stack when Prometheus
// scrapes, never pushed from the frame path: the core keeps plain numbers
// (about 1 ns per increment) and this turns them into series only at scrape
// time. Each family is registered twice over from one definition: as a
// prom-client Counter/Gauge filled in collect() (for registry users:
// registry.metrics(), getMetricsAsJSON()), and in a FamilySet that
// exposition.ts writes straight to text for /metrics.

import { Counter, Gauge, type Registry } from 'prom-client';

/** One series of a family: its label values and its current value. */
export type Emit<L extends string> = (labels: Readonly<Record<L, string>>, value: number) => void;

export interface FamilySpec<L extends string> {
  /** The full metric name (netstack_...). */
  name: string;
  /** What the number counts, in the stack's own terms. */
  help: string;
  labelNames: readonly L[];
  /** Called at each scrape: emit every series that exists now, and only those, each label set once. */
  read(emit: Emit<L>): void;
}

export type FamilyType = 'counter' | 'gauge';

export interface Family {
  readonly type: FamilyType;
  readonly name: string;
  readonly help: string;
  readonly read: (emit: Emit<string>) => void;
}

/** The netstack_ families of one registry, in registration order. */
export class FamilySet {
  readonly families: Family[] = [];
  readonly names = new Set<string>();

  constructor(readonly registry: Registry) {}

  /**
   * A counter published with its absolute value at each scrape. prom-client's
   * Counter has no set(), so collect() empties it and adds the stack's total
   * once (inc(0) is accepted and makes a zero series). Starting empty is also
   * what makes the series of a deleted device disappear, and a renamed device
   * show under its new name only.
   */
  counter<L extends string>(spec: FamilySpec<L>): void {
    new Counter<L>({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        spec.read((labels, value) => this.inc(labels, value));
      },
    });
    this.add('counter', spec);
  }

  /** A gauge set from the stack at each scrape; series that no longer exist go away. */
  gauge<L extends string>(spec: FamilySpec<L>): void {
    new Gauge<L>({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        spec.read((labels, value) => this.set(labels, value));
      },
    });
    this.add('gauge', spec);
  }

  private add<L extends string>(type: FamilyType, spec: FamilySpec<L>): void {
    // Emit<L> only narrows the label keys; the writer treats them as strings.
    this.families.push({ type, name: spec.name, help: spec.help, read: spec.read as (emit: Emit<string>) => void });
    this.names.add(spec.name);
  }
}

/** Label sets without labels, for the stack-wide families. */
export const NO_LABELS: readonly never[] = [];
export const noLabels: Readonly<Record<never, string>> = Object.freeze({});
