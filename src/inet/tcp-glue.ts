// TCP on IPv4: the one place where the TCP engine (src/inet/tcp/) meets the
// IP layer (src/inet/inet.ts) and the stack. It registers protocol 6 with
// the IP layer (inet_add_protocol(&tcp_protocol, IPPROTO_TCP)), fills the
// TcpIpOps seam with the route's source, path MTU and ip.output, gives TCP
// sockets ids from the stack's one counter, and keeps the sockets the
// control plane opened (connect, listen, a service on every accepted
// connection). When the NetProtocol seam (src/stack/protocol.ts) arrives,
// this file is what moves onto it.

import { NetError } from '../errno.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { formatIpv4 } from '../wire/ipv4.ts';
import { ICMP_DEST_UNREACH } from '../wire/icmp.ts';
import { parseEndpoint } from './addr.ts';
import type { InetStack } from './inet.ts';
import { ICMP_FRAG_NEEDED, type IcmpError, type IpProtocolHandler } from './ipv4.ts';
import type { TcpIpOps } from './tcp/ip-ops.ts';
import { TcpProto, tcpSocketRow, tcpV4Err, tcpV4Rcv, type TcpSocketRow } from './tcp/proto.ts';
import { runTcpService, type TcpServiceName } from './tcp/services.ts';
import { TcpState, type TcpSock } from './tcp/sock.ts';
import { TcpSysctl } from './tcp/sysctl.ts';

export const IPPROTO_TCP = 6;

export interface TcpOpenOptions {
  /** 'ADDR:PORT'; for a client, the local address and/or port to use. */
  bind?: string;
  connect?: string;
  /** Listen with this backlog (true: 128). */
  listen?: boolean | number;
  service?: TcpServiceName;
  rcvbuf?: number;
  sndbuf?: number;
  nodelay?: boolean;
  /** How long connect() waits for the handshake before ETIMEDOUT (default: the SYN retries run out). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A TCP socket the control plane owns: its id, and what serves it. */
export interface TcpEntry {
  readonly id: number;
  readonly sk: TcpSock;
  readonly service: TcpServiceName | undefined;
  /** A client (the API or a WebSocket stream) takes accepted connections itself instead of a service. */
  acceptHook: ((child: TcpEntry) => void) | null;
  /** A listener: what listen() was asked for, as the state file keeps it. */
  listenConfig?: TcpListenConfig;
}

/** A service listener as configuration: what it takes to open it again (the state file's entry). */
export interface TcpListenConfig {
  bind: string;
  service?: TcpServiceName;
  backlog: number;
  rcvbuf?: number;
  sndbuf?: number;
  nodelay?: boolean;
}

export interface TcpGlueHooks {
  /** The stack's socket id counter (unique across families). */
  allocSocketId(): number;
  /** EMFILE when the stack's limit is reached. */
  checkSocketLimit(): void;
}

export class TcpGlue implements IpProtocolHandler {
  readonly protocol = IPPROTO_TCP;
  /** TCP's view of the stack's sysctl table, where its net.ipv4.tcp_* names are registered. */
  readonly tcpSysctl: TcpSysctl;
  readonly proto: TcpProto;
  /** Sockets by id: every TCP socket that has been given one. */
  readonly byId = new Map<number, TcpEntry>();
  private readonly entries = new WeakMap<TcpSock, TcpEntry>();
  private readonly services = new Set<AbortController>();

