// The internet layer in /metrics: Linux's counter names become Prometheus
// snake case the way DESIGN §3.1 spells them (netstack_netstat_udp_no_ports_total).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netstatMetricName, snakeCase } from '../../src/metrics/netstat.ts';

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
