// The TCP protocol of one host: demultiplexing (tcp_v4_rcv), the listen
// path with its SYN queue, accept queue and SYN cookies (tcp_conn_request,
// tcp_check_req, cookie_v4_check), resets for segments nobody owns
// (tcp_v4_send_reset), ISNs (RFC 6528), ports, and the counters.
//
// Entry points for the IP layer: tcpV4Rcv(skb, src, dst) with skb.data at
// the TCP header, and tcpV4Err(...) for ICMP errors. Both never throw.

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { NetError, type ErrnoName } from '../../errno.ts';
import { CHECKSUM_PARTIAL, allocSkbFrom, skbCsumUnnecessary, type SkBuff } from '../../skb/skbuff.ts';
import {
  emitTcp,
  parseTcp,
  seqAfter,
  TCP_ACK,
  TCP_FIN,
  TCP_HLEN,
  TCP_RST,
  TCP_SYN,
  tcpChecksum,
  tcpChecksumValid,
  tcpOptionsLength,
  type TcpOptions,
  type TcpRepr,
} from '../../wire/tcp.ts';
import { MAX_TCP_HEADER, type DstHolder, type TcpIpOps } from './ip-ops.ts';
import { TcpMib } from './mib.ts';
import { TCP_MSS_DEFAULT, TCP_TIMEOUT_INIT, TcpSock, TcpState, upcall, type TcpSockOptions } from './sock.ts';
import { INT_MAX } from './sysctl.ts';

/** A connection half-open on a listener (struct tcp_request_sock): a few numbers, no buffers. */
interface RequestSock {
  laddr: number;
  lport: number;
  raddr: number;
  rport: number;
  iss: number;
  irs: number;
  tsOffset: number;
  mss: number;
  peerWscale: number | null;
  sack: boolean;
  tsRecent: number | null;
  retries: number;
  timer: { cancel(): void } | null;
  owner: TcpSock | null;
}

/** The MSS values a SYN cookie can carry (msstab in syncookies.c), indexed by 2 bits. */
const COOKIE_MSS = [536, 1300, 1440, 1460] as const;
/** Cookies are good for two 64-second periods (MAX_SYNCOOKIE_AGE). */
const COOKIE_PERIOD_MS = 64_000;

export interface ConnectOptions extends TcpSockOptions {
  dst: number;
  dport: number;
  src?: number;
  sport?: number;
}

/**
 * What the stack's socket table hears from TCP (the glue sets it; a bare
 * engine, as in the engine's own tests, has none). The table is the
 * catalogue ss reads; the hashes below stay the demultiplexer.
 */
export interface TcpSocketRegistry {
  /** A socket is hashed and has its first state: a listener, a connect in SYN-SENT, a listener's child. */
  added(sk: TcpSock): void;
  /** tcp_set_state on a socket (the registry ignores sockets it does not hold). */
  stateChanged(sk: TcpSock, old: TcpState): void;
  /** inet_unhash: it is gone (closed, reset, TIME-WAIT over). */
  removed(sk: TcpSock): void;
}

export interface ListenOptions extends TcpSockOptions {
  addr?: number;
  port: number;
  backlog?: number;
}

function key(laddr: number, lport: number, raddr: number, rport: number): string {
  return `${laddr}:${lport}:${raddr}:${rport}`;
}

/**
 * Connected sockets by 4-tuple (inet_ehash): buckets keyed by the two ports
 * as one number, so a lookup builds no string; addresses are compared in the
 * (almost always one-entry) bucket.
 */
class EHash {
  private readonly m = new Map<number, TcpSock[]>();

  get(laddr: number, lport: number, raddr: number, rport: number): TcpSock | undefined {
    const b = this.m.get(lport * 65536 + rport);
    if (b === undefined) return undefined;
    for (let i = 0; i < b.length; i++) {
      const sk = b[i]!;
      if (sk.laddr === laddr && sk.raddr === raddr) return sk;
    }
    return undefined;
  }

  add(sk: TcpSock): void {
    const k = sk.lport * 65536 + sk.rport;
    const b = this.m.get(k);
    if (b === undefined) this.m.set(k, [sk]);
    else b.push(sk);
  }

