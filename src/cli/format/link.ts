// `ip link show` as iproute2 6.1 prints it, byte for byte where the model has
// the same fields: the header line, the link/ether line, `-d` details, the
// `-s` / `-s -s` counter blocks with columns that widen to fit (size_columns
// in ip/ipaddress.c), and the `-br` one-liner.

import type { DeviceJson, DeviceStats64, NetemJson } from '../api-types.ts';

export interface LinkFormatOptions {
  /** ip's show_stats: 0 none, 1 `-s`, 2+ `-s -s`. */
  stats: number;
  details: boolean;
}

/** `<BROADCAST,MULTICAST,UP,LOWER_UP>`, with M-DOWN when the device this one sits on is down. */
function flagList(dev: DeviceJson, byName: ReadonlyMap<string, DeviceJson>): string {
  const flags = [...dev.flags];
  if (dev.link && !flags.includes('M-DOWN')) {
    const lower = byName.get(dev.link);
    if (lower !== undefined && !lower.flags.includes('UP')) flags.push('M-DOWN');
  }
  return `<${flags.join(',')}>`;
}

function nameWithLink(dev: DeviceJson): string {
  return dev.link ? `${dev.ifname}@${dev.link}` : dev.ifname;
}

/** One device, as `ip [-s [-s]] [-d] link show` prints it; ends with a newline. */
export function formatLink(dev: DeviceJson, byName: ReadonlyMap<string, DeviceJson>, opts: LinkFormatOptions): string {
  let out =
    `${dev.ifindex}: ${nameWithLink(dev)}: ${flagList(dev, byName)} mtu ${dev.mtu} qdisc ${dev.qdisc ?? 'noqueue'} ${dev.master !== undefined ? `master ${dev.master} ` : ''}` +
    `state ${dev.operstate} mode ${dev.linkmode ?? 'DEFAULT'} group ${dev.group ?? 'default'} ` +
    (dev.txqlen ? `qlen ${dev.txqlen}` : '') +
    '\n';
  out += `    link/${dev.link_type} ${dev.address} brd ${dev.broadcast}`;
  if (opts.details) {
    out +=
      ` promiscuity ${dev.promiscuity ?? 0}  allmulti ${dev.allmulti ?? 0} ` +
      `minmtu ${dev.min_mtu ?? 0} maxmtu ${dev.max_mtu ?? 0} `;
    const kind = dev.linkinfo?.info_kind ?? dev.kind;
    // ip prints no kind line for devices without rtnl_link_ops (lo, real NICs).
    if (kind !== undefined && kind !== 'loopback') out += `\n    ${kind} ${kindDetails(kind, dev.linkinfo?.info_data)}`;
    if (dev.netem) out += `\n    ${formatNetem(dev.netem)}`;
  }
  out += '\n';
  if (opts.stats > 0 && dev.stats64 !== undefined) out += formatStats64(dev.stats64, opts.stats);
  return out;
}

/** The kind's own attributes after its name, as the link_util print_opt functions write them. */
function kindDetails(kind: string, data: Record<string, unknown> | undefined): string {
  if (data === undefined) return '';
  const scalar = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);
  if (kind === 'vlan') return `protocol ${String(data.protocol ?? '802.1Q')} id ${String(data.id ?? '?')} `;
  let out = '';
  if (kind === 'vxlan') {
    const id = data.id ?? data.vni;
    if (id !== undefined) out += `id ${String(id)} `;
    const remotes = Array.isArray(data.remote) ? data.remote : data.remote !== undefined ? [data.remote] : [];
    for (const r of remotes) out += `remote ${String(r)} `;
    if (scalar(data.local)) out += `local ${String(data.local)} `;
    const port = data.port ?? data.dstport;
    if (scalar(port)) out += `dstport ${String(port)} `;
    for (const [k, v] of Object.entries(data)) {
      if (['id', 'vni', 'remote', 'local', 'port', 'dstport'].includes(k)) continue;
      if (typeof v === 'boolean') out += v ? `${k} ` : `no${k} `;
      else if (scalar(v)) out += `${k} ${String(v)} `;
    }
    return out;
  }
  for (const [k, v] of Object.entries(data)) if (scalar(v)) out += `${k} ${String(v)} `;
  return out;
}

/** A time in ms as tc prints it: `100ms`, `1.5ms`, `2s`, `500us`. */
export function formatTimeMs(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1) return `${Number(ms.toFixed(3))}ms`;
  return `${Number((ms * 1000).toFixed(3))}us`;
}

/** A rate in bit/s as tc prints it: `1Mbit`, `100Kbit`, `64bit`. */
export function formatRate(bps: number): string {
  for (const [unit, scale] of [['Gbit', 1e9], ['Mbit', 1e6], ['Kbit', 1e3]] as const) {
    if (bps >= scale) return `${Number((bps / scale).toFixed(3))}${unit}`;
  }
  return `${bps}bit`;
}

/** The netem settings in tc's words: `netem limit 1000 delay 100ms 10ms loss 1% rate 1Mbit seed 1`. */
export function formatNetem(n: NetemJson): string {
  const delay = n.delay_ms ?? n.delayMs ?? 0;
  const jitter = n.jitter_ms ?? n.jitterMs ?? 0;
  const rate = n.rate_bps ?? n.rateBps ?? 0;
  let out = 'netem';
  if (n.limit !== undefined) out += ` limit ${n.limit}`;
  if (delay > 0 || jitter > 0) out += ` delay ${formatTimeMs(delay)}${jitter > 0 ? ` ${formatTimeMs(jitter)}` : ''}`;
  for (const k of ['loss', 'duplicate', 'corrupt', 'reorder'] as const) {
    const v = n[k];
    if (v !== undefined && v > 0) out += ` ${k} ${v}%`;
  }
  if (rate > 0) out += ` rate ${formatRate(rate)}`;
  if (n.seed !== undefined) out += ` seed ${n.seed}`;
  return out;
}

