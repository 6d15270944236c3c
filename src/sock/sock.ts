// Socket memory charging and flow control: the seed's "Higher Level Support
// Routines". A buffer charged to a socket carries a destructor that credits
// the memory back when the buffer is freed; so a device that is slow to free
// what it transmitted throttles its senders, and a reader that is slow to
// read loses frames at its own queue instead of growing memory.

import { NetError, wouldBlock, type ErrnoName } from '../errno.ts';
import type { Clock } from '../clock.ts';
import { allocSkbFrom, SKB_HEAD_SIZE, type SkBuff } from '../skb/skbuff.ts';
import { SkbQueue } from '../skb/queue.ts';
import type { SkbPool } from '../skb/pool.ts';
import type { Sysctl } from '../sysctl.ts';

/**
 * TCP_SKB_MIN_TRUESIZE (2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff))) and
 * Linux's minimums built on it (include/net/sock.h): SOCK_MIN_RCVBUF = 2304,
 * SOCK_MIN_SNDBUF = 4608. Setting SO_RCVBUF or SO_SNDBUF to 0 gives these.
 */
const TCP_SKB_MIN_TRUESIZE = 2048 + SKB_HEAD_SIZE;
export const SOCK_MIN_RCVBUF = TCP_SKB_MIN_TRUESIZE;
export const SOCK_MIN_SNDBUF = 2 * TCP_SKB_MIN_TRUESIZE;

export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;

export interface SockContext {
  pool: SkbPool;
  clock: Clock;
  sysctl: Sysctl;
}

/** What ss prints in its State column; a datagram or raw socket is UNCONN. */
export type SockState =
  | 'UNCONN' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECV' | 'ESTAB' | 'FIN-WAIT-1' | 'FIN-WAIT-2'
  | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT' | 'CLOSE';

export interface SendWaitOptions {
  nonblock?: boolean;
  /** An aborted signal is the user's interrupt: EINTR. */
  signal?: AbortSignal;
  /** SO_SNDTIMEO: give up with EAGAIN after this long. Undefined waits forever. */
  timeoutMs?: number;
}

/** How a reader waits (skb_recv_datagram): the same three knobs as a sender. */
export type RecvWaitOptions = SendWaitOptions;

type Waiter = () => void;

export class Sock {
  rcvbuf: number;
  sndbuf: number;
  rmemAlloc = 0;
  wmemAlloc = 0;
  readonly receiveQueue = new SkbQueue();
  /** Pending error, reported once to the next caller (sock_error). */
  err: ErrnoName | null = null;
  shutdown = 0;
  /** Frames refused at this socket's receive queue. */
  drops = 0;
  /** A sender found the send buffer full (SOCK_NOSPACE). */
  nospace = false;
  /** The protocol's state, in ss's names (sk_state). */
  ssState: SockState = 'UNCONN';
  /** sk_data_ready: called after a frame is queued (the owner's own hook; more via addDataReadyListener). */
  onDataReady: (() => void) | null = null;
  /** sk_write_space: called when freed transmit memory makes room. */
  onWriteSpace: (() => void) | null = null;
  private waiters: Waiter[] = [];
  private readers: Waiter[] = [];
  private dataListeners: (() => void)[] = [];
  private errorListeners: ((errno: ErrnoName) => void)[] = [];

  constructor(readonly ctx: SockContext) {
    this.rcvbuf = ctx.sysctl.get('net.core.rmem_default');
    this.sndbuf = ctx.sysctl.get('net.core.wmem_default');
  }

  /** SO_RCVBUF: clamp to rmem_max, double for bookkeeping, keep a minimum (sock_setsockopt). */
  setRcvbuf(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new NetError('EINVAL', 'SO_RCVBUF takes a non-negative integer');
    const val = Math.min(bytes, this.ctx.sysctl.get('net.core.rmem_max'));
    this.rcvbuf = Math.max(val * 2, SOCK_MIN_RCVBUF);
  }

  /** SO_SNDBUF: the same rule with wmem_max; wakes senders if it grew. */
  setSndbuf(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new NetError('EINVAL', 'SO_SNDBUF takes a non-negative integer');
    const val = Math.min(bytes, this.ctx.sysctl.get('net.core.wmem_max'));
    this.sndbuf = Math.max(val * 2, SOCK_MIN_SNDBUF);
    this.writeSpace();
  }

