// Two TCP hosts in one process, joined by a simulated link on the virtual
// clock: each direction has a delay, an optional rate (a bottleneck queue
// that drops at its limit) and seeded impairments (loss, duplication,
// reordering, corruption). Every frame handed to the link is delivered,
// or counted in `link.dropped`; the copy the receiver gets comes from the
// receiver's own pool, as a frame on a wire would.

import { seededRandom } from '../../../src/random.ts';
import { VirtualClock } from '../../../src/clock.ts';
import { DROP_REASONS, type DropReason } from '../../../src/skb/drop-reason.ts';
import { SkbPool } from '../../../src/skb/pool.ts';
import { allocSkbFrom, type SkBuff } from '../../../src/skb/skbuff.ts';
import { Sysctl } from '../../../src/sysctl.ts';
import type { TcpIpOps } from '../../../src/inet/tcp/ip-ops.ts';
import { TcpProto } from '../../../src/inet/tcp/proto.ts';
import { TcpSysctl } from '../../../src/inet/tcp/sysctl.ts';
import { parseTcp } from '../../../src/wire/tcp.ts';

export const A_ADDR = 0xc0000201; // 192.0.2.1
export const B_ADDR = 0xc0000202; // 192.0.2.2

/** The stack's seeded PRNG (mulberry32), so a fast-check seed replays the same impairments. */
export const rng = seededRandom;

export interface Impairments {
  delayMs?: number;
  loss?: number;
  duplicate?: number;
  /** Probability that a frame is held back by an extra delay (so later ones pass it). */
  reorder?: number;
  corrupt?: number;
  /** Bits per second; 0 = unlimited. */
  rateBps?: number;
  /** Frames the bottleneck queue holds before dropping (tail drop). */
  queueLimit?: number;
  /** Drop every frame (a dead link). */
  down?: boolean;
  /** Drop frames this function picks (deterministic tests). */
  filter?: (seg: Buffer) => boolean;
  /** Extra delay in ms for the frames this function picks (a deterministic reordering or a stalled path). */
  hold?: (seg: Buffer) => number;
  /** Deliver inside send(), before output returns (a synchronous path back into TCP). */
  sync?: boolean;
  /**
   * A router on the path with this MTU: a bigger datagram (segment + 20
   * bytes of IPv4) is dropped and the sender gets ICMP "fragmentation
   * needed" quoting it one delay later, as tcp_v4_err would.
   */
  mtu?: number;
}

export class Host {
  readonly pool = new SkbPool();
  readonly sysctl = new Sysctl();
  readonly tcpSysctl = new TcpSysctl();
  readonly drops: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  readonly proto: TcpProto;
  peer!: Host;
  link!: Link;
  /** Segments this host sent (raw bytes), when recording. */
  sent: Buffer[] | null = null;

  constructor(
    readonly clock: VirtualClock,
    readonly addr: number,
    mtu = 1500,
  ) {
    const ops: TcpIpOps = {
      output: (skb, src, dst) => this.link.send(this, skb, src, dst),
      mssFor: () => mtu - 40,
      sourceFor: () => this.addr,
      clock,
      sysctl: this.sysctl,
      tcpSysctl: this.tcpSysctl,
      pool: this.pool,
      countDrop: (reason) => {
        this.drops[reason]++;
      },
    };
    this.proto = new TcpProto(ops);
  }

  dropCount(): number {
    return Object.values(this.drops).reduce((a, b) => a + b, 0);
  }
}

export class Link {
  readonly impair = new Map<Host, Impairments>();
  private readonly busyUntil = new Map<Host, number>();
  private readonly queued = new Map<Host, number>();
  sent = 0;
  delivered = 0;
  dropped = 0;
  corrupted = 0;
  /** Frames too big for `mtu`, answered with "fragmentation needed". */
  fragNeeded = 0;
  inFlight = 0;

  constructor(
    readonly clock: VirtualClock,
    readonly random: () => number,
  ) {}

  /** Impairments for frames that `from` sends. */
  set(from: Host, imp: Impairments): void {
    this.impair.set(from, imp);
  }

