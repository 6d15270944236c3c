// UDP (net/ipv4/udp.c) sockets: bind to ADDR:PORT (0.0.0.0 = any address,
// port 0 = an ephemeral port from ip_local_port_range), connect, send and
// receive. Receiving goes through queueRcvSkb, so a slow reader loses
// datagrams at its own queue (RcvbufErrors); sending through allocSendSkb, so
// a slow link makes the sender wait. Checksums are made and checked; a
// datagram for a port nobody has answers ICMP port unreachable, and a
// connected socket hears of that as ECONNREFUSED on its next call.

import { NetError, wouldBlock, type ErrnoName } from '../errno.ts';
import { CHECKSUM_PARTIAL, skbCsumUnnecessary, type SkBuff } from '../skb/skbuff.ts';
import { Sock, allocSendSkb, queueRcvSkb, RCV_SHUTDOWN, SEND_SHUTDOWN } from '../sock/sock.ts';
import { sockMemInfo, type StackSocket } from '../sock/table.ts';
import { checksumAdd, checksumFold } from '../wire/checksum.ts';
import { formatIpv4, IPPROTO_UDP } from '../wire/ipv4.ts';
import { ICMP_DEST_UNREACH } from '../wire/icmp.ts';
import { UDP_HLEN, udpChecksum, udpPseudoHeaderSum } from '../wire/udp.ts';
import { formatEndpoint, parseEndpoint } from './addr.ts';
import type { Datagram, UdpOpenOptions, UdpSendOptions, UdpService, UdpSocket, UdpSocketView } from './control.ts';
import type { InetStack } from './inet.ts';
import { ICMP_PORT_UNREACH, MAX_HEADER, readU32, type IcmpError, type IpProtocolHandler } from './ipv4.ts';

/** The largest payload one IPv4 datagram carries (65535 - 20 - 8). */
export const UDP_MAX_PAYLOAD = 65507;

export class UdpTable implements IpProtocolHandler {
  readonly protocol = IPPROTO_UDP;
  /** Sockets by local port (udp_table's hash by port). */
  private readonly byPort = new Map<number, UdpSock[]>();
  readonly sockets = new Map<number, UdpSock>();

  constructor(readonly inet: InetStack) {}

  open(opts: UdpOpenOptions): UdpSock {
    const inet = this.inet;
    const id = inet.allocSocketId();
    const s = new UdpSock(this, id);
    try {
      if (opts.rcvbuf !== undefined) s.sk.setRcvbuf(opts.rcvbuf);
      if (opts.sndbuf !== undefined) s.sk.setSndbuf(opts.sndbuf);
      if (opts.bind !== undefined) {
        const { addr, port } = parseEndpoint(opts.bind, 'bind');
        s.bind(addr, port);
      }
      if (opts.connect !== undefined) s.connect(opts.connect);
      if (opts.service !== undefined) {
        if (!s.bound) throw new NetError('EINVAL', 'a service socket needs a bind address with a port');
        s.startService(opts.service);
      }
    } catch (err) {
      s.close();
      throw err;
    }
    // An entry of the stack's socket table once socket() and bind() have
    // succeeded: a request refused with an errno leaves nothing behind, not
    // even a new/del pair of events.
    this.sockets.set(id, s);
    inet.stack.sockets.add(s);
    return s;
  }