  constructor(
    readonly inet: InetStack,
    private readonly hooks: TcpGlueHooks,
  ) {
    const stack = inet.stack;
    // register_net_sysctl for net.ipv4.tcp_*: once per stack, so a re-attach finds them there.
    this.tcpSysctl = new TcpSysctl(stack.sysctl);
    const ops: TcpIpOps = {
      // ip_queue_xmit: DF on every segment that fits the path MTU, so a router with a smaller
      // link answers "fragmentation needed" and TCP lowers its MSS (tcp_v4_mtu_reduced). Linux
      // also cuts an already queued segment to the new MSS before resending it (tcp_fragment
      // in tcp_retransmit_skb); this TCP resends it whole, so one larger than the path MTU
      // this host has learnt goes out without DF and is fragmented here instead of being lost
      // for good (IP_PMTUDISC_WANT's local fragmentation).
      output: (skb, src, dst) => {
        inet.ip.output(skb, { src, dst, protocol: IPPROTO_TCP });
      },
      // tcp_mss_to_mtu's inverse on the route's (path) MTU: 20 bytes of IPv4, 20 of TCP; an IPv4
      // datagram is at most 65535 bytes whatever lo's MTU (65536) says (IP_MAX_MTU).
      mssFor: (dst) => {
        const rt = inet.routeOutput(dst, 0);
        return typeof rt === 'string' ? 536 : Math.max(88, Math.min(rt.mtu, 0xffff) - 40);
      },
      sourceFor: (dst) => {
        const rt = inet.routeOutput(dst, 0);
        return typeof rt === 'string' ? null : rt.src;
      },
      isLocal: (addr) => inet.localType(addr, null) === 'local',
      clock: stack.clock,
      sysctl: stack.sysctl,
      tcpSysctl: this.tcpSysctl,
      pool: stack.pool,
      countDrop: (reason) => stack.countDrop(reason),
    };
    this.proto = new TcpProto(ops);
  }

  // ------------------------------------------------------------- IP side

  /** tcp_v4_rcv for inet_protos[6]: skb.data at the TCP header, the IP header at networkHeader. */
  rcv(skb: SkBuff): void {
    const b = skb.buf;
    const nh = skb.networkHeader;
    const src = ((b[nh + 12]! << 24) | (b[nh + 13]! << 16) | (b[nh + 14]! << 8) | b[nh + 15]!) >>> 0;
    const dst = ((b[nh + 16]! << 24) | (b[nh + 17]! << 16) | (b[nh + 18]! << 8) | b[nh + 19]!) >>> 0;
    // tcp_v4_rcv: only frames addressed to this host (pkt_type == PACKET_HOST), never broadcast.
    if (this.inet.localType(dst, null) !== 'local') {
      this.proto.mib.tcp.InErrs++;
      this.inet.drop(skb, 'IP_INADDRERRORS');
      return;
    }
    tcpV4Rcv(this.proto, skb, src, dst);
  }

  /** tcp_v4_err: the quoted segment is ours (src = our address); "frag needed" carries the next-hop MTU. */
  err(e: IcmpError): void {
    const fragNeeded = e.type === ICMP_DEST_UNREACH && e.code === ICMP_FRAG_NEEDED && e.info > 0;
    tcpV4Err(this.proto, e.errno, e.src, e.dst, e.transport, fragNeeded ? e.info : undefined);
  }

  // ------------------------------------------------------------ sockets

  /** The socket's id, given on first sight (accepted children get theirs when accepted or listed). */
  entryOf(sk: TcpSock, service?: TcpServiceName): TcpEntry {
    let e = this.entries.get(sk);
    if (e === undefined) {
      e = { id: this.hooks.allocSocketId(), sk, service, acceptHook: null };
      this.entries.set(sk, e);
      this.byId.set(e.id, e);
      const entry = e;
      const prev = sk.onStateChange;
      sk.onStateChange = (s, old) => {
        prev?.(s, old);
        // A socket leaves the table when it is gone (tcp_done / TIME-WAIT ended).
        if (s.state === TcpState.CLOSE && !this.proto.sockets.has(s)) this.byId.delete(entry.id);
      };
    }
    return e;
  }

  get(id: number): TcpEntry | undefined {
    const e = this.byId.get(id);
    if (e !== undefined && !this.proto.sockets.has(e.sk) && e.sk.state === TcpState.CLOSE) {
      // Closed and unhashed: gone from ss, and from here.
      this.byId.delete(id);
      return undefined;
    }
    return e;
  }

