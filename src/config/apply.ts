// Building a stack's configuration from a config or state file: sysctls
// first (socket defaults depend on them), then the devices in file order,
// each created with `ip link add` semantics and then set like `ip link set`,
// admin state last. A failure names the entry (`devices[3]`) and leaves the
// entry's own devices removed; the caller decides what to do with the rest.

import { NetError } from '../errno.ts';
import { IFF, flagsFromNames } from '../dev/flags.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { NetemParams } from '../dev/wrappers/netem.ts';
import { createDevice, deleteDevice, devIoctl, setLink, type DeviceSpec, type LinkChanges, type NetStack } from '../stack/index.ts';
import { netemParamsFromFields } from '../rtnl/netem-fields.ts';
import { attachInet, inetOf, type Inet, type UdpOpenOptions } from '../inet/control.ts';
import { tcpOf, type TcpOpenOptions } from '../inet/tcp-glue.ts';
import type { SysctlValue } from '../sysctl.ts';
import { ConfigError } from './errors.ts';
import {
  OTHER_USER_FLAGS,
  type AddressEntry,
  type DeviceEntry,
  type DeviceSettings,
  type NeighbourEntry,
  type NetemConfig,
  type RouteEntry,
  type SocketEntry,
} from './schema.ts';

export interface StackSetup {
  devices: readonly DeviceEntry[];
  sysctl?: Readonly<Record<string, SysctlValue>> | undefined;
  addresses?: readonly AddressEntry[] | undefined;
  routes?: readonly RouteEntry[] | undefined;
  neighbours?: readonly NeighbourEntry[] | undefined;
  sockets?: readonly SocketEntry[] | undefined;
}

const OTHER_FLAGS_MASK = flagsFromNames(OTHER_USER_FLAGS) ?? 0;

/** The file's netem fields as the core spells them (one mapping: rtnl/netem-fields.ts). */
export function netemParamsOf(c: NetemConfig): Partial<NetemParams> {
  return netemParamsFromFields(c);
}

/**
 * Each address once: the user's SIOCADDMULTI is one global use whatever its
 * count (__hw_addr_add_ex with global), so `users` in a saved state records
 * the kernel's own uses and is not replayed.
 */
function multicastAdds(list: NonNullable<DeviceSettings['multicast']>): string[] {
  return list.map((m) => (typeof m === 'string' ? m : m.address));
}

/**
 * What `ip link add` needs: the entry without its settings. A kind's own
 * fields have the same names in the file as in its spec (rtnl/kind.ts), so
 * no kind is named here.
 */
function creationSpec(entry: Exclude<DeviceEntry, { kind: 'loopback' }>): DeviceSpec {
  const own: Record<string, unknown> = { ...entry };
  for (const key of SETTING_KEYS) delete own[key];
  return own as unknown as DeviceSpec;
}

/** Entry fields that are `ip link set` settings, applied after creation (veth: and its peer's). */
const SETTING_KEYS = ['up', 'mtu', 'address', 'txqlen', 'promisc', 'allmulti', 'flags', 'netem', 'multicast', 'map', 'peer_settings'] as const;

/** SIOCSIFFLAGS with `other` for the flags outside UP/PROMISC/ALLMULTI, those three kept as they are. */
function setOtherFlags(stack: NetStack, dev: NetDevice, other: number): void {
  if ((dev.flags & OTHER_FLAGS_MASK) === other) return;
  const keep = (dev.gflags & (IFF.PROMISC | IFF.ALLMULTI)) | (dev.isUp() ? IFF.UP : 0);
  devIoctl(stack, dev.name, { request: 'SIOCSIFFLAGS', ifr_flags: other | keep });
}

/**
 * `ip link set` with everything an entry says, in do_setlink's order, admin
 * state last; the flags and ifmap that only SIOCSIFFLAGS / SIOCSIFMAP reach
 * go just before it. Multicast addresses need IFF_MULTICAST on drivers
 * without their own filter, so a list saved from a device whose MULTICAST
 * flag was cleared afterwards is added with the flag set for the moment.
 */
