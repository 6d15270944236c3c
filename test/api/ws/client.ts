// A WebSocket client for the stream tests, on the real `ws` client: collects
// what the server sends, by kind, and lets a test wait for a condition.

import WebSocket from 'ws';
import { until } from '../../helpers/wait.ts';

export interface FrameMessage {
  type: 'frame';
  ts: number;
  ifname: string;
  protocol: number;
  pkt_type: number;
  len: number;
  info: string;
  data: string;
}

export interface ReadyMessage {
  type: 'ready';
  ifname: string;
  socket: number;
}

export interface DropsMessage {
  type: 'drops';
  count: number;
  total: number;
}

export interface ErrorMessage {
  type: 'error';
  errno: string;
  detail: string;
}

export class StreamClient {
  readonly frames: FrameMessage[] = [];
  readonly drops: DropsMessage[] = [];
  readonly errors: ErrorMessage[] = [];
  /** The ready message (format=json), and how many messages came before it. */
  ready: ReadyMessage | null = null;
  readyAfter = -1;
  /** Binary messages, in order (the first is the pcap global header). */
  readonly binary: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.binary.push(data);
      else {
        const msg = JSON.parse(data.toString('utf8')) as FrameMessage | DropsMessage | ErrorMessage | ReadyMessage;
        if (msg.type === 'ready') {
          this.readyAfter = this.messageCount;
          this.ready = msg;
        } else if (msg.type === 'frame') this.frames.push(msg);
        else if (msg.type === 'drops') this.drops.push(msg);
        else this.errors.push(msg);
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Connects; rejects with the HTTP answer when the upgrade is refused. */
  static open(url: string, opts: WebSocket.ClientOptions = {}): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
      const client = new StreamClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new RefusedUpgrade(res.statusCode ?? 0, res.headers, body)));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Messages of every kind received so far. */
  get messageCount(): number {
    return this.frames.length + this.drops.length + this.errors.length + this.binary.length;
  }

  /** Total of the drops notices (their `count`s). */
  get dropped(): number {
    return this.drops.reduce((n, d) => n + d.count, 0);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Like until(), but a message arriving ends the pause early. */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    for (let polls = Math.ceil(timeoutMs / 20); !cond(); polls--) {
      if (polls <= 0) throw new Error(`timed out waiting for: ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed !== null) return;
    this.ws.close(1000);
    await this.waitFor(() => this.closed !== null, 'close handshake');
  }
}

export class RefusedUpgrade extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(`upgrade refused with ${status}: ${body}`);
  }

  get problem(): { errno: string; status: number; detail: string } {
    return JSON.parse(this.body) as { errno: string; status: number; detail: string };
  }
}

export function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return until(cond, what, { timeoutMs });
}
