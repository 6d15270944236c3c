// The internet layer of one stack: addresses, the FIB, the neighbour table
// with ARP, IPv4, ICMP, UDP and ping, and the control-plane operations of
// the Inet façade (control.ts). Everything that touches the stack's own
// internals (handler registration, notifier, sysctls, socket ids) is in
// attach.ts.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import { flagNames, IFF } from '../dev/flags.ts';
import type { DropReason } from '../skb/drop-reason.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetStack } from '../stack/netstack.ts';
import { formatIpv4, isIpv4Multicast } from '../wire/ipv4.ts';
import { formatMac, parseMac } from '../wire/mac.ts';
import { NeighTable, NEIGH_UPDATE, NUD, NUD_VALID, nudNames, type NeighParms } from '../neigh/neighbour.ts';
import {
  addrScope, formatDst, formatEndpoint, parseCidr, parseEndpoint, parseRouteDst, requireAddr, scopeRank,
  type InIfaddr,
} from './addr.ts';
import { Arp, arpNeeded } from './arp.ts';
import type {
  AddrInfoView, IfAddrView, Inet, InetState, NeighView, PingOptions, PingResult, RouteView, UdpOpenOptions, UdpSocket,
} from './control.ts';
import { FibTable, prefixMask, type FibRoute, type RouteScope, type RouteType } from './fib.ts';
import { Icmp } from './icmp.ts';
import { IpFrags } from './ipfrag.ts';
import { Ipv4, readU32, type IcmpError } from './ipv4.ts';
import { InetMib, type InetSnmp } from './mib.ts';
import { PingTable } from './ping.ts';
import type { InetSysctlName } from './sysctl.ts';
import { UdpTable } from './udp.ts';

/** Where a datagram to one destination goes (a struct rtable). */
export interface RouteResult {
  type: RouteType;
  dev: NetDevice;
  /** The neighbour to hand frames to: the gateway, or the destination itself. */
  nexthop: number;
  /** The source address to use. */
  src: number;
  route: FibRoute | null;
  /** The path MTU: the device's, or less when an ICMP "fragmentation needed" said so. */
  mtu: number;
}

/** ip_rt_mtu_expires: a learnt path MTU is forgotten after 10 minutes. */
const PMTU_EXPIRES_MS = 600_000;

/** A change `ip monitor` would print: an address, a main-table route, a neighbour. */
export type InetEvent =
  | { type: 'addr'; action: 'new' | 'del'; object: AddrInfoView & { ifname: string; ifindex: number } }
  | { type: 'route'; action: 'new' | 'del'; object: RouteView }
  | { type: 'neigh'; action: 'new' | 'change' | 'del'; object: NeighView };

export interface InetHooks {
  /** A socket id unique among all the stack's sockets. */
  allocSocketId(): number;
  /** Refuse another socket when the stack's limit is reached (EMFILE). */
  checkSocketLimit(): void;
}

/** fib_lookup's nexthop check: a route whose device is down is skipped (one function, not a closure per lookup). */
function devIsUp(r: FibRoute): boolean {
  return r.dev.isUp();
}

export class InetStack implements Inet {
  readonly mib = new InetMib();
  /** RT_TABLE_LOCAL: our addresses and broadcast addresses; consulted first. */
  readonly local = new FibTable();
  /** RT_TABLE_MAIN: what `ip route` shows. */
  readonly main = new FibTable();
  readonly addrs = new Map<NetDevice, InIfaddr[]>();
  readonly neigh: NeighTable;
  readonly arp: Arp;
  readonly ip: Ipv4;
  readonly icmp: Icmp;
  readonly udp: UdpTable;
  readonly frags: IpFrags;
  readonly pings: PingTable;
  /** Frames the layer used up without error (ARP heard, echo answered, fragments merged). */
  consumed = 0;
  private readonly carrier = new WeakMap<NetDevice, boolean>();
  private listeners: ((e: InetEvent) => void)[] = [];
  closed = false;

