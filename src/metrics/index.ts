// What the service layers import from metrics/.
export { createMetrics, type StackMetrics } from './registry.ts';