  /** Another sk_data_ready listener (a reader, a stream, a capture). Returns the remover. */
  addDataReadyListener(fn: () => void): () => void {
    this.dataListeners = [...this.dataListeners, fn];
    return () => {
      this.dataListeners = this.dataListeners.filter((l) => l !== fn);
    };
  }

  /** sk_error_report listeners: told the errno when one is set. Returns the remover. */
  addErrorListener(fn: (errno: ErrnoName) => void): () => void {
    this.errorListeners = [...this.errorListeners, fn];
    return () => {
      this.errorListeners = this.errorListeners.filter((l) => l !== fn);
    };
  }

  /** sk_data_ready: wake readers and tell every listener. */
  dataReady(): void {
    if (this.readers.length > 0) this.wakeReaders();
    this.onDataReady?.();
    const ls = this.dataListeners;
    for (let i = 0; i < ls.length; i++) ls[i]!();
  }

  /** Set a pending error (sk_err), wake everyone waiting and report it (sk_error_report). */
  setError(errno: ErrnoName): void {
    this.err = errno;
    this.wakeAll();
    this.wakeReaders();
    for (const fn of this.errorListeners) fn(errno);
  }

  /** sock_error: take the pending error, if any (it is reported once). */
  takeError(): ErrnoName | null {
    const err = this.err;
    this.err = null;
    return err;
  }

  setShutdown(how: number): void {
    this.shutdown |= how;
    this.wakeAll();
    this.wakeReaders();
  }

  get waitingReaders(): number {
    return this.readers.length;
  }

  /** Park until data, an error, shutdown, timeout or abort, whichever is first. */
  waitForData(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return this.park(this.readers, timeoutMs, signal);
  }

  /** sock_writeable: at least half the send buffer is free. */
  writeable(): boolean {
    return this.wmemAlloc < this.sndbuf >> 1;
  }

  /** sk_write_space (sock_def_write_space): wake senders once half the buffer is free. */
  writeSpace(): void {
    if (!this.writeable()) return;
    this.nospace = false;
    this.wakeAll();
    this.onWriteSpace?.();
  }

  get waitingSenders(): number {
    return this.waiters.length;
  }

  /** Park until write space, an error, shutdown, timeout or abort, whichever is first. */
  waitForWmem(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return this.park(this.waiters, timeoutMs, signal);
  }

