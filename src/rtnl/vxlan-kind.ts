// `ip link add NAME type vxlan id VNI [local HOST:PORT] [remote HOST:PORT ...]
// [dstport N] [nolearning] [ageing S]` as a device kind: the spec is checked
// here (EINVAL and friends, before any socket exists), then the driver binds
// its socket, so a port in use fails creation with EADDRINUSE and registers
// nothing. Imported for its side effect by src/rtnl/index.ts.

import net from 'node:net';
import { NetError } from '../errno.ts';
import { createVxlan, releaseVxlan, vxlanOf, VXLAN_DEFAULT_AGEING_S, type VxlanConfig, type VxlanEndpoint } from '../dev/drivers/vxlan.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { isValidVni, VXLAN_PORT } from '../wire/vxlan.ts';
import { registerDeviceKind, type CommonSettings, type VxlanSpec } from './devices.ts';

/** Fields `ip link add type vxlan` also takes; VxlanSpec may not list them yet. */
export interface VxlanExtraSettings {
  /** UDP port of peers given without one and of peers met only through learning (default 4789). */
  dstport?: number;
  /** Seconds a learned fdb entry lives without being refreshed; 0 keeps them forever (default 300). */
  ageing?: number;
}

/** Flooding sends one datagram per remote; a bound keeps one frame from becoming thousands. */
export const VXLAN_MAX_REMOTES = 256;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function parsePort(text: string, what: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new NetError('EINVAL', `${what}: "${text}" is not a UDP port`);
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) throw new NetError('EINVAL', `${what}: port ${port} is outside ${allowZero ? 0 : 1}..65535`);
  return port;
}

/**
 * "host:port", "host", "[v6]:port", "[v6]" or a bare IPv6 literal. Host is an
 * IP literal or a DNS name (underscores allowed: compose service names use them).
 */
export function parseVxlanEndpoint(input: unknown, defaultPort: number, what: string, allowZeroPort = false): VxlanEndpoint {
  if (typeof input !== 'string') throw new NetError('EINVAL', `${what} must be a "host:port" string`);
  const text = input.trim();
  let host: string;
  let port = defaultPort;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    if (!net.isIPv6(host)) throw new NetError('EINVAL', `${what}: "${host}" in brackets is not an IPv6 address`);
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], what, allowZeroPort);
  } else if (net.isIPv6(text)) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) port = parsePort(text.slice(colon + 1), what, allowZeroPort);
    if (net.isIPv4(host) === false && !HOSTNAME.test(host)) {
      throw new NetError('EINVAL', `${what}: "${host}" is neither an IP address nor a host name`);
    }
  }
  return { host, port };
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || (net.isIPv6(host) && /^[0:]+$/.test(host));
}

function isMulticastIp(host: string): boolean {
  if (net.isIPv4(host)) {
    const first = Number(host.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return net.isIPv6(host) && /^ff/i.test(host);
}

/** Check a vxlan spec and turn it into the driver's configuration. Throws NetError; binds nothing. */
export function vxlanConfigFromSpec(spec: VxlanSpec & VxlanExtraSettings): VxlanConfig {
  const vni: unknown = spec.vni;
  if (vni === undefined) throw new NetError('EINVAL', 'a vxlan device needs a VNI (id)');
  if (typeof vni !== 'number' || !isValidVni(vni)) throw new NetError('EINVAL', `VXLAN VNI ${String(vni)} is outside 0..16777215`);

  const dstport: unknown = spec.dstport ?? VXLAN_PORT;
  if (typeof dstport !== 'number' || !Number.isInteger(dstport) || dstport < 1 || dstport > 65535) {
    throw new NetError('EINVAL', `vxlan dstport ${String(dstport)} is outside 1..65535`);
  }

  const learning: unknown = spec.learning ?? true;
  if (typeof learning !== 'boolean') throw new NetError('EINVAL', 'vxlan learning must be true or false');

  const ageing: unknown = spec.ageing ?? VXLAN_DEFAULT_AGEING_S;
  if (typeof ageing !== 'number' || !Number.isInteger(ageing) || ageing < 0 || ageing > 0xffffffff) {
    throw new NetError('EINVAL', 'vxlan ageing must be an integer number of seconds within 0..4294967295');
  }

  const local = parseVxlanEndpoint(spec.local ?? `0.0.0.0:${dstport}`, dstport, 'vxlan local', true);
  if (isMulticastIp(local.host)) throw new NetError('EINVAL', `vxlan local ${local.host} is a multicast address`);

  const rawRemotes: unknown = spec.remote ?? [];
  const list: unknown[] = typeof rawRemotes === 'string' ? [rawRemotes] : Array.isArray(rawRemotes) ? rawRemotes : [rawRemotes];
  if (list.length > VXLAN_MAX_REMOTES) throw new NetError('EINVAL', `a vxlan device takes at most ${VXLAN_MAX_REMOTES} remotes`);
  const remotes: VxlanEndpoint[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    const r = parseVxlanEndpoint(item, dstport, 'vxlan remote');
    if (isUnspecified(r.host)) throw new NetError('EINVAL', `vxlan remote ${r.host} is not a peer address`);
    if (isMulticastIp(r.host)) throw new NetError('EOPNOTSUPP', `vxlan remote ${r.host}: multicast groups are not supported`);
    const key = `${r.host.toLowerCase()} ${r.port}`;
    if (seen.has(key)) throw new NetError('EEXIST', `vxlan remote ${String(item)} is listed twice`);
    seen.add(key);
    remotes.push(r);
  }

  return {
    vni,
    local,
    remotes,
    dstport,
    learning,
    // 0 means never, as Linux's ageing 0.
    ageingMs: ageing === 0 ? Infinity : ageing * 1000,
  };
}

registerDeviceKind<VxlanSpec>({
  kind: 'vxlan',
  create: async (stack, spec) => {
    const dev = await createVxlan(stack, vxlanConfigFromSpec(spec));
    return [{ dev, name: spec.name ?? 'vxlan%d' }];
  },
  abandon: releaseVxlan,
  snapshot: (dev) => {
    const info = dev.ops.fillInfo?.(dev) ?? {};
    if (typeof info['id'] !== 'number') return null;
    const out: Omit<VxlanSpec & VxlanExtraSettings, 'kind' | 'name' | keyof CommonSettings> = { vni: info['id'] };
    const local = vxlanLocal(dev, info['local']);
    if (local !== undefined) out.local = local;
    const remote = stringList(info['remote']);
    if (remote !== undefined && remote.length > 0) out.remote = remote;
    if (typeof info['dstport'] === 'number') out.dstport = info['dstport'];
    if (typeof info['learning'] === 'boolean') out.learning = info['learning'];
    if (typeof info['ageing'] === 'number') out.ageing = info['ageing'];
    return out;
  },
});

/**
 * The local endpoint to bind again: the host as configured (a name stays a
 * name, whatever it resolved to) with the port actually bound (port 0 picked
 * one, and peers now send to it).
 */
function vxlanLocal(dev: NetDevice, bound: unknown): string | undefined {
  if (typeof bound !== 'string') return undefined;
  const port = /:(\d+)$/.exec(bound)?.[1];
  const host = vxlanOf(dev).cfg.local.host;
  if (port === undefined) return bound;
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}
