// ping, inside the stack: echo requests from an ICMP "ping socket" (Linux's
// net/ipv4/ping.c: one identifier per session, replies matched by it), with
// the results in the words of iputils ping's summary. ICMP errors about our
// requests (host unreachable from a neighbour that never answered, time
// exceeded from a router) are reported per sequence number, as ping prints
// "From X icmp_seq=N Destination Host Unreachable".

import { NetError } from '../errno.ts';
import { allocSkbFrom, type SkBuff } from '../skb/skbuff.ts';
import { formatIpv4, IPPROTO_ICMP } from '../wire/ipv4.ts';
import { emitIcmpEcho, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_HLEN, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import { requireAddr } from './addr.ts';
import type { PingOptions, PingReply, PingResult } from './control.ts';
import type { InetStack } from './inet.ts';
import { MAX_HEADER, readU32, type IcmpError } from './ipv4.ts';

const UNREACH_TEXT = [
  'Destination Net Unreachable', 'Destination Host Unreachable', 'Destination Protocol Unreachable',
  'Destination Port Unreachable', 'Frag needed and DF set', 'Source Route Failed',
];

/** iputils' words for an ICMP error (pr_icmph). */
export function icmpErrorText(type: number, code: number, info: number): string {
  if (type === ICMP_DEST_UNREACH) {
    if (code === 4) return `Frag needed and DF set (mtu = ${info})`;
    return UNREACH_TEXT[code] ?? `Dest Unreachable, Bad Code: ${code}`;
  }
  if (type === ICMP_TIME_EXCEEDED) return code === 0 ? 'Time to live exceeded' : 'Frag reassembly time exceeded';
  if (type === 12) return 'Parameter problem';
  return `Bad ICMP type: ${type}`;
}

interface Session {
  id: number;
  dst: number;
  sent: Map<number, number>;
  replies: PingReply[];
  seen: Set<number>;
  errors: { seq: number; from: string; message: string }[];
  /** Called on every reply or error, so the waiter can look again. */
  wake: () => void;
}

export class PingTable {
  private readonly sessions = new Map<number, Session>();
  private nextId = Math.floor(Math.random() * 0xffff);

  constructor(readonly inet: InetStack) {}

  /** ping_rcv: an echo reply for one of our sessions; anything else has no socket. */
  rcvReply(skb: SkBuff): void {
    const inet = this.inet;
    const b = skb.buf;
    const d = skb.data;
    const id = (b[d + 4]! << 8) | b[d + 5]!;
    const seq = (b[d + 6]! << 8) | b[d + 7]!;
    const s = this.sessions.get(id);
    if (s === undefined) {
      inet.drop(skb, 'NO_SOCKET');
      return;
    }
    const nh = skb.networkHeader;
    const sentAt = s.sent.get(seq);
    if (sentAt !== undefined && !s.seen.has(seq)) {
      s.seen.add(seq);
      s.replies.push({
        seq,
        from: formatIpv4(readU32(b, nh + 12)),
        ttl: b[nh + 8]!,
        time_ms: round3(inet.stack.clock.now() - sentAt),
      });
    }
    inet.consume(skb);
    s.wake();
  }

  /** An ICMP error quoting one of our echo requests. */
  err(e: IcmpError): void {
    const t = e.transport;
    if (t.length < 8 || t[0] !== ICMP_ECHO) return;
    const id = (t[4]! << 8) | t[5]!;
    const s = this.sessions.get(id);
    if (s === undefined) return;
    const seq = (t[6]! << 8) | t[7]!;
    s.errors.push({ seq, from: formatIpv4(e.from), message: icmpErrorText(e.type, e.code, e.info) });
    s.wake();
  }

  private allocId(): number {
    for (let i = 0; i < 0x10000; i++) {
      this.nextId = (this.nextId + 1) & 0xffff;
      if (!this.sessions.has(this.nextId)) return this.nextId;
    }
    throw new NetError('EAGAIN', 'every ping identifier is in use');
  }

  async ping(opts: PingOptions): Promise<PingResult> {
    const inet = this.inet;
    const dst = requireAddr(opts.dst, 'destination');
    const count = opts.count ?? 4;
    const interval = opts.intervalMs ?? 1000;
    const size = opts.size ?? 56;
    const timeout = opts.timeoutMs ?? 2000;
    if (!Number.isInteger(count) || count < 1 || count > 100000) throw new NetError('EINVAL', 'count must be within 1..100000');
    if (!Number.isFinite(interval) || interval < 0) throw new NetError('EINVAL', 'interval_ms must not be negative');
    if (!Number.isInteger(size) || size < 0 || size > 65507) throw new NetError('EINVAL', 'size must be within 0..65507');
    if (opts.ttl !== undefined && (!Number.isInteger(opts.ttl) || opts.ttl < 1 || opts.ttl > 255)) throw new NetError('EINVAL', 'ttl must be within 1..255');
    if (!Number.isFinite(timeout) || timeout < 0) throw new NetError('EINVAL', 'timeout_ms must not be negative');
    let src = 0;
    if (opts.src !== undefined) {
      src = requireAddr(opts.src, 'source');
      if (inet.localType(src, null) !== 'local') throw new NetError('EADDRNOTAVAIL', `${opts.src} is not an address of this host`);
    }
    const rt0 = inet.routeOutput(dst, src);
    if (typeof rt0 === 'string') throw new NetError(rt0, `connect: ${rt0 === 'ENETUNREACH' ? 'Network is unreachable' : rt0}`);
    const clock = inet.stack.clock;
    let wakeUp: (() => void) | null = null;
    const s: Session = {
      id: this.allocId(), dst, sent: new Map(), replies: [], seen: new Set(), errors: [],
      wake: () => wakeUp?.(),
    };
    this.sessions.set(s.id, s);
    /** Sleep until `ms` pass, something arrives (when `early`), or the signal aborts. */
    const sleep = (ms: number, early: boolean): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          t.cancel();
          opts.signal?.removeEventListener('abort', done);
          wakeUp = null;
          resolve();
        };
        const t = clock.setTimer(ms, done);
        if (early) wakeUp = done;
        opts.signal?.addEventListener('abort', done, { once: true });
      });
    let transmitted = 0;
    try {
      for (let seq = 1; seq <= count && !opts.signal?.aborted; seq++) {
        transmitted++;
        // The next interval is armed before this request goes: the reply
        // (over veth, a bottom half away) is then timed without the cost of
        // arming a timer in between.
        const next = seq < count ? sleep(interval, false) : null;
        this.sendEcho(s, seq & 0xffff, src, size, opts.ttl);
        if (next !== null) await next;
      }
      const deadline = clock.now() + timeout;
      while (!opts.signal?.aborted && s.seen.size + new Set(s.errors.map((e) => e.seq)).size < transmitted && clock.now() < deadline) {
        await sleep(deadline - clock.now(), true);
      }
    } finally {
      this.sessions.delete(s.id);
    }
    const times = s.replies.map((r) => r.time_ms);
    const received = s.replies.length;
    let rtt: PingResult['rtt_ms'] = null;
    if (received > 0) {
      const avg = times.reduce((a, b) => a + b, 0) / received;
      const sq = times.reduce((a, b) => a + b * b, 0) / received;
      rtt = {
        min: round3(Math.min(...times)),
        avg: round3(avg),
        max: round3(Math.max(...times)),
        mdev: round3(Math.sqrt(Math.max(0, sq - avg * avg))),
      };
    }
    return {
      dst: formatIpv4(dst),
      transmitted,
      received,
      loss_percent: round3(((transmitted - received) * 100) / transmitted),
      rtt_ms: rtt,
      replies: s.replies.sort((a, b) => a.seq - b.seq),
      errors: s.errors,
    };
  }

  private sendEcho(s: Session, seq: number, src: number, size: number, ttl: number | undefined): void {
    const inet = this.inet;
    const skb = allocSkbFrom(inet.stack.pool, MAX_HEADER + ICMP_HLEN + size);
    if (skb === null) {
      s.errors.push({ seq, from: formatIpv4(src), message: 'No buffer space available' });
      return;
    }
    skb.reserve(MAX_HEADER);
    const at = skb.put(ICMP_HLEN + size);
    const b = skb.buf;
    // iputils fills the data with 0x08, 0x09, ... after its timestamp; a plain counting pattern here.
    for (let i = 0; i < size; i++) b[at + ICMP_HLEN + i] = (i + 8) & 0xff;
    emitIcmpEcho({ type: ICMP_ECHO, id: s.id, seq }, b, at, size);
    s.sent.set(seq, inet.stack.clock.now());
    inet.mib.icmpOutType(ICMP_ECHO);
    const err = inet.ip.output(skb, { src, dst: s.dst, protocol: IPPROTO_ICMP, ...(ttl !== undefined ? { ttl } : {}) });
    if (err !== null) {
      const rt = inet.routeOutput(s.dst, src);
      const from = src !== 0 ? src : typeof rt === 'string' ? 0 : rt.src;
      s.errors.push({ seq, from: formatIpv4(from), message: err === 'EMSGSIZE' ? `local error: message too long, mtu=${typeof rt === 'string' ? 0 : rt.mtu}` : err });
    }
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