  delete(sk: TcpSock): void {
    const k = sk.lport * 65536 + sk.rport;
    const b = this.m.get(k);
    if (b === undefined) return;
    const i = b.indexOf(sk);
    if (i < 0) return;
    b.splice(i, 1);
    if (b.length === 0) this.m.delete(k);
  }
}

export class TcpProto {
  readonly mib = new TcpMib();
  /** Connected sockets (ESTABLISHED .. TIME-WAIT, SYN-SENT) by 4-tuple: the ehash. */
  private readonly conns = new EHash();
  /** Listeners by "addr:port" (addr 0 = any): the lhash. */
  private readonly listeners = new Map<string, TcpSock>();
  /** Half-open connections of every listener by 4-tuple. */
  private readonly requests = new Map<string, RequestSock>();
  private readonly reqCount = new Map<TcpSock, number>();
  /** Local ports in use, with how many sockets use each (the bhash). */
  private readonly ports = new Map<number, number>();
  private readonly secret = randomBytes(16);
  private challengeSecond = -1;
  /** Challenge ACKs still allowed this second. */
  private challengeBudget = 0;
  /** Every socket this protocol made (for listing), connected or listening. */
  readonly sockets = new Set<TcpSock>();
  /** The stack's socket table, told of every socket from hash to unhash. */
  registry: TcpSocketRegistry | null = null;

  constructor(readonly ops: TcpIpOps) {}

  // ------------------------------------------------------------- user side

  /** connect(): a socket in SYN-SENT; await sk.waitConnected() for the result. */
  connect(opts: ConnectOptions): TcpSock {
    checkPort(opts.dport, 'destination', false);
    if (opts.sport !== undefined) checkPort(opts.sport, 'source', false);
    const src = opts.src ?? this.ops.sourceFor(opts.dst);
    if (src === null) throw new NetError('ENETUNREACH', `no route to ${ipString(opts.dst)}`);
    const sk = new TcpSock(this, opts);
    sk.laddr = src;
    sk.raddr = opts.dst >>> 0;
    sk.rport = opts.dport;
    if (opts.sport !== undefined) {
      // inet_csk_bind_conflict: a port a listener holds (on this address or any) cannot be bound again, SO_REUSEADDR or not.
      if (this.listeners.has(`${src >>> 0}:${opts.sport}`) || this.listeners.has(`0:${opts.sport}`)) {
        throw new NetError('EADDRINUSE', `${ipString(src)}:${opts.sport} is listened on`);
      }
      if (this.conns.get(src, opts.sport, sk.raddr, sk.rport) !== undefined) throw new NetError('EADDRINUSE', `${ipString(src)}:${opts.sport} is already connected to that peer`);
      sk.lport = opts.sport;
    } else sk.lport = this.ephemeralPort(src, sk.raddr, sk.rport);
    this.hash(sk);
    const { isn, tsOffset } = this.isn(sk.laddr, sk.lport, sk.raddr, sk.rport);
    sk.startConnect(isn, tsOffset);
    // Registered once in SYN-SENT, as Linux sets the state before inet_hash_connect.
    this.registry?.added(sk);
    return sk;
  }

  /** listen(): a socket in LISTEN on addr:port (0 = any address) with a backlog. */
  listen(opts: ListenOptions): TcpSock {
    checkPort(opts.port, 'listening', false);
    const addr = (opts.addr ?? 0) >>> 0;
    const backlog = opts.backlog ?? 128;
    if (!Number.isInteger(backlog) || backlog < 0) throw new NetError('EINVAL', 'backlog takes a non-negative integer');
    const k = `${addr}:${opts.port}`;
    if (this.listeners.has(k) || (addr === 0 && [...this.listeners.values()].some((l) => l.lport === opts.port))) {
      throw new NetError('EADDRINUSE', `port ${opts.port} is already listened on`);
    }
    if (addr !== 0 && this.listeners.has(`0:${opts.port}`)) throw new NetError('EADDRINUSE', `port ${opts.port} is already listened on`);
    const sk = new TcpSock(this, opts);
    sk.laddr = addr;
    sk.lport = opts.port;
    // sk_max_ack_backlog: the listen() argument, capped by somaxconn (4096).
    sk.backlog = Math.min(backlog, 4096);
    sk.setState(TcpState.LISTEN);
    this.listeners.set(k, sk);
    this.usePort(opts.port, 1);
    this.sockets.add(sk);
    this.registry?.added(sk);
    return sk;
  }

