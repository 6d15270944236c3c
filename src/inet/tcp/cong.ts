// Congestion control, in segments as Linux counts cwnd. Reno (RFC 5681:
// slow start, then one segment per window of ACKs; halve on loss) and CUBIC
// (RFC 9438, net/ipv4/tcp_cubic.c without HyStart: the window grows along
// W(t) = C (t - K)^3 + W_max from the last loss, never slower than the Reno
// estimate W_est; beta 0.7 and fast convergence). The socket owns the
// numbers (cwnd, ssthresh, cwndCnt); an algorithm only moves them.

export interface CcState {
  cwnd: number;
  ssthresh: number;
  /** Linear-increase counter (snd_cwnd_cnt). */
  cwndCnt: number;
  /** Largest cwnd allowed (snd_cwnd_clamp). */
  cwndClamp: number;
}

export interface CongestionOps {
  readonly name: 'reno' | 'cubic';
  /** ssthresh after a loss (ca_ops->ssthresh), in segments. */
  ssthresh(tp: CcState, now: number): number;
  /** Grow cwnd for `acked` newly acknowledged segments (ca_ops->cong_avoid). */
  congAvoid(tp: CcState, acked: number, now: number, srttMs: number): void;
  /** The connection entered Loss (an RTO): forget the epoch (CA_EVENT_LOSS). */
  onLoss(): void;
  /** A round-trip sample in ms (ca_ops->pkts_acked): CUBIC keeps the minimum. */
  onRtt(rttMs: number): void;
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

export class Cubic implements CongestionOps {
  readonly name = 'cubic' as const;
  private lastMaxCwnd = 0;
  private epochStart = -1;
  private originPoint = 0;
  private k = 0;
  private delayMin = 0;
  /** W_est of RFC 9438 §4.3, in segments. */
  private wEst = 0;

  ssthresh(tp: CcState): number {
    this.epochStart = -1;
    // Fast convergence (RFC 9438 §4.7): give way to newer flows.
    this.lastMaxCwnd = tp.cwnd < this.lastMaxCwnd ? (tp.cwnd * (1 + BETA)) / 2 : tp.cwnd;
    return Math.max(Math.floor(tp.cwnd * BETA), 2);
  }

  onLoss(): void {
    this.epochStart = -1;
    this.lastMaxCwnd = 0;
  }

  onRtt(rttMs: number): void {
    if (rttMs > 0 && (this.delayMin === 0 || rttMs < this.delayMin)) this.delayMin = rttMs;
  }

  congAvoid(tp: CcState, acked: number, now: number, srttMs: number): void {
    if (tp.cwnd < tp.ssthresh) {
      acked = slowStart(tp, acked);
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

export function newCongestionOps(name: 'reno' | 'cubic'): CongestionOps {
  return name === 'reno' ? new Reno() : new Cubic();
}
