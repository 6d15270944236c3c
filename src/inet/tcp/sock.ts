// One TCP connection: the RFC 9293 state machine with Linux's behaviour
// (net/ipv4/tcp_input.c, tcp_output.c, tcp_timer.c), on the stack's skbs and
// Sock memory charging.
//
// The seed's flow control, end to end:
// - Send side: write() copies into skbs charged to wmem (setOwnerW through
//   allocSendSkb). They stay on the write queue until ACKed, so a peer that
//   does not ACK (a slow reader, a closed window) fills sndbuf and the writer
//   waits: "TCP actually tells the sending machine to shut up".
// - Receive side: segments are charged to rmem (setOwnerR) on the receive or
//   out-of-order queue; the advertised window is what rcvbuf can still take
//   (tcp_space), so a reader that stops reading closes the window to zero,
//   the peer's persist timer probes it, and reading sends a window update.
//
// The hot path never throws: a bad segment is freed with a drop reason and
// counted. Control operations (connect, write, read, close) throw NetError.

import { NetError, type ErrnoName } from '../../errno.ts';
import { RCV_SHUTDOWN, SEND_SHUTDOWN, Sock, allocSendSkb, setOwnerR, setOwnerW, type SendWaitOptions } from '../../sock/sock.ts';
import { CHECKSUM_PARTIAL, allocSkbFrom, type SkBuff } from '../../skb/skbuff.ts';
import type { DropReason } from '../../skb/drop-reason.ts';
import {
  emitTcp,
  seqAfter,
  seqBefore,
  TCP_ACK,
  TCP_FIN,
  TCP_HLEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcpChecksum,
  tcpOptionsLength,
  type TcpOptions,
  type TcpRepr,
  type TcpSackBlock,
} from '../../wire/tcp.ts';
import { newCongestionOps, type CongestionOps } from './cong.ts';
import { MAX_TCP_HEADER, type DstHolder } from './ip-ops.ts';
import { LazyTimer } from './timer.ts';
// Type-only: the protocol table owns sockets; a socket calls back into it.
import type { TcpProto } from './proto.ts';

/** Linux's state numbers (include/net/tcp_states.h). */
export const TcpState = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/** The names `ss` prints. */
export const TCP_STATE_NAMES: Record<TcpState, string> = {
  1: 'ESTAB',
  2: 'SYN-SENT',
  3: 'SYN-RECV',
  4: 'FIN-WAIT-1',
  5: 'FIN-WAIT-2',
  6: 'TIME-WAIT',
  7: 'UNCONN',
  8: 'CLOSE-WAIT',
  9: 'LAST-ACK',
  10: 'LISTEN',
  11: 'CLOSING',
};

export const TCP_RTO_MIN = 200;
export const TCP_RTO_MAX = 120_000;
export const TCP_TIMEOUT_INIT = 1000;
export const TCP_DELACK_MAX = 200;
export const TCP_DELACK_MIN = 40;
/** 2MSL as Linux has it: TIME-WAIT lasts 60 s whatever tcp_fin_timeout says. */
export const TCP_TIMEWAIT_LEN = 60_000;
export const TCP_INIT_CWND = 10;
/** TCP_MAX_QUICKACKS. */
const MAX_QUICKACKS = 16;
/** RFC 9293 default MSS when the peer sends none. */
export const TCP_MSS_DEFAULT = 536;
const TCP_PROBE_MAX = TCP_RTO_MAX;
const DUPTHRESH = 3;

// Scoreboard bits per segment (TCPCB_SACKED_ACKED, TCPCB_LOST, TCPCB_SACKED_RETRANS, TCPCB_EVER_RETRANS).
const S_SACKED = 1;
const S_LOST = 2;
const S_RETRANS = 4;
const S_EVER_RETRANS = 8;

const CA_OPEN = 0;
const CA_DISORDER = 1;
const CA_RECOVERY = 3;
const CA_LOSS = 4;

/** Transmissions so far, all connections (numbers TcpSeg.txOrder, which only has to grow). */
let txCount = 0;

/**
 * What a connection keeps to recover from loss, made on first need (an idle
 * connection has none): PRR's counts, RACK's, the tail loss probe's and the
 * undo's.
 */
class LossState {
  // Proportional Rate Reduction (RFC 6937; tcp_init_cwnd_reduction, tcp_cwnd_reduction).
  /** cwnd when the reduction began (prior_cwnd). */
  priorCwnd = 0;
  /** Segments delivered (acked or SACKed) to the peer since the reduction began. */
  prrDelivered = 0;
  /** Segments sent since the reduction began. */
  prrOut = 0;
  /** Segments ever marked lost: the difference across one ACK is that ACK's newly lost. */
  lostMarks = 0;
  // RACK (RFC 8985 §6; net/ipv4/tcp_recovery.c).
  /** The round trip of the last delivery (rack.rtt_us), ms. */
  rackRtt = 0;
  /** A delivery advanced the RACK state since the last loss scan (rack.advanced). */
  rackAdvanced = false;
  /** Reordering was seen on this connection (reord_seen): the reordering window stays open. */
  reordSeen = false;
  /** txOrder of the most recently sent segment known delivered (rack.mstamp, rack.end_seq). */
  rackXmitOrder = 0;
  // Undo of a reduction that proves spurious (tcp_init_undo, tcp_try_undo_*; RFC 2883 §5, RFC 3522).
  /** The episode can be undone (undo_marker set). */
  undoActive = false;
  /** snd_una when the episode began (undo_marker). */
  undoSeq = 0;
  /** Retransmissions not yet reported duplicate by D-SACK (undo_retrans); -1: none made. */
  undoRetrans = -1;
  /** ssthresh to go back to (prior_ssthresh); 0 when there is none. */
  priorSsthresh = 0;
  /** TSval of the first retransmission of the episode (retrans_stamp); 0 when none. */
  retransStamp = 0;
  /** TSecr of the ACK being processed (rx_opt.rcv_tsecr); 0 when none. */
  rcvTsecr = 0;
  // Tail loss probe (RFC 8985 §7; tcp_schedule_loss_probe, tcp_send_loss_probe, tcp_process_tlp_ack).
  /** A probe is out and its episode not over (tlp_high_seq != 0). */
  tlpActive = false;
  /** snd_nxt when the probe went (tlp_high_seq). */
  tlpHighSeq = 0;
  /** The probe was a retransmission, not new data (tlp_retrans). */
  tlpRetrans = false;
  /** The loss probe timer (ICSK_TIME_LOSS_PROBE; Linux shares the RTO's, here its own so an ACK only moves a deadline). */
  tlpTimer: LazyTimer | null = null;
  /** RACK's reordering timer (ICSK_TIME_REO_TIMEOUT). */
  reoTimer: LazyTimer | null = null;
}

/** One segment on the write queue: its skb (payload only), sequence span and scoreboard. */
export class TcpSeg {
  sacked = 0;
  txTime = 0;
  /**
   * Order of its last transmission on the connection: RACK's "sent after"
   * (tcp_rack_sent_after compares times, then sequence for ties; a
   * millisecond clock ties often, so the order is counted instead).
   */
  txOrder = 0;
  constructor(
    public skb: SkBuff,
    public seq: number,
    public end: number,
    /** TCP_SYN and/or TCP_FIN: they take a sequence number each. */
    public ctl: number,
  ) {}

  get dataLen(): number {
    return this.skb.len;
  }
}

interface OfoSeg {
  skb: SkBuff;
  seq: number;
  end: number;
  fin: boolean;
}

export interface TcpInfo {
  state: string;
  rtt_ms: number;
  rttvar_ms: number;
  rto_ms: number;
  snd_mss: number;
  rcv_mss: number;
  snd_cwnd: number;
  snd_ssthresh: number;
  snd_wnd: number;
  rcv_wnd: number;
  retrans: number;
  total_retrans: number;
  lost: number;
  sacked: number;
  unacked: number;
  zero_window_probes: number;
  bytes_acked: number;
  bytes_received: number;
  segs_out: number;
  segs_in: number;
  ca_state: string;
  congestion_control: string;
}

export interface TcpSockOptions {
  rcvbuf?: number;
  sndbuf?: number;
  nodelay?: boolean;
  keepalive?: boolean;
}

export interface ReadOptions {
  nonblock?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const CA_NAMES = ['open', 'disorder', 'cwr', 'recovery', 'loss'];

export class TcpSock extends Sock implements DstHolder {
  state: TcpState = TcpState.CLOSE;
  laddr = 0;
  lport = 0;
  raddr = 0;
  rport = 0;

  // Send sequence space (RFC 9293 §3.3.1).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Sequence number after the last byte queued by the user (write_seq). */
  writeSeq = 0;
  maxWindow = 0;
  /** End of the last small segment sent (Minshall's Nagle variant, snd_sml). */
  private sndSml = 0;
  sndWscale = 0;
  /** Payload bytes per segment (mss_cache): the peer's MSS and our path, less options. */
  mss = TCP_MSS_DEFAULT;
  /** The MSS we advertise. */
  advMss = TCP_MSS_DEFAULT;
  /** Write queue: [wqHead, sendHead) sent and unacked, [sendHead, end) not sent yet. */
  private wq: TcpSeg[] = [];
  private wqHead = 0;
  private sendHead = 0;

  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  rcvWnd = 0;
  /** rcv_nxt when the window was last advertised (rcv_wup). */
  rcvWup = 0;
  rcvWscale = 0;
  windowClamp = 65535;
  /** Sequence number of the next byte the user will read (copied_seq). */
  copiedSeq = 0;
  private ofo: OfoSeg[] = [];
  /** A duplicate span to report in the next ACK's first SACK block (RFC 2883; rx_opt.dsack, duplicate_sack[0]). */
  private dsack: TcpSackBlock | null = null;
  /** Most recently received out-of-order span, reported first in SACK (RFC 2018 §4). */
  private lastOfo: OfoSeg | null = null;
  /** Payload bytes per byte of truesize (tcp_sock.scaling_ratio / 256). */
  private scalingRatio = 0.5;
  /** Payload size of the largest segment received (icsk_ack.rcv_mss). */
  private rcvMss = TCP_MSS_DEFAULT;

  // Options agreed in the handshake.
  tsOn = false;
  sackOn = false;
  wsOn = false;
  tsRecent = 0;
  private tsRecentStamp = 0;
  tsOffset = 0;

  // RTT and RTO (RFC 6298), milliseconds.
  srtt = 0;
  rttvar = 0;
  rto = TCP_TIMEOUT_INIT;
  /** Consecutive RTO expiries without progress (icsk_retransmits). */
  retransmits = 0;
  backoff = 0;

  // Congestion control.
  cwnd = TCP_INIT_CWND;
  ssthresh = 0x7fffffff;
  cwndCnt = 0;
  cwndClamp = 0x7fffffff;
  caState = CA_OPEN;
  /** snd_nxt when recovery or loss began (high_seq, NewReno's "recover"). */
  private highSeq = 0;
  private dupAcks = 0;
  packetsOut = 0;
  sackedOut = 0;
  lostOut = 0;
  retransOut = 0;
  cc: CongestionOps;
  /**
   * Loss-recovery state (PRR, RACK, TLP, undo): made when a connection first
   * has data to recover, so an idle connection carries none of it.
   */
  private rec: LossState | null = null;

  private get ls(): LossState {
    return (this.rec ??= new LossState());
  }
  /** Smallest round trip measured (tcp_min_rtt), ms; 0 before any. */
  private minRtt = 0;

  // Delayed ACK (inet_connection_sock's icsk_ack).
  private ackPending = false;
  private quick = 0;
  private lastRcvTime = 0;
  private lastSndDataTime = 0;

  // Persist and keepalive.
  probesOut = 0;
  keepalive = false;
  nodelay = false;
  private userRcvbuf = false;
  private userSndbuf = false;

  // tcp_info counters.
  /** Zero-window probes sent over the connection's life (probesOut is the current run). */
  zeroWindowProbes = 0;
  bytesAcked = 0;
  bytesReceived = 0;
  segsOut = 0;
  segsIn = 0;
  totalRetrans = 0;

  // Receive-buffer autotuning (tcp_rcv_space_adjust).
  private rcvqSpace = 0;
  private rcvqSpaceSeq = 0;
  private rcvqSpaceTime = 0;

  /** The user closed it (an orphan in Linux terms): no more reads, data arriving resets. */
  orphan = false;
  /** The peer's FIN is in (it took one sequence number past the data). */
  finReceived = false;
  /** Our FIN is queued (shutdown(SHUT_WR) or close). */
  private finQueued = false;

  // Listener side.
  parent: TcpSock | null = null;
  backlog = 0;
  readonly acceptQueue: TcpSock[] = [];
  /** Called when a connection is ready in the accept queue (a listener's sk_data_ready). */
  onAccept: ((child: TcpSock) => void) | null = null;
  /** Called on every state change (for `ip monitor`-like events). */
  onStateChange: ((sk: TcpSock, old: TcpState) => void) | null = null;

  private streamReaders: (() => void)[] = [];
  /** sock_owned_by_user: > 0 while a call is inside this socket. */
  private owned = 0;
  /**
   * The clock of the current event (tp->tcp_mstamp), ms. Linux reads the
   * clock once per event (tcp_mstamp_refresh at the top of
   * tcp_rcv_established, tcp_write_xmit, the timer handlers, ...) and
   * everything below uses the stamp; so does this socket: lockSock() reads it
   * when a call takes the socket, rcvLocked() for every segment (a backlog
   * segment is an event of its own), initChild() for a listener's child.
   * (Linux refreshes in tcp_write_xmit too, which it also reaches from
   * contexts that did not; here every path to it starts at one of these.) An
   * event is a few microseconds of synchronous code (and no time at all on
   * the virtual clock), so what the stamp misses is far below what anything
   * here measures. What it may not be is stale from an earlier event, hence
   * the refresh at every entry. Consequences, as in Linux: a segment sent
   * in the event that acknowledged another gets the same stamp (txTime =
   * the ACK's arrival, so an RTT sample is at most the event longer, never
   * shorter, and never negative: stamps are monotonic across events); a timer
   * armed during the event counts its delay from the stamp (LazyTimer.arm
   * takes it), so it may fire up to the event's length early, as a kernel
   * timer armed from tcp_jiffies32 may.
   */
  private mstamp = 0;
  /** sk_dst_cache: the IP layer's route for this connection, opaque here (see DstHolder). */
  dstCache: unknown = null;
  /** Segments that arrived while owned (sk_backlog), as skb, header pairs. */
  private readonly backlogQ: (SkBuff | TcpRepr)[] = [];
  private connectWaiter: { resolve: () => void; reject: (e: NetError) => void } | null = null;

  readonly rtoTimer: LazyTimer;
  private readonly delackTimer: LazyTimer;
  /** Keepalive, FIN-WAIT-2 and TIME-WAIT (Linux's sk_timer does all three). */
  private readonly kaTimer: LazyTimer;

  constructor(
    readonly proto: TcpProto,
    opts: TcpSockOptions = {},
  ) {
    super(proto.ops);
    const sys = proto.ops.tcpSysctl;
    this.rcvbuf = sys.get('net.ipv4.tcp_rmem_default');
    this.sndbuf = sys.get('net.ipv4.tcp_wmem_default');
    if (opts.rcvbuf !== undefined) {
      this.setRcvbuf(opts.rcvbuf);
      this.userRcvbuf = true;
    }
    if (opts.sndbuf !== undefined) {
      this.setSndbuf(opts.sndbuf);
      this.userSndbuf = true;
    }
    this.nodelay = opts.nodelay === true;
    this.keepalive = opts.keepalive === true;
    this.cc = newCongestionOps(sys.congestionControl(), proto.mib.ext);
    const clock = proto.ops.clock;
    this.rtoTimer = new LazyTimer(clock, () => this.timerLocked(0));
    this.delackTimer = new LazyTimer(clock, () => this.timerLocked(1));
    this.kaTimer = new LazyTimer(clock, () => this.timerLocked(2));
  }

  get stateName(): string {
    return TCP_STATE_NAMES[this.state];
  }

  /** recv_q as ss shows it: bytes received and not read (a listener: its accept queue). */
  get recvQ(): number {
    if (this.state === TcpState.LISTEN) return this.acceptQueue.length;
    return Math.max(0, ((this.rcvNxt - this.copiedSeq) | 0) - (this.finReceived ? 1 : 0));
  }

