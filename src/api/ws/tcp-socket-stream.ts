// GET /v1/sockets/{id}/stream on a TCP socket: the byte stream over a WebSocket.
//
// A connection: binary messages carry the bytes both ways. Bytes are read
// from the socket only while ws.bufferedAmount is under the high-water mark;
// past it reading stops until the client has taken them, the data waits in
// the socket's receive buffer, and once that is full the advertised window
// closes (a zero window, TCPToZeroWindowAdv): a stalled client stalls the
// sender, not the server's memory. A binary message from the client is
// written like a blocking write(); while it waits for send-buffer space the
// client's own TCP socket is paused. Text events: {type:"eof"} when the peer
// has finished (FIN, all read), {type:"error", errno, detail} for a reset or
// a timeout (then the stream closes with 4004). The client may send the text
// {"type":"shutdown"} to send our FIN (shutdown(SHUT_WR)) and keep reading.
// Closing the WebSocket leaves the socket open (it belongs to the stack; DELETE
// closes it), as for UDP.
//
// A listener: {type:"accept", socket:{id, local, peer}} for every connection
// it accepts while the stream is open (instead of its service); the client
// opens a stream on that id to talk on it. One stream per TCP socket (a
// second: 409 EBUSY), since two readers of one byte stream would split it.

import { SocketSession, toBuffer } from './socket-session.ts';
import type { RawData, WebSocket } from 'ws';
import { isNetError } from '../../errno.ts';
import type { TcpEntry, TcpGlue } from '../../inet/tcp-glue.ts';
import { TcpState } from '../../inet/tcp/sock.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route upgrades to a WebSocket (main's upgrade gate refuses upgrades elsewhere). */
    websocketRoute?: boolean;
  }
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
const SOCKET_GONE = 4004;

/** TCP sockets with a stream attached. */
const attached = new WeakSet<TcpEntry>();

export function tcpStreamBusy(e: TcpEntry): boolean {
  return attached.has(e);
}

export class TcpStreamSession extends SocketSession {
  /** What SocketStreams looks up by id. */
  readonly sock: { id: number };
  private readonly ac = new AbortController();
  private waiting = false;
  private paused = false;
  private eofSent = false;
  private readonly txPending: { data: RawData; binary: boolean }[] = [];

  constructor(
    readonly entry: TcpEntry,
    private readonly glue: TcpGlue,
    ws: WebSocket,
    private readonly hwm: number,
  ) {
    super(ws);
    this.sock = { id: entry.id };
    attached.add(entry);
    ws.on('message', this.onMessage);
    if (entry.sk.state === TcpState.LISTEN) {
      glue.setAcceptHook(entry, (child) => {
        const row = glue.describe(child);
        this.ws.send(JSON.stringify({ type: 'accept', socket: { id: child.id, local: row.local, peer: row.peer } }), TEXT);
      });
    } else {
      this.pump();
    }
  }

  protected release(): void {
    this.ac.abort();
    attached.delete(this.entry);
    if (this.entry.acceptHook !== null) this.glue.setAcceptHook(this.entry, null);
    this.ws.off('message', this.onMessage);
  }

  /** Socket -> client, only as fast as the client takes it. */
  private pump(): void {
    const sk = this.entry.sk;
    while (!this.closed && !this.paused && !this.eofSent) {
      if (this.ws.bufferedAmount >= this.hwm) {
        // Wait until what is buffered is written; the receive queue holds the rest and the window shrinks.
        this.paused = true;
        return;
      }
      let b: Buffer | null | undefined;
      try {
        b = sk.readNow(65536);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (b === undefined) {
        if (this.waiting) return;
        this.waiting = true;
        void sk.waitReadable({ signal: this.ac.signal }).then(() => {
          this.waiting = false;
          this.pump();
        });
        return;
      }
      if (b === null) {
        this.eofSent = true;
        this.ws.send('{"type":"eof"}', TEXT);
        return;
      }
      this.ws.send(b, BINARY, this.onWritten);
    }
  }

  /** A message reached the client's socket: resume reading once the buffer is under the mark. */
  private readonly onWritten = (): void => {
    if (this.paused && this.ws.bufferedAmount < this.hwm) {
      this.paused = false;
      this.pump();
    }
  };

  private fail(err: unknown): void {
    if (this.closed) return;
    const errno = isNetError(err) ? err.errno : 'EIO';
    const detail = err instanceof Error ? err.message : String(err);
    this.ws.send(JSON.stringify({ type: 'error', errno, detail }), TEXT);
    this.close(SOCKET_GONE, `socket ${this.entry.id}: ${errno}`);
  }

  private sendError(errno: string, detail: string): void {
    if (!this.closed) this.ws.send(JSON.stringify({ type: 'error', errno, detail }), TEXT);
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.closed) return;
    if (this.txBusy) {
      this.txPending.push({ data, binary: isBinary });
      return;
    }
    this.transmit(data, isBinary);
  };

  private transmit(raw: RawData, isBinary: boolean): void {
    const sk = this.entry.sk;
    if (sk.state === TcpState.LISTEN) {
      this.sendError('ENOTCONN', 'a listening socket sends nothing; open a stream on an accepted connection');
      return;
    }
    if (!isBinary) {
      let msg: unknown;
      try {
        msg = JSON.parse(toBuffer(raw).toString('utf8'));
      } catch {
        msg = undefined;
      }
      if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'shutdown') {
        try {
          sk.shutdownSock(2);
        } catch (err) {
          this.sendError(isNetError(err) ? err.errno : 'EIO', err instanceof Error ? err.message : String(err));
        }
        return;
      }
      this.sendError('EINVAL', 'bytes go as binary messages; the only text message is {"type":"shutdown"}');
      return;
    }
    const data = toBuffer(raw);
    if (data.length === 0) return;
    this.txBusy = true;
    this.ws.pause();
    sk.write(data, { signal: this.ac.signal })
      .then(
        () => undefined,
        (err: unknown) => {
          if (!this.closed) this.sendError(isNetError(err) ? err.errno : 'EIO', err instanceof Error ? err.message : String(err));
        },
      )
      .finally(() => {
        this.txBusy = false;
        while (!this.txBusy && !this.closed && this.txPending.length > 0) {
          const next = this.txPending.shift()!;
          this.transmit(next.data, next.binary);
        }
        if (!this.txBusy && !this.closed) this.ws.resume();
      });
  }
}
