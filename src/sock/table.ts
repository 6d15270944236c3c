// The stack's one socket table: every socket of every family registers
// here, so the API, the metrics and the CLI enumerate one list, like the
// sockets ss reads from /proc. Device events reach the sockets bound to a
// device from here, once, instead of through one listener per user.

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
  /** The device it is bound to (SO_BINDTODEVICE, packet bind), or null. */
  readonly boundDev: NetDevice | null;
  /** Datagrams or frames queued to the reader, and handed down to send. */
  readonly received: number;
  readonly sent: number;
  describe(): SocketDescription;
  /** Release everything; the socket leaves the table. */
  close(): void;
  /** A device event for the device it is bound to (packet_notifier). */
  netdevEvent?(event: NetdevEvent, dev: NetDevice): void;
}

export class SocketTable {
  private readonly byId = new Map<number, StackSocket>();
  private nextId = 1;

  constructor(
    notifier: Notifier,
    private readonly limit: () => number,
    /** Told of every socket that joins or leaves the table (the stack's event bus). */
    private readonly onChange: (action: 'new' | 'del', sock: StackSocket) => void = () => {},
  ) {
    notifier.subscribe((event, dev) => this.deviceEvent(event, dev));
  }

  get size(): number {
    return this.byId.size;
  }

  /** EMFILE when the table is full; the id to give a socket about to be made. */
  reserveId(): number {
    const max = this.limit();
    if (this.byId.size >= max) throw new NetError('EMFILE', `no more than ${max} sockets may be open`);
    return this.nextId++;
  }

  add(sock: StackSocket): void {
    this.byId.set(sock.id, sock);
    this.onChange('new', sock);
  }

  remove(sock: StackSocket): void {
    if (this.byId.get(sock.id) !== sock) return;
    this.byId.delete(sock.id);
    this.onChange('del', sock);
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
    for (const sock of [...this.byId.values()]) sock.close();
  }

  private deviceEvent(event: NetdevEvent, dev: NetDevice): void {
    if (event !== 'UNREGISTER' && event !== 'DOWN' && event !== 'UP') return;
    for (const sock of [...this.byId.values()]) if (sock.boundDev === dev) sock.netdevEvent?.(event, dev);
  }
}