  /** send_q: bytes written and not yet acknowledged (a listener: its backlog). */
  get sendQ(): number {
    if (this.state === TcpState.LISTEN) return this.backlog;
    let n = (this.writeSeq - this.sndUna) >>> 0;
    if (this.finQueued && n > 0) n--;
    if (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV) n = Math.max(0, n - 1);
    return n;
  }

  // ---------------------------------------------------------------- user API

  /** Resolves once ESTABLISHED; rejects with the connect error (ECONNREFUSED, ETIMEDOUT, ...). */
  waitConnected(): Promise<void> {
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) return Promise.resolve();
    if (this.state !== TcpState.SYN_SENT && this.state !== TcpState.SYN_RECV) {
      return Promise.reject(new NetError(this.err ?? 'ENOTCONN', 'the connection is not being established'));
    }
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
    });
  }

  /**
   * write(): copy `data` into the send buffer and push it out. Blocking by
   * default: waits for room (sndbuf) until everything is queued; with a
   * timeout or signal it returns what was queued before it gave up, or throws
   * if that is nothing. `nonblock` takes what fits now (EAGAIN if nothing).
   */
  async write(data: Uint8Array, opts: SendWaitOptions = {}): Promise<number> {
    if (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV) {
      if (opts.nonblock === true) throw new NetError('EAGAIN', 'the connection is still being established');
      await this.waitConnected();
    }
    let done = 0;
    const clock = this.proto.ops.clock;
    const deadline = opts.timeoutMs === undefined ? undefined : clock.now() + opts.timeoutMs;
    while (done < data.length) {
      const e = this.sendCheck(done === 0);
      if (e !== null) {
        if (done > 0) break;
        throw e;
      }
      done += this.appendToTail(data, done);
      if (done >= data.length) break;
      const left = deadline === undefined ? undefined : Math.max(0, deadline - clock.now());
      let got: SkBuff | Promise<SkBuff>;
      try {
        // Without a deadline the caller's options say it all (no object per segment).
        got = allocSendSkb(this, MAX_TCP_HEADER + this.mss, deadline === undefined ? opts : { nonblock: opts.nonblock, signal: opts.signal, timeoutMs: left });
        if (got instanceof Promise) {
          // Waiting: what is queued already must go out, or nothing frees space.
          this.pushLocked(true);
          got = await got;
        }
      } catch (err) {
        // tcp_sendmsg: what was copied is the answer; the error waits for the next call.
        if (done > 0 && err instanceof NetError) {
          // A pending socket error (reset, timeout) consumed by the allocation goes back for the next call.
          const transient = err.errno === 'EAGAIN' || err.errno === 'EINTR' || err.errno === 'EPIPE' || err.errno === 'ENOBUFS';
          if (!transient && this.err === null) this.err = err.errno;
          break;
        }
        throw err;
      }
      const skb = got;
      const late = this.sendCheck(false);
      if (late !== null) {
        skb.free();
        continue;
      }
      skb.reserve(MAX_TCP_HEADER);
      const n = Math.min(this.mss, data.length - done);
      skb.putData(data.subarray(done, done + n));
      this.wq.push(new TcpSeg(skb, this.writeSeq, (this.writeSeq + n) >>> 0, 0));
      this.writeSeq = (this.writeSeq + n) >>> 0;
      done += n;
    }
    this.pushLocked(false);
    return done;
  }

  /** lock_sock: take the socket; the outermost holder starts an event (tcp_mstamp_refresh). */
  private lockSock(): void {
    if (this.owned++ === 0) this.mstamp = this.proto.ops.clock.now();
  }

  /** push() from outside the socket's own processing. */
  private pushLocked(force: boolean): void {
    this.lockSock();
    try {
      this.push(force);
    } finally {
      this.release();
    }
  }

  /** What write() may not do now, as the error it raises. */
  private sendCheck(consume: boolean): NetError | null {
    if (this.err !== null) {
      const e = this.err;
      // After a partial write the error waits for the next call, as in Linux.
      if (consume) this.err = null;
      return new NetError(e, `pending socket error: ${e}`);
    }
    if ((this.shutdown & SEND_SHUTDOWN) !== 0 || this.finQueued) return new NetError('EPIPE', 'the socket is shut down for sending');
    if (this.state !== TcpState.ESTABLISHED && this.state !== TcpState.CLOSE_WAIT) return new NetError('ENOTCONN', 'the socket is not connected');
    return null;
  }

  /** Copy into the unsent tail segment while it has room (tcp_sendmsg's skb_tailroom path). */
  private appendToTail(data: Uint8Array, from: number): number {
    if (this.sendHead >= this.wq.length) return 0;
    const seg = this.wq[this.wq.length - 1]!;
    if (seg.ctl !== 0) return 0;
    const room = Math.min(this.mss - seg.dataLen, seg.skb.tailroom());
    if (room <= 0) return 0;
    const n = Math.min(room, data.length - from);
    seg.skb.putData(data.subarray(from, from + n));
    seg.end = (seg.end + n) >>> 0;
    this.writeSeq = (this.writeSeq + n) >>> 0;
    return n;
  }

  /**
   * read(): up to `max` bytes from the receive queue, opening the window as
   * it drains; null at end of stream (the peer's FIN, all read). Waits for
   * data unless `nonblock` (EAGAIN).
   */
  async read(max = 65536, opts: ReadOptions = {}): Promise<Buffer | null> {
    for (;;) {
      const r = this.readNow(max);
      if (r !== undefined) return r;
      if (opts.nonblock === true || opts.timeoutMs === 0) throw new NetError('EAGAIN', 'no data to read');
      if (opts.signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for data');
      await this.waitReadable(opts);
      if (opts.signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for data');
    }
  }

  /** One non-blocking read: data, null at EOF, undefined when there is nothing yet. Throws a pending error. */
  readNow(max = 65536): Buffer | null | undefined {
    this.lockSock();
    try {
      return this.readNowLocked(max);
    } finally {
      this.release();
    }
  }

  private readNowLocked(max: number): Buffer | null | undefined {
    if (this.state === TcpState.LISTEN) throw new NetError('ENOTCONN', 'a listening socket has no data to read');
    const q = this.receiveQueue;
    if (!q.isEmpty()) {
      const out = Buffer.allocUnsafe(Math.min(max, this.recvQ));
      let n = 0;
      while (n < out.length) {
        const skb = q.peek();
        if (skb === null) break;
        const take = Math.min(skb.len, out.length - n);
        skb.buf.copy(out, n, skb.data, skb.data + take);
        n += take;
        skb.pull(take);
        if (skb.len === 0) {
          q.dequeue();
          skb.free();
        }
      }
      this.copiedSeq = (this.copiedSeq + n) >>> 0;
      this.rcvSpaceAdjust();
      this.cleanupRbuf(n);
      return n === out.length ? out : out.subarray(0, n);
    }
    if (this.err !== null) {
      const e = this.err;
      this.err = null;
      throw new NetError(e, `pending socket error: ${e}`);
    }
    if ((this.shutdown & RCV_SHUTDOWN) !== 0 || this.state === TcpState.CLOSE) return null;
    if (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV) return undefined;
    return undefined;
  }

  /** Park until data, EOF, an error, a timeout or an abort. */
  waitReadable(opts: ReadOptions = {}): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: { cancel(): void } | null = null;
      const done = (): void => {
        timer?.cancel();
        opts.signal?.removeEventListener('abort', done);
        const i = this.streamReaders.indexOf(done);
        if (i >= 0) this.streamReaders.splice(i, 1);
        resolve();
      };
      this.streamReaders.push(done);
      if (opts.timeoutMs !== undefined) timer = this.proto.ops.clock.setTimer(opts.timeoutMs, done);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A listener's sk_data_ready: a connection is ready to accept. */
  wakeAcceptors(): void {
    this.wakeStreamReaders();
  }

  private wakeStreamReaders(): void {
    // sk_data_ready (sock_def_readable): the base's hook, the listeners added
    // with addDataReadyListener and the base's parked readers, not only the
    // owner's onDataReady.
    upcall(() => this.dataReady());
    if (this.streamReaders.length === 0) return;
    const r = this.streamReaders;
    this.streamReaders = [];
    for (const w of r) w();
  }

  /** accept(): the next established child; waits unless nonblock (EAGAIN). */
  async accept(opts: ReadOptions = {}): Promise<TcpSock> {
    for (;;) {
      if (this.state !== TcpState.LISTEN) throw new NetError('EINVAL', 'the socket is not listening');
      const child = this.acceptQueue.shift();
      if (child !== undefined) {
        child.parent = null;
        return child;
      }
      if (opts.nonblock === true) throw new NetError('EAGAIN', 'no connection to accept');
      await this.waitReadable(opts);
      if (opts.signal?.aborted) throw new NetError('EINTR', 'interrupted while waiting for a connection');
    }
  }

  /** shutdown(): SHUT_RD (1), SHUT_WR (2, sends FIN), SHUT_RDWR (3). */
  shutdownSock(how: number): void {
    this.lockSock();
    try {
      this.shutdownSockLocked(how);
    } finally {
      this.release();
    }
  }

  private shutdownSockLocked(how: number): void {
    if (this.state === TcpState.LISTEN || this.state === TcpState.CLOSE || this.state === TcpState.SYN_SENT) {
      throw new NetError('ENOTCONN', 'the socket is not connected');
    }
    if ((how & RCV_SHUTDOWN) !== 0) this.setShutdown(RCV_SHUTDOWN);
    if ((how & SEND_SHUTDOWN) !== 0) {
      this.setShutdown(SEND_SHUTDOWN);
      this.sendFin();
    }
    this.wakeStreamReaders();
  }

  /**
   * close(): FIN, and the connection finishes on its own (an orphan). As
   * Linux's tcp_close: unread data makes it a RST instead (RFC 2525 §2.17,
   * TCPAbortOnClose); a listener resets the connections nobody accepted.
   */
  close(): void {
    this.lockSock();
    try {
      this.closeLocked();
    } finally {
      this.release();
    }
  }

  private closeLocked(): void {
    if (this.orphan) return;
    this.orphan = true;
    const mib = this.proto.mib.ext;
    this.setShutdown(RCV_SHUTDOWN | SEND_SHUTDOWN);
    this.wakeStreamReaders();
    switch (this.state) {
      case TcpState.LISTEN:
        this.proto.stopListening(this);
        for (const child of this.acceptQueue.splice(0)) child.abort();
        this.setState(TcpState.CLOSE);
        this.destroy();
        return;
      case TcpState.CLOSE:
        this.destroy();
        return;
      case TcpState.SYN_SENT:
        this.failConnect('ECONNABORTED');
        this.setState(TcpState.CLOSE);
        this.destroy();
        return;
      case TcpState.TIME_WAIT:
        this.purgeReceive();
        return;
    }
    const unread = this.recvQ > 0 || this.ofo.length > 0;
    this.purgeReceive();
    if (unread) {
      mib.TCPAbortOnClose++;
      this.sendActiveReset();
      this.setState(TcpState.CLOSE);
      this.destroy();
      return;
    }
    if (this.state === TcpState.FIN_WAIT2) this.armFinWait2();
    this.sendFin();
  }

  /** abort(): RST now (SO_LINGER 0 close, or ss -K). */
  abort(): void {
    this.lockSock();
    try {
      this.abortLocked();
    } finally {
      this.release();
    }
  }

  private abortLocked(): void {
    // A listener aborts as it closes (its children are reset); close() does nothing for an orphan, so before orphan is set.
    if (this.state === TcpState.LISTEN) {
      this.closeLocked();
      return;
    }
    this.orphan = true;
    if (this.state !== TcpState.CLOSE && this.state !== TcpState.SYN_SENT && this.state !== TcpState.TIME_WAIT) this.sendActiveReset();
    this.failConnect('ECONNABORTED');
    this.setError('ECONNABORTED');
    this.setState(TcpState.CLOSE);
    this.destroy();
  }

  setNodelay(on: boolean): void {
    this.lockSock();
    try {
      this.setNodelayLocked(on);
    } finally {
      this.release();
    }
  }

  private setNodelayLocked(on: boolean): void {
    this.nodelay = on;
    if (on) this.push(false);
  }

  setKeepalive(on: boolean): void {
    this.lockSock();
    try {
      this.setKeepaliveLocked(on);
    } finally {
      this.release();
    }
  }

  private setKeepaliveLocked(on: boolean): void {
    this.keepalive = on;
    if (on && this.state === TcpState.ESTABLISHED) this.kaTimer.arm(this.proto.ops.tcpSysctl.get('net.ipv4.tcp_keepalive_time') * 1000, this.mstamp);
    else if (!on && this.state === TcpState.ESTABLISHED) this.kaTimer.clear();
  }

  /** A child takes its listener's socket options (inet_csk_clone_lock copies the sock). */
  inheritFrom(l: TcpSock): void {
    this.nodelay = l.nodelay;
    this.keepalive = l.keepalive;
    this.rcvbuf = l.rcvbuf;
    this.sndbuf = l.sndbuf;
    this.userRcvbuf = l.userRcvbuf;
    this.userSndbuf = l.userSndbuf;
  }

  override setRcvbuf(bytes: number): void {
    super.setRcvbuf(bytes);
    this.userRcvbuf = true;
  }

  override setSndbuf(bytes: number): void {
    super.setSndbuf(bytes);
    this.userSndbuf = true;
  }

  /** tcp_info as `ss -ti` shows it. */
  info(): TcpInfo {
    return {
      state: this.stateName,
      rtt_ms: round3(this.srtt),
      rttvar_ms: round3(this.rttvar),
      rto_ms: Math.round(this.rto),
      snd_mss: this.mss,
      rcv_mss: this.rcvMss,
      snd_cwnd: this.cwnd,
      snd_ssthresh: this.ssthresh >= 0x7fffffff ? 0x7fffffff : this.ssthresh,
      snd_wnd: this.sndWnd,
      rcv_wnd: this.rcvWnd,
      retrans: this.retransOut,
      total_retrans: this.totalRetrans,
      lost: this.lostOut,
      sacked: this.sackedOut,
      unacked: this.packetsOut,
      zero_window_probes: this.zeroWindowProbes,
      bytes_acked: this.bytesAcked,
      bytes_received: this.bytesReceived,
      segs_out: this.segsOut,
      segs_in: this.segsIn,
      ca_state: CA_NAMES[this.caState] ?? 'open',
      congestion_control: this.cc.name,
    };
  }

  /**
   * tcp_verify_left_out, and more: the counts (packets_out, sacked_out,
   * lost_out, retrans_out) agree with the marks on the retransmit queue, and
   * the queue covers [snd_una, snd_nxt) without a gap. Null when all is
   * well, else what is wrong. Not on any path: tests call it.
   */
  scoreboardError(): string | null {
    let pkts = 0;
    let sacked = 0;
    let lost = 0;
    let retrans = 0;
    let seq = this.sndUna;
    for (let i = this.wqHead; i < this.sendHead; i++) {
      const seg = this.wq[i]!;
      if (seg.seq !== seq) return `segment ${i} starts at ${seg.seq}, expected ${seq}`;
      if (seg.end !== ((seg.seq + seg.dataLen + ((seg.ctl & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0)) >>> 0)) return `segment ${i} length disagrees with its span`;
      seq = seg.end;
      pkts++;
      if ((seg.sacked & S_SACKED) !== 0) sacked++;
      if ((seg.sacked & S_LOST) !== 0) lost++;
      if ((seg.sacked & S_RETRANS) !== 0) retrans++;
      if ((seg.sacked & S_SACKED) !== 0 && (seg.sacked & (S_LOST | S_RETRANS)) !== 0) return `segment ${i} is SACKed and lost/retransmitted`;
    }
    if (this.sendHead > this.wqHead && seq !== this.sndNxt) return `queue ends at ${seq}, snd_nxt ${this.sndNxt}`;
    if (pkts !== this.packetsOut) return `packets_out ${this.packetsOut}, queue ${pkts}`;
    if (this.sackOn && sacked !== this.sackedOut) return `sacked_out ${this.sackedOut}, marked ${sacked}`;
    if (lost !== this.lostOut) return `lost_out ${this.lostOut}, marked ${lost}`;
    if (retrans !== this.retransOut) return `retrans_out ${this.retransOut}, marked ${retrans}`;
    if (this.sackedOut + this.lostOut > this.packetsOut) return `sacked_out ${this.sackedOut} + lost_out ${this.lostOut} > packets_out ${this.packetsOut}`;
    return null;
  }

  // ------------------------------------------------------------ state changes

  setState(s: TcpState): void {
    const old = this.state;
    if (old === s) return;
    const mib = this.proto.mib.tcp;
    if (old === TcpState.ESTABLISHED) mib.CurrEstab--;
    if (s === TcpState.ESTABLISHED) mib.CurrEstab++;
    if (s === TcpState.CLOSE && (old === TcpState.ESTABLISHED || old === TcpState.CLOSE_WAIT)) {
      // Counted by tcp_set_state only for resets; the callers count EstabResets.
    }
    this.state = s;
    this.proto.registry?.stateChanged(this, old);
    const cb = this.onStateChange;
    if (cb !== null) upcall(() => cb(this, old));
  }

  /** Tear down: timers, queues, tables. Idempotent. */
  destroy(): void {
    this.rtoTimer.stop();
    this.rec?.tlpTimer?.stop();
    this.rec?.reoTimer?.stop();
    this.delackTimer.stop();
    this.kaTimer.stop();
    this.purgeWrite();
    if (this.orphan) this.purgeReceive();
    this.proto.unhash(this);
    // sk_dst_reset: a closed socket holds no route (nor, through it, a device).
    this.dstCache = null;
    this.wakeStreamReaders();
    this.writeSpace();
  }

  private purgeWrite(): void {
    for (let i = this.wqHead; i < this.wq.length; i++) this.wq[i]!.skb.free();
    this.wq = [];
    this.wqHead = 0;
    this.sendHead = 0;
    this.packetsOut = this.sackedOut = this.lostOut = this.retransOut = 0;
  }

  private purgeReceive(): void {
    this.receiveQueue.purge();
    for (const o of this.ofo) o.skb.free();
    this.ofo = [];
    this.lastOfo = null;
    this.copiedSeq = this.rcvNxt;
  }

  private failConnect(errno: ErrnoName): void {
    const w = this.connectWaiter;
    if (w === null) return;
    this.connectWaiter = null;
    w.reject(new NetError(errno, connectErrorText(errno)));
  }

  /** tcp_done with an error: the user sees `errno` once (tcp_reset, tcp_write_err). */
  private fail(errno: ErrnoName): void {
    const wasSyn = this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV;
    if (wasSyn) this.proto.mib.tcp.AttemptFails++;
    else if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.proto.mib.tcp.EstabResets++;
    this.failConnect(errno);
    this.setError(errno);
    this.setShutdown(RCV_SHUTDOWN | SEND_SHUTDOWN);
    this.setState(TcpState.CLOSE);
    this.destroy();
  }

  // ------------------------------------------------------------ active open

  /** tcp_connect: queue the SYN and send it. The tuple and hash are set by the protocol. */
  startConnect(iss: number, tsOffset: number): void {
    this.lockSock();
    try {
      this.startConnectLocked(iss, tsOffset);
    } finally {
      this.release();
    }
  }

  private startConnectLocked(iss: number, tsOffset: number): void {
    const ops = this.proto.ops;
    this.iss = iss;
    this.tsOffset = tsOffset;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.writeSeq = iss;
    this.sndSml = iss;
    this.advMss = ops.mssFor(this.raddr);
    this.mss = Math.min(this.advMss, TCP_MSS_DEFAULT);
    this.initWindow();
    this.setState(TcpState.SYN_SENT);
    this.queueCtl(TCP_SYN);
    this.proto.mib.tcp.ActiveOpens++;
    this.push(true);
  }

  /**
   * tcp_select_initial_window's scale: enough to advertise the largest
   * buffer this socket may grow to (tcp_rmem max), or the one the user set.
   * A listener's children get the same, so its SYN-ACK can announce it.
   */
  initialWscale(): number {
    const sys = this.proto.ops.tcpSysctl;
    let ws = 0;
    if (sys.get('net.ipv4.tcp_window_scaling') === 1) {
      let space = Math.max(sys.get('net.ipv4.tcp_rmem_max'), this.proto.ops.sysctl.get('net.core.rmem_max'));
      space = this.userRcvbuf ? this.rcvbuf : space;
      while (space > 65535 && ws < 14) {
        space >>>= 1;
        ws++;
      }
    }
    return ws;
  }

  /** The first window (unscaled in the SYN, SYN-ACK). */
  initialWindow(): number {
    return Math.min(this.winFromSpace(this.rcvbuf), 65535);
  }

  /** tcp_select_initial_window: our window scale and the first window. */
  private initWindow(): void {
    const ws = this.initialWscale();
    this.rcvWscale = ws;
    this.windowClamp = 65535 << ws;
    this.rcvWnd = this.initialWindow();
    this.rcvWup = this.rcvNxt;
  }

  /** A SYN or FIN takes a sequence number: it goes on the write queue like data (tcp_send_fin). */
  private queueCtl(ctl: number): void {
    // A FIN rides on the unsent tail segment when there is one.
    if (ctl === TCP_FIN && this.sendHead < this.wq.length) {
      const tail = this.wq[this.wq.length - 1]!;
      if (tail.ctl === 0) {
        tail.ctl = TCP_FIN;
        tail.end = (tail.end + 1) >>> 0;
        this.writeSeq = (this.writeSeq + 1) >>> 0;
        return;
      }
    }
    // Control segments are not charged to sndbuf: a FIN must go out even when it is full (sk_forced_mem_schedule).
    const skb = allocSkbFrom(this.proto.ops.pool, MAX_TCP_HEADER);
    if (skb === null) {
      // No memory for a FIN or SYN: retry on the next timer tick, as tcp_send_fin does.
      this.kaTimer.arm(TCP_RTO_MIN, this.mstamp);
      this.pendingCtl |= ctl;
      return;
    }
    skb.reserve(MAX_TCP_HEADER);
    this.wq.push(new TcpSeg(skb, this.writeSeq, (this.writeSeq + 1) >>> 0, ctl));
    this.writeSeq = (this.writeSeq + 1) >>> 0;
  }

  private pendingCtl = 0;

  /** tcp_close_state + tcp_send_fin. */
  private sendFin(): void {
    if (this.finQueued) return;
    switch (this.state) {
      case TcpState.ESTABLISHED:
      case TcpState.SYN_RECV:
        this.setState(TcpState.FIN_WAIT1);
        break;
      case TcpState.CLOSE_WAIT:
        this.setState(TcpState.LAST_ACK);
        break;
      default:
        return;
    }
    this.finQueued = true;
    this.queueCtl(TCP_FIN);
    this.push(true);
  }

  // ---------------------------------------------------------------- output

  /** tcp_push: send what Nagle, cwnd and the peer's window allow. */
  push(force: boolean): void {
    if (this.state === TcpState.CLOSE || this.state === TcpState.LISTEN) return;
    this.writeXmit(force);
  }

  private inFlight(): number {
    return this.packetsOut - (this.sackedOut + this.lostOut) + this.retransOut;
  }

  /**
   * tcp_current_mss: payload that fits a segment sent now. The cached MSS
   * allows for the timestamp option; SACK blocks, while the out-of-order
   * queue has any, take room too, or a full segment carrying them would
   * outgrow the path MTU (and, with DF, never arrive).
   */
  private currentMss(): number {
    if (!this.sackOn || (this.ofo.length === 0 && this.dsack === null)) return this.mss;
    const max = this.tsOn ? 3 : 4;
    const n = Math.min(this.sackSpanCount(max) + (this.dsack !== null ? 1 : 0), max);
    return n === 0 ? this.mss : Math.max(this.mss - (4 + 8 * n), 8);
  }

  /** tcp_write_xmit: lost segments first (tcp_xmit_retransmit_queue), then new ones. */
  private writeXmit(force: boolean): void {
    const mssNow = this.currentMss();
    if (this.lostOut > 0) this.xmitRetransmitQueue(mssNow);
    let sent = false;
    const wq = this.wq;
    while (this.sendHead < wq.length) {
      const seg = wq[this.sendHead]!;
      if (this.inFlight() >= this.cwnd && (seg.ctl & TCP_SYN) === 0) break;
      if (seg.dataLen > mssNow && !this.fragmentToMss(this.sendHead, mssNow)) break;
      const wndEnd = (this.sndUna + this.sndWnd) >>> 0;
      if (seqAfter(seg.end, wndEnd) && (seg.ctl & TCP_SYN) === 0 && seg.dataLen > 0) {
        // tcp_snd_wnd_test failed: send what fits only when nothing is in
        // flight and the window is worth it (sender-side SWS avoidance).
        const fits = (wndEnd - seg.seq) | 0;
        if (this.packetsOut === 0 && fits > 0 && fits >= Math.min(this.mss, this.maxWindow >> 1) && fits < seg.dataLen) {
          if (!this.splitSeg(this.sendHead, fits)) break;
          continue;
        }
        break;
      }
      // Nagle, Minshall's way (tcp_nagle_check): hold a small segment while
      // an earlier small one is unacknowledged, unless TCP_NODELAY or FIN.
      const partial = seg.dataLen < this.mss && seg.ctl === 0;
      if (partial && !this.nodelay && !force && this.packetsOut > 0 && seqAfter(this.sndSml, this.sndUna)) break;
      if (!this.transmit(seg, false)) break;
      this.sendHead++;
      this.packetsOut++;
      this.sndNxt = seg.end;
      if (seg.dataLen > 0) this.proto.mib.ext.TCPOrigDataSent++;
      if (partial) this.sndSml = seg.end;
      sent = true;
    }
    // RFC 6298 (5.1): start the RTO timer if it is not running.
    if (this.packetsOut > 0 && (!this.rtoTimer.armed || this.probing)) {
      this.probing = false;
      this.rtoTimer.arm(this.rto, this.mstamp);
    }
    if (sent) this.scheduleLossProbe(false);
    this.checkProbeTimer();
  }

  /** The RTO timer doubles as the zero-window probe timer (ICSK_TIME_PROBE0). */
  private probing = false;

  /** tcp_check_probe_timer: data waits, nothing in flight, the window is shut: probe it. */
  private checkProbeTimer(): void {
    if (this.packetsOut === 0 && this.sendHead < this.wq.length && !this.rtoTimer.armed) {
      this.probing = true;
      this.rtoTimer.arm(Math.min(this.rto * 2 ** this.probeBackoff(), TCP_PROBE_MAX), this.mstamp);
    }
  }

  private probeBackoff(): number {
    return Math.min(this.probesOut, 15);
  }

  /**
   * tcp_fragment: split a segment so its first `len` bytes go alone. A sent
   * one (below sendHead) stays on the retransmit queue as two, each with the
   * scoreboard bits and send time of the whole, counted in packets_out and
   * the lost/sacked/retrans counts as Linux's tcp_adjust_pcount does.
   */
  private splitSeg(index: number, len: number): boolean {
    const seg = this.wq[index]!;
    const rest = seg.dataLen - len;
    const skb = allocSkbFrom(this.proto.ops.pool, MAX_TCP_HEADER + Math.max(this.mss, rest));
    if (skb === null) return false;
    skb.reserve(MAX_TCP_HEADER);
    skb.putData(seg.skb.buf.subarray(seg.skb.data + len, seg.skb.tail));
    if (seg.skb.sk !== null) setOwnerW(skb, this);
    seg.skb.trim(len);
    const tailSeq = (seg.seq + len) >>> 0;
    const tail = new TcpSeg(skb, tailSeq, seg.end, seg.ctl);
    seg.end = tailSeq;
    seg.ctl = 0;
    this.wq.splice(index + 1, 0, tail);
    if (index < this.sendHead) {
      tail.sacked = seg.sacked;
      tail.txTime = seg.txTime;
      tail.txOrder = seg.txOrder;
      this.sendHead++;
      this.packetsOut++;
      if ((seg.sacked & S_SACKED) !== 0) this.sackedOut++;
      if ((seg.sacked & S_LOST) !== 0) this.lostOut++;
      if ((seg.sacked & S_RETRANS) !== 0) this.retransOut++;
    }
    return true;
  }

  /**
   * Cut a segment longer than the current MSS into MSS-sized ones before it
   * is sent or sent again: after the path MTU shrank (ICMP "fragmentation
   * needed"), a queued segment sized for the old MSS would not fit, and TCP
   * segments go with DF (tcp_retransmit_skb -> tcp_fragment; tso_fragment for
   * new data). Cuts from the end, so every byte is copied once.
   */
  private fragmentToMss(index: number, mss: number): boolean {
    const seg = this.wq[index]!;
    for (let at = Math.floor((seg.dataLen - 1) / mss) * mss; at > 0; at -= mss) {
      if (!this.splitSeg(index, at)) return false;
    }
    return true;
  }

  /** The options of a segment with a timestamp and nothing else, reused (see optionsFor). */
  private tsOptions: { ts: { val: number; ecr: number } } | null = null;

  /** Options this segment carries (tcp_established_options / tcp_syn_options). */
  private optionsFor(flags: number): TcpOptions | null {
    const now = this.mstamp;
    if ((flags & TCP_SYN) !== 0) {
      const sys = this.proto.ops.tcpSysctl;
      const o: TcpOptions = { mss: this.advMss };
      const synAck = (flags & TCP_ACK) !== 0;
      if (synAck ? this.wsOn : sys.get('net.ipv4.tcp_window_scaling') === 1) o.wscale = this.rcvWscale;
      if (synAck ? this.sackOn : sys.get('net.ipv4.tcp_sack') === 1) o.sackPermitted = true;
      if (synAck ? this.tsOn : sys.get('net.ipv4.tcp_timestamps') === 1) o.ts = { val: this.tsNow(now), ecr: this.tsRecent };
      return o;
    }
    const sack = this.sackOn && (this.ofo.length > 0 || this.dsack !== null);
    if (this.tsOn && !sack) {
      // The common segment: one object per socket, rewritten (build() emits it at once and keeps nothing).
      const o = (this.tsOptions ??= { ts: { val: 0, ecr: 0 } });
      o.ts.val = this.tsNow(now);
      o.ts.ecr = this.tsRecent;
      return o;
    }
    let o: TcpOptions | null = null;
    if (this.tsOn) o = { ts: { val: this.tsNow(now), ecr: this.tsRecent } };
    if (sack) {
      const max = this.tsOn ? 3 : 4;
      let blocks: TcpSackBlock[];
      if (this.dsack !== null) {
        // RFC 2883 §4: the D-SACK block first, once (tcp_sack options with num_dsack).
        blocks = [this.dsack, ...this.sackBlocks(max - 1)];
        this.dsack = null;
      } else blocks = this.sackBlocks(max);
      if (blocks.length > 0) (o ??= {}).sack = blocks;
    }
    return o;
  }

  /** TSval: a millisecond clock plus the connection's random offset (RFC 7323 §5.4, tcp_ns_to_ts). */
  private tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  /** How many blocks sackBlocks(max) would give, without building them (every segment sent asks). */
  private sackSpanCount(max: number): number {
    let n = 0;
    let end = 0;
    for (const o of this.ofo) {
      if (n > 0 && !seqBefore(end, o.seq)) {
        if (seqAfter(o.end, end)) end = o.end;
        continue;
      }
      if (n === max) return n;
      n++;
      end = o.end;
    }
    return n;
  }

  /** SACK blocks from the out-of-order queue, the newest first (tcp_sack_new_ofo_skb). */
  private sackBlocks(max: number): TcpSackBlock[] {
    const spans: TcpSackBlock[] = [];
    for (const o of this.ofo) {
      const last = spans[spans.length - 1];
      if (last !== undefined && !seqBefore(last.end, o.seq)) {
        if (seqAfter(o.end, last.end)) last.end = o.end;
      } else spans.push({ start: o.seq, end: o.end });
    }
    const recent = this.lastOfo;
    if (recent !== null) {
      const i = spans.findIndex((s) => !seqBefore(recent.seq, s.start) && !seqAfter(recent.end, s.end));
      if (i > 0) spans.unshift(...spans.splice(i, 1));
    }
    return spans.slice(0, max);
  }

  /**
   * tcp_transmit_skb: a clone of the segment gets the header (the original
   * stays on the write queue for retransmission). A clone still in flight
   * shares the headroom, so then the segment is copied instead.
   */
  private transmit(seg: TcpSeg, retrans: boolean): boolean {
    const orig = seg.skb;
    // The queued segment keeps its payload only: the clone owns the headroom
    // for the TCP, IP and link headers (__skb_header_release in tcp_queue_skb).
    orig.headerRelease();
    const skb = orig.block.dataref > 1 ? orig.copy() : orig.clone();
    if (skb === null) return false;
    let flags = seg.ctl;
    if (this.state !== TcpState.SYN_SENT || (flags & TCP_SYN) === 0) flags |= TCP_ACK;
    if ((flags & TCP_SYN) === 0 && seg.dataLen > 0 && seg.end === this.writeSeq) flags |= TCP_PSH;
    seg.txTime = this.mstamp;
    seg.txOrder = ++txCount;
    // tcp_write_xmit / tcp_xmit_retransmit_queue: what goes out during a reduction counts as prr_out.
    if (this.caState === CA_RECOVERY) this.ls.prrOut++;
    this.build(skb, seg.seq, flags);
    if (retrans) {
      this.totalRetrans++;
      this.proto.mib.tcp.RetransSegs++;
    }
    this.lastSndDataTime = seg.txTime;
    this.proto.output(skb, this.laddr, this.raddr, this);
    this.segsOut++;
    return true;
  }

  /** Push and fill the header in front of skb.data; advertise the window; the ACK goes with it. */
  private build(skb: SkBuff, seq: number, flags: number): void {
    const opts = this.optionsFor(flags);
    const hlen = TCP_HLEN + (opts === null ? 0 : tcpOptionsLength(opts));
    const payload = skb.len;
    const at = skb.push(hlen);
    const window = (flags & TCP_SYN) !== 0 ? Math.min(this.rcvWnd, 65535) : this.selectWindow();
    emitTcp(
      { srcPort: this.lport, dstPort: this.rport, seq, ack: (flags & TCP_ACK) !== 0 ? this.rcvNxt : 0, flags, window },
      opts,
      skb.buf,
      at,
      payload,
    );
    const check = tcpChecksum(skb.buf, at, hlen + payload, this.laddr, this.raddr);
    skb.buf[at + 16] = check >>> 8;
    skb.buf[at + 17] = check & 0xff;
    // Built here: a receiver in this process may trust it (see CHECKSUM_PARTIAL).
    skb.ipSummed = CHECKSUM_PARTIAL;
    if ((flags & TCP_ACK) !== 0) this.ackSent();
  }

  /** An ACK went out (any segment with ACK): no ACK is pending any more (tcp_event_ack_sent). */
  private ackSent(): void {
    this.ackPending = false;
    this.delackTimer.clear();
    if (this.quick > 0) this.quick--;
  }

  /** tcp_send_ack: a bare ACK now. `seq` overrides snd_nxt (a window probe uses snd_una - 1). */
  sendAck(seq = this.sndNxt): void {
    if (this.state === TcpState.CLOSE || this.state === TcpState.LISTEN || this.state === TcpState.SYN_SENT) return;
    const skb = allocSkbFrom(this.proto.ops.pool, MAX_TCP_HEADER + 64);
    if (skb === null) {
      // tcp_send_ack out of memory: try again from the delayed-ACK timer.
      this.ackPending = true;
      this.delackTimer.arm(TCP_DELACK_MAX, this.mstamp);
      return;
    }
    skb.reserve(MAX_TCP_HEADER + 64);
    this.build(skb, seq, TCP_ACK);
    this.proto.output(skb, this.laddr, this.raddr, this);
    this.segsOut++;
  }

  /** A RST from this connection (tcp_send_active_reset). */
  private sendActiveReset(): void {
    this.proto.sendReset(this.laddr, this.raddr, this.lport, this.rport, this.sndNxt, this.rcvNxt, true);
  }

  // ----------------------------------------------------------------- windows

  /** tcp_win_from_space with tcp_adv_win_scale = 1: half the buffer is window, half overhead. */
  private winFromSpace(space: number): number {
    return space > 0 ? Math.floor(space * this.scalingRatio) : 0;
  }

  /**
   * tcp_measure_rcv_mss's scaling_ratio: payload per byte of truesize in
   * full-sized segments received, so the window promises only what rcvbuf
   * can really hold (starts at one half, TCP_DEFAULT_SCALING_RATIO).
   */
  private measureRatio(skb: SkBuff): void {
    const len = skb.len;
    if (len < this.rcvMss || skb.truesize <= 0) return;
    this.scalingRatio = Math.min(1, Math.max(1 / 16, len / skb.truesize));
  }

  /** tcp_receive_window: what is left of the window last advertised. */
  receiveWindow(): number {
    const w = (this.rcvWup + this.rcvWnd - this.rcvNxt) | 0;
    return w < 0 ? 0 : w;
  }

  /** __tcp_select_window: what the receive buffer can take now. */
  private freeWindow(): number {
    const mss = this.rcvMss;
    const full = Math.min(this.windowClamp, this.winFromSpace(this.rcvbuf));
    let free = this.winFromSpace(this.rcvbuf - this.rmemAlloc);
    if (free > full) free = full;
    if (free < (full >> 1) && free < mss) return 0;
    if (this.rcvWscale > 0) {
      // Round down to the scale's granularity so what we say is what we can take.
      const g = 1 << this.rcvWscale;
      return Math.floor(free / g) * g;
    }
    // Without scaling: keep the window a multiple of the MSS (receiver-side SWS avoidance).
    let window = this.rcvWnd;
    if (window <= free - mss || window > free) window = Math.floor(free / mss) * mss;
    else if (mss === full && free > window + (full >> 1)) window = free;
    return Math.min(window, 65535);
  }

  /**
   * tcp_select_window: the 16-bit window field for the next segment. The
   * right edge never moves left (RFC 9293 §3.8.6.2.2: no shrinking); a window
   * that would shrink is counted TCPWantZeroWindowAdv when it wanted zero.
   */
  private selectWindow(): number {
    const mib = this.proto.mib.ext;
    const oldWin = this.rcvWnd;
    const cur = this.receiveWindow();
    let win = this.freeWindow();
    if (win < cur) {
      if (win === 0) mib.TCPWantZeroWindowAdv++;
      const g = 1 << this.rcvWscale;
      win = Math.ceil(cur / g) * g;
    }
    this.rcvWnd = win;
    this.rcvWup = this.rcvNxt;
    const field = Math.min(win >>> this.rcvWscale, 65535);
    if (field === 0) {
      if (oldWin !== 0) mib.TCPToZeroWindowAdv++;
    } else if (oldWin === 0) mib.TCPFromZeroWindowAdv++;
    return field;
  }

  /**
   * tcp_cleanup_rbuf after the user read `copied` bytes: send a window
   * update if the window has at least doubled (it was closed or nearly).
   */
  private cleanupRbuf(copied: number): void {
    if (copied <= 0 || this.state === TcpState.CLOSE || this.state === TcpState.TIME_WAIT) return;
    if ((this.shutdown & RCV_SHUTDOWN) !== 0 && this.state !== TcpState.ESTABLISHED) return;
    let timeToAck = this.ackPending && this.rcvNxt !== this.rcvWup && (this.rcvNxt - this.rcvWup) >>> 0 > this.rcvMss;
    if (!timeToAck) {
      const now = this.receiveWindow();
      if (2 * now <= this.windowClamp) {
        const next = this.freeWindow();
        if (next !== 0 && next >= 2 * now) timeToAck = true;
      }
    }
    if (timeToAck) this.sendAck();
  }

  /** tcp_rcv_space_adjust (tcp_moderate_rcvbuf): grow rcvbuf to twice what the reader drains per RTT. */
  private rcvSpaceAdjust(): void {
    const now = this.mstamp;
    const rtt = Math.max(this.srtt, 1);
    if (this.rcvqSpaceTime === 0) {
      this.rcvqSpaceTime = now;
      this.rcvqSpaceSeq = this.copiedSeq;
      return;
    }
    if (now - this.rcvqSpaceTime < rtt) return;
    const copied = (this.copiedSeq - this.rcvqSpaceSeq) >>> 0;
    this.rcvqSpaceSeq = this.copiedSeq;
    this.rcvqSpaceTime = now;
    if (copied <= this.rcvqSpace) return;
    this.rcvqSpace = copied;
    const sys = this.proto.ops.tcpSysctl;
    if (sys.get('net.ipv4.tcp_moderate_rcvbuf') !== 1 || this.userRcvbuf) return;
    // Window for two RTTs of what was read, plus slack; the buffer is twice that (adv_win_scale 1).
    const rcvwin = 2 * copied + 16 * this.advMss;
    const want = Math.min(2 * rcvwin, sys.get('net.ipv4.tcp_rmem_max'));
    if (want > this.rcvbuf) {
      this.rcvbuf = want;
      this.windowClamp = Math.max(this.windowClamp, Math.min(this.winFromSpace(want), 65535 << this.rcvWscale));
    }
  }

  /** tcp_sndbuf_expand: room for two windows of data, so the sender is never cwnd-starved by sndbuf. */
  private sndbufExpand(): void {
    if (this.userSndbuf) return;
    const per = ((MAX_TCP_HEADER + this.mss + 63) & ~63) + 576;
    const want = Math.min(2 * Math.max(this.cwnd, TCP_INIT_CWND) * per * 2, this.proto.ops.tcpSysctl.get('net.ipv4.tcp_wmem_max'));
    if (want > this.sndbuf) {
      this.sndbuf = want;
      this.writeSpace();
    }
  }

  // ---------------------------------------------------------------- input

  /**
   * tcp_rcv_state_process for a segment of this connection: `th` parsed,
   * `skb.data` at the payload. Owns the skb: queues or frees it.
   */
  rcv(skb: SkBuff, th: TcpRepr): void {
    if (this.owned > 0) {
      // The socket is busy (a segment came back synchronously from our own
      // output): park it in the backlog, as tcp_v4_rcv does while
      // sock_owned_by_user; release() processes it.
      this.backlogQ.push(skb, th);
      return;
    }
    this.owned++;
    try {
      this.rcvLocked(skb, th);
    } finally {
      this.release();
    }
  }

  /** release_sock: the outermost holder processes what arrived meanwhile. */
  private release(): void {
    const q = this.backlogQ;
    while (this.owned === 1 && (q.length > 0 || this.mtuPending !== 0)) {
      if (this.mtuPending !== 0) {
        // tcp_release_cb: the deferred tcp_v4_mtu_reduced.
        const mtu = this.mtuPending;
        this.mtuPending = 0;
        this.mtuReduced(mtu);
        continue;
      }
      const skb = q.shift() as SkBuff;
      const th = q.shift() as TcpRepr;
      this.rcvLocked(skb, th);
    }
    this.owned--;
  }

  private rcvLocked(skb: SkBuff, th: TcpRepr): void {
    this.segsIn++;
    // tcp_rcv_established / tcp_rcv_state_process: every segment is an event of its own.
    this.lastRcvTime = this.mstamp = this.proto.ops.clock.now();
    if (this.keepalive && this.state === TcpState.ESTABLISHED) this.probesOutKa = 0;
    switch (this.state) {
      case TcpState.CLOSE:
        this.drop(skb, 'TCP_CLOSE');
        return;
      case TcpState.LISTEN:
        this.drop(skb, 'TCP_CLOSE');
        return;
      case TcpState.SYN_SENT:
        this.rcvSynSent(skb, th);
        return;
    }
    this.rcvSynchronized(skb, th);
  }

  private drop(skb: SkBuff, reason: DropReason): void {
    this.proto.ops.countDrop(reason);
    skb.free();
  }

  /** tcp_rcv_synsent_state_process. */
  private rcvSynSent(skb: SkBuff, th: TcpRepr): void {
    const f = th.flags;
    if ((f & TCP_ACK) !== 0) {
      // RFC 9293 §3.10.7.3: an ACK outside (ISS, SND.NXT] gets a reset, unless it is one.
      if (!seqAfter(th.ack, this.iss) || seqAfter(th.ack, this.sndNxt)) {
        if ((f & TCP_RST) === 0) this.proto.sendReset(this.laddr, this.raddr, this.lport, this.rport, th.ack, 0, false);
        this.drop(skb, 'TCP_INVALID_ACK_SEQUENCE');
        return;
      }
      if ((f & TCP_RST) !== 0) {
        skb.free();
        this.fail('ECONNREFUSED');
        return;
      }
      if ((f & TCP_SYN) === 0) {
        this.drop(skb, 'TCP_FLAGS');
        return;
      }
      // SYN-ACK: the connection is established.
      this.learnSynOptions(th);
      this.irs = th.seq;
      this.rcvNxt = (th.seq + 1) >>> 0;
      this.rcvWup = this.rcvNxt;
      this.copiedSeq = this.rcvNxt;
      this.sndWnd = th.window; // never scaled on a SYN
      this.maxWindow = this.sndWnd;
      this.sndWl1 = th.seq;
      this.sndWl2 = th.ack;
      this.ackUpTo(th.ack, th);
      this.establish();
      this.quick = MAX_QUICKACKS;
      this.sendAck();
      skb.free();
      this.push(false);
      return;
    }
    if ((f & TCP_RST) !== 0) {
      this.drop(skb, 'TCP_RESET');
      return;
    }
    if ((f & TCP_SYN) !== 0) {
      // Simultaneous open (RFC 9293 figure 7): SYN-RECEIVED, answer SYN-ACK.
      this.learnSynOptions(th);
      this.irs = th.seq;
      this.rcvNxt = (th.seq + 1) >>> 0;
      this.rcvWup = this.rcvNxt;
      this.copiedSeq = this.rcvNxt;
      this.sndWnd = th.window;
      this.maxWindow = this.sndWnd;
      this.sndWl1 = th.seq;
      this.setState(TcpState.SYN_RECV);
      const syn = this.wq[this.wqHead];
      if (syn !== undefined && (syn.ctl & TCP_SYN) !== 0) this.transmit(syn, true);
      skb.free();
      return;
    }
    this.drop(skb, 'TCP_FLAGS');
  }

  /** Options from the peer's SYN: what both sides offered is on (tcp_parse_options + tcp_openreq_init). */
  learnSynOptions(th: TcpRepr): void {
    const o = th.options;
    const sys = this.proto.ops.tcpSysctl;
    const offeredWs = this.state === TcpState.SYN_SENT ? sys.get('net.ipv4.tcp_window_scaling') === 1 : this.wsOn;
    if (o.wscale !== undefined && offeredWs) {
      this.wsOn = true;
      this.sndWscale = o.wscale;
    } else {
      this.wsOn = false;
      this.sndWscale = 0;
      this.rcvWscale = 0;
      this.windowClamp = Math.min(this.windowClamp, 65535);
    }
    this.sackOn = o.sackPermitted === true && sys.get('net.ipv4.tcp_sack') === 1;
    if (o.ts !== undefined && sys.get('net.ipv4.tcp_timestamps') === 1) {
      this.tsOn = true;
      this.tsRecent = o.ts.val;
      this.tsRecentStamp = this.mstamp;
    } else this.tsOn = false;
    const peerMss = o.mss ?? TCP_MSS_DEFAULT;
    this.setMss(Math.min(peerMss, this.advMss));
  }

  /** tcp_sync_mss: payload per segment, less the timestamp option. */
  setMss(mss: number): void {
    this.mss = Math.max(64, mss - (this.tsOn ? 12 : 0));
    this.rcvMss = Math.min(this.rcvMss, this.mss);
    if (this.rcvMss < TCP_MSS_DEFAULT) this.rcvMss = Math.min(TCP_MSS_DEFAULT, this.mss);
  }

  /** tcp_finish_connect / the SYN-RECEIVED -> ESTABLISHED step. */
  establish(): void {
    this.setState(TcpState.ESTABLISHED);
    this.rtoTimer.clear();
    this.retransmits = 0;
    if (this.keepalive) this.kaTimer.arm(this.proto.ops.tcpSysctl.get('net.ipv4.tcp_keepalive_time') * 1000, this.mstamp);
    this.sndbufExpand();
    const w = this.connectWaiter;
    this.connectWaiter = null;
    w?.resolve();
    this.writeSpace();
  }

  /** The passive side's child, created ESTABLISHED from a completed handshake (tcp_create_openreq_child). */
  initChild(p: {
    iss: number;
    irs: number;
    tsOffset: number;
    mss: number;
    peerWscale: number | null;
    sack: boolean;
    tsRecent: number | null;
    window: number;
  }): void {
    // An event of its own: the listener hands the child over outside any lock of the child's.
    this.mstamp = this.proto.ops.clock.now();
    const sys = this.proto.ops.tcpSysctl;
    this.iss = p.iss;
    this.sndUna = this.sndNxt = this.writeSeq = this.sndSml = (p.iss + 1) >>> 0;
    this.irs = p.irs;
    this.rcvNxt = this.rcvWup = this.copiedSeq = (p.irs + 1) >>> 0;
    this.tsOffset = p.tsOffset;
    this.advMss = this.proto.ops.mssFor(this.raddr);
    this.initWindow();
    this.wsOn = p.peerWscale !== null && sys.get('net.ipv4.tcp_window_scaling') === 1;
    if (this.wsOn) this.sndWscale = p.peerWscale!;
    else {
      this.rcvWscale = 0;
      this.windowClamp = 65535;
      this.rcvWnd = Math.min(this.rcvWnd, 65535);
    }
    this.sackOn = p.sack;
    this.tsOn = p.tsRecent !== null;
    if (this.tsOn) {
      this.tsRecent = p.tsRecent!;
      this.tsRecentStamp = this.mstamp;
    }
    this.setMss(Math.min(p.mss, this.advMss));
    this.sndWnd = p.window << this.sndWscale;
    this.maxWindow = this.sndWnd;
    this.sndWl1 = this.irs;
    this.sndWl2 = this.sndUna;
    this.establish();
  }

  /** tcp_sequence: does any of the segment fall in the receive window? */
  private sequenceOk(seq: number, endSeq: number): DropReason | null {
    if (seqBefore(endSeq, this.rcvWup)) return 'TCP_OLD_SEQUENCE';
    if (seqAfter(seq, (this.rcvNxt + this.receiveWindow()) >>> 0)) return 'TCP_INVALID_SEQUENCE';
    return null;
  }

  /** tcp_paws_discard: a timestamp older than ts_recent (RFC 7323 §5.3), unless ts_recent is 24 days stale. */
  private pawsReject(th: TcpRepr, len: number): boolean {
    const ts = th.options.ts;
    if (!this.tsOn || ts === undefined || (th.flags & TCP_RST) !== 0) return false;
    const behind = (this.tsRecent - ts.val) | 0;
    if (behind <= 0) return false;
    if (this.mstamp - this.tsRecentStamp >= 24 * 86400 * 1000) return false;
    // tcp_disordered_ack: a pure duplicate ACK overtaken in the network is
    // harmless (it changes nothing), so its older timestamp is forgiven.
    const pureDupAck =
      len === 0 && (th.flags & (TCP_SYN | TCP_FIN)) === 0 && th.seq === this.rcvNxt && th.ack === this.sndUna && th.window << this.sndWscale === this.sndWnd;
    return !(pureDupAck && behind <= this.rto);
  }

  /** tcp_send_challenge_ack (RFC 5961 §3.2, §4.2, §5.2) under tcp_challenge_ack_limit. */
  private challengeAck(): void {
    if (!this.proto.challengeAllowed()) return;
    this.proto.mib.ext.TCPChallengeACK++;
    this.sendAck();
  }

  /** The segment arrived in a synchronized state (or SYN-RECEIVED): RFC 9293 §3.10.7.4 in order. */
  private rcvSynchronized(skb: SkBuff, th: TcpRepr): void {
    const f = th.flags;
    const mib = this.proto.mib;
    let seq = th.seq;
    const len = skb.len;
    const endSeq = (seq + len + ((f & TCP_SYN) !== 0 ? 1 : 0) + ((f & TCP_FIN) !== 0 ? 1 : 0)) >>> 0;

    if (this.state === TcpState.TIME_WAIT) {
      this.rcvTimeWait(skb, th, endSeq);
      return;
    }

    // First: PAWS, then the sequence number (tcp_validate_incoming).
    if (this.pawsReject(th, len)) {
      mib.ext.PAWSEstab++;
      this.sendAck();
      this.drop(skb, 'TCP_RFC7323_PAWS');
      return;
    }
    const bad = this.sequenceOk(seq, endSeq);
    if (bad !== null) {
      if ((f & TCP_RST) === 0) {
        if ((f & TCP_SYN) !== 0) {
          mib.ext.TCPSYNChallenge++;
          this.challengeAck();
        } else this.sendDupAck(seq, endSeq);
      }
      this.drop(skb, bad);
      return;
    }

    // Second: RST. Only an exact rcv_nxt resets (RFC 5961 §3.2); else a challenge ACK.
    if ((f & TCP_RST) !== 0) {
      if (seq === this.rcvNxt) {
        skb.free();
        this.reset();
      } else {
        this.challengeAck();
        this.drop(skb, 'TCP_RESET');
      }
      return;
    }

    // Remember the timestamp (tcp_replace_ts_recent) for a segment at or before the window's left edge.
    const ts = th.options.ts;
    if (this.tsOn && ts !== undefined && !seqAfter(seq, this.rcvWup)) {
      this.tsRecent = ts.val;
      this.tsRecentStamp = this.mstamp;
    }

    // Fourth: a SYN in a synchronized state is a challenge (RFC 5961 §4), except
    // our peer's SYN-ACK in a simultaneous open.
    if ((f & TCP_SYN) !== 0) {
      const simOpenSynAck =
        this.state === TcpState.SYN_RECV && (f & TCP_ACK) !== 0 && seq === this.irs && th.ack === this.sndNxt;
      if (!simOpenSynAck) {
        mib.ext.TCPSYNChallenge++;
        this.challengeAck();
        this.drop(skb, 'TCP_INVALID_SYN');
        return;
      }
      seq = (seq + 1) >>> 0;
    }

    // Fifth: the ACK field.
    if ((f & TCP_ACK) === 0) {
      this.drop(skb, 'TCP_FLAGS');
      return;
    }
    if (this.state === TcpState.SYN_RECV) {
      if (seqAfter(th.ack, this.sndUna) && !seqAfter(th.ack, this.sndNxt)) {
        this.sndWnd = th.window << this.sndWscale;
        this.sndWl1 = seq;
        this.sndWl2 = th.ack;
        this.ackUpTo(th.ack, th);
        this.establish();
      } else {
        this.proto.sendReset(this.laddr, this.raddr, this.lport, this.rport, th.ack, 0, false);
        this.drop(skb, 'TCP_INVALID_ACK_SEQUENCE');
        return;
      }
    }
    const ackVerdict = this.processAck(th, seq, len);
    if (ackVerdict !== null) {
      this.drop(skb, ackVerdict);
      return;
    }
    const finAcked = this.finQueued && this.sndUna === this.writeSeq;
    switch (this.state) {
      case TcpState.FIN_WAIT1:
        if (finAcked) {
          this.setState(TcpState.FIN_WAIT2);
          if (this.orphan) this.armFinWait2();
        }
        break;
      case TcpState.CLOSING:
        if (finAcked) {
          this.enterTimeWait();
          this.drop(skb, 'TCP_CLOSE');
          return;
        }
        break;
      case TcpState.LAST_ACK:
        if (finAcked) {
          this.setState(TcpState.CLOSE);
          this.destroy();
          skb.free();
          return;
        }
        break;
    }

    // Seventh: the data, and the FIN (tcp_data_queue, tcp_fin).
    const hasFin = (f & TCP_FIN) !== 0;
    if (len > 0 || hasFin) {
      switch (this.state) {
        case TcpState.ESTABLISHED:
        case TcpState.FIN_WAIT1:
        case TcpState.FIN_WAIT2:
          if (this.orphan && len > 0 && seqAfter((seq + len) >>> 0, this.rcvNxt)) {
            // Data for a closed socket: nobody will read it (tcp_rcv_state_process, TCPAbortOnData).
            mib.ext.TCPAbortOnData++;
            this.sendActiveReset();
            skb.free();
            this.fail('ECONNRESET');
            return;
          }
          this.dataQueue(skb, seq, hasFin);
          break;
        default:
          // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent its FIN; a retransmission gets an ACK.
          if (seqBefore(seq, this.rcvNxt) || hasFin) this.sendAck();
          this.drop(skb, 'TCP_OLD_DATA');
          break;
      }
    } else skb.free();

    if (this.state === TcpState.CLOSE) return;
    this.push(false);
    this.ackSndCheck();
  }

  /**
   * tcp_dsack_set: these bytes arrived twice; say so in the next ACK
   * (TCPDSACKOldSent below rcv_nxt, TCPDSACKOfoSent above).
   */
  private dsackSet(seq: number, end: number): void {
    if (!this.sackOn || !seqBefore(seq, end) || this.proto.ops.tcpSysctl.get('net.ipv4.tcp_dsack') === 0) return;
    if (seqBefore(seq, this.rcvNxt)) this.proto.mib.ext.TCPDSACKOldSent++;
    else this.proto.mib.ext.TCPDSACKOfoSent++;
    this.dsack = { start: seq, end };
  }

  /** tcp_send_dupack: an out-of-window segment gets an ACK saying where we are. */
  private sendDupAck(seq: number, endSeq: number): void {
    if (endSeq !== seq && seqBefore(seq, this.rcvNxt)) {
      this.proto.mib.ext.DelayedACKLost++;
      this.dsackSet(seq, seqAfter(endSeq, this.rcvNxt) ? this.rcvNxt : endSeq);
    }
    this.quick = Math.max(this.quick, 1);
    this.sendAck();
  }

  /** tcp_reset: the peer reset us. */
  private reset(): void {
    let errno: ErrnoName = 'ECONNRESET';
    if (this.state === TcpState.SYN_SENT) errno = 'ECONNREFUSED';
    else if (this.state === TcpState.CLOSE_WAIT) errno = 'EPIPE';
    if (this.state === TcpState.SYN_RECV && this.parent === null && this.connectWaiter !== null) errno = 'ECONNREFUSED';
    this.fail(errno);
  }

  /** TIME-WAIT (tcp_timewait_state_process): re-ACK a retransmitted FIN, die on RST, allow a new SYN. */
  private rcvTimeWait(skb: SkBuff, th: TcpRepr, endSeq: number): void {
    const f = th.flags;
    if ((f & TCP_RST) !== 0) {
      // RFC 1337 hazard accepted as Linux does by default (tcp_rfc1337 = 0): the RST kills TIME-WAIT.
      skb.free();
      this.setState(TcpState.CLOSE);
      this.destroy();
      return;
    }
    if ((f & TCP_SYN) !== 0 && (f & TCP_ACK) === 0 && seqAfter(th.seq, this.rcvNxt)) {
      // A new incarnation (RFC 9293 §3.6.1): hand the SYN to the listener.
      this.setState(TcpState.CLOSE);
      this.destroy();
      skb.push(th.hlen);
      this.proto.rcvAfterTimeWait(skb, th, this.raddr, this.laddr);
      return;
    }
    if ((f & TCP_FIN) !== 0 || endSeq !== th.seq) {
      this.kaTimer.arm(TCP_TIMEWAIT_LEN, this.mstamp);
      this.sendAck();
    }
    this.drop(skb, 'TCP_CLOSE');
  }

  private enterTimeWait(): void {
    this.setState(TcpState.TIME_WAIT);
    this.proto.mib.ext.TW++;
    this.rtoTimer.stop();
    this.rec?.tlpTimer?.stop();
    this.rec?.reoTimer?.stop();
    this.delackTimer.stop();
    this.purgeWrite();
    this.kaTimer.arm(TCP_TIMEWAIT_LEN, this.mstamp);
  }

  private armFinWait2(): void {
    this.kaTimer.arm(this.proto.ops.tcpSysctl.get('net.ipv4.tcp_fin_timeout') * 1000, this.mstamp);
  }

  // ------------------------------------------------------------------- ACK

  /**
   * tcp_ack: window update, free acknowledged data, RTT, congestion state.
   * Returns a drop reason when the segment must go no further.
   */
  private processAck(th: TcpRepr, seq: number, len: number): DropReason | null {
    const ack = th.ack;
    if (seqAfter(ack, this.sndNxt)) {
      // RFC 5961 §5.2: ACK of data never sent.
      this.challengeAck();
      return 'TCP_ACK_UNSENT_DATA';
    }
    if (seqBefore(ack, this.sndUna)) {
      // Old ACK: harmless, but too old is suspect (RFC 5961 §5.2).
      if (seqBefore(ack, (this.sndUna - this.maxWindow) >>> 0)) {
        this.challengeAck();
        return 'TCP_TOO_OLD_ACK';
      }
      return len > 0 || (th.flags & TCP_FIN) !== 0 ? null : 'TCP_OLD_ACK';
    }
    const priorUna = this.sndUna;
    const priorWnd = this.sndWnd;
    const nwin = th.window << this.sndWscale;
    // tcp_may_update_window.
    if (seqAfter(ack, priorUna) || seqAfter(seq, this.sndWl1) || (seq === this.sndWl1 && nwin > this.sndWnd)) {
      this.sndWnd = nwin;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (nwin > this.maxWindow) this.maxWindow = nwin;
    }
    if (this.rec !== null) this.rec.rcvTsecr = this.tsOn ? (th.options.ts?.ecr ?? 0) : 0;
    const priorPackets = this.packetsOut;
    const priorSacked = this.sackedOut;
    const priorLostMarks = this.rec?.lostMarks ?? 0;
    let dsack = false;
    if (th.options.sack !== undefined && this.sackOn) dsack = this.sackTag(th.options.sack, ack);
    const acked = (ack - priorUna) >>> 0;
    const wasDup = acked === 0 && len === 0 && (th.flags & (TCP_SYN | TCP_FIN)) === 0 && this.sndWnd === priorWnd && this.packetsOut > 0;
    let pkts = 0;
    if (acked > 0) {
      pkts = this.ackUpTo(ack, th);
      this.fastRetransAlert(pkts, false);
      if (this.probesOut > 0 && this.sndWnd > 0) this.probesOut = 0;
    } else if (wasDup) {
      this.fastRetransAlert(0, true);
    } else if (len === 0) this.proto.mib.ext.TCPPureAcks++;
    // tcp_cong_control: during fast recovery PRR sets cwnd from what was
    // delivered (acked or SACKed: tcp_newly_delivered); otherwise it grows.
    if (this.caState === CA_RECOVERY) {
      const delivered = priorPackets - this.packetsOut + this.sackedOut - priorSacked;
      this.cwndReduction(delivered, this.ls.lostMarks - priorLostMarks, acked > 0);
    } else if (pkts > 0) {
      this.cc.congAvoid(this, pkts, this.mstamp, this.srtt);
      this.sndbufExpand();
    }
    if (this.rec?.tlpActive === true) {
      const pureDup = acked === 0 && len === 0 && this.sndWnd === priorWnd && this.sackedOut <= priorSacked;
      this.processTlpAck(ack, dsack, pureDup);
    }
    // tcp_set_xmit_timer: an ACK that acknowledged data restarts the probe timer.
    if (pkts > 0) this.scheduleLossProbe(true);
    if (this.sndWnd > 0 && priorWnd === 0) {
      // The window opened: stop probing, send.
      this.probesOut = 0;
      if (this.probing) {
        this.probing = false;
        this.rtoTimer.clear();
      }
    }
    return null;
  }

  /**
   * tcp_clean_rtx_queue: free every segment wholly below `ack`, trim a
   * partly acked one; take an RTT sample (timestamps, or Karn's rule: only
   * from a segment never retransmitted). Returns segments acked.
   */
  private ackUpTo(ack: number, th: TcpRepr): number {
    const now = this.mstamp;
    let pkts = 0;
    let firstTx = -1;
    let karn = false;
    const wq = this.wq;
    while (this.wqHead < this.sendHead) {
      const seg = wq[this.wqHead]!;
      if (seqAfter(seg.end, ack)) {
        // Partly acknowledged: drop the acked bytes from its head (tcp_trim_head).
        if (seqAfter(ack, seg.seq) && seg.dataLen > 0) {
          let n = (ack - seg.seq) >>> 0;
          if ((seg.ctl & TCP_SYN) !== 0) n--;
          seg.skb.pull(Math.min(n, seg.dataLen));
          seg.seq = ack;
          seg.ctl &= ~TCP_SYN;
        }
        break;
      }
      if ((seg.sacked & S_EVER_RETRANS) !== 0) karn = true;
      else if (firstTx < 0) firstTx = seg.txTime;
      if (this.sackOn && seg.dataLen > 0 && (seg.sacked & S_SACKED) === 0) this.rackAdvance(seg, now);
      if ((seg.sacked & S_SACKED) !== 0) this.sackedOut--;
      if ((seg.sacked & S_LOST) !== 0) this.lostOut--;
      if ((seg.sacked & S_RETRANS) !== 0) this.retransOut--;
      this.packetsOut--;
      pkts++;
      wq[this.wqHead] = undefined as unknown as TcpSeg;
      this.wqHead++;
      seg.skb.free();
    }
    if (this.wqHead > 64 && this.wqHead * 2 > wq.length) {
      this.wq = wq.slice(this.wqHead);
      this.sendHead -= this.wqHead;
      this.wqHead = 0;
    }
    const acked = (ack - this.sndUna) >>> 0;
    this.bytesAcked += acked;
    this.sndUna = ack;
    if (seqBefore(this.sndSml, ack)) this.sndSml = ack;
    // RTT sample (tcp_ack_update_rtt): timestamps are exempt from Karn's rule (RFC 7323 §4).
    let rtt = -1;
    const ts = th.options.ts;
    if (this.tsOn && ts !== undefined && ts.ecr !== 0) rtt = Math.max(((this.tsNow(now) - ts.ecr) | 0), 1);
    else if (!karn && firstTx >= 0) rtt = now - firstTx;
    if (rtt >= 0 && acked > 0) this.rttSample(rtt);
    if (acked > 0) {
      this.retransmits = 0;
      this.backoff = 0;
      this.setRto();
      if (this.packetsOut > 0) this.rtoTimer.arm(this.rto, this.mstamp);
      else if (!this.probing) this.rtoTimer.clear();
    }
    return pkts;
  }

  /** RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4 RTTVAR, TCP_RTO_MIN). */
  private rttSample(rtt: number): void {
    if (this.minRtt === 0 || rtt < this.minRtt) this.minRtt = rtt;
    if (this.srtt === 0) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    this.cc.onRtt(rtt, this);
  }

  private setRto(): void {
    if (this.srtt === 0) return;
    this.rto = Math.min(this.srtt + Math.max(4 * this.rttvar, TCP_RTO_MIN), TCP_RTO_MAX);
  }

  /**
   * tcp_sacktag_write_queue: mark segments the peer holds out of order.
   * True when the first block is a D-SACK (RFC 2883 §4, tcp_check_dsack):
   * below the cumulative ACK, or inside the second block: the peer got
   * those bytes twice.
   */
  private sackTag(blocks: TcpSackBlock[], ack: number): boolean {
    const first = blocks[0];
    if (first === undefined) return false;
    const second = blocks[1];
    const dsack =
      seqBefore(first.start, ack) ||
      (second !== undefined && !seqBefore(first.start, second.start) && !seqAfter(first.end, second.end));
    if (dsack) this.dsackSeen(first);
    const now = this.mstamp;
    // The highest SACKed sequence before this ACK (tcp_highest_sack_seq): a never
    // retransmitted segment SACKed below it arrived out of order (tcp_check_sack_reordering).
    const fack = this.sackedOut > 0 ? this.highestSacked() : this.sndUna;
    for (let k = dsack ? 1 : 0; k < blocks.length; k++) {
      const b = blocks[k]!;
      // Stale blocks (at or below snd_una) or beyond what was sent carry nothing.
      if (!seqAfter(b.end, this.sndUna) || seqAfter(b.end, this.sndNxt) || !seqBefore(b.start, b.end)) continue;
      for (let i = this.firstSegFrom(b.start); i < this.sendHead; i++) {
        const seg = this.wq[i]!;
        if (!seqBefore(seg.seq, b.end)) break;
        if (seqBefore(seg.seq, b.start) || seqAfter(seg.end, b.end)) continue;
        if ((seg.sacked & S_SACKED) !== 0) continue;
        if ((seg.sacked & S_EVER_RETRANS) === 0 && seqBefore(seg.end, fack)) this.ls.reordSeen = true;
        this.rackAdvance(seg, now);
        seg.sacked |= S_SACKED;
        this.sackedOut++;
        if ((seg.sacked & S_LOST) !== 0) {
          seg.sacked &= ~S_LOST;
          this.lostOut--;
        }
        if ((seg.sacked & S_RETRANS) !== 0) {
          seg.sacked &= ~S_RETRANS;
          this.retransOut--;
        }
      }
    }
    return dsack;
  }

  /**
   * The first sent segment starting at or after `seq`: a binary search of
   * [wqHead, sendHead), whose segments follow one another in sequence order
   * (Linux finds it in the rtx rb-tree, tcp_sacktag_bsearch). A block of
   * a long flight no longer walks the whole flight.
   */
  private firstSegFrom(seq: number): number {
    let lo = this.wqHead;
    let hi = this.sendHead;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqBefore(this.wq[mid]!.seq, seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private highestSacked(): number {
    for (let i = this.sendHead - 1; i >= this.wqHead; i--) if ((this.wq[i]!.sacked & S_SACKED) !== 0) return this.wq[i]!.end;
    return this.sndUna;
  }

  /**
   * tcp_rack_advance: `seg` was delivered (acked or SACKed). The RACK state
   * follows the most recently sent delivered segment. A retransmitted one
   * delivered sooner than the smallest RTT ever seen was surely the
   * original, so it does not count.
   */
  private rackAdvance(seg: TcpSeg, now: number): void {
    const rtt = now - seg.txTime;
    if ((seg.sacked & (S_RETRANS | S_EVER_RETRANS)) !== 0 && rtt < this.minRtt) return;
    this.ls.rackAdvanced = true;
    this.ls.rackRtt = rtt;
    if (seg.txOrder > this.ls.rackXmitOrder) {
      this.ls.rackXmitOrder = seg.txOrder;
    }
  }

  /**
   * tcp_rack_reo_wnd: how long to wait for a reordered segment. None while
   * no reordering was seen and either recovery is on or DUPTHRESH segments
   * are SACKed (the classic rule, RFC 8985 §6.2 step 4); else a quarter of
   * the minimum RTT, never more than SRTT.
   */
  private rackReoWnd(): number {
    const noDupThresh = (this.proto.ops.tcpSysctl.get('net.ipv4.tcp_recovery') & 4) !== 0;
    if (!this.ls.reordSeen && (this.caState >= CA_RECOVERY || (this.sackedOut >= DUPTHRESH && !noDupThresh))) return 0;
    return Math.min(this.minRtt / 4, this.srtt);
  }

  /**
   * tcp_rack_detect_loss (RFC 8985 §6.2): a segment sent before the most
   * recently delivered one is lost once RACK.rtt plus the reordering window
   * has passed since it went; one still inside it arms the reordering timer.
   * A lost retransmission is found the same way (TCPLostRetransmit). Returns
   * the longest wait, 0 for none.
   */
  private rackDetectLoss(now: number): number {
    const reoWnd = this.rackReoWnd();
    let wait = 0;
    for (let i = this.wqHead; i < this.sendHead; i++) {
      const seg = this.wq[i]!;
      const sk = seg.sacked;
      if ((sk & S_SACKED) !== 0 || ((sk & S_LOST) !== 0 && (sk & S_RETRANS) === 0)) continue;
      if (seg.txOrder >= this.ls.rackXmitOrder) continue;
      const remaining = this.ls.rackRtt + reoWnd - (now - seg.txTime);
      if (remaining <= 0) this.markSegLost(seg);
      else if (remaining > wait) wait = remaining;
    }
    return wait;
  }

  /** tcp_mark_skb_lost: lost (again, if its retransmission is the one lost). */
  private markSegLost(seg: TcpSeg): void {
    if ((seg.sacked & S_RETRANS) !== 0) {
      seg.sacked &= ~S_RETRANS;
      this.retransOut--;
      this.proto.mib.ext.TCPLostRetransmit++;
    }
    if ((seg.sacked & S_LOST) === 0) {
      seg.sacked |= S_LOST;
      this.lostOut++;
      this.ls.lostMarks++;
    }
  }

  /** tcp_rack_mark_lost: scan when a delivery moved RACK on; a segment still in the window arms the timer. */
  private rackMarkLost(): void {
    if (!this.ls.rackAdvanced) return;
    this.ls.rackAdvanced = false;
    const wait = this.rackDetectLoss(this.mstamp);
    // TCP_TIMEOUT_MIN on top, as Linux; never later than the RTO.
    if (wait > 0) this.armReoTimer(Math.min(wait + 2, this.rto));
  }

  /** tcp_rack_reo_timeout: the reordering window ran out; what is lost now starts (or feeds) recovery. */
  private rackReoTimeout(): void {
    if (this.packetsOut === 0 || this.state === TcpState.CLOSE || this.state === TcpState.TIME_WAIT || this.caState === CA_LOSS) return;
    const prior = this.inFlight();
    const wait = this.rackDetectLoss(this.mstamp);
    if (this.inFlight() !== prior) {
      if (this.caState !== CA_RECOVERY) {
        this.enterRecovery();
        this.cwndReduction(1, 0, false);
      }
      this.xmitRetransmitQueue(this.currentMss());
    }
    if (wait > 0) this.armReoTimer(Math.min(wait + 2, this.rto));
  }

  /**
   * tcp_dsack_seen: count a D-SACK; one for data retransmitted in the
   * episode that can be undone says that retransmission was not needed
   * (undo_retrans comes down by the segments it covers).
   */
  private dsackSeen(b: TcpSackBlock): void {
    this.proto.mib.ext.TCPDSACKRecv++;
    const ls = this.rec;
    if (ls !== null && ls.undoActive && ls.undoRetrans > 0 && seqAfter(b.end, ls.undoSeq)) {
      const segs = Math.max(1, Math.ceil(((b.end - b.start) >>> 0) / this.mss));
      ls.undoRetrans = Math.max(0, ls.undoRetrans - segs);
    }
  }

  /** tcp_init_undo: the episode starts at snd_una and may be undone until proven real. */
  private initUndo(): void {
    this.ls.undoActive = true;
    this.ls.undoSeq = this.sndUna;
    this.ls.undoRetrans = -1;
    this.ls.retransStamp = 0;
  }

  /** tcp_retransmit_skb's bookkeeping: one more retransmission to be proven needed. */
  private countUndoRetrans(): void {
    if (this.ls.retransStamp === 0 && this.tsOn) this.ls.retransStamp = this.tsNow(this.mstamp) || 1;
    if (!this.ls.undoActive) return;
    if (this.ls.undoRetrans < 0) this.ls.undoRetrans = 0;
    this.ls.undoRetrans++;
  }

  /**
   * tcp_may_undo: every retransmission was reported duplicate, or this ACK
   * echoes a timestamp from before the first retransmission
   * (tcp_packet_delayed: the original arrived, the Eifel detection of RFC 3522).
   */
  private mayUndo(): boolean {
    if (!this.ls.undoActive || this.ls.undoRetrans < 0) return false;
    if (this.ls.undoRetrans === 0) return true;
    return this.ls.retransStamp !== 0 && this.ls.rcvTsecr !== 0 && seqBefore(this.ls.rcvTsecr, this.ls.retransStamp);
  }

  /** tcp_current_ssthresh: the ssthresh to go back to, at least three quarters of cwnd. */
  private currentSsthresh(): number {
    return Math.max(this.ssthresh, (this.cwnd >> 1) + (this.cwnd >> 2));
  }

  /**
   * tcp_undo_cwnd_reduction: the reduction was for nothing. cwnd goes back
   * to what it was (tcp_reno_undo_cwnd), ssthresh too; after an RTO the
   * segments it marked lost are not lost (unmark_loss).
   */
  private undoCwndReduction(unmarkLoss: boolean): void {
    if (unmarkLoss) {
      for (let i = this.wqHead; i < this.sendHead; i++) this.wq[i]!.sacked &= ~S_LOST;
      this.lostOut = 0;
    }
    if (this.ls.priorSsthresh > 0) {
      this.cwnd = Math.min(Math.max(this.cwnd, this.ls.priorCwnd), this.cwndClamp);
      if (this.ls.priorSsthresh > this.ssthresh) this.ssthresh = this.ls.priorSsthresh;
    }
    this.ls.undoActive = false;
    this.ls.rackAdvanced = true;
  }

  /**
   * tcp_fastretrans_alert, reduced to its RFC core: enter fast recovery on
   * DUPTHRESH duplicate ACKs (Reno, counted as "sacked" segments the way
   * tcp_add_reno_sack does) or SACKed segments (RFC 6675 IsLost); NewReno's
   * partial ACK retransmits the next hole (RFC 6582); recovery ends when
   * everything up to high_seq is acknowledged.
   */
  private fastRetransAlert(pktsAcked: number, dup: boolean): void {
    if (!this.sackOn) {
      if (dup) {
        this.dupAcks++;
        this.sackedOut++;
      } else if (pktsAcked > 0) {
        // A cumulative ACK consumes the duplicate ACKs that stood for segments it covers.
        this.sackedOut = Math.max(0, this.sackedOut - pktsAcked + 1);
        if (this.caState !== CA_RECOVERY) this.sackedOut = 0;
        this.dupAcks = 0;
      }
      this.limitRenoSacked();
    }
    // tcp_try_undo_loss (tcp_process_loss): an ACK that advances after an RTO
    // may show the RTO was spurious: the timestamp it echoes predates the
    // retransmission (the original got through, RFC 3522), or every
    // retransmission came back as a D-SACK.
    if (this.caState === CA_LOSS && pktsAcked > 0 && this.mayUndo()) {
      this.undoCwndReduction(true);
      this.proto.mib.ext.TCPLossUndo++;
      this.proto.mib.ext.TCPSpuriousRTOs++;
      this.retransmits = 0;
      this.caState = CA_OPEN;
      if (!this.sackOn) this.sackedOut = 0;
    }
    if ((this.caState === CA_RECOVERY || this.caState === CA_LOSS) && !seqBefore(this.sndUna, this.highSeq)) {
      // Recovery is over (tcp_try_undo_recovery / tcp_end_cwnd_reduction): cwnd is
      // ssthresh, unless the episode proves spurious and is undone.
      if (this.caState === CA_RECOVERY) {
        if (this.mayUndo()) {
          this.undoCwndReduction(false);
          this.proto.mib.ext.TCPFullUndo++;
        } else this.cwnd = Math.min(Math.max(this.ssthresh, 2), this.cwndClamp);
      }
      this.caState = CA_OPEN;
      if (!this.sackOn) this.sackedOut = 0;
    } else if (this.caState === CA_RECOVERY && this.ls.undoActive && this.ls.undoRetrans === 0) {
      // tcp_try_undo_dsack in recovery: every retransmission was a duplicate.
      this.undoCwndReduction(false);
      this.proto.mib.ext.TCPDSACKUndo++;
    }
    if (this.caState <= CA_DISORDER && this.rec !== null && this.rec.undoActive && this.rec.undoRetrans === 0) {
      // tcp_try_undo_dsack after the episode: the D-SACKs came late.
      this.undoCwndReduction(false);
      this.proto.mib.ext.TCPDSACKUndo++;
    }
    // tcp_identify_packet_loss: with SACK, RACK decides what is lost
    // (Linux's default, tcp_recovery = 1; 0 is RFC 6675's DUPTHRESH SACKed
    // segments above a hole); without SACK, NewReno's head rule.
    const rack = this.sackOn && (this.proto.ops.tcpSysctl.get('net.ipv4.tcp_recovery') & 1) !== 0;
    if (this.caState === CA_RECOVERY) {
      if (!this.sackOn && pktsAcked > 0 && this.packetsOut > 0) this.markHeadLost();
      if (rack) this.rackMarkLost();
      else if (this.sackOn) this.markLostSack();
      return;
    }
    if (this.caState === CA_LOSS) {
      if (this.sackOn) this.markLostSack();
      return;
    }
    if (rack && (this.sackedOut > 0 || this.caState !== CA_OPEN)) this.rackMarkLost();
    // tcp_time_to_recover: something is lost (RACK), or DUPTHRESH duplicate ACKs or SACKed segments.
    const lossSignal = rack ? this.lostOut > 0 : this.sackOn ? this.sackedOut >= DUPTHRESH : this.dupAcks >= DUPTHRESH;
    if (!lossSignal) {
      this.caState = this.sackedOut > 0 || this.dupAcks > 0 ? CA_DISORDER : CA_OPEN;
      return;
    }
    this.enterRecovery();
    if (this.sackOn && !rack) {
      // RFC 6675: the head, and every hole with DUPTHRESH SACKed segments above it.
      this.markHeadLost();
      this.markLostSack();
    }
  }

  /** tcp_enter_recovery: cwnd comes down by PRR, ACK by ACK; the lost head goes first. */
  private enterRecovery(): void {
    const mib = this.proto.mib.ext;
    if (this.sackOn) mib.TCPSackRecovery++;
    else mib.TCPRenoRecovery++;
    this.initUndo();
    this.ls.priorSsthresh = this.currentSsthresh();
    this.initCwndReduction();
    this.caState = CA_RECOVERY;
    this.ls.tlpTimer?.clear();
    if (!this.sackOn) this.markHeadLost();
    mib.TCPFastRetrans++;
  }

  /** tcp_init_cwnd_reduction: the reduction starts from the cwnd of now, towards a new ssthresh. */
  private initCwndReduction(): void {
    this.highSeq = this.sndNxt;
    this.ls.tlpActive = false;
    this.cwndCnt = 0;
    this.ls.priorCwnd = this.cwnd;
    this.ls.prrDelivered = 0;
    this.ls.prrOut = 0;
    this.ssthresh = this.cc.ssthresh(this, this.mstamp);
  }

  /**
   * tcp_cwnd_reduction, Proportional Rate Reduction (RFC 6937): while more
   * is in flight than ssthresh, send in proportion to what is delivered
   * (ssthresh / prior_cwnd of it), so cwnd glides down to ssthresh over one
   * round trip instead of halving at once and then stalling; once in flight
   * is below ssthresh, grow back at most one segment more than delivered
   * per ACK (PRR-SSRB), so a burst of losses never turns into a burst of
   * sending. The first ACK always lets the fast retransmit go.
   */
  private cwndReduction(delivered: number, newlyLost: number, unaAdvanced: boolean): void {
    if (delivered <= 0 || this.ls.priorCwnd === 0) return;
    this.ls.prrDelivered += delivered;
    const inFlight = this.inFlight();
    const delta = this.ssthresh - inFlight;
    let sndcnt: number;
    if (delta < 0) {
      sndcnt = Math.floor((this.ssthresh * this.ls.prrDelivered + this.ls.priorCwnd - 1) / this.ls.priorCwnd) - this.ls.prrOut;
    } else {
      sndcnt = Math.max(this.ls.prrDelivered - this.ls.prrOut, delivered);
      if (unaAdvanced && newlyLost === 0) sndcnt++;
      sndcnt = Math.min(delta, sndcnt);
    }
    sndcnt = Math.max(sndcnt, this.ls.prrOut === 0 ? 1 : 0);
    this.cwnd = Math.max(1, Math.min(inFlight + sndcnt, this.cwndClamp));
  }

  /**
   * tcp_schedule_loss_probe (RFC 8985 §7.2): with SACK, in the Open state,
   * probe after about two round trips (PTO) when no ACK comes: a tail loss
   * (the last segments of a burst, which no later segment can reveal) is
   * then found by a probe instead of an RTO. One segment out allows for the
   * peer's delayed ACK. Never later than the RTO would fire.
   */
  private scheduleLossProbe(advancingRto: boolean): void {
    if (this.packetsOut === 0 || !this.sackOn || this.caState !== CA_OPEN) return;
    if (this.state !== TcpState.ESTABLISHED && this.state !== TcpState.CLOSE_WAIT && this.state !== TcpState.FIN_WAIT1 && this.state !== TcpState.CLOSING && this.state !== TcpState.LAST_ACK) return;
    const earlyRetrans = this.proto.ops.tcpSysctl.get('net.ipv4.tcp_early_retrans');
    if (earlyRetrans !== 3 && earlyRetrans !== 4) return;
    let timeout = this.srtt > 0 ? 2 * this.srtt + (this.packetsOut === 1 ? TCP_RTO_MIN : 2) : TCP_TIMEOUT_INIT;
    const rtoDelta = advancingRto ? this.rto : this.rtoTimer.deadline - this.mstamp;
    if (rtoDelta > 0) timeout = Math.min(timeout, rtoDelta);
    (this.ls.tlpTimer ??= new LazyTimer(this.proto.ops.clock, () => this.timerLocked(3))).arm(timeout, this.mstamp);
  }

  /** The loss probe and reordering timers are made on first use: an idle connection never needs them. */
  private armReoTimer(ms: number): void {
    (this.ls.reoTimer ??= new LazyTimer(this.proto.ops.clock, () => this.timerLocked(4))).arm(ms, this.mstamp);
  }

  /**
   * tcp_send_loss_probe (RFC 8985 §7.3): new data if the peer's window
   * takes it (whatever cwnd says), else the last segment sent again. One
   * probe at a time; the RTO restarts from now.
   */
  private sendLossProbe(): void {
    if (this.packetsOut === 0 || this.state === TcpState.CLOSE || this.state === TcpState.TIME_WAIT) return;
    if (this.caState === CA_RECOVERY || this.caState === CA_LOSS) return;
    if (!this.ls.tlpActive) {
      this.ls.tlpRetrans = false;
      let sent = false;
      const next = this.wq[this.sendHead];
      const mssNow = this.currentMss();
      if (next !== undefined && !seqAfter(next.seq + Math.min(next.dataLen, mssNow), (this.sndUna + this.sndWnd) >>> 0)) {
        if (next.dataLen > mssNow && !this.fragmentToMss(this.sendHead, mssNow)) {
          this.rtoTimer.arm(this.rto, this.mstamp);
          return;
        }
        if (this.transmit(next, false)) {
          this.sendHead++;
          this.packetsOut++;
          this.sndNxt = next.end;
          if (next.dataLen > 0) this.proto.mib.ext.TCPOrigDataSent++;
          sent = true;
        }
      } else {
        let i = this.sendHead - 1;
        const last = this.wq[i]!;
        if (last.dataLen > mssNow) {
          // tcp_fragment: only the last MSS goes again.
          if (!this.splitSeg(i, Math.floor((last.dataLen - 1) / mssNow) * mssNow)) {
            this.rtoTimer.arm(this.rto, this.mstamp);
            return;
          }
          i = this.sendHead - 1;
        }
        const seg = this.wq[i]!;
        if (this.transmit(seg, true)) {
          seg.sacked |= S_EVER_RETRANS;
          this.ls.tlpRetrans = true;
          sent = true;
        }
      }
      if (sent) {
        this.ls.tlpActive = true;
        this.ls.tlpHighSeq = this.sndNxt;
        this.proto.mib.ext.TCPLossProbes++;
      }
    }
    this.rtoTimer.arm(this.rto, this.mstamp);
  }

  /**
   * tcp_process_tlp_ack: the episode ends when the ACK covers the probe.
   * A D-SACK of it, or a pure duplicate ACK, says nothing was lost; an ACK
   * beyond it after a retransmitted probe says the probe repaired a loss:
   * cwnd comes down once (CWR, ended at once) and TCPLossProbeRecovery counts it.
   */
  private processTlpAck(ack: number, dsack: boolean, pureDup: boolean): void {
    if (seqBefore(ack, this.ls.tlpHighSeq)) return;
    if (!this.ls.tlpRetrans) this.ls.tlpActive = false;
    else if (dsack) this.ls.tlpActive = false;
    else if (seqAfter(ack, this.ls.tlpHighSeq)) {
      this.initCwndReduction();
      this.cwnd = Math.min(Math.max(this.ssthresh, 2), this.cwndClamp);
      this.proto.mib.ext.TCPLossProbeRecovery++;
    } else if (pureDup) this.ls.tlpActive = false;
  }

  /**
   * tcp_limit_reno_sacked: without SACK, duplicate ACKs stand for segments
   * above the holes, so no more of them than packets_out less the holes (at
   * least one).
   */
  private limitRenoSacked(): void {
    if (this.sackOn) return;
    const holes = Math.min(Math.max(this.lostOut, 1), this.packetsOut);
    if (this.sackedOut + holes > this.packetsOut) this.sackedOut = Math.max(0, this.packetsOut - holes);
  }

  /** The first unacknowledged segment is lost (Reno: three duplicate ACKs; NewReno: a partial ACK). */
  private markHeadLost(): void {
    const seg = this.wq[this.wqHead];
    if (seg === undefined || this.wqHead >= this.sendHead) return;
    if ((seg.sacked & S_RETRANS) !== 0) {
      // Retransmitted already and still the head after a partial ACK: send again.
      if (!this.sackOn) {
        seg.sacked &= ~S_RETRANS;
        this.retransOut--;
      } else return;
    }
    if ((seg.sacked & (S_LOST | S_SACKED)) === 0) {
      seg.sacked |= S_LOST;
      this.lostOut++;
      this.ls.lostMarks++;
      this.limitRenoSacked();
    }
  }

  /** RFC 6675 IsLost: a hole with DUPTHRESH SACKed segments above it is lost. */
  private markLostSack(): void {
    let sackedAbove = 0;
    for (let i = this.sendHead - 1; i >= this.wqHead; i--) {
      const seg = this.wq[i]!;
      if ((seg.sacked & S_SACKED) !== 0) {
        sackedAbove++;
        continue;
      }
      if (sackedAbove >= DUPTHRESH && (seg.sacked & (S_LOST | S_RETRANS)) === 0) {
        seg.sacked |= S_LOST;
        this.lostOut++;
        this.ls.lostMarks++;
      }
    }
  }

  /** tcp_xmit_retransmit_queue: resend lost segments while the pipe has room. */
  private xmitRetransmitQueue(mssNow: number): void {
    for (let i = this.wqHead; i < this.sendHead; i++) {
      if (this.inFlight() >= this.cwnd) return;
      const seg = this.wq[i]!;
      if ((seg.sacked & S_LOST) === 0 || (seg.sacked & (S_RETRANS | S_SACKED)) !== 0) continue;
      if (seg.dataLen > mssNow && !this.fragmentToMss(i, mssNow)) return;
      if (!this.transmit(seg, true)) return;
      seg.sacked |= S_RETRANS | S_EVER_RETRANS;
      this.retransOut++;
      this.countUndoRetrans();
      if (this.caState === CA_LOSS) this.proto.mib.ext.TCPSlowStartRetrans++;
      if (i === this.wqHead) this.rtoTimer.arm(this.rto, this.mstamp);
    }
  }

  // -------------------------------------------------------------- timers

  /** Timer callbacks hold the socket like any other caller. */
  private timerLocked(which: number): void {
    this.lockSock();
    try {
      if (which === 0) this.onRtoTimer();
      else if (which === 3) this.sendLossProbe();
      else if (which === 4) this.rackReoTimeout();
      else if (which === 1) this.onDelackTimer();
      else this.onKaTimer();
    } finally {
      this.release();
    }
  }

  /** tcp_retransmit_timer (or tcp_probe_timer when probing a zero window). */
  private onRtoTimer(): void {
    if (this.probing) {
      this.probeTimer();
      return;
    }
    if (this.packetsOut === 0 || this.state === TcpState.CLOSE || this.state === TcpState.TIME_WAIT) return;
    const sys = this.proto.ops.tcpSysctl;
    const mib = this.proto.mib;
    const syn = this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV;
    const limit = syn ? sys.get('net.ipv4.tcp_syn_retries') : sys.get('net.ipv4.tcp_retries2');
    if (this.retransmits >= limit) {
      // tcp_write_timeout -> tcp_write_err: the connection is dead.
      mib.ext.TCPAbortOnTimeout++;
      this.fail('ETIMEDOUT');
      return;
    }
    mib.ext.TCPTimeouts++;
    // The state of a loss probe ends with the timeout (tcp_retransmit_timer).
    if (this.rec !== null) {
      this.rec.tlpActive = false;
      this.rec.tlpTimer?.clear();
    }
    this.enterLoss();
    const head = this.wq[this.wqHead]!;
    const mssNow = this.currentMss();
    if (head.dataLen <= mssNow || this.fragmentToMss(this.wqHead, mssNow)) {
      if (this.transmit(head, true)) {
        head.sacked |= S_RETRANS | S_EVER_RETRANS;
        this.retransOut++;
        this.countUndoRetrans();
      }
    }
    this.retransmits++;
    this.backoff++;
    this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
    this.rtoTimer.arm(this.rto, this.mstamp);
  }

  /** tcp_enter_loss: everything not SACKed is presumed lost; slow start from one segment. */
  private enterLoss(): void {
    if (this.caState !== CA_LOSS) {
      this.ls.priorSsthresh = this.currentSsthresh();
      this.ls.priorCwnd = this.cwnd;
      this.ssthresh = this.cc.ssthresh(this, this.mstamp);
      this.cc.onLoss();
      this.initUndo();
    }
    this.cwnd = 1;
    this.cwndCnt = 0;
    this.caState = CA_LOSS;
    this.highSeq = this.sndNxt;
    this.dupAcks = 0;
    // tcp_timeout_mark_lost: a SACKed segment at the head means the peer threw
    // away what it had SACKed (reneging, RFC 2018 §8): forget every SACK mark.
    const head = this.wq[this.wqHead];
    const reneg = this.sackOn && this.wqHead < this.sendHead && head !== undefined && (head.sacked & S_SACKED) !== 0;
    if (reneg) this.proto.mib.ext.TCPSACKReneging++;
    if (!this.sackOn || reneg) this.sackedOut = 0;
    this.lostOut = 0;
    this.retransOut = 0;
    for (let i = this.wqHead; i < this.sendHead; i++) {
      const seg = this.wq[i]!;
      seg.sacked &= ~S_RETRANS;
      if (!this.sackOn || reneg) seg.sacked &= ~S_SACKED;
      if ((seg.sacked & S_SACKED) === 0) {
        seg.sacked |= S_LOST;
        this.lostOut++;
      } else seg.sacked &= ~S_LOST;
    }
  }

  /**
   * tcp_probe_timer + tcp_write_wakeup: the peer's window is shut and
   * nothing is in flight. Send what fits if the window opened a little, else
   * a probe with an old sequence number that forces the peer to answer with
   * its window (tcp_xmit_probe_skb). Backs off like the RTO.
   */
  private probeTimer(): void {
    this.probing = false;
    if (this.packetsOut > 0 || this.sendHead >= this.wq.length) return;
    const sys = this.proto.ops.tcpSysctl;
    if (this.probesOut >= sys.get('net.ipv4.tcp_retries2') && this.orphan) {
      this.fail('ETIMEDOUT');
      return;
    }
    this.probesOut++;
    this.zeroWindowProbes++;
    this.proto.mib.ext.TCPWinProbe++;
    const seg = this.wq[this.sendHead]!;
    const wndEnd = (this.sndUna + this.sndWnd) >>> 0;
    const fits = (wndEnd - seg.seq) | 0;
    if (fits > 0 && seg.dataLen > 0) {
      if (fits < seg.dataLen) this.splitSeg(this.sendHead, fits);
      this.writeXmit(true);
    } else this.sendAck((this.sndUna - 1) >>> 0);
    if (this.packetsOut === 0) {
      this.probing = true;
      this.rtoTimer.arm(Math.min(this.rto * 2 ** this.probeBackoff(), TCP_PROBE_MAX), this.mstamp);
    }
  }

  /** The delayed ACK is due (tcp_delack_timer_handler). */
  private onDelackTimer(): void {
    if (!this.ackPending || this.state === TcpState.CLOSE) return;
    this.proto.mib.ext.DelayedACKs++;
    this.sendAck();
  }

  private probesOutKa = 0;

  /** sk_timer: keepalive probes, the FIN-WAIT-2 timeout, the end of TIME-WAIT. */
  private onKaTimer(): void {
    const sys = this.proto.ops.tcpSysctl;
    if (this.pendingCtl !== 0) {
      const ctl = this.pendingCtl;
      this.pendingCtl = 0;
      this.queueCtl(ctl);
      this.push(true);
      return;
    }
    switch (this.state) {
      case TcpState.TIME_WAIT:
        this.setState(TcpState.CLOSE);
        this.destroy();
        return;
      case TcpState.FIN_WAIT2:
        if (this.orphan) {
          this.setState(TcpState.CLOSE);
          this.destroy();
        }
        return;
      case TcpState.ESTABLISHED:
      case TcpState.CLOSE_WAIT:
        break;
      default:
        return;
    }
    if (!this.keepalive) return;
    const now = this.mstamp;
    const time = sys.get('net.ipv4.tcp_keepalive_time') * 1000;
    const intvl = sys.get('net.ipv4.tcp_keepalive_intvl') * 1000;
    // tcp_keepalive_timer: only an idle connection with nothing in flight is probed.
    if (this.packetsOut > 0 || this.sendHead < this.wq.length) {
      this.kaTimer.arm(time, this.mstamp);
      return;
    }
    const idle = now - Math.max(this.lastRcvTime, this.lastSndDataTime);
    if (idle < time && this.probesOutKa === 0) {
      this.kaTimer.arm(time - idle, this.mstamp);
      return;
    }
    if (this.probesOutKa >= sys.get('net.ipv4.tcp_keepalive_probes')) {
      this.fail('ETIMEDOUT');
      return;
    }
    this.probesOutKa++;
    this.proto.mib.ext.TCPKeepAlive++;
    this.sendAck((this.sndUna - 1) >>> 0);
    this.kaTimer.arm(intvl, this.mstamp);
  }

  // ------------------------------------------------------------ receive data

  /** tcp_data_queue: in order to the receive queue, out of order to the OFO queue, both charged to rmem. */
  private dataQueue(skb: SkBuff, seq: number, fin: boolean): void {
    const mib = this.proto.mib.ext;
    const len = skb.len;
    const end = (seq + len) >>> 0;
    if (len > this.rcvMss) this.rcvMss = Math.min(len, this.advMss);
    if (len === 0 && !fin) {
      skb.free();
      return;
    }
    if (seq === this.rcvNxt || (seqBefore(seq, this.rcvNxt) && seqAfter(end, this.rcvNxt))) {
      if (this.receiveWindow() === 0 && len > 0 && seq === this.rcvNxt) {
        mib.TCPZeroWindowDrop++;
        this.quick = Math.max(this.quick, 1);
        this.sendAck();
        this.drop(skb, 'TCP_ZEROWINDOW');
        return;
      }
      // Partly old: keep only the new bytes; the old part is a D-SACK.
      if (seqBefore(seq, this.rcvNxt)) {
        this.dsackSet(seq, this.rcvNxt);
        skb.pull((this.rcvNxt - seq) >>> 0);
      }
      if (skb.len === 0) skb.free();
      else if (!this.queueInOrder(skb) && !(this.pruneQueue(0) && this.queueInOrder(skb))) {
        mib.TCPRcvQDrop++;
        this.ackPending = true;
        this.quick = Math.max(this.quick, 1);
        this.drop(skb, 'PROTO_MEM');
        return;
      }
      this.eventDataRecv(len);
      if (fin) this.rcvFin();
      if (this.ofo.length > 0) {
        this.ofoQueue();
        // Filling a hole: ACK at once so the sender leaves recovery (tcp_data_queue).
        this.quick = Math.max(this.quick, 1);
      }
      this.wakeStreamReaders();
      return;
    }
    if (!seqAfter(end, this.rcvNxt) && !(fin && end === this.rcvNxt && len === 0)) {
      // Entirely old: a retransmission of what we have; the ACK reports it as a D-SACK.
      mib.DelayedACKLost++;
      this.dsackSet(seq, end);
      this.quick = Math.max(this.quick, 1);
      this.sendAck();
      this.drop(skb, 'TCP_OLD_DATA');
      return;
    }
    if (!seqBefore(seq, (this.rcvNxt + this.receiveWindow()) >>> 0)) {
      this.sendAck();
      this.drop(skb, 'TCP_OVERWINDOW');
      return;
    }
    this.dataQueueOfo(skb, seq, end, fin);
  }

  /** Queue or coalesce in-order bytes (tcp_queue_rcv + tcp_try_coalesce). False when rcvbuf cannot take them. */
  private queueInOrder(skb: SkBuff): boolean {
    const q = this.receiveQueue;
    const tail = q.peekTail();
    const n = skb.len;
    if (tail !== null && !tail.isDataShared() && tail.tailroom() >= n && n <= 512) {
      tail.putData(skb.bytes);
      this.rcvNxt = (this.rcvNxt + n) >>> 0;
      this.bytesReceived += n;
      this.proto.mib.ext.TCPRcvCoalesce++;
      skb.free();
      return true;
    }
    // tcp_try_rmem_schedule: the test is on what is already charged, as
    // Linux's, so the segment the advertised window promised is taken even
    // when its truesize (a kmalloc size class) overshoots rcvbuf a little.
    if (this.rmemAlloc > this.rcvbuf) return false;
    this.measureRatio(skb);
    setOwnerR(skb, this);
    q.queueTail(skb);
    this.rcvNxt = (this.rcvNxt + n) >>> 0;
    this.bytesReceived += n;
    return true;
  }

  /**
   * tcp_prune_queue: in-order data does not fit. First copy the receive
   * queue into compact buffers (tcp_collapse: small segments waste most of
   * their truesize), then throw out-of-order data away from the top
   * (tcp_prune_ofo_queue) — the peer will send it again, but a hole that can
   * never be filled because OFO data holds the memory would be a deadlock.
   * True when `need` more bytes of truesize now fit.
   */
  private pruneQueue(need: number): boolean {
    const ext = this.proto.mib.ext;
    ext.PruneCalled++;
    if (this.rmemAlloc + need > this.rcvbuf) this.collapse();
    while (this.rmemAlloc + need > this.rcvbuf && this.ofo.length > 0) {
      const o = this.ofo.pop()!;
      if (this.lastOfo === o) this.lastOfo = null;
      ext.OfoPruned++;
      this.drop(o.skb, 'TCP_OFO_QUEUE_PRUNE');
    }
    return this.rmemAlloc + need <= this.rcvbuf;
  }

  /** tcp_collapse over the receive queue: the same bytes in as few buffers as fit 64 KiB each. */
  private collapse(): void {
    const q = this.receiveQueue;
    if (q.length < 2) return;
    let total = 0;
    for (const skb of q) total += skb.len;
    const CHUNK = 65536 - 1024;
    const fresh: SkBuff[] = [];
    for (let left = total; left > 0; left -= CHUNK) {
      const skb = allocSkbFrom(this.proto.ops.pool, Math.min(left, CHUNK));
      if (skb === null) {
        for (const f of fresh) f.free();
        return;
      }
      fresh.push(skb);
    }
    // Only worth it when it saves memory.
    let newTrue = 0;
    for (const f of fresh) newTrue += f.truesize;
    let oldTrue = 0;
    for (const skb of q) oldTrue += skb.truesize;
    if (newTrue >= oldTrue) {
      for (const f of fresh) f.free();
      return;
    }
    let i = 0;
    for (let old = q.dequeue(); old !== null; old = q.dequeue()) {
      let off = old.data;
      while (off < old.tail) {
        const dst = fresh[i]!;
        const n = Math.min(old.tail - off, dst.tailroom());
        dst.putData(old.buf.subarray(off, off + n));
        off += n;
        if (dst.tailroom() === 0) i++;
      }
      old.free();
    }
    for (const f of fresh) {
      setOwnerR(f, this);
      q.queueTail(f);
    }
    this.proto.mib.ext.TCPRcvCollapsed++;
  }

  /** tcp_data_queue_ofo: keep it for later, trimmed against what is there, charged to rmem. */
  private dataQueueOfo(skb: SkBuff, seq: number, end: number, fin: boolean): void {
    const mib = this.proto.mib.ext;
    this.quick = Math.max(this.quick, 1);
    this.ackPending = true;
    if (this.rmemAlloc > this.rcvbuf && !this.pruneQueue(0)) {
      mib.TCPOFODrop++;
      this.drop(skb, 'PROTO_MEM');
      return;
    }
    mib.TCPOFOQueue++;
    // Find the place; drop what is already held, trim overlaps.
    const ofo = this.ofo;
    let i = ofo.length;
    while (i > 0 && seqAfter(ofo[i - 1]!.seq, seq)) i--;
    const prev = ofo[i - 1];
    if (prev !== undefined && !seqBefore(prev.end, end) && !(fin && !prev.fin && prev.end === end)) {
      // All of it is held already: a duplicate (tcp_data_queue_ofo's tcp_dsack_set).
      mib.TCPOFOMerge++;
      this.dsackSet(seq, end);
      this.lastOfo = prev;
      this.drop(skb, 'TCP_OFOMERGE');
      return;
    }
    if (prev !== undefined && seqAfter(prev.end, seq)) {
      skb.pull((prev.end - seq) >>> 0);
      seq = prev.end;
    }
    // Later segments wholly covered by this one go; a partial overlap trims this one.
    while (i < ofo.length && !seqAfter(ofo[i]!.end, end) && !(ofo[i]!.fin && !fin)) {
      const gone = ofo.splice(i, 1)[0]!;
      mib.TCPOFOMerge++;
      this.drop(gone.skb, 'TCP_OFOMERGE');
    }
    const next = ofo[i];
    if (next !== undefined && seqAfter(end, next.seq)) {
      skb.trim((next.seq - seq) >>> 0);
      end = next.seq;
      fin = false;
    }
    this.measureRatio(skb);
    setOwnerR(skb, this);
    const o: OfoSeg = { skb, seq, end, fin };
    ofo.splice(i, 0, o);
    this.lastOfo = o;
  }

  /** tcp_ofo_queue: move what became in order to the receive queue. */
  private ofoQueue(): void {
    const ofo = this.ofo;
    while (ofo.length > 0) {
      const o = ofo[0]!;
      if (seqAfter(o.seq, this.rcvNxt)) break;
      ofo.shift();
      if (this.lastOfo === o) this.lastOfo = null;
      if (!seqAfter(o.end, this.rcvNxt) && !(o.fin && o.end === this.rcvNxt)) {
        this.drop(o.skb, 'TCP_OFO_DROP');
        continue;
      }
      const skb = o.skb;
      if (seqBefore(o.seq, this.rcvNxt)) skb.pull((this.rcvNxt - o.seq) >>> 0);
      // Already charged to rmem: move without recharging.
      if (skb.len > 0) {
        this.receiveQueue.queueTail(skb);
        this.rcvNxt = (this.rcvNxt + skb.len) >>> 0;
        this.bytesReceived += skb.len;
      } else skb.free();
      if (o.fin) {
        this.rcvFin();
        for (const rest of ofo.splice(0)) this.drop(rest.skb, 'TCP_OFO_DROP');
        break;
      }
    }
  }

  /** tcp_event_data_recv: schedule an ACK for new data. */
  private eventDataRecv(len: number): void {
    if (len <= 0) return;
    if (this.bytesReceived === len) {
      // First data: quick ACKs while the sender's window grows (tcp_incr_quickack).
      this.quick = Math.min(Math.max(1, Math.floor(this.rcvWnd / (2 * this.rcvMss))), MAX_QUICKACKS);
    }
    this.ackPending = true;
  }

  /** tcp_fin: the peer has no more to send. */
  private rcvFin(): void {
    this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    this.finReceived = true;
    this.setShutdown(RCV_SHUTDOWN);
    this.ackPending = true;
    this.quick = Math.max(this.quick, 1);
    switch (this.state) {
      case TcpState.SYN_RECV:
      case TcpState.ESTABLISHED:
        this.setState(TcpState.CLOSE_WAIT);
        break;
      case TcpState.FIN_WAIT1:
        // Our FIN is not acknowledged yet (or we would be in FIN-WAIT-2): simultaneous close.
        this.setState(TcpState.CLOSING);
        break;
      case TcpState.FIN_WAIT2:
        this.sendAck();
        this.enterTimeWait();
        break;
    }
    this.wakeStreamReaders();
  }

  /**
   * __tcp_ack_snd_check: ACK now if more than one full segment is unacked
   * (tcp's "every second segment"), in quick-ACK mode, or when out of order;
   * otherwise delay it (TCP_DELACK_MIN).
   */
  private ackSndCheck(): void {
    if (!this.ackPending || this.state === TcpState.CLOSE) return;
    const unacked = (this.rcvNxt - this.rcvWup) >>> 0;
    if ((unacked > this.rcvMss && this.freeWindow() >= this.rcvWnd) || this.quick > 0 || this.ofo.length > 0 || (this.shutdown & RCV_SHUTDOWN) !== 0) {
      this.sendAck();
      return;
    }
    if (!this.delackTimer.armed) this.delackTimer.arm(TCP_DELACK_MIN, this.mstamp);
  }

  /** ICMP for this connection (tcp_v4_err): a hard error ends a connect; frag-needed lowers the MSS. */
  icmpError(errno: ErrnoName, mtu?: number): void {
    if (mtu !== undefined && this.owned > 0) {
      // The socket is busy (the IP layer refused one of our own segments as
      // too big while we were sending): tcp_v4_err defers the MTU change to
      // release_sock (TCP_MTU_REDUCED_DEFERRED, tcp_release_cb).
      this.mtuPending = this.mtuPending === 0 ? mtu : Math.min(this.mtuPending, mtu);
      return;
    }
    this.lockSock();
    try {
      this.icmpErrorLocked(errno, mtu);
    } finally {
      this.release();
    }
  }

  /** An MTU from "fragmentation needed" waiting for the socket to be released; 0 when none. */
  private mtuPending = 0;

  private icmpErrorLocked(errno: ErrnoName, mtu?: number): void {
    if (mtu !== undefined) {
      this.mtuReduced(mtu);
      return;
    }
    if (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV) this.fail(errno);
    // Established: a soft error (RFC 1122 4.2.3.9); remembered, not fatal.
  }

  /**
   * tcp_v4_mtu_reduced: the path takes `mtu` bytes at most. Lower the MSS
   * (tcp_sync_mss) and resend what no longer fits (tcp_simple_retransmit):
   * those segments are marked lost and the connection enters Loss without
   * touching cwnd, since a smaller path is not congestion; the retransmit
   * queue cuts them to the new MSS as it resends them (tcp_fragment).
   */
  private mtuReduced(mtu: number): void {
    if (this.state === TcpState.CLOSE || this.state === TcpState.LISTEN || this.state === TcpState.TIME_WAIT) return;
    const mss = mtu - 40;
    if (mss < 68 || mss >= this.mss + (this.tsOn ? 12 : 0)) return;
    this.setMss(mss);
    const before = this.lostOut;
    for (let i = this.wqHead; i < this.sendHead; i++) {
      const seg = this.wq[i]!;
      if (seg.dataLen > this.mss && (seg.sacked & (S_LOST | S_SACKED)) === 0) {
        seg.sacked |= S_LOST;
        this.lostOut++;
        if ((seg.sacked & S_RETRANS) !== 0) {
          // A retransmission of the old size is lost as surely as the original.
          seg.sacked &= ~S_RETRANS;
          this.retransOut--;
        }
      }
    }
    this.limitRenoSacked();
    if (this.lostOut > before && this.caState !== CA_LOSS) {
      this.highSeq = this.sndNxt;
      // tcp_current_ssthresh: keep at least three quarters of the window.
      this.ssthresh = this.currentSsthresh();
      this.ls.priorSsthresh = 0;
      this.ls.undoActive = false;
      this.caState = CA_LOSS;
    }
    this.push(true);
  }
}

/**
 * Call a user callback from inside the protocol. A callback that throws is a
 * bug in its owner: it is rethrown on its own (so it is loud) instead of
 * unwinding the segment being processed half way.
 */
export function upcall(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function connectErrorText(errno: ErrnoName): string {
  switch (errno) {
    case 'ECONNREFUSED':
      return 'connection refused (the peer answered with a reset)';
    case 'ETIMEDOUT':
      return 'connection timed out (no answer to tcp_syn_retries SYNs)';
    case 'ECONNABORTED':
      return 'the connection was aborted before it was established';
    default:
      return `connect failed: ${errno}`;
  }
}