  /** A listener closes: its half-open connections go too (inet_csk_listen_stop). */
  stopListening(sk: TcpSock): void {
    for (const [k, req] of this.requests) {
      if (req.owner === sk) {
        req.timer?.cancel();
        this.requests.delete(k);
      }
    }
    this.reqCount.delete(sk);
  }

  /** Take a socket out of every table (inet_unhash + inet_put_port). */
  unhash(sk: TcpSock): void {
    if (!this.sockets.delete(sk)) return;
    if (sk.state === TcpState.LISTEN || this.listeners.get(`${sk.laddr}:${sk.lport}`) === sk) {
      this.listeners.delete(`${sk.laddr}:${sk.lport}`);
      this.stopListening(sk);
    } else {
      this.conns.delete(sk);
    }
    this.usePort(sk.lport, -1);
    this.registry?.removed(sk);
  }

  private hash(sk: TcpSock): void {
    this.conns.add(sk);
    this.usePort(sk.lport, 1);
    this.sockets.add(sk);
  }

  private usePort(port: number, delta: number): void {
    const n = (this.ports.get(port) ?? 0) + delta;
    if (n <= 0) this.ports.delete(port);
    else this.ports.set(port, n);
  }

  /** inet_hash_connect: a port from ip_local_port_range whose 4-tuple is free, starting at a hashed offset. */
  private ephemeralPort(laddr: number, raddr: number, rport: number): number {
    const sys = this.ops.tcpSysctl;
    const lo = sys.get('net.ipv4.ip_local_port_range_min');
    const hi = Math.max(lo, sys.get('net.ipv4.ip_local_port_range_max'));
    const n = hi - lo + 1;
    const start = this.hash32(Buffer.from(`${laddr}:${raddr}:${rport}`)) % n;
    for (let i = 0; i < n; i++) {
      const port = lo + ((start + i) % n);
      if (this.listeners.has(`0:${port}`) || this.listeners.has(`${laddr}:${port}`)) continue;
      if (this.conns.get(laddr, port, raddr, rport) === undefined) return port;
    }
    throw new NetError('EADDRNOTAVAIL', 'no free local port in ip_local_port_range');
  }

  private hash32(data: Buffer): number {
    return createHash('sha256').update(this.secret).update(data).digest().readUInt32BE(0);
  }

  /** RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock; and a per-connection TS offset. */
  isn(laddr: number, lport: number, raddr: number, rport: number): { isn: number; tsOffset: number } {
    const b = Buffer.allocUnsafe(12);
    b.writeUInt32BE(laddr >>> 0, 0);
    b.writeUInt32BE(raddr >>> 0, 4);
    b.writeUInt16BE(lport, 8);
    b.writeUInt16BE(rport, 10);
    const d = createHash('sha256').update(this.secret).update(b).digest();
    const m = Math.floor(this.ops.clock.now() * 250);
    return { isn: (d.readUInt32BE(0) + m) >>> 0, tsOffset: d.readUInt32BE(4) };
  }

  /**
   * tcp_send_challenge_ack's host-wide limit. Off by default (INT_MAX, as
   * since Linux 6.0): a fixed, shared budget is the off-path side channel of
   * CVE-2016-5696, so a set limit is randomised each second to a budget in
   * [limit/2, limit*3/2) as Linux does, and an attacker cannot count it.
   */
  challengeAllowed(): boolean {
    const limit = this.ops.tcpSysctl.get('net.ipv4.tcp_challenge_ack_limit');
    if (limit >= INT_MAX) return true;
    const sec = Math.floor(this.ops.clock.now() / 1000);
    if (sec !== this.challengeSecond) {
      this.challengeSecond = sec;
      const half = (limit + 1) >>> 1;
      this.challengeBudget = limit === 0 ? 0 : randomInt(half, limit + half);
    }
    if (this.challengeBudget <= 0) return false;
    this.challengeBudget--;
    return true;
  }

  /** Every segment leaves through here (OutSegs; RSTs counted by their senders). */
  output(skb: SkBuff, src: number, dst: number, sk?: DstHolder): void {
    this.mib.tcp.OutSegs++;
    this.ops.output(skb, src, dst, sk);
  }

