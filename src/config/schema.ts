// The shape of `--config FILE` and `--state FILE`: one device entry schema for
// both, so a state file reads like a config someone could have written.
//
// A device entry is what `ip link add` takes (kind, name, peer, link, id,
// vni, local, remote) plus what `ip link set` and `tc qdisc netem` take (up,
// mtu, address, txqlen, promisc, allmulti, flags, netem, multicast, map).
// A veth entry's settings apply to both ends unless `peer_settings` is given,
// which then applies to the peer end instead. A `loopback` entry creates
// nothing: it configures the `lo` that every stack starts with.

import { z } from 'zod';
import { IFF, IFF_USER_SETTABLE, type IffName } from '../dev/flags.ts';
import { invalidNameReason, isNamePattern } from '../dev/names.ts';
import { Sysctl, SysctlError } from '../sysctl.ts';
import { NetError } from '../errno.ts';
import { VXLAN_PORT } from '../wire/vxlan.ts';
import { VXLAN_MAX_REMOTES, parseVxlanEndpoint } from '../rtnl/vxlan-kind.ts';
import { registerTcpSysctls } from '../inet/tcp/sysctl.ts';
import { Ipv4Address, Ipv4Prefix, RouteDst, SocketAddress } from './inet-values.ts';

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const mac = z.string().regex(MAC_RE, 'must be a MAC address like 02:00:00:00:00:01');

/** A vxlan endpoint as the vxlan kind itself parses it: host:port, host, [v6]:port, [v6]. */
function endpoint(what: string, allowZeroPort: boolean) {
  return z.string().superRefine((text, ctx) => {
    try {
      parseVxlanEndpoint(text, VXLAN_PORT, what, allowZeroPort);
    } catch (err) {
      if (!(err instanceof NetError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message.replace(`${what}: `, '') });
    }
  });
}

const u32 = z.number().int().min(0).max(0xffffffff);
const percent = z.number().min(0).max(100);

/** `ip link add name NAME`: a name, or a pattern like `dummy%d`. */
const deviceName = z.string().superRefine((name, ctx) => {
  const why = invalidNameReason(isNamePattern(name) ? name.replace('%d', '0') : name);
  if (why !== null) ctx.addIssue({ code: 'custom', message: why });
});

/** tc qdisc netem, in the REST API's snake_case; unset fields take netem's defaults. */
export const netemSchema = z.strictObject({
  delay_ms: z.number().min(0).max(3_600_000).optional(),
  jitter_ms: z.number().min(0).max(3_600_000).optional(),
  loss: percent.optional(),
  duplicate: percent.optional(),
  corrupt: percent.optional(),
  reorder: percent.optional(),
  rate_bps: z.number().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.number().int().min(1).max(1_000_000).optional(),
  seed: z.number().int().min(-0x80000000).max(0xffffffff).optional(),
});
export type NetemConfig = z.infer<typeof netemSchema>;

/** A multicast address once, or with the number of users that added it (SIOCADDMULTI counts). */
const multicastEntry = z.union([mac, z.strictObject({ address: mac, users: z.number().int().min(1).max(1_000_000) })], {
  error: 'must be a MAC address like 01:00:5e:00:00:01, or {address, users}',
});

/** The IFF flags a user may set with SIOCSIFFLAGS, apart from UP, PROMISC and ALLMULTI (their own fields). */
export const OTHER_USER_FLAGS = (Object.keys(IFF) as IffName[]).filter(
  (n) => (IFF[n] & IFF_USER_SETTABLE) !== 0 && n !== 'UP' && n !== 'PROMISC' && n !== 'ALLMULTI',
);

const ifmapSchema = z.strictObject({
  mem_start: u32.optional(),
  mem_end: u32.optional(),
  base_addr: u32.optional(),
  irq: u32.optional(),
  dma: u32.optional(),
  port: u32.optional(),
});