  constructor(
    readonly stack: NetStack,
    private readonly hooks: InetHooks,
  ) {
    this.neigh = new NeighTable({
      clock: stack.clock,
      parms: () => this.neighParms(),
      notify: (n, action) => {
        if ((n.state & NUD.NOARP) === 0 || action === 'del') this.emit({ type: 'neigh', action, object: neighView(n.key, n.dev, n.state, n.ha) });
      },
    });
    this.arp = new Arp(this);
    this.neigh.resolver = this.arp;
    this.ip = new Ipv4(this);
    this.icmp = new Icmp(this);
    this.udp = new UdpTable(this);
    this.frags = new IpFrags(this);
    this.pings = new PingTable(this);
    this.ip.register(this.icmp);
    this.ip.register(this.udp);
  }

  /** Be told of every address, route and neighbour change (for events and state saving); returns the unsubscribe. */
  subscribe(fn: (e: InetEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  private emit(e: InetEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.stack.log.error({ err }, 'inet event listener failed');
      }
    }
  }

  /** Tell listeners of main-table routes that went. */
  private routesGone(gone: readonly FibRoute[]): void {
    for (const r of gone) this.emit({ type: 'route', action: 'del', object: routeView(r) });
  }

  sysctl(name: InetSysctlName): number {
    return this.stack.sysctl.values[name]!;
  }

  private neighParms(): NeighParms {
    const v = this.stack.sysctl.values;
    const p = 'net.ipv4.neigh.default.';
    return {
      baseReachableMs: v[`${p}base_reachable_time_ms`]!,
      retransMs: v[`${p}retrans_time_ms`]!,
      delayFirstProbeMs: v[`${p}delay_first_probe_time`]! * 1000,
      ucastProbes: v[`${p}ucast_solicit`]!,
      mcastProbes: v[`${p}mcast_solicit`]!,
      gcStaleMs: v[`${p}gc_stale_time`]! * 1000,
      gcThresh1: v[`${p}gc_thresh1`]!,
      gcThresh2: v[`${p}gc_thresh2`]!,
      gcThresh3: v[`${p}gc_thresh3`]!,
      unresQlenBytes: v[`${p}unres_qlen_bytes`]!,
    };
  }

  allocSocketId(): number {
    this.hooks.checkSocketLimit();
    return this.hooks.allocSocketId();
  }

  drop(skb: SkBuff, reason: DropReason): void {
    skb.drop(reason);
  }

  /** consume_skb: freed because its work is done, not dropped. */
  consume(skb: SkBuff): void {
    this.consumed++;
    skb.free();
  }

  /** The part of rtGenid the FIB tables do not count: addresses, device events, learnt path MTUs. */
  private genid = 0;

  /**
   * rt_genid_ipv4: changes whenever what routeOutput answers may change (a
   * route, an address, a device event, a learnt path MTU). A route kept by
   * a socket (sk_dst_cache) is still good while this is the number it was
   * looked up under and its device is up with the MTU it had (dst_check);
   * one that carries a learnt path MTU expires by time, so it is not kept.
   */
  get rtGenid(): number {
    return this.genid + this.local.gen + this.main.gen;
  }

  /** Path MTUs learnt from "fragmentation needed" (the kernel keeps them in the route's exception). */
  private readonly pmtu = new Map<number, { mtu: number; expires: number }>();

  /** __ip_rt_update_pmtu: only a smaller MTU, never below the IPv4 minimum of 68. */
  learnPmtu(dst: number, mtu: number): void {
    if (mtu < 68) return;
    const now = this.stack.clock.now();
    const old = this.pmtu.get(dst);
    if (old !== undefined && old.expires > now && old.mtu <= mtu) return;
    if (this.pmtu.size >= 4096) this.pmtu.clear();
    this.pmtu.set(dst, { mtu, expires: now + PMTU_EXPIRES_MS });
    this.genid++;
  }

  private pathMtu(dst: number, dev: NetDevice): number {
    const p = this.pmtu.get(dst);
    if (p === undefined) return dev.mtu;
    if (p.expires <= this.stack.clock.now()) {
      this.pmtu.delete(dst);
      return dev.mtu;
    }
    return Math.min(p.mtu, dev.mtu);
  }

  // ------------------------------------------------------------ routing

  /** inet_addr_type: is `addr` one of ours, or a broadcast address of ours? */
  localType(addr: number, _dev: NetDevice | null): 'local' | 'broadcast' | null {
    if (addr === 0xffffffff) return 'broadcast';
    const r = this.local.lookup(addr);
    if (r === null) return null;
    return r.type === 'local' ? 'local' : r.type === 'broadcast' ? 'broadcast' : null;
  }