  send(from: Host, skb: SkBuff, src: number, dst: number): void {
    this.sent++;
    const bytes = Buffer.from(skb.bytes);
    skb.free();
    from.sent?.push(bytes);
    const imp = this.impair.get(from) ?? {};
    const r = this.random;
    if (imp.down === true || (imp.filter !== undefined && imp.filter(bytes)) || (imp.loss !== undefined && r() < imp.loss)) {
      this.dropped++;
      return;
    }
    if (imp.mtu !== undefined && bytes.length + 20 > imp.mtu) {
      this.dropped++;
      this.fragNeeded++;
      const mtu = imp.mtu;
      this.clock.setTimer(imp.delayMs ?? 1, () => {
        from.proto.err('EMSGSIZE', src, dst, bytes.readUInt16BE(0), bytes.readUInt16BE(2), bytes.readUInt32BE(4), mtu);
      });
      return;
    }
    const copies = imp.duplicate !== undefined && r() < imp.duplicate ? 2 : 1;
    let at = this.clock.now();
    if (imp.rateBps !== undefined && imp.rateBps > 0) {
      const q = this.queued.get(from) ?? 0;
      if (q >= (imp.queueLimit ?? 100)) {
        this.dropped++;
        return;
      }
      const start = Math.max(at, this.busyUntil.get(from) ?? 0);
      at = start + ((bytes.length + 40) * 8 * 1000) / imp.rateBps;
      this.busyUntil.set(from, at);
      this.queued.set(from, q + 1);
      this.clock.setTimer(at - this.clock.now(), () => this.queued.set(from, (this.queued.get(from) ?? 1) - 1));
    }
    if (imp.sync === true) {
      const to = from.peer;
      const rx = allocSkbFrom(to.pool, bytes.length + 64)!;
      rx.reserve(64);
      rx.putData(bytes);
      this.delivered++;
      to.proto.rcv(rx, src, dst);
      return;
    }
    for (let c = 0; c < copies; c++) {
      let delay = at - this.clock.now() + (imp.delayMs ?? 1);
      if (imp.reorder !== undefined && r() < imp.reorder) delay += (imp.delayMs ?? 1) * (1 + r() * 2);
      if (imp.hold !== undefined) delay += imp.hold(bytes);
      const frame = Buffer.from(bytes);
      if (imp.corrupt !== undefined && r() < imp.corrupt) {
        const bit = Math.floor(r() * frame.length * 8);
        frame[bit >> 3] = frame[bit >> 3]! ^ (1 << (bit & 7));
        this.corrupted++;
      }
      if (c > 0) this.sent++;
      this.inFlight++;
      this.clock.setTimer(delay, () => {
        this.inFlight--;
        const to = from.peer;
        const rx = allocSkbFrom(to.pool, frame.length + 64);
        if (rx === null) {
          this.dropped++;
          return;
        }
        rx.reserve(64);
        rx.putData(frame);
        this.delivered++;
        to.proto.rcv(rx, src, dst);
      });
    }
  }
}

export interface Pair {
  clock: VirtualClock;
  a: Host;
  b: Host;
  link: Link;
}

export function makePair(seed = 1, mtu = 1500): Pair {
  const clock = new VirtualClock();
  const a = new Host(clock, A_ADDR, mtu);
  const b = new Host(clock, B_ADDR, mtu);
  a.peer = b;
  b.peer = a;
  const link = new Link(clock, rng(seed));
  a.link = link;
  b.link = link;
  return { clock, a, b, link };
}

/** Describe a captured segment, tcpdump-style, for failure messages. */
export function describe(seg: Buffer): string {
  const t = parseTcp(seg);
  if (t === undefined) return 'bad';
  return `${t.srcPort}>${t.dstPort} f=${t.flags.toString(16)} seq=${t.seq} ack=${t.ack} win=${t.window} len=${t.payloadLength}`;
}

/** A deterministic payload: byte i is a function of i and the seed. */
export function pattern(n: number, seed = 7): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

import type { TcpSock } from '../../../src/inet/tcp/sock.ts';
import type { TcpSockOptions } from '../../../src/inet/tcp/sock.ts';

/** Run the virtual clock until `cond` holds (fails after `maxSteps` timer steps). */
export async function runUntil(clock: VirtualClock, cond: () => boolean, what = 'condition', maxSteps = 200_000): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (cond()) return;
    if (!(await clock.runNext())) {
      if (cond()) return;
      throw new Error(`clock ran out of timers before: ${what}`);
    }
  }
  throw new Error(`step limit before: ${what}`);
}

/** Run every timer out (TIME-WAIT included). */
export async function drain(clock: VirtualClock): Promise<void> {
  while (await clock.runNext()) {
    /* next */
  }
}

export interface Conn {
  c: TcpSock;
  s: TcpSock;
  l: TcpSock;
}

/** A listener on b:port, a client from a, both ends established. */
export async function connectPair(p: Pair, opts: { port?: number; client?: TcpSockOptions; server?: TcpSockOptions; backlog?: number } = {}): Promise<Conn> {
  const port = opts.port ?? 80;
  const l = p.b.proto.listen({ port, backlog: opts.backlog ?? 16, ...opts.server });
  const c = p.a.proto.connect({ dst: p.b.addr, dport: port, ...opts.client });
  let s: TcpSock | undefined;
  let err: unknown;
  void l.accept().then((x) => (s = x), (e) => (err = e));
  let est = false;
  c.waitConnected().then(() => (est = true), (e) => (err = e));
  await runUntil(p.clock, () => (est && s !== undefined) || err !== undefined, 'connection');
  if (err !== undefined) throw err;
  return { c, s: s!, l };
}

/** Read until EOF in the background; pause() stops reading (the window closes), resume() goes on. */
export function reader(sk: TcpSock, chunk = 65536) {
  const chunks: Buffer[] = [];
  let total = 0;
  let eof = false;
  let error: unknown;
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  void (async () => {
    try {
      for (;;) {
        if (gate !== null) await gate;
        const r = await sk.read(chunk);
        if (r === null) {
          eof = true;
          return;
        }
        chunks.push(r);
        total += r.length;
      }
    } catch (e) {
      error = e;
    }
  })();
  return {
    total: () => total,
    done: () => eof,
    error: () => error,
    bytes: () => Buffer.concat(chunks),
    pause: () => {
      if (gate === null) gate = new Promise((r) => (open = r));
    },
    resume: () => {
      gate = null;
      open?.();
    },
  };
}