  private park(list: Waiter[], timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: { cancel(): void } | null = null;
      const done = (): void => {
        if (timer !== null) timer.cancel();
        signal?.removeEventListener('abort', done);
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        resolve();
      };
      list.push(done);
      if (Number.isFinite(timeoutMs)) timer = this.ctx.clock.setTimer(timeoutMs, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wakeAll(): void {
    if (this.waiters.length === 0) return;
    for (const w of [...this.waiters]) w();
  }

  private wakeReaders(): void {
    if (this.readers.length === 0) return;
    for (const w of [...this.readers]) w();
  }
}

/** sock_rfree: credit receive memory when a queued frame is freed. */
export function sockRfree(skb: SkBuff): void {
  const sk = skb.sk;
  if (sk !== null) sk.rmemAlloc -= skb.truesize;
}

/** sock_wfree: credit send memory when a transmitted frame is freed, and wake writers. */
export function sockWfree(skb: SkBuff): void {
  const sk = skb.sk;
  if (sk === null) return;
  sk.wmemAlloc -= skb.truesize;
  sk.writeSpace();
}

/** skb_set_owner_r: the socket pays for this buffer until it is freed. */
export function setOwnerR(skb: SkBuff, sk: Sock): void {
  skb.orphan();
  skb.sk = sk;
  skb.destructor = sockRfree;
  sk.rmemAlloc += skb.truesize;
}

/** skb_set_owner_w. */
export function setOwnerW(skb: SkBuff, sk: Sock): void {
  skb.orphan();
  skb.sk = sk;
  skb.destructor = sockWfree;
  sk.wmemAlloc += skb.truesize;
}

/**
 * sock_queue_rcv_skb: charge and queue, or refuse when the receive buffer is
 * already full. As __sock_queue_rcv_skb, the test is `rmem >= rcvbuf` BEFORE
 * charging: an empty socket always takes one frame, even one whose truesize
 * exceeds rcvbuf, and the last frame accepted may overshoot it. On refusal
 * the caller still owns the buffer and frees it with drop reason
 * SOCKET_RCVBUFF.
 */
export function queueRcvSkb(sk: Sock, skb: SkBuff): boolean {
  if (sk.rmemAlloc >= sk.rcvbuf || (sk.shutdown & RCV_SHUTDOWN) !== 0) {
    sk.drops++;
    return false;
  }
  setOwnerR(skb, sk);
  sk.receiveQueue.queueTail(skb);
  sk.dataReady();
  return true;
}

/** One pass of __skb_try_recv_datagram: error first, then data, then EOF, then wait or EAGAIN. */
function tryRecv(sk: Sock, canWait: boolean, signal: AbortSignal | undefined): SkBuff | null | typeof WAIT {
  const err = sk.takeError();
  if (err !== null) throw new NetError(err, `pending socket error: ${err}`);
  const skb = sk.receiveQueue.dequeue();
  if (skb !== null) return skb;
  if ((sk.shutdown & RCV_SHUTDOWN) !== 0) return null;
  if (!canWait) throw wouldBlock('nothing to read');
  if (signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for data');
  return WAIT;
}

/**
 * skb_recv_datagram: the next queued buffer, waiting for one unless told not
 * to. null means end of file (shut down for reading with nothing left). When
 * data is there it comes back synchronously (no Promise per frame). Errors:
 * a pending socket error (reported once), EAGAIN when nonblocking or the
 * timeout (SO_RCVTIMEO) ran out, EINTR when the signal aborted the wait.
 * The caller owns the buffer and frees it, which credits rmem.
 */
export function recvSkb(sk: Sock, opts: RecvWaitOptions = {}): SkBuff | null | Promise<SkBuff | null> {
  const canWait = opts.nonblock !== true && opts.timeoutMs !== 0;
  const r = tryRecv(sk, canWait, opts.signal);
  if (r !== WAIT) return r;
  return waitForRecv(sk, opts);
}

async function waitForRecv(sk: Sock, opts: RecvWaitOptions): Promise<SkBuff | null> {
  const clock = sk.ctx.clock;
  const deadline = opts.timeoutMs === undefined ? Infinity : clock.now() + opts.timeoutMs;
  for (;;) {
    await sk.waitForData(deadline - clock.now(), opts.signal);
    const timedOut = deadline - clock.now() <= 0;
    const r = tryRecv(sk, !timedOut, opts.signal);
    if (r !== WAIT) return r;
  }
}

const WAIT = Symbol('wait');

/** One pass of sock_alloc_send_pskb's loop, in the kernel's order of checks. */
function trySendAlloc(sk: Sock, size: number, canWait: boolean, signal: AbortSignal | undefined): SkBuff | typeof WAIT {
  const err = sk.err;
  if (err !== null) {
    sk.err = null;
    throw new NetError(err, `pending socket error: ${err}`);
  }
  if ((sk.shutdown & SEND_SHUTDOWN) !== 0) throw new NetError('EPIPE', 'socket is shut down for sending');
  if (sk.wmemAlloc < sk.sndbuf) {
    const skb = allocSkbFrom(sk.ctx.pool, size);
    if (skb === null) throw new NetError('ENOBUFS', `no memory for a ${size}-byte buffer`);
    setOwnerW(skb, sk);
    return skb;
  }
  sk.nospace = true;
  if (!canWait) throw wouldBlock('send buffer is full');
  if (signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for send buffer space');
  return WAIT;
}

/**
 * sock_alloc_send_skb: a buffer of `size` bytes charged to `sk`, waiting for
 * space in the send buffer unless told not to. When there is room the buffer
 * comes back synchronously (no Promise per frame); only a sender that must
 * wait gets a Promise. May overshoot sndbuf by one buffer, as the kernel does.
 * Immediate failures throw NetError; a wait that fails rejects with one.
 */
export function allocSendSkb(sk: Sock, size: number, opts: SendWaitOptions = {}): SkBuff | Promise<SkBuff> {
  const canWait = opts.nonblock !== true && opts.timeoutMs !== 0;
  const r = trySendAlloc(sk, size, canWait, opts.signal);
  if (r !== WAIT) return r;
  return waitForSendAlloc(sk, size, opts);
}

async function waitForSendAlloc(sk: Sock, size: number, opts: SendWaitOptions): Promise<SkBuff> {
  const clock = sk.ctx.clock;
  const deadline = opts.timeoutMs === undefined ? Infinity : clock.now() + opts.timeoutMs;
  for (;;) {
    const remaining = deadline - clock.now();
    await sk.waitForWmem(remaining, opts.signal);
    const timedOut = deadline - clock.now() <= 0;
    const r = trySendAlloc(sk, size, !timedOut, opts.signal);
    if (r !== WAIT) return r;
  }
}