  /**
   * inet_select_addr: a primary address of `dev` within `scope`, preferring
   * one on the same subnet as `dst`; failing that, any other device's.
   */
  selectAddr(dev: NetDevice | null, dst: number, scope: RouteScope): number {
    const limit = scopeRank(scope);
    let any = 0;
    if (dev !== null) {
      for (const a of this.addrs.get(dev) ?? []) {
        if (a.secondary || scopeRank(a.scope) > limit) continue;
        if (dst !== 0 && ((a.local ^ dst) & a.mask) === 0) return a.local;
        if (any === 0) any = a.local;
      }
      if (any !== 0) return any;
    }
    for (const [d, list] of this.addrs) {
      if (d === dev) continue;
      for (const a of list) if (!a.secondary && scopeRank(a.scope) <= limit) return a.local;
    }
    return 0;
  }

  /** ip_route_output: the route a datagram we send takes, or the errno why none. */
  routeOutput(dst: number, src: number): RouteResult | 'ENETUNREACH' | 'EADDRNOTAVAIL' {
    if (src !== 0 && this.localType(src, null) !== 'local') return 'EADDRNOTAVAIL';
    if (dst === 0xffffffff) {
      // The limited broadcast leaves by the device of the source address.
      const dev = src !== 0 ? this.devOfAddr(src) : null;
      if (dev === null || !dev.isUp()) return 'ENETUNREACH';
      return { type: 'broadcast', dev, nexthop: dst, src, route: null, mtu: dev.mtu };
    }
    const l = this.local.lookup(dst);
    if (l !== null && l.type === 'local') {
      // Our own address: out through lo and back in.
      return { type: 'local', dev: this.stack.lo, nexthop: dst, src: src || dst, route: l, mtu: this.stack.lo.mtu };
    }
    if (l !== null && l.type === 'broadcast' && l.dev.isUp()) {
      return { type: 'broadcast', dev: l.dev, nexthop: dst, src: src || l.prefsrc || this.selectAddr(l.dev, dst, 'link'), route: l, mtu: l.dev.mtu };
    }
    const r = this.main.lookup(dst, devIsUp);
    if (r === null) return 'ENETUNREACH';
    const nexthop = r.gateway !== 0 ? r.gateway : dst;
    return {
      type: 'unicast',
      dev: r.dev,
      nexthop,
      src: src || r.prefsrc || this.selectAddr(r.dev, nexthop, r.scope === 'host' ? 'host' : 'link'),
      route: r,
      mtu: this.pathMtu(dst, r.dev),
    };
  }

  /** The route a forwarded datagram takes (main table only: ours were delivered). */
  routeForward(dst: number): RouteResult | null {
    const r = this.main.lookup(dst, devIsUp);
    if (r === null) return null;
    return { type: 'unicast', dev: r.dev, nexthop: r.gateway !== 0 ? r.gateway : dst, src: r.prefsrc, route: r, mtu: r.dev.mtu };
  }

  private devOfAddr(addr: number): NetDevice | null {
    for (const [dev, list] of this.addrs) for (const a of list) if (a.local === addr) return dev;
    return null;
  }

  /**
   * dst_link_failure for a frame we could not deliver (its neighbour never
   * answered): the protocol that sent it hears it as an ICMP error from us.
   */
  linkFailure(skb: SkBuff, type: number, code: number): void {
    const nh = skb.networkHeader;
    if (nh < 0 || nh + 20 > skb.tail) return;
    const b = skb.buf;
    const ihl = (b[nh]! & 0x0f) << 2;
    if (nh + ihl + 8 > skb.tail) return;
    const src = readU32(b, nh + 12);
    if (this.localType(src, null) !== 'local') return;
    const e: IcmpError = {
      type, code, info: 0, from: src, errno: 'EHOSTUNREACH', fatal: true, local: true, src,
      dst: readU32(b, nh + 16), protocol: b[nh + 9]!,
      transport: Buffer.from(b.subarray(nh + ihl, Math.min(skb.tail, nh + ihl + 64))),
    };
    this.ip.protocols.get(e.protocol)?.err?.(e);
  }

