// The net.ipv4 sysctls, with Linux's names, defaults and limits
// (Documentation/networking/ip-sysctl.rst). ip_local_port_range is Linux's
// one sysctl holding a pair ("32768 60999"), refused when its end is below
// its start (ipv4_local_port_range); its elements are read as
// ip_local_port_range_min / _max, names that writes also accept, as older
// versions listed the pair as those two sysctls.

import type { AnySysctlSpec } from '../sysctl.ts';

const INT_MAX = 2147483647;

export const INET_SYSCTLS = {
  'net.ipv4.ip_forward': { default: 0, min: 0, max: 1 },
  'net.ipv4.ip_default_ttl': { default: 64, min: 1, max: 255 },
  'net.ipv4.ip_local_port_range': {
    type: 'vector',
    default: [32768, 60999],
    min: 1,
    max: 65535,
    ordered: true,
    // ipv4_local_port_range: the start may not be a privileged port (below ip_unprivileged_port_start).
    startMin: 1024,
    members: ['net.ipv4.ip_local_port_range_min', 'net.ipv4.ip_local_port_range_max'],
  },
  'net.ipv4.ipfrag_high_thresh': { default: 4194304, min: 0, max: INT_MAX },
  'net.ipv4.ipfrag_time': { default: 30, min: 1, max: 3600 },
  'net.ipv4.icmp_echo_ignore_all': { default: 0, min: 0, max: 1 },
  'net.ipv4.icmp_echo_ignore_broadcasts': { default: 1, min: 0, max: 1 },
  'net.ipv4.icmp_ratelimit': { default: 1000, min: 0, max: INT_MAX },
  'net.ipv4.icmp_msgs_per_sec': { default: 1000, min: 0, max: INT_MAX },
  'net.ipv4.icmp_msgs_burst': { default: 50, min: 0, max: INT_MAX },
  'net.ipv4.neigh.default.base_reachable_time_ms': { default: 30000, min: 1, max: INT_MAX },
  'net.ipv4.neigh.default.retrans_time_ms': { default: 1000, min: 1, max: INT_MAX },
  'net.ipv4.neigh.default.delay_first_probe_time': { default: 5, min: 0, max: 3600 },
  'net.ipv4.neigh.default.ucast_solicit': { default: 3, min: 0, max: 255 },
  'net.ipv4.neigh.default.mcast_solicit': { default: 3, min: 0, max: 255 },
  'net.ipv4.neigh.default.gc_stale_time': { default: 60, min: 1, max: INT_MAX },
  'net.ipv4.neigh.default.gc_thresh1': { default: 128, min: 0, max: INT_MAX },
  'net.ipv4.neigh.default.gc_thresh2': { default: 512, min: 0, max: INT_MAX },
  'net.ipv4.neigh.default.gc_thresh3': { default: 1024, min: 0, max: INT_MAX },
  'net.ipv4.neigh.default.unres_qlen_bytes': { default: 212992, min: 0, max: INT_MAX },
} as const satisfies Record<string, AnySysctlSpec>;

/** The integers IPv4 reads from the stack's table: its integer sysctls and the port range's two ends. */
export type InetSysctlName =
  | Exclude<keyof typeof INET_SYSCTLS, 'net.ipv4.ip_local_port_range'>
  | 'net.ipv4.ip_local_port_range_min'
  | 'net.ipv4.ip_local_port_range_max';
