// The net.ipv4.tcp_* sysctls TCP reads, with Linux's defaults and bounds
// (Documentation/networking/ip-sysctl.rst). Kept here, beside the protocol,
// so this room stands alone until the stack's table (src/sysctl.ts) takes
// them over at merge; the names are Linux's so nothing changes then. The
// triples tcp_rmem / tcp_wmem are three sysctls each (min, default, max).

import { NetError } from '../../errno.ts';

export const TCP_SYSCTL_DEFAULTS = {
  'net.ipv4.tcp_rmem_min': 4096,
  'net.ipv4.tcp_rmem_default': 131072,
  'net.ipv4.tcp_rmem_max': 6291456,
  'net.ipv4.tcp_wmem_min': 4096,
  'net.ipv4.tcp_wmem_default': 16384,
  'net.ipv4.tcp_wmem_max': 4194304,
  'net.ipv4.tcp_moderate_rcvbuf': 1,
  'net.ipv4.tcp_syn_retries': 6,
  'net.ipv4.tcp_synack_retries': 5,
  'net.ipv4.tcp_retries2': 15,
  'net.ipv4.tcp_fin_timeout': 60,
  'net.ipv4.tcp_keepalive_time': 7200,
  'net.ipv4.tcp_keepalive_intvl': 75,
  'net.ipv4.tcp_keepalive_probes': 9,
  'net.ipv4.tcp_syncookies': 1,
  'net.ipv4.tcp_max_syn_backlog': 128,
  'net.ipv4.tcp_sack': 1,
  'net.ipv4.tcp_timestamps': 1,
  'net.ipv4.tcp_window_scaling': 1,
  /** 0 = reno, 1 = cubic (net.ipv4.tcp_congestion_control takes a name; see setCongestionControl). */
  'net.ipv4.tcp_congestion_control': 1,
  'net.ipv4.tcp_challenge_ack_limit': 1000,
  'net.ipv4.ip_local_port_range_min': 32768,
  'net.ipv4.ip_local_port_range_max': 60999,
} as const;

export type TcpSysctlName = keyof typeof TCP_SYSCTL_DEFAULTS;

const RANGE: Partial<Record<TcpSysctlName, readonly [number, number]>> = {
  'net.ipv4.tcp_rmem_min': [1, 2147483647],
  'net.ipv4.tcp_rmem_default': [1, 2147483647],
  'net.ipv4.tcp_rmem_max': [1, 2147483647],
  'net.ipv4.tcp_wmem_min': [1, 2147483647],
  'net.ipv4.tcp_wmem_default': [1, 2147483647],
  'net.ipv4.tcp_wmem_max': [1, 2147483647],
  'net.ipv4.tcp_moderate_rcvbuf': [0, 1],
  'net.ipv4.tcp_syn_retries': [1, 127],
  'net.ipv4.tcp_synack_retries': [0, 255],
  'net.ipv4.tcp_syncookies': [0, 2],
  'net.ipv4.tcp_sack': [0, 1],
  'net.ipv4.tcp_timestamps': [0, 1],
  'net.ipv4.tcp_window_scaling': [0, 1],
  'net.ipv4.tcp_congestion_control': [0, 1],
  'net.ipv4.ip_local_port_range_min': [1, 65535],
  'net.ipv4.ip_local_port_range_max': [1, 65535],
};

export const CONGESTION_CONTROL_NAMES = ['reno', 'cubic'] as const;
export type CongestionControlName = (typeof CONGESTION_CONTROL_NAMES)[number];

export class TcpSysctl {
  readonly values: Record<TcpSysctlName, number> = { ...TCP_SYSCTL_DEFAULTS };

  get(name: TcpSysctlName): number {
    return this.values[name];
  }

  /** Validate all, then apply all: a bad value changes nothing. */
  set(changes: Partial<Record<string, number>>): void {
    const checked: [TcpSysctlName, number][] = [];
    for (const [name, value] of Object.entries(changes)) {
      if (!Object.hasOwn(TCP_SYSCTL_DEFAULTS, name)) throw new NetError('ENOENT', `unknown sysctl "${name}"`);
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new NetError('EINVAL', `${name} takes an integer`);
      const [min, max] = RANGE[name as TcpSysctlName] ?? [0, 2147483647];
      if (value < min || value > max) throw new NetError('EINVAL', `${name} must be within ${min}..${max}`);
      checked.push([name as TcpSysctlName, value]);
    }
    for (const [name, value] of checked) this.values[name] = value;
  }

  /** net.ipv4.tcp_congestion_control by name, as `sysctl -w` takes it. */
  setCongestionControl(name: string): void {
    const i = CONGESTION_CONTROL_NAMES.indexOf(name as CongestionControlName);
    if (i < 0) throw new NetError('ENOENT', `congestion control "${name}" is not available (reno, cubic)`);
    this.values['net.ipv4.tcp_congestion_control'] = i;
  }

  congestionControl(): CongestionControlName {
    return CONGESTION_CONTROL_NAMES[this.values['net.ipv4.tcp_congestion_control']] ?? 'cubic';
  }
}