  // ------------------------------------------------------------ addresses and their routes

  private requireDev(name: string): NetDevice {
    if (typeof name !== 'string') throw new NetError('EINVAL', 'a device name must be a string');
    const dev = this.stack.devices.get(name);
    if (dev === undefined) throw new NetError('ENODEV', `Cannot find device "${name}"`);
    return dev;
  }

  /** Add unless the same route (destination, length, type, device, gateway) is already there. */
  private insertOnce(t: FibTable, r: FibRoute): void {
    const same = t.find(r.dst, r.plen)?.some((x) => x.type === r.type && x.dev === r.dev && x.gateway === r.gateway && x.metric === r.metric);
    if (same) return;
    t.insert(r);
    if (t === this.main) this.emit({ type: 'route', action: 'new', object: routeView(r) });
  }

  /** fib_add_ifaddr: the local route, the connected route (primary only), the broadcast route. */
  private fibAddIfaddr(ifa: InIfaddr): void {
    const dev = ifa.dev;
    if (!dev.isUp()) return;
    const prim = ifa.secondary ? this.primaryFor(ifa) : ifa;
    const prefsrc = prim?.local ?? ifa.local;
    const base = { gateway: 0, dev, metric: 0, protocol: 'kernel' as const };
    this.insertOnce(this.local, { ...base, dst: ifa.local, plen: 32, type: 'local', scope: 'host', prefsrc });
    const prefix = (ifa.local & ifa.mask) >>> 0;
    if (!ifa.secondary && ifa.prefixlen < 32) {
      if ((dev.flags & IFF.LOOPBACK) !== 0) {
        this.insertOnce(this.local, { ...base, dst: prefix, plen: ifa.prefixlen, type: 'local', scope: 'host', prefsrc });
      } else {
        this.insertOnce(this.main, { ...base, dst: prefix, plen: ifa.prefixlen, type: 'unicast', scope: 'link', prefsrc: ifa.local });
      }
    }
    if (ifa.broadcast !== 0 && ifa.broadcast !== 0xffffffff) {
      this.insertOnce(this.local, { ...base, dst: ifa.broadcast, plen: 32, type: 'broadcast', scope: 'link', prefsrc });
    }
  }

  /** fib_del_ifaddr + fib_sync_down_addr: what the address brought goes with it. */
  private fibDelIfaddr(ifa: InIfaddr): void {
    const dev = ifa.dev;
    const others = (this.addrs.get(dev) ?? []).filter((a) => a !== ifa);
    // Each search is among the device's routes or the address's (the FIB's
    // indexes), never the whole table.
    if (!others.some((a) => a.local === ifa.local)) {
      this.local.removeDev(dev, (r) => r.type === 'local' && r.plen === 32 && r.dst === ifa.local);
    }
    if (!ifa.secondary) {
      const prefix = (ifa.local & ifa.mask) >>> 0;
      this.routesGone(this.main.removeDev(dev, (r) => r.protocol === 'kernel' && r.dst === prefix && r.plen === ifa.prefixlen));
      this.local.removeDev(dev, (r) => r.type === 'local' && r.dst === prefix && r.plen === ifa.prefixlen && r.plen < 32);
    }
    if (ifa.broadcast !== 0 && !others.some((a) => a.broadcast === ifa.broadcast)) {
      this.local.removeDev(dev, (r) => r.type === 'broadcast' && r.dst === ifa.broadcast);
    }
    if (!others.some((a) => a.local === ifa.local)) {
      this.routesGone(this.main.removePrefsrc(ifa.local));
    }
  }

  private primaryFor(ifa: InIfaddr): InIfaddr | undefined {
    return (this.addrs.get(ifa.dev) ?? []).find(
      (a) => !a.secondary && a.prefixlen === ifa.prefixlen && ((a.local ^ ifa.local) & a.mask) === 0,
    );
  }