  /** Is this local endpoint free for `s` (no SO_REUSEADDR here)? */
  private conflicts(addr: number, port: number, self: UdpSock): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    for (const o of list) if (o !== self && (o.laddr === 0 || addr === 0 || o.laddr === addr)) return true;
    return false;
  }

  /** udp_v4_get_port. */
  hash(s: UdpSock, addr: number, port: number): void {
    const inet = this.inet;
    if (port === 0) {
      const lo = inet.sysctl('net.ipv4.ip_local_port_range_min');
      const hi = inet.sysctl('net.ipv4.ip_local_port_range_max');
      if (lo > hi) throw new NetError('EINVAL', `ip_local_port_range is empty (${lo} > ${hi})`);
      const n = hi - lo + 1;
      const start = Math.floor(Math.random() * n);
      for (let i = 0; i < n; i++) {
        const p = lo + ((start + i) % n);
        if (!this.conflicts(addr, p, s)) {
          port = p;
          break;
        }
      }
      if (port === 0) throw new NetError('EADDRINUSE', 'no free ephemeral port in ip_local_port_range');
    } else if (this.conflicts(addr, port, s)) {
      throw new NetError('EADDRINUSE', `${formatEndpoint(addr, port)} is in use`);
    }
    s.laddr = addr;
    s.lport = port;
    const list = this.byPort.get(port);
    if (list === undefined) this.byPort.set(port, [s]);
    else list.push(s);
  }

  /** A new local address for a bound socket, same port. */
  rehash(s: UdpSock, addr: number): void {
    this.unhash(s);
    s.laddr = addr;
    const list = this.byPort.get(s.lport);
    if (list === undefined) this.byPort.set(s.lport, [s]);
    else list.push(s);
  }

  unhash(s: UdpSock): void {
    const list = this.byPort.get(s.lport);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPort.delete(s.lport);
  }

  /** __udp4_lib_lookup: the best match, a connected socket before a wildcard one. */
  lookup(saddr: number, sport: number, daddr: number, dport: number): UdpSock | null {
    const list = this.byPort.get(dport);
    if (list === undefined) return null;
    let best: UdpSock | null = null;
    let bestScore = -1;
    for (const s of list) {
      let score = 0;
      if (s.laddr !== 0) {
        if (s.laddr !== daddr) continue;
        score += 4;
      }
      if (s.connected) {
        if (s.raddr !== saddr || s.rport !== sport) continue;
        score += 8;
      }
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }

  /** udp_rcv. `skb.data` is at the UDP header. */
  rcv(skb: SkBuff): void {
    const inet = this.inet;
    const mib = inet.mib.udp;
    const b = skb.buf;
    const d = skb.data;
    const len = skb.len;
    if (len < UDP_HLEN) {
      mib.InErrors++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    const ulen = (b[d + 4]! << 8) | b[d + 5]!;
    if (ulen < UDP_HLEN || ulen > len) {
      mib.InErrors++;
      inet.drop(skb, 'PKT_TOO_SMALL');
      return;
    }
    skb.trim(ulen);
    const nh = skb.networkHeader;
    const saddr = readU32(b, nh + 12);
    const daddr = readU32(b, nh + 16);
    if ((b[d + 6] !== 0 || b[d + 7] !== 0) && !skbCsumUnnecessary(skb) && checksumFold(checksumAdd(udpPseudoHeaderSum(saddr, daddr, ulen), b, d, ulen)) !== 0xffff) {
      mib.InCsumErrors++;
      mib.InErrors++;
      inet.drop(skb, 'UDP_CSUM');
      return;
    }
    const sport = (b[d]! << 8) | b[d + 1]!;
    const dport = (b[d + 2]! << 8) | b[d + 3]!;
    const bcast = daddr === 0xffffffff || inet.localType(daddr, skb.dev) === 'broadcast';
    const s = this.lookup(saddr, sport, bcast ? 0 : daddr, dport) ?? (bcast ? this.lookup(saddr, sport, daddr, dport) : null);
    if (s === null) {
      if (bcast) {
        mib.IgnoredMulti++;
        inet.consume(skb);
        return;
      }
      mib.NoPorts++;
      inet.icmp.send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
      inet.drop(skb, 'NO_SOCKET');
      return;
    }
    skb.data = d + UDP_HLEN;
    if (!queueRcvSkb(s.sk, skb)) {
      mib.RcvbufErrors++;
      mib.InErrors++;
      inet.drop(skb, 'SOCKET_RCVBUFF');
      return;
    }
    mib.InDatagrams++;
    s.received++;
  }

  /**
   * __udp4_lib_err: a connected socket hears hard errors on its next call;
   * an unconnected one only errors this host raised itself (a neighbour that
   * never answered), since nothing else could tell it (Linux reports those
   * only with IP_RECVERR).
   */
  err(e: IcmpError): void {
    const t = e.transport;
    if (t.length < 4) return;
    const sport = (t[0]! << 8) | t[1]!;
    const dport = (t[2]! << 8) | t[3]!;
    const s = this.lookup(e.dst, dport, e.src, sport);
    if (s === null) return;
    if (s.connected ? e.fatal || e.local : e.local) s.sk.setError(e.errno);
    s.wake();
  }

  close(): void {
    for (const s of [...this.sockets.values()]) s.close();
  }
}

type Waiter = () => void;

export class UdpSock implements UdpSocket, StackSocket {
  readonly family = 'inet';
  readonly type = 'dgram';
  readonly protocol = IPPROTO_UDP;
  /** No SO_BINDTODEVICE here. */
  readonly boundDev = null;
  readonly sk: Sock;
  /** Datagrams queued to the reader, and handed to IP (the socket's share of InDatagrams, OutDatagrams). */
  received = 0;
  sent = 0;
  laddr = 0;
  lport = 0;
  raddr = 0;
  rport = 0;
  bound = false;
  connected = false;
  closed = false;
  service: UdpService | null = null;
  private waiters: Waiter[] = [];
  private listeners: (() => void)[] = [];

  constructor(
    readonly table: UdpTable,
    readonly id: number,
  ) {
    this.sk = new Sock(table.inet.stack);
    this.sk.onDataReady = () => {
      this.wake();
      for (const fn of [...this.listeners]) fn();
    };
  }

  get state(): 'UNCONN' | 'ESTAB' {
    return this.connected ? 'ESTAB' : 'UNCONN';
  }

  /** Wake everyone waiting to read (data, an error, or close). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  bind(addr: number, port: number): void {
    if (this.bound) throw new NetError('EINVAL', 'socket is already bound');
    if (addr !== 0 && this.table.inet.localType(addr, null) === null) {
      throw new NetError('EADDRNOTAVAIL', `${formatIpv4(addr)} is not an address of this host`);
    }
    this.table.hash(this, addr, port);
    this.bound = true;
  }

  /** ip4_datagram_connect: fix the peer, and the source address if none was bound. */
  connect(text: string): void {
    const { addr, port } = parseEndpoint(text, 'connect');
    if (port === 0) throw new NetError('EINVAL', 'cannot connect to port 0');
    const inet = this.table.inet;
    const rt = inet.routeOutput(addr, this.laddr);
    if (typeof rt === 'string') throw new NetError(rt, `no route to ${formatIpv4(addr)}`);
    if (!this.bound) this.bind(0, 0);
    if (this.laddr === 0) {
      // Rehash under the chosen source address (inet_rcv_saddr).
      this.table.rehash(this, rt.src);
    }
    this.raddr = addr;
    this.rport = port;
    this.connected = true;
  }

  describe(): UdpSocketView {
    const sk = this.sk;
    return {
      id: this.id,
      family: 'inet',
      type: 'dgram',
      state: this.state,
      local: this.bound ? formatEndpoint(this.laddr, this.lport) : '0.0.0.0:0',
      peer: this.connected ? formatEndpoint(this.raddr, this.rport) : '0.0.0.0:*',
      ...sockMemInfo(sk),
      ...(this.service !== null ? { service: this.service } : {}),
    };
  }

  /** udp_sendmsg: returns the bytes sent, or a Promise when it must wait for send buffer space. */
  sendTo(data: Uint8Array, to?: string, opts: UdpSendOptions = {}): number | Promise<number> {
    if (this.closed) throw new NetError('EBADF', 'socket is closed');
    let daddr: number;
    let dport: number;
    if (to !== undefined) {
      ({ addr: daddr, port: dport } = parseEndpoint(to, 'destination'));
      if (dport === 0) throw new NetError('EINVAL', 'cannot send to port 0');
    } else if (this.connected) {
      daddr = this.raddr;
      dport = this.rport;
    } else throw new NetError('EDESTADDRREQ', 'the socket is not connected: give a destination');
    if (data.length > UDP_MAX_PAYLOAD) throw new NetError('EMSGSIZE', `a UDP datagram carries at most ${UDP_MAX_PAYLOAD} bytes`);
    const inet = this.table.inet;
    const rt0 = inet.routeOutput(daddr, this.laddr);
    if (typeof rt0 === 'string') {
      inet.mib.ip.OutNoRoutes++;
      throw new NetError(rt0, `no route to ${formatIpv4(daddr)}`);
    }
    if (!this.bound) this.bind(0, 0);
    const r = allocSendSkb(this.sk, MAX_HEADER + UDP_HLEN + data.length, opts);
    if (!(r instanceof Promise)) return this.finishSend(r, data, daddr, dport);
    return r.then((skb) => this.finishSend(skb, data, daddr, dport));
  }

  private finishSend(skb: SkBuff, data: Uint8Array, daddr: number, dport: number): number {
    const inet = this.table.inet;
    if (this.closed) {
      skb.free();
      throw new NetError('EBADF', 'socket is closed');
    }
    const rt = inet.routeOutput(daddr, this.laddr);
    if (typeof rt === 'string') {
      skb.free();
      inet.mib.ip.OutNoRoutes++;
      throw new NetError(rt, `no route to ${formatIpv4(daddr)}`);
    }
    const saddr = this.laddr !== 0 ? this.laddr : rt.src;
    skb.reserve(MAX_HEADER);
    const at = skb.put(UDP_HLEN + data.length);
    const b = skb.buf;
    b.set(data, at + UDP_HLEN);
    const ulen = UDP_HLEN + data.length;
    b[at] = this.lport >>> 8;
    b[at + 1] = this.lport & 0xff;
    b[at + 2] = dport >>> 8;
    b[at + 3] = dport & 0xff;
    b[at + 4] = ulen >>> 8;
    b[at + 5] = ulen & 0xff;
    b[at + 6] = 0;
    b[at + 7] = 0;
    const c = udpChecksum(b, at, ulen, { srcAddr: saddr, dstAddr: daddr });
    b[at + 6] = c >>> 8;
    b[at + 7] = c & 0xff;
    // Built here: a receiver in this process may trust it (see CHECKSUM_PARTIAL).
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.transportHeader = at;
    const err: ErrnoName | null = inet.ip.output(skb, { src: saddr, dst: daddr, protocol: IPPROTO_UDP, rt });
    if (err === 'ENOBUFS') {
      // udp_send_skb: a full queue below is counted, not reported (no IP_RECVERR).
      inet.mib.udp.SndbufErrors++;
      return data.length;
    }
    if (err !== null) throw new NetError(err, err === 'EMSGSIZE' ? 'datagram too big for the path MTU' : `send failed: ${err}`);
    inet.mib.udp.OutDatagrams++;
    this.sent++;
    return data.length;
  }

  private takeOne(): Datagram | null {
    const skb = this.sk.receiveQueue.dequeue();
    if (skb === null) return null;
    const b = skb.buf;
    const nh = skb.networkHeader;
    const th = skb.transportHeader;
    const from = formatEndpoint(readU32(b, nh + 12), (b[th]! << 8) | b[th + 1]!);
    const data = new Uint8Array(skb.len);
    data.set(b.subarray(skb.data, skb.tail));
    skb.free();
    return { from, data };
  }

  /** udp_recvmsg: a datagram, or EAGAIN/EINTR/ETIMEDOUT-as-EAGAIN, or the pending error. */
  recv(opts: UdpSendOptions = {}): Datagram | Promise<Datagram> {
    const now = this.tryRecv(opts.nonblock === true || opts.timeoutMs === 0);
    if (now !== null) return now;
    return this.waitRecv(opts);
  }

  private tryRecv(nonblock: boolean): Datagram | null {
    if (this.closed) throw new NetError('EBADF', 'socket is closed');
    const err = this.sk.err;
    if (err !== null) {
      this.sk.err = null;
      throw new NetError(err, `pending socket error: ${err}`);
    }
    const d = this.takeOne();
    if (d !== null) return d;
    if ((this.sk.shutdown & RCV_SHUTDOWN) !== 0) throw new NetError('EPIPE', 'socket is shut down for receiving');
    if (nonblock) throw wouldBlock('no datagram is waiting');
    return null;
  }

  private async waitRecv(opts: UdpSendOptions): Promise<Datagram> {
    const clock = this.table.inet.stack.clock;
    const deadline = opts.timeoutMs === undefined ? Infinity : clock.now() + opts.timeoutMs;
    for (;;) {
      if (opts.signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for a datagram');
      const remaining = deadline - clock.now();
      if (remaining <= 0) throw new NetError('EAGAIN', 'no datagram came in time');
      await new Promise<void>((resolve) => {
        let timer: { cancel(): void } | null = null;
        const done = (): void => {
          timer?.cancel();
          opts.signal?.removeEventListener('abort', done);
          const i = this.waiters.indexOf(done);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(done);
        if (Number.isFinite(remaining)) timer = clock.setTimer(remaining, done);
        opts.signal?.addEventListener('abort', done, { once: true });
      });
      const d = this.tryRecv(false);
      if (d !== null) return d;
    }
  }

  onReadable(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /** RFC 862/863/864 on this socket: every datagram is answered (or not) inside the stack. */
  startService(service: UdpService): void {
    this.service = service;
    this.onReadable(() => {
      // Read until empty: a pending error (a reply that could not be
      // delivered) is taken and forgotten, as a service has no one to tell.
      for (let guard = this.sk.receiveQueue.length + 2; guard > 0; guard--) {
        let d: Datagram | null;
        try {
          d = this.tryRecv(true);
        } catch (err) {
          if (err instanceof NetError && err.errno !== 'EAGAIN' && err.errno !== 'EBADF') continue;
          return;
        }
        if (d === null) return;
        const reply = service === 'echo' ? d.data : service === 'chargen' ? chargen(Math.floor(Math.random() * 513)) : null;
        if (reply === null) continue;
        try {
          const r = this.sendTo(reply, d.from, { nonblock: true });
          if (r instanceof Promise) r.catch(() => {});
        } catch {
          // A full send buffer or no route: the reply is lost, as UDP's are.
        }
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.table.unhash(this);
    this.table.sockets.delete(this.id);
    const inet = this.table.inet;
    inet.stack.sockets.remove(this);
    this.sk.receiveQueue.purge((skb) => inet.drop(skb, 'SOCKET_CLOSE'));
    this.sk.setShutdown(RCV_SHUTDOWN | SEND_SHUTDOWN);
    this.listeners = [];
    this.wake();
  }
}

const CHARGEN_LINE = 72;
const CHARGEN_CHARS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

/** RFC 864's rotating pattern: 72 printable characters a line, each line starting one further on. */
export function chargen(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let line = 0;
  let col = 0;
  for (let i = 0; i < n; i++) {
    if (col === CHARGEN_LINE) {
      out[i] = 0x0d;
      if (i + 1 < n) out[++i] = 0x0a;
      col = 0;
      line++;
      continue;
    }
    out[i] = CHARGEN_CHARS.charCodeAt((line + col) % CHARGEN_CHARS.length);
    col++;
  }
  return out;
}