export function configureDevice(stack: NetStack, dev: NetDevice, s: DeviceSettings): void {
  const changes: LinkChanges = {};
  if (s.address !== undefined) changes.address = s.address;
  if (s.mtu !== undefined) changes.mtu = s.mtu;
  if (s.txqlen !== undefined) changes.txqlen = s.txqlen;
  if (s.promisc !== undefined) changes.promisc = s.promisc;
  if (s.allmulti !== undefined) changes.allmulti = s.allmulti;
  if (s.netem !== undefined) changes.netem = netemParamsOf(s.netem);
  if (s.speed_mbps !== undefined) changes.speed_mbps = s.speed_mbps;
  if (s.tx_ring !== undefined) changes.tx_ring = s.tx_ring;
  if (Object.keys(changes).length > 0) setLink(stack, dev.name, changes);
  const wanted = s.flags === undefined ? undefined : (flagsFromNames(s.flags) ?? 0);
  const adds = s.multicast === undefined ? [] : multicastAdds(s.multicast);
  if (wanted !== undefined) setOtherFlags(stack, dev, adds.length > 0 ? wanted | IFF.MULTICAST : wanted);
  if (adds.length > 0) setLink(stack, dev.name, { multicast: { add: adds } });
  if (wanted !== undefined) setOtherFlags(stack, dev, wanted);
  if (s.map !== undefined) devIoctl(stack, dev.name, { request: 'SIOCSIFMAP', ifr_map: s.map });
  if (s.up !== undefined) setLink(stack, dev.name, { up: s.up });
}

function settingsOf(entry: DeviceEntry): DeviceSettings {
  const { up, mtu, address, txqlen, promisc, allmulti, flags, netem, multicast, map, speed_mbps, tx_ring } = entry;
  return { up, mtu, address, txqlen, promisc, allmulti, flags, netem, multicast, map, speed_mbps, tx_ring };
}

/**
 * A veth peer without settings of its own takes the entry's, except what
 * belongs to the named end alone: its address (veth_newlink gives the peer
 * its own), its netem (`tc qdisc add dev veth0 netem` shapes veth0 only)
 * and its bridge.
 */
function peerSettingsOf(own: DeviceSettings): DeviceSettings {
  const { address: _a, netem: _n, master: _m, ...shared } = own;
  return shared;
}

/** The loopback exists from the start: its entry renames (down, as rename requires) and configures it. */
function configureLoopback(stack: NetStack, entry: Extract<DeviceEntry, { kind: 'loopback' }>): void {
  const lo = stack.lo;
  const settings = settingsOf(entry);
  if (entry.name !== undefined && entry.name !== lo.name) {
    const wasUp = lo.isUp();
    if (wasUp) setLink(stack, lo.name, { up: false });
    setLink(stack, lo.name, { name: entry.name });
    if (settings.up === undefined) settings.up = wasUp;
  }
  configureDevice(stack, lo, settings);
}

/** Create and configure one entry's devices (both ends of a veth). */
export async function applyDeviceEntry(stack: NetStack, entry: DeviceEntry): Promise<NetDevice[]> {
  if (entry.kind === 'loopback') {
    configureLoopback(stack, entry);
    return [stack.lo];
  }
  const made = await createDevice(stack, creationSpec(entry));
  try {
    const own = settingsOf(entry);
    configureDevice(stack, made[0]!, own);
    if (entry.kind === 'veth' && made[1] !== undefined) configureDevice(stack, made[1], entry.peer_settings ?? peerSettingsOf(own));
  } catch (err) {
    if (made[0]!.registered) deleteDevice(stack, made[0]!.name);
    throw err;
  }
  return made;
}

