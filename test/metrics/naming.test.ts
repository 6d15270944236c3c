// Prometheus naming rules (https://prometheus.io/docs/practices/naming/),
// checked in-process on every netstack_ family, so they hold even where
// promtool is not installed; and the contract's names of DESIGN §3.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';

/** Unit words that have a base unit Prometheus prefers. */
const NON_BASE_UNITS = [
  'milliseconds', 'microseconds', 'nanoseconds', 'ms', 'us', 'ns', 'minutes', 'hours', 'days',
  'kilobytes', 'megabytes', 'gigabytes', 'kb', 'mb', 'gb', 'kib', 'mib', 'bits', 'percent', 'celsius',
];

/** DESIGN §3: the names acceptance tests use, and their types. */
const CONTRACT: Record<string, 'counter' | 'gauge'> = {
  netstack_network_receive_bytes_total: 'counter',
  netstack_network_receive_packets_total: 'counter',
  netstack_network_receive_drop_total: 'counter',
  netstack_network_receive_errs_total: 'counter',
  netstack_network_transmit_bytes_total: 'counter',
  netstack_network_transmit_packets_total: 'counter',
  netstack_network_transmit_drop_total: 'counter',
  netstack_network_transmit_errs_total: 'counter',
  netstack_network_up: 'gauge',
  netstack_network_mtu_bytes: 'gauge',
  netstack_network_transmit_queue_length: 'gauge',
  netstack_qdisc_qlen: 'gauge',
  netstack_qdisc_backlog_bytes: 'gauge',
  netstack_qdisc_sent_packets_total: 'counter',
  netstack_qdisc_sent_bytes_total: 'counter',
  netstack_qdisc_drops_total: 'counter',
  netstack_qdisc_overlimits_total: 'counter',
  netstack_softnet_backlog_packets: 'gauge',
  netstack_softnet_dropped_total: 'counter',
  netstack_socket_rmem_bytes: 'gauge',
  netstack_socket_wmem_bytes: 'gauge',
  netstack_socket_drops_total: 'counter',
  netstack_skb_in_use: 'gauge',
  netstack_skb_bytes: 'gauge',
  netstack_skb_allocs_total: 'counter',
  netstack_skb_frees_total: 'counter',
  netstack_skb_clones_total: 'counter',
  netstack_skb_copies_total: 'counter',
  netstack_drops_total: 'counter',
};

/** Every problem with one family's name, type, help and labels. */
function namingProblems(m: { name: string; type: string; help: string; values: { labels: Record<string, unknown> }[] }): string[] {
  const out: string[] = [];
  const { name, type } = m;
  if (!/^netstack_[a-z][a-z0-9_]*[a-z0-9]$/.test(name) || name.includes('__')) out.push(`${name}: not snake_case with the netstack_ prefix`);
  if (type === 'counter' && !name.endsWith('_total')) out.push(`${name}: a counter must end in _total`);
  if (type !== 'counter' && name.endsWith('_total')) out.push(`${name}: only counters end in _total`);
  if (type !== 'counter' && type !== 'gauge') out.push(`${name}: type ${type}; the stack exports counters and gauges only`);
  for (const suffix of ['_count', '_sum', '_bucket']) if (name.endsWith(suffix)) out.push(`${name}: ${suffix} is for histograms and summaries`);
  for (const word of name.split('_')) if (NON_BASE_UNITS.includes(word)) out.push(`${name}: "${word}" is not a base unit`);
  if (m.help.trim().length < 20 || m.help.includes(name)) out.push(`${name}: help must say what is counted in words`);
  for (const v of m.values) {
    for (const label of Object.keys(v.labels)) {
      if (!/^[a-z][a-z0-9_]*$/.test(label)) out.push(`${name}: label ${label} is not snake_case`);
    }
  }
  return out;
}

test('the rule checker catches each kind of bad name (so an empty result below means something)', () => {
  const bad = (name: string, type = 'gauge', help = 'A number that is long enough.'): string[] =>
    namingProblems({ name, type, help, values: [{ labels: { device: 'x' } }] });
  assert.ok(bad('netstack_rx_packets', 'counter').length > 0);
  assert.ok(bad('netstack_queue_bytes_total').length > 0);
  assert.ok(bad('netstack_txQueueLen').length > 0);
  assert.ok(bad('netstack_latency_milliseconds').length > 0);
  assert.ok(bad('netstack_drops_count').length > 0);
  assert.ok(bad('node_network_up').length > 0);
  assert.ok(bad('netstack_network_up', 'gauge', 'up').length > 0);
  assert.ok(namingProblems({ name: 'netstack_x_total', type: 'counter', help: 'Frames counted for the test.', values: [{ labels: { Dev: 'x' } }] }).length > 0);
  assert.deepEqual(bad('netstack_network_up'), []);
});

test('every netstack_ family follows the naming rules and the contract names exist with their types', async (t) => {
  const stack = new NetStack();
  t.after(() => stack.close());
  // Make every labelled family have series: devices, a socket bound to one, an unbound one.
  const [veth0] = await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true, netem: { delayMs: 1 } });
  stack.openPacketSocket({ dev: veth0! });
  stack.openPacketSocket({});
  const { registry } = createMetrics(stack);
  // prom-client's typings declare MetricType a numeric enum; at run time it is the name ("counter").
  const families = (await registry.getMetricsAsJSON())
    .filter((m) => m.name.startsWith('netstack_'))
    .map((m) => ({ name: m.name, type: String(m.type), help: m.help, values: m.values }));

  const problems = families.flatMap((m) => namingProblems(m));
  assert.deepEqual(problems, []);

  const types = new Map(families.map((m) => [m.name, m.type]));
  for (const [name, type] of Object.entries(CONTRACT)) assert.equal(types.get(name), type, name);
  for (const m of families) assert.ok(m.values.length > 0, `${m.name} has no series`);

  const all = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  for (const processMetric of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
    assert.ok(all.has(processMetric), `default metric ${processMetric} missing`);
  }
});
