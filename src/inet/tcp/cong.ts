// Congestion control, in segments as Linux counts cwnd. Reno (RFC 5681:
// slow start, then one segment per window of ACKs; halve on loss) and CUBIC
// (RFC 9438, net/ipv4/tcp_cubic.c: the window grows along
// W(t) = C (t - K)^3 + W_max from the last loss, never slower than the Reno
// estimate W_est; beta 0.7 and fast convergence; slow start ends early by
// HyStart++, RFC 9406, when the round trip starts to grow). The socket owns
// the numbers (cwnd, ssthresh, cwndCnt); an algorithm only moves them.

export interface CcState {
  cwnd: number;
  ssthresh: number;
  /** Linear-increase counter (snd_cwnd_cnt). */
  cwndCnt: number;
  /** Largest cwnd allowed (snd_cwnd_clamp). */
  cwndClamp: number;
  /** Oldest unacknowledged and next sequence numbers: HyStart++ counts rounds by them. */
  sndUna: number;
  sndNxt: number;
}

/**
 * The counters an algorithm moves (TcpExt, shared by every socket of the
 * protocol): HyStart++ ending slow start on a growing RTT, and the cwnd it
 * ended at, summed.
 */
export interface CongestionCounters {
  TCPHystartDelayDetect: number;
  TCPHystartDelayCwnd: number;
}

export interface CongestionOps {
  readonly name: 'reno' | 'cubic';
  /** ssthresh after a loss (ca_ops->ssthresh), in segments. */
  ssthresh(tp: CcState, now: number): number;
  /** Grow cwnd for `acked` newly acknowledged segments (ca_ops->cong_avoid). */
  congAvoid(tp: CcState, acked: number, now: number, srttMs: number): void;
  /** The connection entered Loss (an RTO): forget the epoch (CA_EVENT_LOSS). */
  onLoss(): void;
  /** A round-trip sample in ms (ca_ops->pkts_acked), after the ACK moved snd_una: CUBIC keeps the minimum, HyStart++ watches it. */
  onRtt(rttMs: number, tp: CcState): void;
}

/** tcp_slow_start: grow by one per acked segment up to ssthresh; return what is left over. */
export function slowStart(tp: CcState, acked: number): number {
  const cwnd = Math.min(tp.cwnd + acked, tp.ssthresh);
  acked -= cwnd - tp.cwnd;
  tp.cwnd = Math.min(cwnd, tp.cwndClamp);
  return acked;
}

/** tcp_cong_avoid_ai: one segment more for every `w` segments acked. */
export function congAvoidAi(tp: CcState, w: number, acked: number): void {
  if (tp.cwndCnt >= w) {
    tp.cwndCnt = 0;
    tp.cwnd++;
  }
  tp.cwndCnt += acked;
  if (tp.cwndCnt >= w) {
    const delta = Math.floor(tp.cwndCnt / w);
    tp.cwndCnt -= delta * w;
    tp.cwnd += delta;
  }
  tp.cwnd = Math.min(tp.cwnd, tp.cwndClamp);
}

export class Reno implements CongestionOps {
  readonly name = 'reno' as const;

  ssthresh(tp: CcState): number {
    return Math.max(tp.cwnd >> 1, 2);
  }

  congAvoid(tp: CcState, acked: number): void {
    if (tp.cwnd < tp.ssthresh) {
      acked = slowStart(tp, acked);
      if (acked === 0) return;
    }
    congAvoidAi(tp, tp.cwnd, acked);
  }

  onLoss(): void {}
  onRtt(): void {}
}

/** RFC 9438 §4.6 beta_cubic and §5 C (segments per second cubed). */
const BETA = 0.7;
const C = 0.4;
/** RFC 9438 §4.3 alpha_cubic: Reno-friendly additive increase at beta 0.7. */
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

// RFC 9406 §4.3 constants.
const MIN_RTT_THRESH = 4;
const MAX_RTT_THRESH = 16;
const MIN_RTT_DIVISOR = 8;
const N_RTT_SAMPLE = 8;
const CSS_GROWTH_DIVISOR = 4;
const CSS_ROUNDS = 5;
/** L for a sender that does not pace: at most this many segments of growth per ACK in slow start. */
const SS_LIMIT = 8;

/**
 * HyStart++ (RFC 9406): slow start watches the minimum RTT of each round
 * (a round ends when the ACK passes the snd_nxt of its start). When it
 * grows by RttThresh over the last round's, the queue at the bottleneck is
 * filling: Conservative Slow Start grows a quarter as fast, and after
 * CSS_ROUNDS rounds of it slow start ends (ssthresh = cwnd) before the
 * queue overflows. An RTT back below the baseline was a false alarm: slow
 * start goes on. Linux's tcp_cubic.c has the older HyStart (delay and ACK
 * train, no CSS); this is the RFC's.
 */
class HystartPP {
  private windowEnd = 0;
  private started = false;
  private lastRoundMinRtt = Infinity;
  private currentRoundMinRtt = Infinity;
  private rttSampleCount = 0;
  /** In Conservative Slow Start: its baseline RTT; Infinity when not. */
  cssBaselineMinRtt = Infinity;
  private cssRounds = 0;

  constructor(private readonly counters: CongestionCounters | null) {}

  reset(): void {
    this.started = false;
    this.lastRoundMinRtt = this.currentRoundMinRtt = Infinity;
    this.rttSampleCount = 0;
    this.cssBaselineMinRtt = Infinity;
    this.cssRounds = 0;
  }