function describeFailure(err: unknown): string {
  if (err instanceof NetError) return `${err.errno}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The internet layer's part, after the devices (which are up by now, as a
 * gateway must be reachable): addresses (each bringing its connected route),
 * then static routes, permanent neighbours (service sockets: applySockets). Each goes
 * through the same operation the API uses, so a file is refused exactly
 * where a request would be, and the error names the entry.
 */
function applyInet(inet: Inet, setup: StackSetup, source: string): void {
  const step = <E>(list: readonly E[] | undefined, key: string, label: (e: E) => string, fn: (e: E) => void): void => {
    for (const [i, e] of (list ?? []).entries()) {
      try {
        fn(e);
      } catch (err) {
        throw new ConfigError(`${source}: ${key}[${i}] (${label(e)}): ${describeFailure(err)}`, `${key}[${i}]`);
      }
    }
  };
  step(setup.addresses, 'addresses', (a) => `${a.address} dev ${a.dev}`, (a) => {
    inet.addrAdd(a.dev, a.address.includes('/') ? a.address : `${a.address}/32`, defined({ broadcast: a.broadcast, label: a.label }));
  });
  step(setup.routes, 'routes', (r) => r.dst, (r) => {
    inet.routeAdd(defined({ dst: r.dst, gateway: r.gateway, dev: r.dev, metric: r.metric, src: r.src }));
  });
  step(setup.neighbours, 'neighbours', (n) => `${n.dst} dev ${n.dev}`, (n) => {
    inet.neighAdd({ dst: n.dst, dev: n.dev, lladdr: n.lladdr });
  });
}

/**
 * Service sockets, in file order: UDP sockets as udpOpen makes them, TCP
 * listeners as `POST /v1/sockets {type: "tcp", listen}` does (resolved at
 * once: a listener waits for nobody).
 */
async function applySockets(inet: Inet, setup: StackSetup, source: string): Promise<void> {
  for (const [i, s] of (setup.sockets ?? []).entries()) {
    try {
      if (s.type === 'udp') {
        const opts: UdpOpenOptions = defined({ bind: s.bind, connect: s.connect, service: s.service, rcvbuf: s.rcvbuf, sndbuf: s.sndbuf });
        inet.udpOpen(opts);
      } else {
        const tcp = tcpOf(inet);
        if (tcp === undefined) throw new NetError('EOPNOTSUPP', 'TCP is not attached to this stack');
        const opts: TcpOpenOptions = defined({ bind: s.bind, listen: s.backlog ?? true, service: s.service, rcvbuf: s.rcvbuf, sndbuf: s.sndbuf, nodelay: s.nodelay });
        await tcp.open(opts);
      }
    } catch (err) {
      throw new ConfigError(`${source}: sockets[${i}] (${s.type} ${s.bind} ${s.service}): ${describeFailure(err)}`, `sockets[${i}]`);
    }
  }
}

/**
 * Apply a whole setup. `source` names the file in errors, e.g.
 * `config deploy/a.json: devices[0] (vxlan0): EADDRINUSE: ...`.
 */
export async function applySetup(stack: NetStack, setup: StackSetup, source: string): Promise<void> {
  // IPv4 first: its net.ipv4 sysctls exist once it is attached.
  const inet = inetOf(stack) ?? attachInet(stack);
  if (setup.sysctl !== undefined) {
    try {
      stack.sysctl.set(setup.sysctl);
    } catch (err) {
      throw new ConfigError(`${source}: sysctl: ${describeFailure(err)}`, 'sysctl');
    }
  }
  const made: NetDevice[][] = [];
  for (const [i, entry] of setup.devices.entries()) {
    try {
      made.push(await applyDeviceEntry(stack, entry));
    } catch (err) {
      const where = `devices[${i}]`;
      const label = entry.name ?? entry.kind;
      throw new ConfigError(`${source}: ${where} (${label}): ${describeFailure(err)}`, where);
    }
  }
  // Ports join their bridges once every device exists: a bridge may be
  // listed after its ports (a state file lists devices by ifindex).
  for (const [i, entry] of setup.devices.entries()) {
    const joins: [NetDevice | undefined, string | undefined][] = [[made[i]![0], entry.master]];
    if (entry.kind === 'veth') joins.push([made[i]![1], entry.peer_settings?.master]);
    for (const [dev, master] of joins) {
      if (dev === undefined || master === undefined) continue;
      try {
        setLink(stack, dev.name, { master });
      } catch (err) {
        const where = `devices[${i}]`;
        throw new ConfigError(`${source}: ${where} (${dev.name}): master ${master}: ${describeFailure(err)}`, where);
      }
    }
  }
  applyInet(inet, setup, source);
  await applySockets(inet, setup, source);
}
