// The internet layer in /metrics: Linux's counter names become Prometheus
// snake case the way DESIGN §3.1 spells them (netstack_netstat_udp_no_ports_total),
// every counter of /v1/netstat is there with its value, and promtool agrees.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { netstatMetricName, snakeCase } from '../../src/metrics/netstat.ts';
import { NetStack, createDevice } from '../../src/stack/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { attachInet } from '../../src/inet/control.ts';

test('Linux counter names in snake case, acronyms and plurals kept whole', () => {
  const cases: [string, string][] = [
    ['InReceives', 'in_receives'],
    ['NoPorts', 'no_ports'],
    ['RcvbufErrors', 'rcvbuf_errors'],
    ['InCsumErrors', 'in_csum_errors'],
    ['ReasmOKs', 'reasm_oks'],
    ['DelayedACKs', 'delayed_acks'],
    ['OutNoECTPkts', 'out_no_ect_pkts'],
    ['TCPToZeroWindowAdv', 'tcp_to_zero_window_adv'],
    ['InType8', 'in_type8'],
    ['DefaultTTL', 'default_ttl'],
    ['IcmpMsg', 'icmp_msg'],
    ['TcpExt', 'tcp_ext'],
  ];
  for (const [linux, snake] of cases) assert.equal(snakeCase(linux), snake, linux);
});

test('counters end in _total, the snmp values that are settings or levels do not', () => {
  assert.equal(netstatMetricName('Udp', 'NoPorts'), 'netstack_netstat_udp_no_ports_total');
  assert.equal(netstatMetricName('TcpExt', 'TCPToZeroWindowAdv'), 'netstack_netstat_tcp_ext_tcp_to_zero_window_adv_total');
  assert.equal(netstatMetricName('Ip', 'Forwarding'), 'netstack_netstat_ip_forwarding');
  assert.equal(netstatMetricName('Ip', 'DefaultTTL'), 'netstack_netstat_ip_default_ttl');
  assert.equal(netstatMetricName('Tcp', 'CurrEstab'), 'netstack_netstat_tcp_curr_estab');
});

test('promtool check metrics finds nothing to complain about in the internet layer families', async (t) => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error) return t.skip(`promtool is not installed (${probe.error.message})`);
  const stack = new NetStack();
  t.after(() => stack.close());
  const inet = attachInet(stack);
  await createDevice(stack, { kind: 'dummy', name: 'd0', up: true });
  inet.addrAdd('d0', '198.51.100.1/24');
  inet.neighAdd({ dst: '198.51.100.2', dev: 'd0', lladdr: '02:00:00:00:00:02' });
  const text = await createMetrics(stack).metrics();
  const ours = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?netstack_(netstat|ipv4|neigh)_/.test(l)).join('\n') + '\n';
  for (const [group, fields] of Object.entries(inet.netstat())) {
    for (const [field, value] of Object.entries(fields)) {
      assert.match(ours, new RegExp(`^${netstatMetricName(group, field)} ${value}$`, 'm'), `${group}.${field}`);
    }
  }
  assert.match(ours, /^netstack_neigh_entries\{state="permanent"\} 1$/m);
  assert.match(ours, /^netstack_ipv4_routes \d+$/m);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
  assert.equal(`${r.stdout}${r.stderr}`, '');
  assert.equal(r.status, 0);
});
