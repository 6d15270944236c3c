// The /metrics registry of one NetStack: prom-client's process metrics plus
// every netstack_ family, all read from the stack's plain counters at scrape
// time. Nothing here runs per frame.

import { Registry, collectDefaultMetrics } from 'prom-client';
import type { NetStack } from '../stack/index.ts';
import { FamilySet } from './family.ts';
import { writeFamilies } from './exposition.ts';
import { registerDeviceMetrics } from './device.ts';
import { registerQdiscMetrics } from './qdisc.ts';
import { registerSoftnetMetrics } from './softnet.ts';
import { registerSocketMetrics } from './socket.ts';
import { registerSkbMetrics } from './skb.ts';
import { registerDropMetrics } from './drops.ts';

export interface StackMetrics {
  /**
   * Its own registry (not prom-client's global one), so two stacks never
   * share series. It holds every family; registry.metrics() and
   * getMetricsAsJSON() read the stack through each family's collect().
   */
  registry: Registry;
  /** The exposition format's content type, for the Content-Type header. */
  contentType: string;
  /**
   * One scrape: the same text as registry.metrics(), with the netstack_
   * families written directly (several times faster at 1000 devices).
   */
  metrics(): Promise<string>;
}

export function createMetrics(stack: NetStack): StackMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges with a counter's `_total` suffix, which
  // `promtool check metrics` rejects; the per-type gauges beside them
  // (nodejs_active_handles{type}, ...) carry the same numbers: sum() them.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const set = new FamilySet(registry);
  registerDeviceMetrics(set, stack);
  registerQdiscMetrics(set, stack);
  registerSoftnetMetrics(set, stack);
  registerSocketMetrics(set, stack);
  registerSkbMetrics(set, stack);
  registerDropMetrics(set, stack);

  async function metrics(): Promise<string> {
    // Ours first, in one synchronous pass, so every netstack_ number is from
    // the same instant; the process metrics may await.
    const ours = writeFamilies(set.families);
    const others = registry.getMetricsAsArray().filter((m) => !set.names.has(m.name));
    const texts = await Promise.all(others.map((m) => registry.getSingleMetricAsString(m.name)));
    texts.push(ours);
    return `${texts.join('\n\n')}\n`;
  }

  return { registry, contentType: registry.contentType, metrics };
}