  addrAdd(ifname: string, cidr: string, opts: { broadcast?: string; label?: string } = {}): AddrInfoView {
    const dev = this.requireDev(ifname);
    const { addr, plen } = parseCidr(cidr);
    if (addr === 0 || addr === 0xffffffff || isIpv4Multicast(addr)) {
      throw new NetError('EINVAL', `${formatIpv4(addr)} cannot be an interface address`);
    }
    const list = this.addrs.get(dev) ?? [];
    if (list.some((a) => a.local === addr && a.prefixlen === plen)) {
      throw new NetError('EEXIST', `${formatIpv4(addr)}/${plen} is already on ${dev.name}`);
    }
    const mask = prefixMask(plen);
    let broadcast = plen < 31 ? (addr | ~mask) >>> 0 : 0;
    if (opts.broadcast !== undefined) broadcast = requireAddr(opts.broadcast, 'broadcast');
    const label = opts.label ?? dev.name;
    if (typeof label !== 'string' || label.length > 15 || (label !== dev.name && !label.startsWith(`${dev.name}:`))) {
      throw new NetError('EINVAL', `label "${String(label)}" must be the device name or start with "${dev.name}:" (at most 15 bytes)`);
    }
    const secondary = list.some((a) => !a.secondary && a.prefixlen === plen && ((a.local ^ addr) & mask) === 0);
    const ifa: InIfaddr = { dev, local: addr, prefixlen: plen, mask, broadcast, scope: addrScope(addr), label, secondary };
    // Primaries before secondaries, as `ip addr` lists them.
    if (secondary) list.push(ifa);
    else {
      const i = list.findIndex((a) => a.secondary);
      if (i < 0) list.push(ifa);
      else list.splice(i, 0, ifa);
    }
    this.addrs.set(dev, list);
    this.genid++;
    this.emit({ type: 'addr', action: 'new', object: { ...addrView(ifa), ifname: dev.name, ifindex: dev.ifindex } });
    this.fibAddIfaddr(ifa);
    if (dev.isRunning() && arpNeeded(dev)) this.arp.announce(dev, addr);
    return addrView(ifa);
  }

  addrDel(ifname: string, addrText: string): void {
    const dev = this.requireDev(ifname);
    const hasLen = typeof addrText === 'string' && addrText.includes('/');
    const { addr, plen } = parseCidr(addrText);
    const list = this.addrs.get(dev) ?? [];
    const ifa = list.find((a) => a.local === addr && (!hasLen || a.prefixlen === plen));
    if (ifa === undefined) throw new NetError('EADDRNOTAVAIL', `${addrText} is not an address of ${dev.name}`);
    // Without promote_secondaries, a primary takes its subnet's secondaries with it.
    const gone = [ifa];
    if (!ifa.secondary) {
      for (const a of list) if (a.secondary && a.prefixlen === ifa.prefixlen && ((a.local ^ ifa.local) & ifa.mask) === 0) gone.push(a);
    }
    for (const g of gone) {
      this.fibDelIfaddr(g);
      list.splice(list.indexOf(g), 1);
      this.emit({ type: 'addr', action: 'del', object: { ...addrView(g), ifname: dev.name, ifindex: dev.ifindex } });
    }
    if (list.length === 0) this.addrs.delete(dev);
    this.genid++;
  }

  addrList(): IfAddrView[] {
    return this.stack.devices.list().map((dev) => ({
      ifindex: dev.ifindex,
      ifname: dev.name,
      flags: flagNames(dev.visibleFlags()),
      mtu: dev.mtu,
      operstate: dev.operstate(),
      address: formatMac(dev.devAddr),
      addr_info: (this.addrs.get(dev) ?? []).map(addrView),
    }));
  }

  // ------------------------------------------------------------ routes

