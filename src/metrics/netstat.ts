// The internet layer's counters: every field of /proc/net/snmp and
// /proc/net/netstat as GET /v1/netstat names it, exported as
// netstack_netstat_<group>_<field> in snake_case (Udp.NoPorts ->
// netstack_netstat_udp_no_ports_total), plus the size of the routing table
// and the neighbour entries by NUD state. Counters are read from the stack
// at scrape time. A field that appears later (IcmpMsg grows an InTypeN the
// first time such a message arrives, as Linux's does) gets its family at the
// next scrape.

import type { Inet } from '../inet/control.ts';
import { type FamilySet, noLabels, NO_LABELS } from './family.ts';
import { fixedLabels } from './labels.ts';

/** Fields of /proc/net/snmp that are values, not counts (RFC 1213's gauges and settings). */
const GAUGE_FIELDS = new Set(['Ip.Forwarding', 'Ip.DefaultTTL', 'Tcp.RtoAlgorithm', 'Tcp.RtoMin', 'Tcp.RtoMax', 'Tcp.MaxConn', 'Tcp.CurrEstab']);

/** Which file Linux prints a group in. */
const NETSTAT_GROUPS = new Set(['TcpExt', 'IpExt', 'MPTcpExt']);

/** What a few fields count, in words; the rest say which Linux counter they are. */
const HELP: Record<string, string> = {
  'Ip.InReceives': 'IPv4 datagrams received from the devices, including those with errors.',
  'Ip.InDelivers': 'IPv4 datagrams delivered to local protocols (ICMP, UDP, ...).',
  'Ip.ForwDatagrams': 'IPv4 datagrams forwarded to another host (net.ipv4.ip_forward = 1).',
  'Ip.OutRequests': 'IPv4 datagrams local protocols handed to IP for sending (not counting forwarded ones).',
  'Ip.InHdrErrors': 'IPv4 datagrams dropped for a bad header: version, header length, checksum, TTL exceeded.',
  'Ip.ReasmFails': 'IPv4 reassemblies that failed: timed out, over net.ipv4.ipfrag_high_thresh, or malformed.',
  'Udp.InDatagrams': 'UDP datagrams delivered to sockets.',
  'Udp.NoPorts': 'UDP datagrams to a port no socket was bound to (answered with ICMP port unreachable).',
  'Udp.RcvbufErrors': 'UDP datagrams dropped because the socket receive buffer was full (a slow reader).',
  'Udp.SndbufErrors': 'UDP datagrams that could not be sent for lack of send buffer space.',
  'Udp.OutDatagrams': 'UDP datagrams sent.',
  'Icmp.InEchos': 'ICMP echo requests received.',
  'Icmp.OutEchoReps': 'ICMP echo replies sent.',
};

/** Linux's camel case as Prometheus snake case: InCsumErrors -> in_csum_errors, ReasmOKs -> reasm_oks, TCPToZeroWindowAdv -> tcp_to_zero_window_adv. */
export function snakeCase(name: string): string {
  return name
    .replace(/([A-Z]{2,})s(?=[A-Z0-9]|$)/g, (_m, caps: string) => `${caps}S`)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

export function netstatMetricName(group: string, field: string): string {
  const key = `${group}.${field}`;
  return `netstack_netstat_${snakeCase(group)}_${snakeCase(field)}${GAUGE_FIELDS.has(key) ? '' : '_total'}`;
}

function helpFor(group: string, field: string): string {
  const file = NETSTAT_GROUPS.has(group) ? '/proc/net/netstat' : '/proc/net/snmp';
  const words = HELP[`${group}.${field}`];
  const what = `the Linux counter ${group} ${field} of ${file}`;
  return words === undefined ? `The stack's value of ${what}.` : `${words} (${what})`;
}

/** The NUD states ip neigh shows, every one exported (zeros included) so rate() and alerts work from the start. */
const NUD_STATES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT'] as const;

/**
 * Registers the families; returns the function that registers families for
 * fields first seen since (call it before each scrape).
 */
export function registerNetstatMetrics(set: FamilySet, inet: Inet, frags?: { readonly mem: number; readonly queueCount: number }): () => void {
  const known = new Set<string>();
  const sync = (): void => {
    const stats = inet.netstat();
    for (const [group, fields] of Object.entries(stats)) {
      for (const field of Object.keys(fields)) {
        const key = `${group}.${field}`;
        if (known.has(key)) continue;
        known.add(key);
        const name = netstatMetricName(group, field);
        if (set.names.has(name)) continue;
        const read = (emit: (l: typeof noLabels, v: number) => void): void => emit(noLabels, inet.netstat()[group]?.[field] ?? 0);
        const spec = { name, help: helpFor(group, field), labelNames: NO_LABELS, read };
        if (GAUGE_FIELDS.has(key)) set.gauge(spec);
        else set.counter(spec);
      }
    }
  };
  sync();

  set.gauge({
    name: 'netstack_ipv4_routes',
    help: 'Routes in the IPv4 main table now (ip route show: kernel routes of the addresses and static ones).',
    labelNames: NO_LABELS,
    read: (emit) => emit(noLabels, inet.routeList().length),
  });
  const stateLabels = new Map(NUD_STATES.map((s) => [s, fixedLabels({ state: s.toLowerCase() })]));
  set.gauge({
    name: 'netstack_neigh_entries',
    help: 'Neighbour (ARP) entries now, by NUD state (ip neigh show).',
    labelNames: ['state'],
    read(emit) {
      const counts = new Map<string, number>(NUD_STATES.map((s) => [s, 0]));
      for (const n of inet.neighList()) for (const s of n.state) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [state, n] of counts) emit(stateLabels.get(state as (typeof NUD_STATES)[number]) ?? fixedLabels({ state: state.toLowerCase() }), n);
    },
  });
  if (frags !== undefined) {
    set.gauge({
      name: 'netstack_ipv4_frag_memory_bytes',
      help: 'Truesize of the IPv4 fragments waiting for reassembly now; never above net.ipv4.ipfrag_high_thresh.',
      labelNames: NO_LABELS,
      read: (emit) => emit(noLabels, frags.mem),
    });
    set.gauge({
      name: 'netstack_ipv4_frag_queues',
      help: 'IPv4 datagrams being reassembled now (one queue per source, destination, protocol and id).',
      labelNames: NO_LABELS,
      read: (emit) => emit(noLabels, frags.queueCount),
    });
  }
  return sync;
}
