// The stack's one socket table: every socket of every family registers
// here, so the API, the metrics and the CLI enumerate one list, like the
// sockets ss reads from /proc. Device events reach the sockets bound to a
// device from here, once, instead of through one listener per user.
//
// It is the catalogue, not the demultiplexer: each protocol keeps its own
// lookup tables (AF_PACKET's ptype hooks, UDP's port hash, TCP's 4-tuple and
// listener hashes) and registers a socket here for as long as it exists --
// a packet socket from open to close, a UDP socket from a successful
// socket()+bind() to close, a TCP socket from the moment it is hashed
// (listen, connect, a child of a listener) until it is unhashed, TIME-WAIT
// included (ss -t lists TIME-WAIT sockets, and children waiting in the accept
// queue), or, when its connection ends under a user who holds it (a reset),
// until that user closes it, as an fd outlives tcp_done. Each add, state
// change and removal is told to the stack's event bus.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { NetdevEvent, Notifier } from '../dev/notifier.ts';
import type { Sock, SockState } from './sock.ts';

export type SocketFamily = 'packet' | 'inet';
export type SocketType = 'raw' | 'dgram' | 'stream';

/** A socket's memory as ss prints it (Recv-Q, Send-Q and `ss -m`'s skmem), the same for every family. */
export interface SockMemInfo {
  /** Bytes queued for the reader (truesize, as ss's Recv-Q for a packet socket). */
  recv_q: number;
  /** Bytes sent and not yet freed. */
  send_q: number;
  rmem: number;
  rcvbuf: number;
  wmem: number;
  sndbuf: number;
  drops: number;
}

/** The memory fields of a socket's description, read from its sock (sock_diag_put_meminfo). */
export function sockMemInfo(sk: Sock): SockMemInfo {
  return {
    recv_q: sk.rmemAlloc,
    send_q: sk.wmemAlloc,
    rmem: sk.rmemAlloc,
    rcvbuf: sk.rcvbuf,
    wmem: sk.wmemAlloc,
    sndbuf: sk.sndbuf,
    drops: sk.drops,
  };
}

/** One line of `GET /v1/sockets` (ss -a): the common fields, then the family's own. */
export interface SocketDescription extends SockMemInfo {
  id: number;
  family: SocketFamily;
  type: SocketType;
  state: SockState;
  /** Local address as ss prints it (a packet socket: its device, or "*"). */
  local: string;
  peer: string;
  [field: string]: unknown;
}

/** What every socket in the table is. */
export interface StackSocket {
  readonly id: number;
  readonly family: SocketFamily;
  readonly type: SocketType;
  /** Ethertype (packet) or IP protocol number (inet). */
  readonly protocol: number;
  readonly sk: Sock;
  /** ss's State column now (UNCONN, LISTEN, ESTAB, TIME-WAIT, ...), without building the description. */
  readonly state: SockState;
  /** The device it is bound to (SO_BINDTODEVICE, packet bind), or null. */
  readonly boundDev: NetDevice | null;
  /** Datagrams or frames queued to the reader, and handed down to send. */
  readonly received: number;
  readonly sent: number;
  describe(): SocketDescription;
  /** Release everything; the socket leaves the table. */
  close(): void;
  /**
   * Whether it counts against the table's limit: a socket a user holds open,
   * as a file descriptor would (absent: yes). A TCP listener's children and
   * sockets their user has closed (FIN-WAIT, TIME-WAIT) are listed but held
   * by no one.
   */
  readonly userHeld?: boolean;
  /** A device event for the device it is bound to (packet_notifier). */
  netdevEvent?(event: NetdevEvent, dev: NetDevice): void;
}

export class SocketTable {
  private readonly byId = new Map<number, StackSocket>();
  /**
   * Sockets bound to a device, by device (the device a socket had when it
   * joined: none rebinds): a device event reaches its own sockets without a
   * pass over every socket, which with a capture or stream per device made
   * deleting n devices cost n passes.
   */
  private readonly byDev = new Map<NetDevice, Set<StackSocket>>();
  /**
   * The sockets counted against the limit, a superset kept lazily: a socket
   * stops being held (its user closed it) without always telling, so full()
   * prunes those whose userHeld went false. A socket becomes held only
   * through add() or hold(). Keeps full() from walking every TIME-WAIT
   * socket of a busy service.
   */
  private readonly held = new Set<StackSocket>();
  /** Waiting for room under the limit (a listener whose accept() met EMFILE). */
  private roomWaiters: (() => void)[] = [];
  private nextId = 1;

