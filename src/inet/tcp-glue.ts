// TCP on IPv4: the one place where the TCP engine (src/inet/tcp/) meets the
// IP layer (src/inet/inet.ts) and the stack. It registers protocol 6 with
// the IP layer (inet_add_protocol(&tcp_protocol, IPPROTO_TCP)), fills the
// TcpIpOps seam with the route's source, path MTU and ip.output, makes every
// TCP socket an entry of the stack's socket table from hash to unhash
// (through TcpProto.registry: listeners, connects, a listener's children,
// TIME-WAIT), with ids from the table's one counter and an event for each
// state change, and runs the control plane's sockets (connect, listen, a
// service on every accepted connection).
//
// A socket its user holds outlives its connection, as a file descriptor
// does: reset or timed out (an ICMP error ends only a connection still in
// its handshake, which open() reports itself), it is unhashed (its
// port and 4-tuple are free, its send queue is gone) but stays in the table
// in state CLOSE (ss's UNCONN) with the error that ended it, until its user
// closes it (DELETE). tcp_done leaves a socket that is not SOCK_DEAD to its
// owner (sk_state_change); only the close() that makes it dead frees it
// (inet_csk_destroy_sock). Data that arrived before the reset stays
// readable (tcp_recvmsg takes the receive queue before sk_err) and charged
// until read or closed; then the next read or write reports the error once
// (sock_error), and after it reads see EOF and writes EPIPE.

import { NetError, type ErrnoName } from '../errno.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { formatIpv4 } from '../wire/ipv4.ts';
import { ICMP_DEST_UNREACH } from '../wire/icmp.ts';
import { parseEndpoint } from './addr.ts';
import type { InetStack, RouteResult } from './inet.ts';
import { ICMP_FRAG_NEEDED, type IcmpError, type IpProtocolHandler } from './ipv4.ts';
import type { DstHolder, TcpIpOps } from './tcp/ip-ops.ts';
import { TcpProto, tcpSocketRow, tcpV4Err, tcpV4Rcv, type TcpSocketRow } from './tcp/proto.ts';
import { runTcpService, type TcpServiceName } from './tcp/services.ts';
import { TcpState, type TcpSock } from './tcp/sock.ts';
import { TcpSysctl } from './tcp/sysctl.ts';
import type { StackSocket } from '../sock/table.ts';
import type { SockState } from '../sock/sock.ts';

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

/** A TCP socket as an entry of the stack's socket table: its id, and what serves it. */
export interface TcpEntry extends StackSocket {
  readonly id: number;
  readonly family: 'inet';
  readonly type: 'stream';
  readonly sk: TcpSock;
  /** The service of the listener it came from (or runs on, for a listener). */
  readonly service: TcpServiceName | undefined;
  /** A client (the API or a WebSocket stream) takes accepted connections itself instead of a service. */
  acceptHook: ((child: TcpEntry) => void) | null;
  describe(): TcpSocketView;
  /**
   * Closed under its user (CLOSE, unhashed, still in the table): the error
   * that ended the connection (sk_err when it closed: ECONNRESET, EPIPE,
   * ETIMEDOUT), null for an orderly end; undefined while the socket is
   * hashed.
   */
  readonly endError: ErrnoName | null | undefined;
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

/** What a connection keeps of its route (sk_dst_cache): the route and what it was looked up under. */
interface CachedDst {
  rt: RouteResult;
  genid: number;
  src: number;
  dst: number;
}

/**
 * __sk_dst_check + ip_route_output for a connection's segment: the route
 * the connection kept, while the routing state has not changed since
 * (rtGenid) and its device is up with the MTU it had; else a fresh lookup,
 * kept unless it carries a learnt path MTU (which expires by time). A bulk
 * stream then looks its route up once, not per segment. No route: nothing
 * kept, and IPv4 output looks up again, counts and answers the errno.
 */
function dstCheck(inet: InetStack, sk: DstHolder, src: number, dst: number): RouteResult | undefined {
  const c = sk.dstCache as CachedDst | null;
  const genid = inet.rtGenid;
  if (c !== null && c.genid === genid && c.src === src && c.dst === dst && c.rt.mtu === c.rt.dev.mtu && c.rt.dev.isUp()) return c.rt;
  const rt = inet.routeOutput(dst, src);
  if (typeof rt === 'string') {
    sk.dstCache = null;
    return undefined;
  }
  sk.dstCache = rt.mtu === rt.dev.mtu ? { rt, genid, src, dst } : null;
  return rt;
}

/** The TCP socket behind a socket table entry, or undefined for another family or type. */
export function asTcpEntry(sock: StackSocket | undefined): TcpEntry | undefined {
  return sock instanceof TcpTableEntry ? sock : undefined;
}

class TcpTableEntry implements TcpEntry {
  readonly family = 'inet';
  readonly type = 'stream';
  readonly protocol = IPPROTO_TCP;
  /** No SO_BINDTODEVICE here. */
  readonly boundDev = null;
  acceptHook: ((child: TcpEntry) => void) | null = null;
  listenConfig?: TcpListenConfig;

