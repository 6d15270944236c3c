// The inet control plane: what the HTTP routes, the CLI and state saving see
// of IPv4 (addresses, routes, neighbours, ping, UDP sockets, counters). View
// objects are exactly the JSON shapes of iproute2's `-j` output, ping and ss,
// so the HTTP layer returns them as they are. Every operation throws NetError
// with the errno the kernel's rtnetlink or socket call would return.

import { NetError } from '../errno.ts';
import type { SocketDescription, StackSocket } from '../sock/table.ts';
import type { NetStack } from '../stack/netstack.ts';
import { InetProtocol } from './protocol.ts';
import type { InetStack } from './inet.ts';

export interface AddrInfoView {
  family: 'inet';
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: 'global' | 'host' | 'link';
  label: string;
  secondary?: boolean;
}

/** One device as `ip -j addr` prints it. */
export interface IfAddrView {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address: string;
  addr_info: AddrInfoView[];
}

export interface RouteView {
  /** 'default' | 'A.B.C.D/N' (host routes 'A.B.C.D'). */
  dst: string;
  gateway?: string;
  dev: string;
  protocol: 'kernel' | 'static';
  scope: 'global' | 'link' | 'host';
  prefsrc?: string;
  metric?: number;
  flags: string[];
  type?: 'unicast' | 'local' | 'broadcast';
}

export interface NeighView {
  dst: string;
  dev: string;
  lladdr?: string;
  /** e.g. ["REACHABLE"] */
  state: string[];
}

export interface PingReply {
  seq: number;
  from: string;
  ttl: number;
  time_ms: number;
}

export interface PingResult {
  dst: string;
  transmitted: number;
  received: number;
  loss_percent: number;
  rtt_ms: { min: number; avg: number; max: number; mdev: number } | null;
  replies: PingReply[];
  errors: { seq: number; from: string; message: string }[];
}

export interface PingOptions {
  dst: string;
  count?: number;
  intervalMs?: number;
  size?: number;
  ttl?: number;
  timeoutMs?: number;
  src?: string;
  signal?: AbortSignal;
}

export type UdpService = 'echo' | 'discard' | 'chargen';

export interface UdpOpenOptions {
  /** 'ADDR:PORT' */
  bind?: string;
  connect?: string;
  rcvbuf?: number;
  sndbuf?: number;
  service?: UdpService;
}

export interface Datagram {
  /** 'A.B.C.D:PORT' */
  from: string;
  data: Uint8Array;
}

export interface UdpSocketView extends SocketDescription {
  family: 'inet';
  type: 'dgram';
  state: 'UNCONN' | 'ESTAB';
  /** The service netstackd runs on it, if any (as TCP rows say). */
  service?: UdpService;
}

export interface UdpSendOptions {
  nonblock?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A UDP socket: an entry of the stack's socket table (family inet, type dgram). */
export interface UdpSocket extends StackSocket {
  /** Unique among ALL the stack's sockets. */
  readonly id: number;
  readonly family: 'inet';
  readonly type: 'dgram';
  describe(): UdpSocketView;
  sendTo(data: Uint8Array, to?: string, opts?: UdpSendOptions): number | Promise<number>;
  /** EAGAIN, EINTR, or a pending error (ECONNREFUSED). */
  recv(opts?: UdpSendOptions): Datagram | Promise<Datagram>;
  /** Data-ready listener; returns the unsubscribe function. */
  onReadable(fn: () => void): () => void;
  close(): void;
}

/** The UDP socket behind a socket table entry, or undefined for another family or type. */
export function asUdpSocket(sock: StackSocket | undefined): UdpSocket | undefined {
  return sock !== undefined && sock.family === 'inet' && sock.type === 'dgram' ? (sock as UdpSocket) : undefined;
}

/** What state saving keeps: what a user configured, never what the stack learnt. */
export interface InetState {
  addresses: { ifname: string; cidr: string; broadcast?: string; label?: string }[];
  routes: { dst: string; gateway?: string; dev?: string; metric?: number; src?: string }[];
  neighbours: { dst: string; dev: string; lladdr: string }[];
  sockets: { bind: string; connect?: string; service: UdpService; rcvbuf?: number; sndbuf?: number }[];
}

export interface Inet {
  /** EEXIST, ENODEV, EINVAL */
  addrAdd(ifname: string, cidr: string, opts?: { broadcast?: string; label?: string }): AddrInfoView;
  /** `addr` is 'A.B.C.D' or 'A.B.C.D/N'. EADDRNOTAVAIL, ENODEV */
  addrDel(ifname: string, addr: string): void;
  addrList(): IfAddrView[];
  /** EEXIST, ENETUNREACH, ENODEV, EINVAL */
  routeAdd(r: { dst: string; gateway?: string; dev?: string; metric?: number; src?: string }): RouteView;
  /** ESRCH */
  routeDel(q: { dst: string; gateway?: string; dev?: string }): void;
  /** The main table in `ip -j route` order. */
  routeList(): RouteView[];
  /** With prefsrc and dev; ENETUNREACH */
  routeGet(dst: string): RouteView;
  neighList(): NeighView[];
  /** A PERMANENT entry. */
  neighAdd(n: { dst: string; dev: string; lladdr: string }): NeighView;
  /** ENOENT */
  neighDel(q: { dst: string; dev: string }): void;
  neighFlush(dev: string): number;
  ping(opts: PingOptions): Promise<PingResult>;
  /** EADDRINUSE, EADDRNOTAVAIL, EINVAL */
  udpOpen(opts: UdpOpenOptions): UdpSocket;
  udpSockets(): UdpSocket[];
  /** /proc/net/snmp and /proc/net/netstat by their Linux names. */
  netstat(): Record<string, Record<string, number>>;
  snapshot(): InetState;
  restore(s: InetState): void;
}

/** Attach IPv4 to a stack made without it, once; lo gets 127.0.0.1/8. */
export function attachInet(stack: NetStack, _opts: Record<string, never> = {}): Inet {
  if (stack.protocol('inet') !== undefined) throw new NetError('EEXIST', 'inet is already attached to this stack');
  const proto = new InetProtocol();
  stack.attachProtocol(proto);
  return proto.inet;
}

/** The instance attached to `stack`, if any. */
export function inetOf(stack: NetStack): Inet | undefined {
  return inetInternals(stack);
}

/** The implementation behind the façade, for the core's own tests and benchmarks. */
export function inetInternals(stack: NetStack): InetStack | undefined {
  const proto = stack.protocol<InetProtocol>('inet');
  return proto === undefined ? undefined : proto.inet;
}