  constructor(
    notifier: Notifier,
    private readonly limit: () => number,
    /** Told of every socket that joins, changes state in or leaves the table (the stack's event bus). */
    private readonly onChange: (action: 'new' | 'del' | 'change', sock: StackSocket) => void = () => {},
  ) {
    notifier.subscribe((event, dev) => this.deviceEvent(event, dev));
  }

  get size(): number {
    return this.byId.size;
  }

  /** Users hold as many sockets as the limit allows (RLIMIT_NOFILE's role): another would be EMFILE. */
  full(): boolean {
    const max = this.limit();
    if (this.held.size < max) return false;
    for (const sock of this.held) if (sock.userHeld === false) this.held.delete(sock);
    return this.held.size >= max;
  }

  /** A socket its user now holds (a TCP child taken by accept()): it counts against the limit from now on. */
  hold(sock: StackSocket): void {
    if (this.byId.get(sock.id) === sock && sock.userHeld !== false) this.held.add(sock);
  }

  /** Call `fn` once, the next time a socket leaves the table or changes state while there is room. */
  whenRoom(fn: () => void): void {
    this.roomWaiters.push(fn);
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0 || this.full()) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const fn of waiters) fn();
  }

  /** EMFILE when the table is full(). */
  checkLimit(): void {
    if (this.full()) throw new NetError('EMFILE', `no more than ${this.limit()} sockets may be open`);
  }

  /** EMFILE when the table is full; the id to give a socket about to be made. */
  reserveId(): number {
    this.checkLimit();
    return this.nextId++;
  }

  /**
   * An id without the limit: for sockets the network makes, not a user (a
   * TCP listener's children, bounded by its backlog while they wait, as
   * Linux counts them against no file table until accept()).
   */
  allocId(): number {
    return this.nextId++;
  }

  add(sock: StackSocket): void {
    this.byId.set(sock.id, sock);
    const dev = sock.boundDev;
    if (dev !== null) {
      const set = this.byDev.get(dev);
      if (set === undefined) this.byDev.set(dev, new Set([sock]));
      else set.add(sock);
    }
    if (sock.userHeld !== false) this.held.add(sock);
    this.onChange('new', sock);
  }

  /** The socket's state changed (tcp_set_state): told once, as a 'change' event. */
  changed(sock: StackSocket): void {
    if (this.byId.get(sock.id) !== sock) return;
    this.onChange('change', sock);
    this.wakeRoomWaiters();
  }

  remove(sock: StackSocket): void {
    if (this.byId.get(sock.id) !== sock) return;
    this.byId.delete(sock.id);
    const dev = sock.boundDev;
    const set = dev === null ? undefined : this.byDev.get(dev);
    if (set !== undefined) {
      set.delete(sock);
      if (set.size === 0) this.byDev.delete(dev!);
    }
    this.held.delete(sock);
    this.onChange('del', sock);
    this.wakeRoomWaiters();
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get(id: number): StackSocket | undefined {
    return this.byId.get(id);
  }

  /** Every open socket, in id order (ids only grow, so insertion order). */
  values(): IterableIterator<StackSocket> {
    return this.byId.values();
  }

  list(family?: SocketFamily): StackSocket[] {
    const all = [...this.byId.values()];
    return family === undefined ? all : all.filter((s) => s.family === family);
  }

  /** Close every socket (stack shutdown). */
  closeAll(): void {
    this.roomWaiters = [];
    for (const sock of [...this.byId.values()]) sock.close();
  }

  private deviceEvent(event: NetdevEvent, dev: NetDevice): void {
    if (event !== 'UNREGISTER' && event !== 'DOWN' && event !== 'UP') return;
    // A copy first (a socket may close from its handler); only the device's own
    // sockets (packet_notifier walks the sockets of the family, we the device's).
    const set = this.byDev.get(dev);
    if (set === undefined) return;
    for (const sock of [...set]) sock.netdevEvent?.(event, dev);
  }
}
