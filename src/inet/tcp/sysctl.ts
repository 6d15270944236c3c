// The net.ipv4.tcp_* sysctls, with Linux's names, defaults and bounds
// (Documentation/networking/ip-sysctl.rst), registered in the stack's one
// table (src/sysctl.ts) when TCP attaches, so GET /v1/stack, PATCH
// /v1/stack/sysctl, the config and state files and `netstackctl sysctl` see
// and set them. TcpSysctl is TCP's view of that table: it holds no values of
// its own, and reads what the table holds at the moment TCP asks (a socket
// takes tcp_rmem's default and the congestion control when it is made, as
// in Linux; a listener's SYN handling reads tcp_syncookies per SYN).
//
// tcp_rmem / tcp_wmem are Linux's triples "min default max". Linux's
// proc_dointvec_minmax only asks each to be at least 1 (SYSCTL_ONE); this
// table also refuses a triple that decreases, since a default above the
// maximum means nothing a socket could follow.

import { Sysctl, type AnySysctlSpec } from '../../sysctl.ts';
import { INET_SYSCTLS } from '../sysctl.ts';

export const INT_MAX = 2147483647;
/** proc_dointvec_jiffies: seconds * HZ must fit in an int (HZ = 1000). */
const JIFFIES_SECONDS_MAX = Math.floor(INT_MAX / 1000);

export const CONGESTION_CONTROL_NAMES = ['reno', 'cubic'] as const;
export type CongestionControlName = (typeof CONGESTION_CONTROL_NAMES)[number];

export const TCP_SYSCTLS = {
  'net.ipv4.tcp_rmem': {
    type: 'vector',
    default: [4096, 131072, 6291456],
    min: 1,
    max: INT_MAX,
    ordered: true,
    members: ['net.ipv4.tcp_rmem_min', 'net.ipv4.tcp_rmem_default', 'net.ipv4.tcp_rmem_max'],
  },
  'net.ipv4.tcp_wmem': {
    type: 'vector',
    default: [4096, 16384, 4194304],
    min: 1,
    max: INT_MAX,
    ordered: true,
    members: ['net.ipv4.tcp_wmem_min', 'net.ipv4.tcp_wmem_default', 'net.ipv4.tcp_wmem_max'],
  },
  'net.ipv4.tcp_moderate_rcvbuf': { default: 1, min: 0, max: 1 },
  'net.ipv4.tcp_congestion_control': { type: 'string', default: 'cubic', choices: CONGESTION_CONTROL_NAMES },
  /** What tcp_congestion_control takes, as Linux lists it (read-only, tcp_get_available_congestion_control). */
  'net.ipv4.tcp_available_congestion_control': {
    type: 'string',
    default: CONGESTION_CONTROL_NAMES.join(' '),
    choices: [CONGESTION_CONTROL_NAMES.join(' ')],
    readOnly: true,
  },
  'net.ipv4.tcp_syn_retries': { default: 6, min: 1, max: 127 },
  'net.ipv4.tcp_synack_retries': { default: 5, min: 0, max: 255 },
  'net.ipv4.tcp_retries2': { default: 15, min: 0, max: 255 },
  'net.ipv4.tcp_fin_timeout': { default: 60, min: 0, max: JIFFIES_SECONDS_MAX },
  'net.ipv4.tcp_keepalive_time': { default: 7200, min: 1, max: JIFFIES_SECONDS_MAX },
  'net.ipv4.tcp_keepalive_intvl': { default: 75, min: 1, max: JIFFIES_SECONDS_MAX },
  'net.ipv4.tcp_keepalive_probes': { default: 9, min: 0, max: 255 },
  'net.ipv4.tcp_syncookies': { default: 1, min: 0, max: 2 },
  'net.ipv4.tcp_max_syn_backlog': { default: 128, min: 0, max: INT_MAX },
  'net.ipv4.tcp_sack': { default: 1, min: 0, max: 1 },
  'net.ipv4.tcp_timestamps': { default: 1, min: 0, max: 1 },
  'net.ipv4.tcp_window_scaling': { default: 1, min: 0, max: 1 },
  'net.ipv4.tcp_challenge_ack_limit': { default: INT_MAX, min: 0, max: INT_MAX },
  /** D-SACK (RFC 2883): report duplicates received. */
  'net.ipv4.tcp_dsack': { default: 1, min: 0, max: 1 },
  /** Tail loss probes (RFC 8985 §7) when 3 or 4, Linux's values that enable TLP. */
  'net.ipv4.tcp_early_retrans': { default: 3, min: 0, max: 4 },
  /** Bit 0 (0x1): RACK loss detection with SACK; bit 2 (0x4): no DUPTHRESH shortcut in RACK. */
  'net.ipv4.tcp_recovery': { default: 1, min: 0, max: 7 },
} as const satisfies Record<string, AnySysctlSpec>;

type Table = typeof TCP_SYSCTLS;
type Members<K extends keyof Table> = Table[K] extends { members: readonly (infer M)[] } ? M : never;

/** The integers TCP reads: its integer sysctls, the triples' elements and the local port range's ends. */
export type TcpSysctlName =
  | { [K in keyof Table]: Table[K] extends { type: string } ? never : K }[keyof Table]
  | Members<'net.ipv4.tcp_rmem'>
  | Members<'net.ipv4.tcp_wmem'>
  | 'net.ipv4.ip_local_port_range_min'
  | 'net.ipv4.ip_local_port_range_max';

/** Register net.ipv4 (if IPv4 has not) and TCP's sysctls in `table`, once. */
export function registerTcpSysctls(table: Sysctl): void {
  if (!table.has('net.ipv4.ip_forward')) table.register(INET_SYSCTLS);
  if (!table.has('net.ipv4.tcp_rmem')) table.register(TCP_SYSCTLS);
}

/** TCP's view of a stack's sysctl table (a table of its own when none is given, for tests and benchmarks). */
export class TcpSysctl {
  readonly table: Sysctl;

  constructor(table: Sysctl = new Sysctl()) {
    this.table = table;
    registerTcpSysctls(table);
  }

  /** A property read: cheap enough for the paths that ask per segment. */
  get(name: TcpSysctlName): number {
    return this.table.values[name]!;
  }

  /** The table's set: all checked, then all applied. */
  set(changes: Readonly<Record<string, unknown>>): void {
    this.table.set(changes);
  }

  /** net.ipv4.tcp_congestion_control by name, as `sysctl -w` takes it (ENOENT when unknown). */
  setCongestionControl(name: string): void {
    this.table.set({ 'net.ipv4.tcp_congestion_control': name });
  }

  /** What a new connection uses (tcp_init_congestion_control reads the default when the socket is made). */
  congestionControl(): CongestionControlName {
    return this.table.getString('net.ipv4.tcp_congestion_control') as CongestionControlName;
  }
}