  // ------------------------------------------------------------------ input

  /**
   * tcp_v4_rcv: `skb.data` at the TCP header, len = the IPv4 payload; src
   * and dst from the IP header. Owns the skb.
   */
  rcv(skb: SkBuff, src: number, dst: number): void {
    const mib = this.mib.tcp;
    const len = skb.len;
    if (len < TCP_HLEN) {
      mib.InErrs++;
      this.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    // tcp_v4_rcv's skb_checksum_init: a segment another stack of this process
    // built and handed over by reference (veth, lo) is trusted, as Linux trusts
    // CHECKSUM_PARTIAL; one from a wire is verified.
    if (!skbCsumUnnecessary(skb) && !tcpChecksumValid(skb.buf, skb.data, len, src, dst)) {
      mib.InErrs++;
      mib.InCsumErrors++;
      this.drop(skb, 'TCP_CSUM');
      return;
    }
    const th = parseTcp(skb.buf, skb.data, len);
    if (th === undefined) {
      mib.InErrs++;
      this.drop(skb, 'TCP_FLAGS');
      return;
    }
    mib.InSegs++;
    skb.transportHeader = skb.data;
    skb.pull(th.hlen);
    const sk = this.conns.get(dst, th.dstPort, src, th.srcPort);
    if (sk !== undefined) {
      sk.rcv(skb, th);
      return;
    }
    const listener = this.listenerFor(dst, th.dstPort);
    if (listener !== undefined) {
      this.listenRcv(listener, skb, th, src, dst);
      return;
    }
    this.noSocket(skb, th, src, dst);
  }

  /** A TIME-WAIT socket let a new SYN through: handle it as if it had found no connection. */
  rcvAfterTimeWait(skb: SkBuff, th: TcpRepr, src: number, dst: number): void {
    skb.pull(th.hlen);
    const listener = this.listenerFor(dst, th.dstPort);
    if (listener !== undefined) this.listenRcv(listener, skb, th, src, dst);
    else this.noSocket(skb, th, src, dst);
  }

  private listenerFor(addr: number, port: number): TcpSock | undefined {
    return this.listeners.get(`${addr}:${port}`) ?? this.listeners.get(`0:${port}`);
  }

  private drop(skb: SkBuff, reason: Parameters<TcpIpOps['countDrop']>[0]): void {
    this.ops.countDrop(reason);
    skb.free();
  }

  /** No socket: answer with a RST (unless it is one), RFC 9293 §3.10.7.1. */
  private noSocket(skb: SkBuff, th: TcpRepr, src: number, dst: number): void {
    if ((th.flags & TCP_RST) === 0) this.resetFor(th, skb.len, dst, src);
    this.drop(skb, 'NO_SOCKET');
  }

  /** tcp_v4_send_reset: the RST that answers segment `th` (its ACK, or ACK of what it occupied). */
  private resetFor(th: TcpRepr, payloadLen: number, laddr: number, raddr: number): void {
    if ((th.flags & TCP_ACK) !== 0) this.sendReset(laddr, raddr, th.dstPort, th.srcPort, th.ack, 0, false);
    else {
      const occupied = payloadLen + ((th.flags & TCP_SYN) !== 0 ? 1 : 0) + ((th.flags & TCP_FIN) !== 0 ? 1 : 0);
      this.sendReset(laddr, raddr, th.dstPort, th.srcPort, 0, (th.seq + occupied) >>> 0, true);
    }
  }

  /** A RST segment, with or without ACK. OutRsts counts it. */
  sendReset(laddr: number, raddr: number, lport: number, rport: number, seq: number, ack: number, withAck: boolean): void {
    const skb = allocSkbFrom(this.ops.pool, MAX_TCP_HEADER + TCP_HLEN);
    if (skb === null) return;
    skb.reserve(MAX_TCP_HEADER + TCP_HLEN);
    const at = skb.push(TCP_HLEN);
    emitTcp({ srcPort: lport, dstPort: rport, seq, ack: withAck ? ack : 0, flags: TCP_RST | (withAck ? TCP_ACK : 0), window: 0 }, null, skb.buf, at, 0, {
      srcAddr: laddr,
      dstAddr: raddr,
    });
    this.mib.tcp.OutRsts++;
    this.output(skb, laddr, raddr);
  }

  /** tcp_v4_do_rcv on a listener: SYN -> request (or cookie), ACK -> child, else RST or drop. */
  private listenRcv(l: TcpSock, skb: SkBuff, th: TcpRepr, src: number, dst: number): void {
    const f = th.flags;
    const ext = this.mib.ext;
    const k = key(dst, th.dstPort, src, th.srcPort);
    const req = this.requests.get(k);
    if ((f & TCP_RST) !== 0) {
      if (req !== undefined && th.seq === ((req.irs + 1) >>> 0)) {
        // The peer gave up on the handshake (tcp_check_req: EmbryonicRsts).
        ext.EmbryonicRsts++;
        this.dropRequest(k, req, l);
      }
      this.drop(skb, 'TCP_RESET');
      return;
    }
    if ((f & TCP_SYN) !== 0 && (f & TCP_ACK) === 0) {
      if (req !== undefined) {
        // A retransmitted SYN: answer it again (tcp_check_req's "retransmitted SYN").
        if (th.seq === req.irs) this.sendSynAck(req, null);
        this.drop(skb, 'TCP_INVALID_SYN');
        return;
      }
      this.connRequest(l, skb, th, src, dst);
      return;
    }
    if ((f & TCP_ACK) === 0) {
      this.drop(skb, 'TCP_FLAGS');
      return;
    }
    if ((f & TCP_SYN) !== 0) {
      // A SYN-ACK to a listener: it never sent a SYN.
      this.resetFor(th, skb.len, dst, src);
      this.drop(skb, 'TCP_FLAGS');
      return;
    }
    // The third segment of the handshake.
    let params: Parameters<TcpSock['initChild']>[0] | null = null;
    if (req !== undefined) {
      if (th.ack !== ((req.iss + 1) >>> 0) || th.seq !== ((req.irs + 1) >>> 0)) {
        this.resetFor(th, skb.len, dst, src);
        this.drop(skb, 'TCP_INVALID_ACK_SEQUENCE');
        return;
      }
      params = { iss: req.iss, irs: req.irs, tsOffset: req.tsOffset, mss: req.mss, peerWscale: req.peerWscale, sack: req.sack, tsRecent: req.tsRecent, window: th.window };
    } else if (this.ops.tcpSysctl.get('net.ipv4.tcp_syncookies') !== 0) {
      const mss = this.cookieCheck(dst, th.dstPort, src, th.srcPort, (th.seq - 1) >>> 0, (th.ack - 1) >>> 0);
      if (mss === null) {
        ext.SyncookiesFailed++;
      } else {
        ext.SyncookiesRecv++;
        const iss = (th.ack - 1) >>> 0;
        params = { iss, irs: (th.seq - 1) >>> 0, tsOffset: 0, mss, peerWscale: null, sack: false, tsRecent: null, window: th.window };
      }
    }
    if (params === null) {
      this.resetFor(th, skb.len, dst, src);
      this.drop(skb, 'NO_SOCKET');
      return;
    }
    if (this.acceptFull(l)) {
      // tcp_abort_on_overflow = 0: drop the ACK; the SYN-ACK timer will try again.
      ext.ListenOverflows++;
      ext.ListenDrops++;
      this.drop(skb, 'SOCKET_BACKLOG');
      return;
    }
    if (req !== undefined) this.dropRequest(k, req, l);
    const child = new TcpSock(this, {});
    child.laddr = dst;
    child.lport = th.dstPort;
    child.raddr = src;
    child.rport = th.srcPort;
    child.inheritFrom(l);
    this.hash(child);
    child.initChild(params);
    this.mib.tcp.PassiveOpens++;
    child.parent = l;
    l.acceptQueue.push(child);
    // Listed from now on (ss shows a child waiting in the accept queue), before the ACK's data or FIN moves it on.
    this.registry?.added(child);
    // The ACK may carry data or a FIN: the child takes it from here (tcp_child_process).
    child.rcv(skb, th);
    const onAccept = l.onAccept;
    if (onAccept !== null) upcall(() => onAccept(child));
    l.wakeAcceptors();
  }

  /** sk_acceptq_is_full: more than `backlog` connections wait for accept() (so backlog + 1 fit, as in Linux). */
  private acceptFull(l: TcpSock): boolean {
    return l.acceptQueue.length > l.backlog;
  }

  /** tcp_conn_request: a request sock and a SYN-ACK, or a cookie when the SYN queue is full. */
  private connRequest(l: TcpSock, skb: SkBuff, th: TcpRepr, src: number, dst: number): void {
    const ext = this.mib.ext;
    const sys = this.ops.tcpSysctl;
    const cookies = sys.get('net.ipv4.tcp_syncookies');
    const qlen = this.reqCount.get(l) ?? 0;
    const synQueueFull = qlen >= Math.max(l.backlog, 1) || qlen >= sys.get('net.ipv4.tcp_max_syn_backlog');
    let wantCookie = cookies === 2;
    if (synQueueFull && !wantCookie) {
      if (cookies === 0) {
        ext.TCPReqQFullDrop++;
        ext.ListenDrops++;
        this.drop(skb, 'SOCKET_BACKLOG');
        return;
      }
      ext.TCPReqQFullDoCookies++;
      wantCookie = true;
    }
    if (this.acceptFull(l)) {
      ext.ListenOverflows++;
      ext.ListenDrops++;
      this.drop(skb, 'SOCKET_BACKLOG');
      return;
    }
    const o = th.options;
    const ourMss = this.ops.mssFor(src);
    const peerMss = Math.min(o.mss ?? TCP_MSS_DEFAULT, ourMss);
    if (wantCookie) {
      const { cookie, mss } = this.makeCookie(dst, th.dstPort, src, th.srcPort, th.seq, peerMss);
      ext.SyncookiesSent++;
      const reqc: RequestSock = { laddr: dst, lport: th.dstPort, raddr: src, rport: th.srcPort, iss: cookie, irs: th.seq, tsOffset: 0, mss, peerWscale: null, sack: false, tsRecent: null, retries: 0, timer: null, owner: l };
      this.sendSynAck(reqc, ourMss);
      skb.free();
      return;
    }
    const { isn, tsOffset } = this.isn(dst, th.dstPort, src, th.srcPort);
    const req: RequestSock = {
      laddr: dst,
      lport: th.dstPort,
      raddr: src,
      rport: th.srcPort,
      iss: isn,
      irs: th.seq,
      tsOffset,
      mss: peerMss,
      peerWscale: o.wscale !== undefined && sys.get('net.ipv4.tcp_window_scaling') === 1 ? o.wscale : null,
      sack: o.sackPermitted === true && sys.get('net.ipv4.tcp_sack') === 1,
      tsRecent: o.ts !== undefined && sys.get('net.ipv4.tcp_timestamps') === 1 ? o.ts.val : null,
      retries: 0,
      timer: null,
      owner: l,
    };
    const k = key(dst, th.dstPort, src, th.srcPort);
    this.requests.set(k, req);
    this.reqCount.set(l, qlen + 1);
    this.sendSynAck(req, ourMss);
    this.armSynAck(k, req, l, TCP_TIMEOUT_INIT);
    skb.free();
  }

  /** reqsk_timer_handler: resend the SYN-ACK with backoff, tcp_synack_retries times. */
  private armSynAck(k: string, req: RequestSock, l: TcpSock, delay: number): void {
    req.timer = this.ops.clock.setTimer(delay, () => {
      req.timer = null;
      if (this.requests.get(k) !== req) return;
      if (req.retries >= this.ops.tcpSysctl.get('net.ipv4.tcp_synack_retries')) {
        this.dropRequest(k, req, l);
        return;
      }
      req.retries++;
      this.mib.tcp.RetransSegs++;
      this.sendSynAck(req, null);
      this.armSynAck(k, req, l, Math.min(delay * 2, 120_000));
    });
  }

  private dropRequest(k: string, req: RequestSock, l: TcpSock): void {
    req.timer?.cancel();
    req.timer = null;
    if (this.requests.delete(k)) {
      const n = (this.reqCount.get(l) ?? 1) - 1;
      if (n <= 0) this.reqCount.delete(l);
      else this.reqCount.set(l, n);
    }
  }

  /** Half-open connections on a listener (ss -l's Recv-Q shows the accept queue; this is the SYN queue). */
  synQueueLength(l: TcpSock): number {
    return this.reqCount.get(l) ?? 0;
  }

  /** tcp_make_synack: built afresh each time from the request (no skb is kept per half-open connection). */
  private sendSynAck(req: RequestSock, ourMss: number | null): void {
    const sys = this.ops.tcpSysctl;
    const mss = ourMss ?? this.ops.mssFor(req.raddr);
    // The listener's buffers decide the child's scale and first window, so
    // announce exactly what the child will use (a cookie has no listener state).
    const l = req.owner;
    const ws = req.peerWscale !== null && l !== null ? l.initialWscale() : 0;
    const window = l !== null ? l.initialWindow() : Math.min(sys.get('net.ipv4.tcp_rmem_default') >> 1, 65535);
    const opts: TcpOptions = { mss };
    if (req.peerWscale !== null) opts.wscale = ws;
    if (req.sack) opts.sackPermitted = true;
    if (req.tsRecent !== null) opts.ts = { val: (Math.floor(this.ops.clock.now()) + req.tsOffset) >>> 0, ecr: req.tsRecent };
    const hlen = TCP_HLEN + tcpOptionsLength(opts);
    const skb = allocSkbFrom(this.ops.pool, MAX_TCP_HEADER + hlen);
    if (skb === null) return;
    skb.reserve(MAX_TCP_HEADER + hlen);
    const at = skb.push(hlen);
    emitTcp(
      { srcPort: req.lport, dstPort: req.rport, seq: req.iss, ack: (req.irs + 1) >>> 0, flags: TCP_SYN | TCP_ACK, window },
      opts,
      skb.buf,
      at,
      0,
    );
    const check = tcpChecksum(skb.buf, at, hlen, req.laddr, req.raddr);
    skb.buf[at + 16] = check >>> 8;
    skb.buf[at + 17] = check & 0xff;
    skb.ipSummed = CHECKSUM_PARTIAL;
    this.output(skb, req.laddr, req.raddr);
  }

  /**
   * A SYN cookie (RFC 4987 §3.6, cookie_v4_init_sequence): the ISN is a keyed
   * hash of the 4-tuple, the peer's ISN and a 64-second counter, with the MSS
   * index in its low two bits. No state is kept.
   */
  private makeCookie(laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, mss: number): { cookie: number; mss: number } {
    let idx = 0;
    for (let i = COOKIE_MSS.length - 1; i >= 0; i--) {
      if (mss >= COOKIE_MSS[i]!) {
        idx = i;
        break;
      }
    }
    const t = Math.floor(this.ops.clock.now() / COOKIE_PERIOD_MS);
    return { cookie: ((this.cookieHash(laddr, lport, raddr, rport, peerIsn, t) & ~3) | idx) >>> 0, mss: COOKIE_MSS[idx]! };
  }

  /** cookie_v4_check: the MSS the cookie carries, or null when it is not ours or too old. */
  private cookieCheck(laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, cookie: number): number | null {
    const t = Math.floor(this.ops.clock.now() / COOKIE_PERIOD_MS);
    for (const age of [0, 1]) {
      const h = this.cookieHash(laddr, lport, raddr, rport, peerIsn, t - age) & ~3;
      if ((h >>> 0) === ((cookie & ~3) >>> 0)) return COOKIE_MSS[cookie & 3]!;
    }
    return null;
  }

  private cookieHash(laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, t: number): number {
    const b = Buffer.allocUnsafe(20);
    b.writeUInt32BE(laddr >>> 0, 0);
    b.writeUInt32BE(raddr >>> 0, 4);
    b.writeUInt16BE(lport, 8);
    b.writeUInt16BE(rport, 10);
    b.writeUInt32BE(peerIsn >>> 0, 12);
    b.writeUInt32BE(t >>> 0, 16);
    return this.hash32(b);
  }

  /**
   * tcp_v4_err: an ICMP error quoting one of our segments. `seq` is the
   * quoted sequence number; it must fall in [snd_una, snd_nxt] to count.
   * `mtu` set means "fragmentation needed" (path MTU discovery).
   */
  err(errno: ErrnoName, laddr: number, raddr: number, lport: number, rport: number, seq: number, mtu?: number): void {
    const sk = this.conns.get(laddr, lport, raddr, rport);
    if (sk === undefined) return;
    if (seqAfter(sk.sndUna, seq) || seqAfter(seq, sk.sndNxt)) return;
    sk.icmpError(errno, mtu);
  }

  /** Our own segment was too big for the route (ip_output's EMSGSIZE under DF): the local "fragmentation needed". */
  mtuReducedLocal(laddr: number, lport: number, raddr: number, rport: number, mtu: number): void {
    this.conns.get(laddr, lport, raddr, rport)?.icmpError('EMSGSIZE', mtu);
  }

  /** /v1/netstat's Tcp and TcpExt. */
  netstat(): { Tcp: Record<string, number>; TcpExt: Record<string, number> } {
    return this.mib.snapshot();
  }
}

/** tcp_v4_rcv for the IP layer's protocol registry (protocol 6). */
export function tcpV4Rcv(proto: TcpProto, skb: SkBuff, src: number, dst: number): void {
  proto.rcv(skb, src, dst);
}

/** tcp_v4_err for ICMP destination unreachable / frag needed / time exceeded quoting a TCP header. */
export function tcpV4Err(
  proto: TcpProto,
  errno: ErrnoName,
  laddr: number,
  raddr: number,
  quoted: Uint8Array,
  mtu?: number,
): void {
  if (quoted.length < 8) return;
  const lport = (quoted[0]! << 8) | quoted[1]!;
  const rport = (quoted[2]! << 8) | quoted[3]!;
  const seq = ((quoted[4]! << 24) | (quoted[5]! << 16) | (quoted[6]! << 8) | quoted[7]!) >>> 0;
  proto.err(errno, laddr, raddr, lport, rport, seq, mtu);
}

function checkPort(p: number, what: string, zeroOk: boolean): void {
  if (!Number.isInteger(p) || p < (zeroOk ? 0 : 1) || p > 65535) throw new NetError('EINVAL', `bad ${what} port ${p}: 1..65535`);
}

export function ipString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** One socket as `GET /v1/sockets` lists it (DESIGN §3.1), like a line of `ss -tai`. */
export interface TcpSocketRow {
  family: 'inet';
  type: 'stream';
  state: string;
  local: string;
  peer: string;
  recv_q: number;
  send_q: number;
  rmem: number;
  rcvbuf: number;
  wmem: number;
  sndbuf: number;
  drops: number;
  tcp_info?: {
    rtt_ms: number;
    rttvar_ms: number;
    rto_ms: number;
    snd_cwnd: number;
    snd_ssthresh: number;
    snd_wnd: number;
    rcv_wnd: number;
    retrans: number;
    lost: number;
    zero_window_probes: number;
    bytes_acked: number;
    bytes_received: number;
    segs_out: number;
    segs_in: number;
    /** The connection's congestion control, as `ss -ti` names it first. */
    congestion_control: string;
  };
}

export function tcpSocketRow(sk: TcpSock): TcpSocketRow {
  const listening = sk.state === TcpState.LISTEN;
  const row: TcpSocketRow = {
    family: 'inet',
    type: 'stream',
    state: sk.stateName,
    local: `${ipString(sk.laddr)}:${sk.lport}`,
    peer: listening || sk.rport === 0 ? '0.0.0.0:*' : `${ipString(sk.raddr)}:${sk.rport}`,
    recv_q: sk.recvQ,
    send_q: sk.sendQ,
    rmem: sk.rmemAlloc,
    rcvbuf: sk.rcvbuf,
    wmem: sk.wmemAlloc,
    sndbuf: sk.sndbuf,
    drops: sk.drops,
  };
  if (!listening) {
    const i = sk.info();
    row.tcp_info = {
      rtt_ms: i.rtt_ms,
      rttvar_ms: i.rttvar_ms,
      rto_ms: i.rto_ms,
      snd_cwnd: i.snd_cwnd,
      snd_ssthresh: i.snd_ssthresh,
      snd_wnd: i.snd_wnd,
      rcv_wnd: i.rcv_wnd,
      retrans: i.total_retrans,
      lost: i.lost,
      zero_window_probes: i.zero_window_probes,
      bytes_acked: i.bytes_acked,
      bytes_received: i.bytes_received,
      segs_out: i.segs_out,
      segs_in: i.segs_in,
      congestion_control: i.congestion_control,
    };
  }
  return row;
}