function settingsShape(maxMtu: number) {
  return {
    up: z.boolean().optional(),
    mtu: z.number().int().min(68).max(maxMtu).optional(),
    address: mac.optional(),
    txqlen: u32.optional(),
    promisc: z.boolean().optional(),
    allmulti: z.boolean().optional(),
    /** Exactly these of the other settable flags (NOARP, MULTICAST, DEBUG...); absent = the driver's defaults. */
    flags: z.array(z.enum(OTHER_USER_FLAGS as [IffName, ...IffName[]])).optional(),
    netem: netemSchema.optional(),
    multicast: z.array(multicastEntry).optional(),
    /** SIOCSIFMAP, for drivers that take it (dummy). */
    map: ifmapSchema.optional(),
    /** ethtool speed in Mbit/s and TX ring size, for drivers with a wire (veth, dummy). */
    speed_mbps: z.number().min(0).max(10_000_000).optional(),
    tx_ring: z.number().int().min(1).max(65536).optional(),
    /** The bridge this device is a port of (joined once every entry exists). */
    master: deviceName.optional(),
  };
}

export const settingsSchema = z.strictObject(settingsShape(65535));
export type DeviceSettings = z.infer<typeof settingsSchema>;

const dummyEntry = z.strictObject({ kind: z.literal('dummy'), name: deviceName.optional(), ...settingsShape(65535) });
const vethEntry = z.strictObject({
  kind: z.literal('veth'),
  name: deviceName.optional(),
  peer: deviceName.optional(),
  peer_settings: settingsSchema.optional(),
  ...settingsShape(65535),
});
const vlanEntry = z.strictObject({
  kind: z.literal('vlan'),
  name: deviceName.optional(),
  link: deviceName,
  id: z.number().int().min(1).max(4094),
  egress_qos_map: z.record(z.string().regex(/^\d{1,10}$/), z.number().int().min(0).max(7)).optional(),
  ...settingsShape(65535),
});
const vxlanEntry = z.strictObject({
  kind: z.literal('vxlan'),
  name: deviceName.optional(),
  vni: z.number().int().min(0).max(0xffffff),
  local: endpoint('vxlan local', true).optional(),
  remote: z.array(endpoint('vxlan remote', false)).max(VXLAN_MAX_REMOTES).optional(),
  dstport: z.number().int().min(1).max(65535).optional(),
  learning: z.boolean().optional(),
  /** Seconds a learned fdb entry lives; 0 = forever. */
  ageing: u32.optional(),
  ...settingsShape(65535),
});
const bridgeEntry = z.strictObject({
  kind: z.literal('bridge'),
  name: deviceName.optional(),
  /** Seconds a learned fdb entry lives; 0 = forever (default 300). */
  ageing_time: z.number().int().min(0).max(1_000_000).optional(),
  ...settingsShape(65535),
});
const loopbackEntry = z.strictObject({ kind: z.literal('loopback'), name: deviceName.optional(), ...settingsShape(65536) });

export const deviceEntrySchema = z.discriminatedUnion('kind', [dummyEntry, vethEntry, vlanEntry, vxlanEntry, bridgeEntry, loopbackEntry]);
export type DeviceEntry = z.infer<typeof deviceEntrySchema>;

/** A sysctl table that knows every name a stack with IPv4 and TCP has: net.core, net.ipv4, net.ipv4.tcp_*. */
function fullSysctlTable(): Sysctl {
  const t = new Sysctl();
  registerTcpSysctls(t);
  return t;
}

/**
 * net.core.*, net.ipv4.* and net.ipv4.tcp_* sysctls: known names, values
 * within the kernel's bounds, of the right shape (an integer; a word for
 * tcp_congestion_control; a vector as an array or as "4096 131072 6291456").
 * Checked by the Sysctl table itself, all together, as the stack will set them.
 */
const sysctlSchema = z.record(z.string(), z.union([z.number(), z.string(), z.array(z.number())])).superRefine((values, ctx) => {
  try {
    fullSysctlTable().set(values);
  } catch (err) {
    if (!(err instanceof SysctlError)) throw err;
    ctx.addIssue({ code: 'custom', path: [err.sysctl], message: err.message.replace(`${err.sysctl}: `, '').replace(`${err.sysctl} `, '') });
  }
});