  routeAdd(r: { dst: string; gateway?: string; dev?: string; metric?: number; src?: string }): RouteView {
    const { dst, plen } = parseRouteDst(r.dst);
    const metric = r.metric ?? 0;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) throw new NetError('EINVAL', 'metric must be within 0..4294967295');
    let dev = r.dev !== undefined ? this.requireDev(r.dev) : null;
    let gateway = 0;
    if (r.gateway !== undefined) {
      gateway = requireAddr(r.gateway, 'gateway');
      if (this.localType(gateway, null) !== null || gateway === 0) throw new NetError('EINVAL', `${r.gateway} cannot be a gateway: it is a local or broadcast address`);
      // fib_check_nh: the gateway must be on a connected network (of `dev`, if given).
      const want = dev;
      const nh = this.main.lookup(gateway, (x) => x.gateway === 0 && x.type === 'unicast' && x.dev.isUp() && (want === null || x.dev === want));
      if (nh === null) throw new NetError('ENETUNREACH', `gateway ${r.gateway} is not on a connected network${want ? ` of ${want.name}` : ''}`);
      dev = nh.dev;
    }
    if (dev === null) throw new NetError('EINVAL', 'a route needs a device or a gateway');
    if (!dev.isUp()) throw new NetError('ENETDOWN', `${dev.name} is down`);
    let prefsrc = 0;
    if (r.src !== undefined) {
      prefsrc = requireAddr(r.src, 'source');
      if (this.localType(prefsrc, null) !== 'local') throw new NetError('EINVAL', `invalid prefsrc: ${r.src} is not an address of this host`);
    }
    if (this.main.find(dst, plen)?.some((x) => x.metric === metric)) {
      throw new NetError('EEXIST', `a route to ${formatDst(dst, plen)} with metric ${metric} exists`);
    }
    const route: FibRoute = {
      dst, plen, type: 'unicast', gateway, dev, metric, protocol: 'static', scope: gateway !== 0 ? 'global' : 'link', prefsrc,
    };
    this.main.insert(route);
    const view = routeView(route);
    this.emit({ type: 'route', action: 'new', object: view });
    return view;
  }

  routeDel(q: { dst: string; gateway?: string; dev?: string }): void {
    const { dst, plen } = parseRouteDst(q.dst);
    const gw = q.gateway !== undefined ? requireAddr(q.gateway, 'gateway') : null;
    const dev = q.dev !== undefined ? this.requireDev(q.dev) : null;
    const r = this.main.find(dst, plen)?.find((x) => (gw === null || x.gateway === gw) && (dev === null || x.dev === dev));
    if (r === undefined) throw new NetError('ESRCH', `no route to ${formatDst(dst, plen)} matches`);
    this.main.remove(r);
    this.emit({ type: 'route', action: 'del', object: routeView(r) });
  }

  routeList(): RouteView[] {
    return this.main.all().map(routeView);
  }

  routeGet(dstText: string): RouteView {
    const dst = requireAddr(dstText, 'destination');
    const rt = this.routeOutput(dst, 0);
    if (typeof rt === 'string') throw new NetError('ENETUNREACH', `Network is unreachable: no route to ${dstText}`);
    const r = rt.route;
    const v: RouteView = {
      type: rt.type,
      dst: formatIpv4(dst),
      dev: rt.dev.name,
      protocol: r?.protocol ?? 'kernel',
      scope: rt.type === 'local' ? 'host' : (r?.scope ?? 'link'),
      flags: [],
    };
    if (r !== null && r.gateway !== 0 && rt.type === 'unicast') v.gateway = formatIpv4(r.gateway);
    if (rt.src !== 0) v.prefsrc = formatIpv4(rt.src);
    if (r !== null && r.metric !== 0) v.metric = r.metric;
    return v;
  }

  // ------------------------------------------------------------ neighbours

  neighList(): NeighView[] {
    return this.neigh
      .all()
      .filter((n) => (n.state & NUD.NOARP) === 0)
      .map((n) => neighView(n.key, n.dev, n.state, n.ha));
  }

  /** `ip neigh replace ... nud permanent`: an existing entry is taken over. */
  neighAdd(q: { dst: string; dev: string; lladdr: string }): NeighView {
    const dev = this.requireDev(q.dev);
    const dst = requireAddr(q.dst, 'neighbour');
    const mac = typeof q.lladdr === 'string' ? parseMac(q.lladdr) : undefined;
    if (mac === undefined) throw new NetError('EINVAL', `"${String(q.lladdr)}" is not a MAC address`);
    const n = this.neigh.lookupOrCreate(dev, dst);
    if (n === null) throw new NetError('ENOBUFS', 'the neighbour table is full (gc_thresh3)');
    this.neigh.update(n, mac, NUD.PERMANENT, NEIGH_UPDATE.OVERRIDE | NEIGH_UPDATE.ADMIN);
    return neighView(n.key, n.dev, n.state, n.ha);
  }

  neighDel(q: { dst: string; dev: string }): void {
    const dev = this.requireDev(q.dev);
    const dst = requireAddr(q.dst, 'neighbour');
    const n = this.neigh.lookup(dev, dst);
    if (n === undefined || (n.state & NUD.NOARP) !== 0) throw new NetError('ENOENT', `no neighbour ${q.dst} on ${dev.name}`);
    this.neigh.destroy(n);
  }

  neighFlush(devName: string): number {
    const dev = this.requireDev(devName);
    let count = 0;
    // The device's own entries (neigh_flush_dev), not the whole table.
    for (const n of this.neigh.ofDev(dev)) {
      if ((n.state & (NUD.PERMANENT | NUD.NOARP)) !== 0) continue;
      this.neigh.destroy(n);
      count++;
    }
    return count;
  }

  // ------------------------------------------------------------ sockets, ping, counters

  ping(opts: PingOptions): Promise<PingResult> {
    try {
      return this.pings.ping(opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  udpOpen(opts: UdpOpenOptions): UdpSocket {
    if (this.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    return this.udp.open(opts);
  }

  udpSockets(): UdpSocket[] {
    return [...this.udp.sockets.values()];
  }

  netstat(): InetSnmp {
    return this.mib.snapshot(this.sysctl('net.ipv4.ip_forward') === 1, this.sysctl('net.ipv4.ip_default_ttl'));
  }

  /**
   * What a user configured on one device: its addresses, its static routes and
   * its permanent neighbours, from the device's own lists (the FIB's index by
   * device), so a state file can be rebuilt one device at a time.
   * Routes without a gateway come first: a gateway route's next hop is on a
   * connected route of the same device, which must be restored before it.
   */
  snapshotDev(dev: NetDevice): Omit<InetState, 'sockets'> {
    const addresses: InetState['addresses'] = [];
    for (const a of this.addrs.get(dev) ?? []) {
      if ((dev.flags & IFF.LOOPBACK) !== 0 && a.local === 0x7f000001 && a.prefixlen === 8) continue;
      const entry: InetState['addresses'][number] = { ifname: dev.name, cidr: `${formatIpv4(a.local)}/${a.prefixlen}` };
      const dflt = a.prefixlen < 31 ? (a.local | ~a.mask) >>> 0 : 0;
      if (a.broadcast !== dflt) entry.broadcast = formatIpv4(a.broadcast);
      if (a.label !== dev.name) entry.label = a.label;
      addresses.push(entry);
    }
    const statics = this.main.ofDev(dev).filter((r) => r.protocol === 'static');
    const routes = [...statics.filter((r) => r.gateway === 0), ...statics.filter((r) => r.gateway !== 0)].map((r) => {
      const e: InetState['routes'][number] = { dst: formatDst(r.dst, r.plen), dev: r.dev.name };
      if (r.gateway !== 0) e.gateway = formatIpv4(r.gateway);
      if (r.metric !== 0) e.metric = r.metric;
      if (r.prefsrc !== 0) e.src = formatIpv4(r.prefsrc);
      return e;
    });
    const neighbours = this.neigh
      .ofDev(dev)
      .filter((n) => (n.state & NUD.PERMANENT) !== 0)
      .map((n) => ({ dst: formatIpv4(n.key), dev: n.dev.name, lladdr: formatMac(n.ha) }));
    return { addresses, routes, neighbours };
  }

  /** Service sockets, with what they were opened with. */
  snapshotSockets(): InetState['sockets'] {
    const sockets: InetState['sockets'] = [];
    for (const s of this.udp.sockets.values()) {
      if (s.service === null) continue;
      sockets.push({ bind: formatEndpoint(s.laddr, s.lport), service: s.service });
    }
    return sockets;
  }

  /** Every device's configuration in ifindex order (snapshotDev), then the service sockets. */
  snapshot(): InetState {
    const out: InetState = { addresses: [], routes: [], neighbours: [], sockets: this.snapshotSockets() };
    for (const dev of this.stack.devices.list()) {
      const d = this.snapshotDev(dev);
      out.addresses.push(...d.addresses);
      out.routes.push(...d.routes);
      out.neighbours.push(...d.neighbours);
    }
    return out;
  }

  /** Apply a snapshot over the current state; what already exists is kept. */
  restore(s: InetState): void {
    const ignoreExists = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof NetError && err.errno === 'EEXIST')) throw err;
      }
    };
    for (const a of s.addresses) {
      ignoreExists(() => this.addrAdd(a.ifname, a.cidr, { ...(a.broadcast ? { broadcast: a.broadcast } : {}), ...(a.label ? { label: a.label } : {}) }));
    }
    for (const r of s.routes) ignoreExists(() => this.routeAdd(r));
    for (const n of s.neighbours) this.neighAdd(n);
    for (const k of s.sockets) {
      const { addr, port } = parseEndpoint(k.bind, 'bind');
      const same = [...this.udp.sockets.values()].some((u) => u.service === k.service && u.laddr === addr && u.lport === port);
      if (!same) this.udpOpen({ bind: k.bind, service: k.service });
    }
  }

  // ------------------------------------------------------------ device events

  /** inetdev_event + fib_netdev_event + arp_netdev_event. */
  onDeviceEvent(event: string, dev: NetDevice, info?: { oldName?: string }): void {
    // fib_netdev_event's rt_cache_flush: whatever changed, routes looked up before are checked again.
    this.genid++;
    switch (event) {
      case 'UP':
        for (const a of this.addrs.get(dev) ?? []) this.fibAddIfaddr(a);
        this.carrier.set(dev, dev.carrier);
        if (dev.isRunning()) this.announceAll(dev);
        break;
      case 'CHANGE': {
        const was = this.carrier.get(dev) ?? false;
        this.carrier.set(dev, dev.carrier);
        if (!was && dev.carrier && dev.isUp()) this.announceAll(dev);
        break;
      }
      case 'CHANGEADDR':
        if (dev.isRunning()) this.announceAll(dev);
        break;
      case 'DOWN':
        this.linkDown(dev);
        break;
      case 'UNREGISTER':
        this.linkDown(dev);
        this.addrs.delete(dev);
        break;
      case 'CHANGENAME': {
        const old = info?.oldName;
        if (old === undefined) break;
        for (const a of this.addrs.get(dev) ?? []) {
          if (a.label === old) a.label = dev.name;
          else if (a.label.startsWith(`${old}:`)) a.label = dev.name + a.label.slice(old.length);
        }
        break;
      }
    }
  }

  /** fib_disable_ip: every route through the device goes, and its neighbours (arp_ifdown). */
  private linkDown(dev: NetDevice): void {
    // By the device's own index (fib_sync_down_dev walks the device's nexthops): a
    // delete costs the routes it has, not a pass over every route of every device.
    this.local.removeDev(dev);
    this.routesGone(this.main.removeDev(dev));
    this.neigh.flushDev(dev);
  }

  private announceAll(dev: NetDevice): void {
    if (!arpNeeded(dev)) return;
    for (const a of this.addrs.get(dev) ?? []) if (!a.secondary) this.arp.announce(dev, a.local);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.close();
    this.frags.close();
    this.neigh.close();
  }
}