const digits = (v: number): number => String(Math.max(0, Math.trunc(v))).length;

/** size_columns(): each column is as wide as its header or its widest number. */
function sizeColumns(cols: number[], values: readonly number[]): void {
  for (let i = 0; i < values.length; i++) cols[i] = Math.max(cols[i]!, digits(values[i]!));
}

const rpad = (width: number, s: string): string => s.padStart(width);
const num = (width: number, v: number): string => `${String(v).padStart(width)} `;

/** The RX/TX blocks of `ip -s link` (iproute2 6.1 print_link_stats64), each line ending in a newline. */
export function formatStats64(s: DeviceStats64, level: number): string {
  const rx = s.rx;
  const tx = s.tx;
  const z = (v: number | undefined): number => v ?? 0;
  const rxCompressed = z(rx.compressed);
  const txCompressed = z(tx.compressed);
  const nohandler = z(rx.nohandler);
  const carrierChanges = tx.carrier_changes;
  // Initial widths are the longest header word of each column.
  const cols = ['*X errors:'.length, 'packets'.length, 'errors'.length, 'dropped'.length, 'heartbt'.length, 'overrun'.length, 'compressed'.length];
  sizeColumns(cols, [rx.bytes, rx.packets, rx.errors, rx.dropped, z(rx.missed_errors), rx.multicast, rxCompressed]);
  if (level > 1) {
    sizeColumns(cols, [0, z(rx.length_errors), z(rx.crc_errors), z(rx.frame_errors), z(rx.fifo_errors), z(rx.over_errors), nohandler]);
  }
  sizeColumns(cols, [tx.bytes, tx.packets, tx.errors, tx.dropped, z(tx.carrier_errors), tx.collisions, txCompressed]);
  if (level > 1) {
    sizeColumns(cols, [0, z(tx.aborted_errors), z(tx.fifo_errors), z(tx.window_errors), z(tx.heartbeat_errors), z(carrierChanges), 0]);
  }
  const [c0, c1, c2, c3, c4, c5, c6] = cols as [number, number, number, number, number, number, number];

  let out =
    `    RX: ${rpad(c0 - 4, 'bytes')} ${rpad(c1, 'packets')} ${rpad(c2, 'errors')} ${rpad(c3, 'dropped')} ` +
    `${rpad(c4, 'missed')} ${rpad(c5, 'mcast')} ${rpad(c6, rxCompressed ? 'compressed' : '')}\n`;
  out += '    ' + num(c0, rx.bytes) + num(c1, rx.packets) + num(c2, rx.errors) + num(c3, rx.dropped) + num(c4, z(rx.missed_errors)) + num(c5, rx.multicast);
  if (rxCompressed) out += num(c6, rxCompressed);
  if (level > 1) {
    out +=
      `\n    RX errors:${rpad(c0 - 10, '')} ${rpad(c1, 'length')} ${rpad(c2, 'crc')} ${rpad(c3, 'frame')} ` +
      `${rpad(c4, 'fifo')} ${rpad(c5, 'overrun')}${nohandler ? ` ${rpad(c6, 'nohandler')}` : ''}\n`;
    out += ' '.repeat(c0 + 5) + num(c1, z(rx.length_errors)) + num(c2, z(rx.crc_errors)) + num(c3, z(rx.frame_errors)) +
      num(c4, z(rx.fifo_errors)) + num(c5, z(rx.over_errors));
    if (nohandler) out += num(c6, nohandler);
  }
  out += '\n';
  out +=
    `    TX: ${rpad(c0 - 4, 'bytes')} ${rpad(c1, 'packets')} ${rpad(c2, 'errors')} ${rpad(c3, 'dropped')} ` +
    `${rpad(c4, 'carrier')} ${rpad(c5, 'collsns')} ${rpad(c6, txCompressed ? 'compressed' : '')}\n`;
  out += '    ' + num(c0, tx.bytes) + num(c1, tx.packets) + num(c2, tx.errors) + num(c3, tx.dropped) + num(c4, z(tx.carrier_errors)) + num(c5, tx.collisions);
  if (txCompressed) out += num(c6, txCompressed);
  if (level > 1) {
    out +=
      `\n    TX errors:${rpad(c0 - 10, '')} ${rpad(c1, 'aborted')} ${rpad(c2, 'fifo')} ${rpad(c3, 'window')} ` +
      `${rpad(c4, 'heartbt')}${carrierChanges !== undefined ? ` ${rpad(c5, 'transns')}` : ''}\n`;
    out += ' '.repeat(c0 + 5) + num(c1, z(tx.aborted_errors)) + num(c2, z(tx.fifo_errors)) + num(c3, z(tx.window_errors)) +
      num(c4, z(tx.heartbeat_errors));
    if (carrierChanges !== undefined) out += num(c5, carrierChanges);
  }
  return out + '\n';
}

/** `ip -br link`: name(@link) padded to 16, operstate to 14, address, flags. */
export function formatLinkBrief(dev: DeviceJson, byName: ReadonlyMap<string, DeviceJson>): string {
  return `${nameWithLink(dev).padEnd(16)} ${dev.operstate.padEnd(14)} ${dev.address} ${flagList(dev, byName)} \n`;
}
