// The internet layer as iproute2 6.1, iputils ping and nstat print it:
// `ip addr show` (no inet6 lines: the stack has no IPv6), `ip route show`
// and `ip route get` (each item followed by a space, as ip writes them),
// `ip neigh show`, ping's reply, error and summary lines, nstat's columns.
// The CLI's own view of the bodies (api-types.ts) is all this reads.

import type { DeviceJson, IfAddrJson, NeighJson, PingResultJson, RouteJson } from '../api-types.ts';
import { flagList, nameWithLink } from './link.ts';

/** One device of `ip addr show`: ip link's header without "mode", the link line, then each inet address. */
export function formatAddr(a: IfAddrJson, dev: DeviceJson | undefined, byName: ReadonlyMap<string, DeviceJson>): string {
  const d: DeviceJson = dev ?? {
    ifindex: a.ifindex, ifname: a.ifname, flags: a.flags, mtu: a.mtu, operstate: a.operstate,
    txqlen: 0, link_type: 'ether', address: a.address, broadcast: 'ff:ff:ff:ff:ff:ff',
  };
  let out =
    `${d.ifindex}: ${nameWithLink(d)}: ${flagList(d, byName)} mtu ${d.mtu} qdisc ${d.qdisc ?? 'noqueue'} ` +
    `state ${d.operstate} group ${d.group ?? 'default'} ` +
    (d.txqlen ? `qlen ${d.txqlen}` : '') +
    '\n';
  out += `    link/${d.link_type} ${d.address} brd ${d.broadcast}\n`;
  for (const i of a.addr_info) {
    out += `    inet ${i.local}/${i.prefixlen}`;
    if (i.broadcast !== undefined) out += ` brd ${i.broadcast}`;
    out += ` scope ${i.scope}`;
    if (i.secondary === true) out += ' secondary';
    out += ` ${i.label}\n`;
    out += '       valid_lft forever preferred_lft forever\n';
  }
  return out;
}

/** One line of `ip route show`; `type` is printed unless unicast, as ip does. */
export function formatRoute(r: RouteJson): string {
  const parts: string[] = [];
  if (r.type !== undefined && r.type !== 'unicast') parts.push(r.type);
  parts.push(r.dst);
  if (r.gateway !== undefined) parts.push('via', r.gateway);
  parts.push('dev', r.dev);
  // RTPROT_BOOT is the one protocol ip leaves out; the stack's routes are kernel or static.
  if (r.protocol !== undefined && r.protocol !== 'boot') parts.push('proto', r.protocol);
  if (r.scope !== undefined && r.scope !== 'global') parts.push('scope', r.scope);
  if (r.prefsrc !== undefined) parts.push('src', r.prefsrc);
  if (r.metric !== undefined && r.metric !== 0) parts.push('metric', String(r.metric));
  for (const f of r.flags ?? []) parts.push(f);
  return `${parts.join(' ')} \n`;
}

/**
 * `ip route get DST`: the destination asked about, then how it goes. ip adds
 * `uid N` (the asking process's, a kernel notion) which a service has no
 * use for; it is left out.
 */
export function formatRouteGet(dst: string, r: RouteJson): string {
  const parts: string[] = [];
  if (r.type === 'local' || r.type === 'broadcast') parts.push(r.type);
  parts.push(dst);
  if (r.gateway !== undefined) parts.push('via', r.gateway);
  parts.push('dev', r.dev);
  if (r.prefsrc !== undefined) parts.push('src', r.prefsrc);
  const cache = r.type === 'local' ? 'cache <local> ' : 'cache ';
  return `${parts.join(' ')} \n    ${cache}\n`;
}

/** One line of `ip neigh show` (without `dev X` when the listing is for one device). */
export function formatNeigh(n: NeighJson, showDev: boolean): string {
  let out = n.dst;
  if (showDev) out += ` dev ${n.dev}`;
  if (n.lladdr !== undefined) out += ` lladdr ${n.lladdr}`;
  if (n.state.length > 0) out += ` ${n.state.join(' ')}`;
  return `${out} \n`;
}

/** iputils' precision: three decimals below 1 ms, two below 10, one below 100, none above. */
export function pingTime(ms: number): string {
  if (ms >= 99.95) return ms.toFixed(0);
  if (ms >= 9.995) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export interface PingHeader {
  dst: string;
  size: number;
}

/** `PING 198.51.100.2 (198.51.100.2) 56(84) bytes of data.` */
export function formatPingHeader(h: PingHeader): string {
  return `PING ${h.dst} (${h.dst}) ${h.size}(${h.size + 28}) bytes of data.\n`;
}

/**
 * The reply and error lines in sequence order, then the summary, as iputils
 * ping prints them. `elapsedMs` is ping's "time": from the first request to
 * the last event it saw.
 */
export function formatPingBody(res: PingResultJson, size: number, elapsedMs: number): string {
  type Line = { seq: number; text: string };
  const lines: Line[] = [
    ...res.replies.map((r) => ({ seq: r.seq, text: `${size + 8} bytes from ${r.from}: icmp_seq=${r.seq} ttl=${r.ttl} time=${pingTime(r.time_ms)} ms\n` })),
    ...res.errors.map((e) => ({ seq: e.seq, text: `From ${e.from} icmp_seq=${e.seq} ${e.message}\n` })),
  ];
  lines.sort((a, b) => a.seq - b.seq);
  let out = lines.map((l) => l.text).join('');
  out += `\n--- ${res.dst} ping statistics ---\n`;
  const errors = res.errors.length > 0 ? `+${res.errors.length} errors, ` : '';
  const loss = Number.isInteger(res.loss_percent) ? String(res.loss_percent) : res.loss_percent.toFixed(3).replace(/\.?0+$/, '');
  out += `${res.transmitted} packets transmitted, ${res.received} received, ${errors}${loss}% packet loss, time ${Math.round(elapsedMs)}ms\n`;
  if (res.rtt_ms !== null && res.received > 0) {
    const { min, avg, max, mdev } = res.rtt_ms;
    out += `rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms\n`;
  } else {
    out += '\n';
  }
  return out;
}

/** nstat's layout (misc/nstat.c): name padded to 32, value to 16, then the rate, which a one-shot read has none of. */
export function formatNstat(counters: Record<string, Record<string, number>>, zeros: boolean): string {
  let out = '#kernel\n';
  for (const [group, fields] of Object.entries(counters)) {
    for (const [field, value] of Object.entries(fields)) {
      if (value === 0 && !zeros) continue;
      out += `${`${group}${field}`.padEnd(32)}${String(value).padEnd(16)}${'0.0'.padStart(6)}\n`;
    }
  }
  return out;
}