  /** Listeners running a service, in id order: the TCP sockets that are configuration (client connections are not). */
  serviceListeners(): TcpListenConfig[] {
    return this.list()
      .filter((e) => e.service !== undefined && e.listenConfig !== undefined && e.sk.state === TcpState.LISTEN)
      .map((e) => ({ ...e.listenConfig! }));
  }

  /** Every TCP socket, listeners and connections, in id order. */
  list(): TcpEntry[] {
    for (const sk of this.proto.sockets) this.entryOf(sk);
    for (const [id, e] of this.byId) if (!this.proto.sockets.has(e.sk)) this.byId.delete(id);
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  count(): number {
    return this.proto.sockets.size;
  }

  describe(e: TcpEntry): TcpSocketView {
    return { id: e.id, ...tcpSocketRow(e.sk), ...(e.service !== undefined ? { service: e.service } : {}) };
  }

  /**
   * socket + bind + connect or listen. A client resolves once ESTABLISHED
   * (ECONNREFUSED on a reset, ETIMEDOUT, EHOSTUNREACH/ENETUNREACH from ICMP or
   * routing); a listener at once, serving `service` on every connection.
   */
  async open(o: TcpOpenOptions): Promise<TcpEntry> {
    if (this.inet.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    const sockOpts = {
      ...(o.rcvbuf !== undefined ? { rcvbuf: o.rcvbuf } : {}),
      ...(o.sndbuf !== undefined ? { sndbuf: o.sndbuf } : {}),
      ...(o.nodelay !== undefined ? { nodelay: o.nodelay } : {}),
    };
    const bind = o.bind === undefined ? undefined : parseEndpoint(o.bind, 'bind');
    if (bind !== undefined && bind.addr !== 0 && this.inet.localType(bind.addr, null) !== 'local') {
      throw new NetError('EADDRNOTAVAIL', `${formatIpv4(bind.addr)} is not an address of this host`);
    }
    const listening = o.listen !== undefined && o.listen !== false;
    if (listening) {
      if (o.connect !== undefined) throw new NetError('EINVAL', 'a socket either listens or connects, not both');
      if (bind === undefined || bind.port === 0) throw new NetError('EINVAL', 'listen needs bind with a port (ADDR:PORT, port 1..65535)');
      this.hooks.checkSocketLimit();
      const backlog = o.listen === true ? 128 : (o.listen as number);
      const sk = this.proto.listen({ ...sockOpts, addr: bind.addr, port: bind.port, backlog });
      const e = this.entryOf(sk, o.service);
      e.listenConfig = { bind: `${formatIpv4(bind.addr)}:${bind.port}`, ...(o.service !== undefined ? { service: o.service } : {}), backlog, ...sockOpts };
      sk.onAccept = () => this.drainAccept(e);
      return e;
    }
    if (o.service !== undefined) throw new NetError('EINVAL', 'a service runs on a listener (listen) only');
    if (o.connect === undefined) throw new NetError('EINVAL', 'a TCP socket needs connect (ADDR:PORT) or listen');
    const peer = parseEndpoint(o.connect, 'connect');
    if (peer.port === 0) throw new NetError('EINVAL', 'connect: port 1..65535');
    if (peer.addr === 0) throw new NetError('EINVAL', 'connect: 0.0.0.0 is not a destination');
    this.hooks.checkSocketLimit();
    const rt = this.inet.routeOutput(peer.addr, bind?.addr ?? 0);
    if (typeof rt === 'string') throw new NetError(rt, rt === 'ENETUNREACH' ? `no route to ${formatIpv4(peer.addr)}` : `cannot send from ${formatIpv4(bind!.addr)}`);
    // tcp_v4_connect: a broadcast or multicast destination is no peer (ENETUNREACH).
    if (rt.type === 'broadcast' || peer.addr >>> 28 === 0xe) throw new NetError('ENETUNREACH', `${formatIpv4(peer.addr)} is a broadcast or multicast address`);
    const sk = this.proto.connect({
      ...sockOpts,
      dst: peer.addr,
      dport: peer.port,
      ...(bind !== undefined && bind.addr !== 0 ? { src: bind.addr } : {}),
      ...(bind !== undefined && bind.port !== 0 ? { sport: bind.port } : {}),
    });
    const e = this.entryOf(sk);
    let timer: { cancel(): void } | undefined;
    const onAbort = (): void => sk.abort();
    try {
      const waits: Promise<void>[] = [sk.waitConnected()];
      if (o.timeoutMs !== undefined) {
        waits.push(
          new Promise<void>((_, reject) => {
            timer = this.inet.stack.clock.setTimer(o.timeoutMs!, () => reject(new NetError('ETIMEDOUT', `no answer from ${o.connect} within ${o.timeoutMs} ms`)));
          }),
        );
      }
      o.signal?.addEventListener('abort', onAbort, { once: true });
      await Promise.race(waits);
    } catch (err) {
      sk.abort();
      this.byId.delete(e.id);
      throw err;
    } finally {
      timer?.cancel();
      o.signal?.removeEventListener('abort', onAbort);
    }
    return e;
  }

  /** The listener's accept queue: to the client that asked for connections, else to its service. */
  private drainAccept(l: TcpEntry): void {
    for (;;) {
      if (l.acceptHook === null && l.service === undefined) return; // stays queued for a later accept
      const child = l.sk.acceptQueue.shift();
      if (child === undefined) return;
      const e = this.entryOf(child, l.service);
      if (l.acceptHook !== null) l.acceptHook(e);
      else this.serve(e, l.service!);
    }
  }

  /** Take the listener's connections from now on (a WebSocket on a listener), including those queued. */
  setAcceptHook(l: TcpEntry, hook: ((child: TcpEntry) => void) | null): void {
    l.acceptHook = hook;
    this.drainAccept(l);
  }

  private serve(e: TcpEntry, name: TcpServiceName): void {
    const ac = new AbortController();
    this.services.add(ac);
    void runTcpService(name, e.sk, ac.signal).finally(() => this.services.delete(ac));
  }

  /** close() (FIN after what is queued) or abort (RST, ?abort=1). */
  close(e: TcpEntry, abort = false): void {
    if (abort) e.sk.abort();
    else e.sk.close();
    if (e.sk.state === TcpState.LISTEN || e.sk.state === TcpState.CLOSE) this.byId.delete(e.id);
  }

  /**
   * The stack closes: services stop and every socket goes without a word, as
   * when a host goes down (no RST: the devices are closing under it, and a
   * frame sent now would outlive the stack). Peers find out by their timers.
   */
  shutdown(): void {
    for (const ac of this.services) ac.abort();
    this.services.clear();
    for (const sk of [...this.proto.sockets]) {
      sk.orphan = true;
      // CLOSE first, so a service that wakes up afterwards and calls close() sends nothing.
      sk.setState(TcpState.CLOSE);
      sk.destroy();
    }
    this.byId.clear();
  }
}

/** One TCP socket as GET /v1/sockets lists it (DESIGN §3.1). */
export type TcpSocketView = TcpSocketRow & { id: number; service?: TcpServiceName };

const glues = new WeakMap<InetStack, TcpGlue>();

/** Register TCP with an inet instance, once. */
export function attachTcp(inet: InetStack, hooks: TcpGlueHooks): TcpGlue {
  const g = new TcpGlue(inet, hooks);
  inet.ip.register(g);
  glues.set(inet, g);
  return g;
}

/** TCP of an inet instance (the control-plane façade is the same object). */
export function tcpOf(inet: object): TcpGlue | undefined {
  return glues.get(inet as InetStack);
}
