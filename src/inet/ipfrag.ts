// IPv4 reassembly (net/ipv4/ip_fragment.c, net/ipv4/inet_fragment.c).
// Fragments wait in a queue per (source, destination, id, protocol), charged
// by truesize against net.ipv4.ipfrag_high_thresh for every queue together:
// a fragment that would take the total past it is dropped, so a flood of
// never-completed datagrams cannot grow memory beyond the threshold. A queue
// that is not complete within ipfrag_time seconds is dropped
// (FRAG_REASM_TIMEOUT) and, if its first fragment came, the sender hears
// ICMP time exceeded (fragment reassembly). An exact duplicate is dropped
// alone (DUP_FRAG); any other overlap kills the whole queue, as Linux does
// since 4.19 (RFC 5722's rule, applied to IPv4 too).

import type { TimerHandle } from '../clock.ts';
import { allocSkbFrom, type SkBuff } from '../skb/skbuff.ts';
import { internetChecksum } from '../wire/checksum.ts';
import { IP_MF, IP_OFFSET } from '../wire/ipv4.ts';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { InetStack } from './inet.ts';
import { ICMP_EXC_FRAGTIME, MAX_HEADER, readU32 } from './ipv4.ts';

interface Frag {
  skb: SkBuff;
  /** Payload byte range [offset, end) within the datagram. */
  offset: number;
  end: number;
}

interface FragQueue {
  key: string;
  frags: Frag[];
  /** Bytes of payload received (no overlaps, so a plain sum). */
  meat: number;
  /** Datagram payload length, known once the last fragment (MF clear) came; -1 before. */
  len: number;
  /** Truesize charged for this queue. */
  mem: number;
  timer: TimerHandle;
}

/** The largest IPv4 datagram: its payload may end no later than this. */
const IP_MAX_PAYLOAD_END = 65535;

export class IpFrags {
  private readonly queues = new Map<string, FragQueue>();
  /** Truesize of every fragment queued, all queues together (frag_mem_limit). */
  mem = 0;

  constructor(readonly inet: InetStack) {}

  get queueCount(): number {
    return this.queues.size;
  }

  /**
   * ip_defrag: queue `skb` (a fragment, network header set); returns the
   * whole datagram once complete, else null (the fragment is queued or
   * dropped).
   */
  defrag(skb: SkBuff): SkBuff | null {
    const inet = this.inet;
    const mib = inet.mib.ip;
    mib.ReasmReqds++;
    const b = skb.buf;
    const nh = skb.networkHeader;
    const ihl = (b[nh]! & 0x0f) << 2;
    const word = (b[nh + 6]! << 8) | b[nh + 7]!;
    const offset = (word & IP_OFFSET) << 3;
    const more = (word & IP_MF) !== 0;
    const plen = skb.tail - nh - ihl;
    const end = offset + plen;
    // Every fragment but the last carries a multiple of 8 bytes; nothing ends past 64 KiB.
    if (end + ihl > IP_MAX_PAYLOAD_END + 20 || end > IP_MAX_PAYLOAD_END - ihl || (more && (plen & 7) !== 0) || (more && plen === 0)) {
      mib.ReasmFails++;
      inet.drop(skb, 'IP_INHDR');
      return null;
    }
    const key = `${readU32(b, nh + 12)}:${readU32(b, nh + 16)}:${(b[nh + 4]! << 8) | b[nh + 5]!}:${b[nh + 9]!}`;
    let q = this.queues.get(key);
    if (this.mem + skb.truesize > inet.sysctl('net.ipv4.ipfrag_high_thresh')) {
      mib.ReasmFails++;
      inet.drop(skb, 'NOMEM');
      return null;
    }
    if (q === undefined) {
      const qk = key;
      q = {
        key,
        frags: [],
        meat: 0,
        len: -1,
        mem: 0,
        timer: inet.stack.clock.setTimer(inet.sysctl('net.ipv4.ipfrag_time') * 1000, () => this.expire(qk)),
      };
      this.queues.set(key, q);
    }
    // The datagram's length, once known, cannot change.
    if (!more) {
      if ((q.len >= 0 && q.len !== end) || this.endsBeyond(q, end)) {
        this.kill(q, 'DUP_FRAG');
        mib.ReasmFails++;
        inet.drop(skb, 'DUP_FRAG');
        return null;
      }
      q.len = end;
    } else if (q.len >= 0 && end > q.len) {
      this.kill(q, 'DUP_FRAG');
      mib.ReasmFails++;
      inet.drop(skb, 'DUP_FRAG');
      return null;
    }
    // Insert in offset order; an exact duplicate goes alone, any other overlap kills the queue.
    let i = 0;
    while (i < q.frags.length && q.frags[i]!.offset < offset) i++;
    const prev = i > 0 ? q.frags[i - 1]! : null;
    const next = i < q.frags.length ? q.frags[i]! : null;
    if (next !== null && next.offset === offset && next.end === end) {
      inet.drop(skb, 'DUP_FRAG');
      return null;
    }
    if ((prev !== null && prev.end > offset) || (next !== null && next.offset < end)) {
      this.kill(q, 'DUP_FRAG');
      mib.ReasmFails++;
      inet.drop(skb, 'DUP_FRAG');
      return null;
    }
    q.frags.splice(i, 0, { skb, offset, end });
    q.meat += plen;
    q.mem += skb.truesize;
    this.mem += skb.truesize;
    if (q.len >= 0 && q.meat === q.len && q.frags[0]!.offset === 0) return this.reasm(q);
    return null;
  }