  constructor(
    readonly id: number,
    readonly sk: TcpSock,
    readonly service: TcpServiceName | undefined,
    private readonly glue: TcpGlue,
    /** Made by listen() or connect(), not by the network (a listener's child). */
    readonly opened: boolean,
  ) {}

  /** Taken from the accept queue by a service or a client: an fd of its user from then on. */
  accepted = false;
  /** Taken by a service: the service closes it, as an application would, so it never lingers closed. */
  served = false;
  /** The state it left for CLOSE (tcp_set_state's old state): a connect that failed in SYN-SENT was never handed out. */
  closedFrom: TcpState | null = null;
  endError: ErrnoName | null | undefined = undefined;

  /**
   * Counted against --max-sockets while its user holds it, as an fd counts
   * against RLIMIT_NOFILE: made by listen()/connect() or accepted, and not
   * closed (an orphan finishing FIN-WAIT or TIME-WAIT is held by no one).
   * A child waiting in the accept queue is not yet anyone's.
   */
  get userHeld(): boolean {
    return (this.opened || this.accepted) && !this.sk.orphan;
  }

  get state(): SockState {
    // ss's State names (TCP_STATE_NAMES) are the table's SockState words.
    return this.sk.stateName as SockState;
  }

  /** Segments in and out (tcp_info's segs_in, segs_out). */
  get received(): number {
    return this.sk.segsIn;
  }

  get sent(): number {
    return this.sk.segsOut;
  }

  describe(): TcpSocketView {
    return {
      id: this.id,
      ...tcpSocketRow(this.sk),
      state: this.state,
      ...(this.service !== undefined ? { service: this.service } : {}),
      ...(this.endError != null ? { error: this.endError } : {}),
    };
  }

  /** The table's close (stack shutdown): gone without a word, see TcpGlue.release. */
  close(): void {
    this.glue.release(this);
  }
}

export class TcpGlue implements IpProtocolHandler {
  readonly protocol = IPPROTO_TCP;
  /** TCP's view of the stack's sysctl table, where its net.ipv4.tcp_* names are registered. */
  readonly tcpSysctl: TcpSysctl;
  readonly proto: TcpProto;
  /** Every TCP socket in the stack's socket table, in the order they joined it (id order). */
  private readonly entries = new Map<TcpSock, TcpTableEntry>();
  private readonly services = new Set<AbortController>();
  /** Listeners whose accepting waits for room under --max-sockets. */
  private readonly awaitingRoom = new Set<TcpEntry>();
  /** The service of the listener being opened, for its table entry (and its first event). */
  private openingService: TcpServiceName | undefined = undefined;