function addrView(a: InIfaddr): AddrInfoView {
  const v: AddrInfoView = { family: 'inet', local: formatIpv4(a.local), prefixlen: a.prefixlen, scope: a.scope, label: a.label };
  if (a.broadcast !== 0) v.broadcast = formatIpv4(a.broadcast);
  if (a.secondary) v.secondary = true;
  return v;
}

function routeView(r: FibRoute): RouteView {
  const v: RouteView = { dst: formatDst(r.dst, r.plen), dev: r.dev.name, protocol: r.protocol, scope: r.scope, flags: [] };
  if (r.gateway !== 0) v.gateway = formatIpv4(r.gateway);
  if (r.prefsrc !== 0) v.prefsrc = formatIpv4(r.prefsrc);
  if (r.metric !== 0) v.metric = r.metric;
  // RTNH_F_LINKDOWN: the device is up but has no carrier.
  if (r.dev.isUp() && !r.dev.carrier) v.flags.push('linkdown');
  if (r.type !== 'unicast') v.type = r.type;
  return v;
}

function neighView(key: number, dev: NetDevice, state: number, ha: Buffer): NeighView {
  const v: NeighView = { dst: formatIpv4(key), dev: dev.name, state: nudNames(state) };
  if ((state & NUD_VALID) !== 0) v.lladdr = formatMac(ha);
  return v;
}