  private endsBeyond(q: FragQueue, end: number): boolean {
    const last = q.frags[q.frags.length - 1];
    return last !== undefined && last.end > end;
  }

  /** ip_frag_reasm: one buffer with the first fragment's header and every payload in order. */
  private reasm(q: FragQueue): SkBuff | null {
    const inet = this.inet;
    const first = q.frags[0]!.skb;
    const fb = first.buf;
    const fnh = first.networkHeader;
    const ihl = (fb[fnh]! & 0x0f) << 2;
    const total = ihl + q.len;
    const out = allocSkbFrom(inet.stack.pool, MAX_HEADER + total);
    if (out === null) {
      this.kill(q, 'NOMEM');
      inet.mib.ip.ReasmFails++;
      return null;
    }
    out.reserve(MAX_HEADER);
    const at = out.put(total);
    fb.copy(out.buf, at, fnh, fnh + ihl);
    for (const f of q.frags) {
      const s = f.skb;
      const sih = (s.buf[s.networkHeader]! & 0x0f) << 2;
      s.buf.copy(out.buf, at + ihl + f.offset, s.networkHeader + sih, s.tail);
    }
    const o = out.buf;
    o[at + 2] = total >>> 8;
    o[at + 3] = total & 0xff;
    o[at + 6] = 0;
    o[at + 7] = 0;
    o[at + 10] = 0;
    o[at + 11] = 0;
    const c = internetChecksum(o, at, ihl);
    o[at + 10] = c >>> 8;
    o[at + 11] = c & 0xff;
    out.networkHeader = at;
    out.protocol = first.protocol;
    out.dev = first.dev;
    out.inputDev = first.inputDev;
    out.pktType = first.pktType;
    this.unlink(q);
    for (const f of q.frags) inet.consume(f.skb);
    inet.mib.ip.ReasmOKs++;
    return out;
  }

  private unlink(q: FragQueue): void {
    q.timer.cancel();
    this.queues.delete(q.key);
    this.mem -= q.mem;
    q.mem = 0;
  }

  /** inet_frag_kill + purge: the queue goes, its fragments dropped with `reason`. */
  private kill(q: FragQueue, reason: 'DUP_FRAG' | 'FRAG_REASM_TIMEOUT' | 'NOMEM' | 'QUEUE_PURGE'): void {
    this.unlink(q);
    for (const f of q.frags) this.inet.drop(f.skb, reason);
    q.frags = [];
  }

  /** ip_expire. */
  private expire(key: string): void {
    const q = this.queues.get(key);
    if (q === undefined) return;
    const inet = this.inet;
    inet.mib.ip.ReasmTimeout++;
    inet.mib.ip.ReasmFails++;
    const first = q.frags[0];
    if (first !== undefined && first.offset === 0) {
      inet.icmp.send(first.skb, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
    }
    this.kill(q, 'FRAG_REASM_TIMEOUT');
  }

  close(): void {
    for (const q of [...this.queues.values()]) this.kill(q, 'QUEUE_PURGE');
  }
}