  get inCss(): boolean {
    return this.cssBaselineMinRtt !== Infinity;
  }

  onRtt(rtt: number, tp: CcState): void {
    if (tp.cwnd >= tp.ssthresh) return;
    if (!this.started || ((tp.sndUna - this.windowEnd) | 0) >= 0) {
      // A new round (§4.2: "at the start of each round").
      if (this.started && this.inCss && ++this.cssRounds >= CSS_ROUNDS) {
        // Enough rounds in CSS: slow start is over.
        tp.ssthresh = Math.max(tp.cwnd, 2);
        if (this.counters !== null) {
          this.counters.TCPHystartDelayDetect++;
          this.counters.TCPHystartDelayCwnd += tp.cwnd;
        }
        this.cssBaselineMinRtt = Infinity;
        return;
      }
      this.started = true;
      this.windowEnd = tp.sndNxt;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Infinity;
      this.rttSampleCount = 0;
    }
    this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rtt);
    this.rttSampleCount++;
    if (this.rttSampleCount < N_RTT_SAMPLE || this.currentRoundMinRtt === Infinity) return;
    if (!this.inCss) {
      if (this.lastRoundMinRtt === Infinity) return;
      const thresh = Math.min(Math.max(this.lastRoundMinRtt / MIN_RTT_DIVISOR, MIN_RTT_THRESH), MAX_RTT_THRESH);
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt + thresh) {
        this.cssBaselineMinRtt = this.currentRoundMinRtt;
        this.cssRounds = 0;
      }
    } else if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
      // A spurious exit: back to slow start.
      this.cssBaselineMinRtt = Infinity;
      this.cssRounds = 0;
    }
  }

  /** Slow start's growth for `acked` segments, a quarter of it in CSS; returns what is left over past ssthresh. */
  slowStart(tp: CcState, acked: number): number {
    if (!this.inCss) return slowStart(tp, Math.min(acked, SS_LIMIT));
    tp.cwndCnt += Math.min(acked, SS_LIMIT);
    const inc = Math.floor(tp.cwndCnt / CSS_GROWTH_DIVISOR);
    tp.cwndCnt -= inc * CSS_GROWTH_DIVISOR;
    tp.cwnd = Math.min(tp.cwnd + inc, tp.ssthresh, tp.cwndClamp);
    return 0;
  }
}

export class Cubic implements CongestionOps {
  readonly name = 'cubic' as const;
  /** Made with the first ACK of data (an idle connection needs none). */
  private hystart: HystartPP | null = null;

  constructor(private readonly counters: CongestionCounters | null = null) {}

  private lastMaxCwnd = 0;
  private epochStart = -1;
  private originPoint = 0;
  private k = 0;
  private delayMin = 0;
  /** W_est of RFC 9438 §4.3, in segments. */
  private wEst = 0;

  ssthresh(tp: CcState): number {
    this.epochStart = -1;
    this.hystart?.reset();
    // Fast convergence (RFC 9438 §4.7): give way to newer flows.
    this.lastMaxCwnd = tp.cwnd < this.lastMaxCwnd ? (tp.cwnd * (1 + BETA)) / 2 : tp.cwnd;
    return Math.max(Math.floor(tp.cwnd * BETA), 2);
  }

  onLoss(): void {
    this.epochStart = -1;
    this.lastMaxCwnd = 0;
    this.hystart?.reset();
  }

  onRtt(rttMs: number, tp: CcState): void {
    if (rttMs > 0 && (this.delayMin === 0 || rttMs < this.delayMin)) this.delayMin = rttMs;
    this.hystart?.onRtt(rttMs, tp);
  }

  congAvoid(tp: CcState, acked: number, now: number, srttMs: number): void {
    if (tp.cwnd < tp.ssthresh) {
      acked = (this.hystart ??= new HystartPP(this.counters)).slowStart(tp, acked);
      if (acked === 0) return;
    }
    const cnt = this.update(tp, acked, now, srttMs);
    congAvoidAi(tp, cnt, acked);
  }

  /** bictcp_update: how many ACKed segments buy one more segment of cwnd. */
  private update(tp: CcState, acked: number, now: number, srttMs: number): number {
    const cwnd = tp.cwnd;
    if (this.epochStart < 0) {
      this.epochStart = now;
      this.wEst = cwnd;
      if (this.lastMaxCwnd <= cwnd) {
        this.k = 0;
        this.originPoint = cwnd;
      } else {
        this.k = Math.cbrt((this.lastMaxCwnd - cwnd) / C);
        this.originPoint = this.lastMaxCwnd;
      }
    }
    // The window one RTT ahead (RFC 9438 §4.2 uses t + RTT as the target time).
    const t = (now - this.epochStart + (this.delayMin || srttMs)) / 1000;
    const target = this.originPoint + C * (t - this.k) ** 3;
    let cnt = target > cwnd ? cwnd / (target - cwnd) : 100 * cwnd;
    if (this.lastMaxCwnd === 0 && cnt > 20) cnt = 20;
    // Reno-friendly region (§4.3).
    this.wEst += (ALPHA * acked) / cwnd;
    if (this.wEst > cwnd) cnt = Math.min(cnt, cwnd / (this.wEst - cwnd));
    return Math.max(Math.floor(cnt), 2);
  }
}

export function newCongestionOps(name: 'reno' | 'cubic', counters: CongestionCounters | null = null): CongestionOps {
  return name === 'reno' ? new Reno() : new Cubic(counters);
}