  constructor(readonly inet: InetStack) {
    const stack = inet.stack;
    // register_net_sysctl for net.ipv4.tcp_*: once per stack, so a re-attach finds them there.
    this.tcpSysctl = new TcpSysctl(stack.sysctl);
    const ops: TcpIpOps = {
      // ip_queue_xmit: DF on every segment (IP_PMTUDISC_WANT on a route whose MTU is not locked:
      // ip_dont_fragment), so a router with a smaller link answers "fragmentation needed" and TCP
      // lowers its MSS (tcp_v4_mtu_reduced), cutting queued segments to the new size before it
      // resends them (tcp_fragment). A segment this host already knows to be too big (the device
      // MTU went down, or the path MTU learnt for another connection) is refused here with
      // EMSGSIZE; TCP hears it as the local "fragmentation needed" it is, with the route's MTU.
      output: (skb, src, dst, sk) => {
        const b = skb.buf;
        const th = skb.data;
        // The ports, read before the skb is handed over (and may be freed).
        const ports = ((b[th]! << 24) | (b[th + 1]! << 16) | (b[th + 2]! << 8) | b[th + 3]!) >>> 0;
        const rt = sk === undefined ? undefined : dstCheck(inet, sk, src, dst);
        if (inet.ip.output(skb, { src, dst, protocol: IPPROTO_TCP, df: true, rt }) === 'EMSGSIZE') {
          const rt = inet.routeOutput(dst, src);
          if (typeof rt !== 'string') this.proto.mtuReducedLocal(src, ports >>> 16, dst, ports & 0xffff, Math.min(rt.mtu, 0xffff));
        }
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
    this.proto.registry = {
      added: (sk) => this.added(sk),
      stateChanged: (sk, old) => this.stateChanged(sk, old),
      removed: (sk) => this.removed(sk),
    };
  }

  // ------------------------------------------------------------- IP side

  /** The last destination rcv() checked, the local table's generation then, and whether it was ours. */
  private lastLocalDst = -1;
  private lastLocalGen = -1;
  private lastLocalOk = false;

  /** tcp_v4_rcv for inet_protos[6]: skb.data at the TCP header, the IP header at networkHeader. */
  rcv(skb: SkBuff): void {
    const b = skb.buf;
    const nh = skb.networkHeader;
    const src = ((b[nh + 12]! << 24) | (b[nh + 13]! << 16) | (b[nh + 14]! << 8) | b[nh + 15]!) >>> 0;
    const dst = ((b[nh + 16]! << 24) | (b[nh + 17]! << 16) | (b[nh + 18]! << 8) | b[nh + 19]!) >>> 0;
    // tcp_v4_rcv: only frames addressed to this host (pkt_type == PACKET_HOST), never broadcast.
    // The answer for the last address holds while the local table is unchanged: a stream asks the FIB once.
    const localGen = this.inet.local.gen;
    if (dst !== this.lastLocalDst || localGen !== this.lastLocalGen) {
      this.lastLocalDst = dst;
      this.lastLocalGen = localGen;
      this.lastLocalOk = this.inet.localType(dst, null) === 'local';
    }
    if (!this.lastLocalOk) {
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

  /**
   * A socket was hashed: it joins the stack's socket table with an id (a
   * child takes its listener's service). Children come from the network, so
   * their ids skip the table's limit; the listener's backlog bounds them.
   */
  private added(sk: TcpSock): void {
    if (!this.proto.sockets.has(sk) || this.entries.has(sk)) return;
    const parent = sk.parent === null ? undefined : this.entries.get(sk.parent);
    const service = parent !== undefined ? parent.service : this.openingService;
    const e = new TcpTableEntry(this.inet.stack.sockets.allocId(), sk, service, this, sk.parent === null);
    this.entries.set(sk, e);
    this.inet.stack.sockets.add(e);
  }

  /**
   * tcp_set_state: a 'change' for every state it passes through, except
   * CLOSE, which Linux's tcp_set_state answers by unhashing the socket: its
   * event comes from the unhash that follows ('del', or a 'change' to
   * UNCONN for a socket its user still holds).
   */
  private stateChanged(sk: TcpSock, old: TcpState): void {
    const e = this.entries.get(sk);
    if (e === undefined) return;
    if (sk.state === TcpState.CLOSE) {
      e.closedFrom = old;
      return;
    }
    this.inet.stack.sockets.changed(e);
  }

  /**
   * inet_unhash: the socket leaves the table (closed, reset, or its
   * TIME-WAIT is over), unless its user still holds it (tcp_done on a socket
   * that is not SOCK_DEAD): then it stays, closed, with the error that ended
   * it, until the user closes it.
   */
  private removed(sk: TcpSock): void {
    const e = this.entries.get(sk);
    if (e === undefined) return;
    if (this.keptForUser(e)) {
      // The error fail() set before CLOSE (tcp_done_with_error), kept for GET after a read takes it.
      e.endError = sk.err;
      this.inet.stack.sockets.changed(e);
      return;
    }
    this.entries.delete(sk);
    this.inet.stack.sockets.remove(e);
  }

  /**
   * A socket that stays in the table once closed under its user: one made
   * by listen()/connect() or accepted by a client, and not closed by its
   * user. Not a service's connection (the service closes it), nor a connect
   * that failed before it was established (open() throws: no one has its
   * id), nor anything while the stack shuts down.
   */
  private keptForUser(e: TcpTableEntry): boolean {
    if (e.sk.state !== TcpState.CLOSE || !e.userHeld || e.served || this.inet.closed) return false;
    return !(e.opened && (e.closedFrom === TcpState.SYN_SENT || e.closedFrom === TcpState.SYN_RECV));
  }

  /** A socket closed under its user leaves the table once its user closes it (or the stack does). */
  private forget(e: TcpEntry): void {
    if (this.entries.get(e.sk) !== e || this.proto.sockets.has(e.sk)) return;
    this.entries.delete(e.sk);
    this.inet.stack.sockets.remove(e);
  }

  /**
   * The socket's table entry. One that is already gone (a child reset while
   * it waited in the accept queue, then taken from it) gets an id of its own;
   * drainAccept puts it back in the table if a client takes it.
   */
  entryOf(sk: TcpSock): TcpEntry {
    return this.entries.get(sk) ?? new TcpTableEntry(this.inet.stack.sockets.allocId(), sk, undefined, this, false);
  }

  /** The TCP socket with this id in the stack's socket table. */
  get(id: number): TcpEntry | undefined {
    const e = asTcpEntry(this.inet.stack.sockets.get(id));
    return e !== undefined && this.entries.get(e.sk) === e ? e : undefined;
  }

  /** Listeners running a service, in id order: the TCP sockets that are configuration (client connections are not). */
  serviceListeners(): TcpListenConfig[] {
    return this.list()
      .filter((e) => e.service !== undefined && e.listenConfig !== undefined && e.sk.state === TcpState.LISTEN)
      .map((e) => ({ ...e.listenConfig! }));
  }

  /** Every TCP socket, listeners and connections (TIME-WAIT included), in id order. */
  list(): TcpEntry[] {
    return [...this.entries.values()];
  }

  /** TCP's entries in the socket table. */
  count(): number {
    return this.entries.size;
  }

  describe(e: TcpEntry): TcpSocketView {
    return e.describe();
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
      this.inet.stack.sockets.checkLimit();
      const backlog = o.listen === true ? 128 : (o.listen as number);
      let sk: TcpSock;
      this.openingService = o.service;
      try {
        sk = this.proto.listen({ ...sockOpts, addr: bind.addr, port: bind.port, backlog });
      } finally {
        this.openingService = undefined;
      }
      const e = this.entryOf(sk);
      e.listenConfig = { bind: `${formatIpv4(bind.addr)}:${bind.port}`, ...(o.service !== undefined ? { service: o.service } : {}), backlog, ...sockOpts };
      sk.onAccept = () => this.drainAccept(e);
      return e;
    }
    if (o.service !== undefined) throw new NetError('EINVAL', 'a service runs on a listener (listen) only');
    if (o.connect === undefined) throw new NetError('EINVAL', 'a TCP socket needs connect (ADDR:PORT) or listen');
    const peer = parseEndpoint(o.connect, 'connect');
    if (peer.port === 0) throw new NetError('EINVAL', 'connect: port 1..65535');
    if (peer.addr === 0) throw new NetError('EINVAL', 'connect: 0.0.0.0 is not a destination');
    this.inet.stack.sockets.checkLimit();
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
      // The socket leaves the table as it is unhashed.
      sk.abort();
      throw err;
    } finally {
      timer?.cancel();
      o.signal?.removeEventListener('abort', onAbort);
    }
    return e;
  }

  /** The listener's accept queue: to the client that asked for connections, else to its service. */
  private drainAccept(l: TcpEntry): void {
    const table = this.inet.stack.sockets;
    for (;;) {
      if (l.acceptHook === null && l.service === undefined) return; // stays queued for a later accept
      if (l.sk.acceptQueue.length === 0 || l.sk.state !== TcpState.LISTEN) return;
      // accept() meets EMFILE: the connection stays queued, the queue fills to
      // the backlog and further SYNs are dropped (ListenOverflows), as for a
      // process at RLIMIT_NOFILE; accepting resumes when a socket is closed.
      if (table.full()) {
        if (!this.awaitingRoom.has(l)) {
          this.awaitingRoom.add(l);
          table.whenRoom(() => {
            this.awaitingRoom.delete(l);
            this.drainAccept(l);
          });
        }
        return;
      }
      const child = l.sk.acceptQueue.shift()!;
      const queued = this.entries.has(child);
      const e = this.entryOf(child);
      if (e instanceof TcpTableEntry) {
        e.accepted = true;
        if (l.acceptHook === null) e.served = true;
        if (!queued && l.acceptHook !== null && child.state === TcpState.CLOSE) {
          // Reset while it waited in the accept queue: accept() still hands it
          // out (Linux keeps it queued in CLOSE), and its user learns why.
          e.closedFrom = TcpState.ESTABLISHED;
          e.endError = child.err;
          this.entries.set(child, e);
          table.add(e);
        } else table.hold(e);
      }
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

  /**
   * close() (FIN after what is queued) or abort (RST, ?abort=1). The socket
   * stays in the table while it finishes on its own (FIN-WAIT, TIME-WAIT),
   * as ss lists an orphan, and leaves it when it is unhashed.
   */
  close(e: TcpEntry, abort = false): void {
    if (abort) e.sk.abort();
    else e.sk.close();
    // Closed already (reset, timed out): close() frees what it still held (unread data) and its entry goes.
    this.forget(e);
  }

  /** Gone without a word, as at shutdown (no FIN, no RST): what the table's close means for TCP. */
  release(e: TcpEntry): void {
    const sk = e.sk;
    sk.orphan = true;
    // CLOSE first, so a service that wakes up afterwards and calls close() sends nothing.
    sk.setState(TcpState.CLOSE);
    sk.destroy();
    this.forget(e);
  }

  /**
   * The stack closes: services stop and every socket goes without a word, as
   * when a host goes down (no RST: the devices are closing under it, and a
   * frame sent now would outlive the stack). Peers find out by their timers.
   */
  shutdown(): void {
    for (const ac of this.services) ac.abort();
    this.services.clear();
    for (const sk of [...this.proto.sockets]) this.release(this.entryOf(sk));
    // Those closed under their users (no longer hashed), and what they had left unread.
    for (const e of [...this.entries.values()]) this.release(e);
  }
}

/** One TCP socket as GET /v1/sockets lists it (DESIGN §3.1). */
export type TcpSocketView = Omit<TcpSocketRow, 'state'> & { id: number; state: SockState; service?: TcpServiceName; error?: ErrnoName };

const glues = new WeakMap<InetStack, TcpGlue>();

/** Register TCP with an inet instance, once. */
export function attachTcp(inet: InetStack): TcpGlue {
  const g = new TcpGlue(inet);
  inet.ip.register(g);
  glues.set(inet, g);
  return g;
}

/** TCP of an inet instance (the control-plane façade is the same object). */
export function tcpOf(inet: object): TcpGlue | undefined {
  return glues.get(inet as InetStack);
}