const devicesSchema = z.array(deviceEntrySchema).superRefine((devices, ctx) => {
  const loopbacks = devices.flatMap((d, i) => (d.kind === 'loopback' ? [i] : []));
  for (const i of loopbacks.slice(1)) {
    ctx.addIssue({ code: 'custom', path: [i, 'kind'], message: 'only one loopback entry is allowed' });
  }
});

// ---- the internet layer: what `ip addr add`, `ip route add`, `ip neigh add
// ... nud permanent` and a service socket would set up, in that order ----

/** `ip addr add ADDRESS dev DEV [broadcast B] [label L]`. */
export const addressEntrySchema = z.strictObject({
  dev: deviceName,
  address: Ipv4Prefix,
  broadcast: Ipv4Address.optional(),
  label: z.string().min(1).max(15).optional(),
});
export type AddressEntry = z.infer<typeof addressEntrySchema>;

/** `ip route add DST [via GATEWAY] [dev DEV] [metric N] [src A]`: static routes only (kernel routes follow the addresses). */
export const routeEntrySchema = z.strictObject({
  dst: RouteDst,
  gateway: Ipv4Address.optional(),
  dev: deviceName.optional(),
  metric: u32.optional(),
  src: Ipv4Address.optional(),
});
export type RouteEntry = z.infer<typeof routeEntrySchema>;

/** `ip neigh replace DST lladdr MAC dev DEV nud permanent`. */
export const neighbourEntrySchema = z.strictObject({ dst: Ipv4Address, dev: deviceName, lladdr: mac });
export type NeighbourEntry = z.infer<typeof neighbourEntrySchema>;

const serviceName = z.enum(['echo', 'discard', 'chargen']);
const bufSize = z.number().int().min(0).max(2147483647);

/**
 * A UDP socket running a built-in service (RFC 862/863/864). Only service
 * sockets are configuration: a plain socket has no reader after a restart.
 */
export const udpSocketEntrySchema = z.strictObject({
  type: z.literal('udp'),
  bind: SocketAddress,
  connect: SocketAddress.optional(),
  service: serviceName,
  rcvbuf: bufSize.optional(),
  sndbuf: bufSize.optional(),
});

/**
 * A TCP listener running a built-in service on every connection it accepts
 * (`POST /v1/sockets {type: "tcp", bind, listen: backlog, service}`).
 * Connections are not configuration: only listeners with a service are kept.
 * `backlog` is listen()'s (128 when absent); rcvbuf/sndbuf/nodelay are the
 * socket options every accepted connection inherits.
 */
export const tcpSocketEntrySchema = z.strictObject({
  type: z.literal('tcp'),
  bind: SocketAddress.refine((b) => !b.endsWith(':0'), 'a listener needs a port (1..65535)'),
  service: serviceName,
  backlog: z.number().int().min(0).max(65535).optional(),
  rcvbuf: bufSize.optional(),
  sndbuf: bufSize.optional(),
  nodelay: z.boolean().optional(),
});

/** An entry without `type` is UDP, as files written before TCP have them. */
export const socketEntrySchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.hasOwn(v, 'type') ? { type: 'udp', ...v } : v),
  z.discriminatedUnion('type', [udpSocketEntrySchema, tcpSocketEntrySchema], { error: 'type must be "udp" (the default) or "tcp"' }),
);
export type SocketEntry = z.infer<typeof socketEntrySchema>;

const inetShape = {
  addresses: z.array(addressEntrySchema).optional(),
  routes: z.array(routeEntrySchema).optional(),
  neighbours: z.array(neighbourEntrySchema).optional(),
  sockets: z.array(socketEntrySchema).optional(),
};

/** `--config FILE`: the initial setup, applied once at start when there is no state yet. */
export const configFileSchema = z.strictObject({
  devices: devicesSchema.default([]),
  sysctl: sysctlSchema.optional(),
  ...inetShape,
});
export type ConfigFile = z.infer<typeof configFileSchema>;

export const STATE_VERSION = 1;

/** `--state FILE`: what the service saves after every change and restores at start. */
export const stateFileSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  saved_at: z.string(),
  sysctl: sysctlSchema,
  devices: devicesSchema,
  ...inetShape,
});
export type StateFile = z.infer<typeof stateFileSchema>;
