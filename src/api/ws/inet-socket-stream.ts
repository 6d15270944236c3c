// GET /v1/sockets/{id}/stream: a UDP socket over a WebSocket.
//
// Server to client: every datagram the socket receives, as
// {type:"datagram", from, len, data} (data hex). Datagrams are taken off the
// socket only while ws.bufferedAmount stays under a high-water mark; past it
// reading stops until the bytes are written, the datagrams wait in the
// socket's receive queue, and once rcvbuf is full the socket drops them
// (RcvbufErrors, as any slow reader's socket does). The client is told with
// {type:"drops", count, total}: count new since the last notice, total the
// socket's own count (the first notice includes losses from before the
// stream). A stalled client costs rcvbuf plus the mark.
//
// Client to server: a text message {to?, data} (hex or base64), or a binary
// message (the payload, to the connected peer). A send that must wait for
// buffer space pauses the client's TCP socket until it is done, so nothing
// queues without bound. Errors come back as {type:"error", errno, detail}
// (a pending ECONNREFUSED too); the stream stays open.
//
// Close codes: 4004 the socket was closed (DELETE), 1001 server shutdown.
// At most maxClients streams (the frame streams' limit, counted apart);
// past it the upgrade is refused with 503 EAGAIN. A ping every 30 s; a
// client that did not answer the previous one is dropped.

import { SocketSession, toBuffer } from './socket-session.ts';
import { problem, sendProblem } from '../http/problem.ts';
import type { RawData, WebSocket } from 'ws';
import type { FastifyPluginAsync } from 'fastify';
import { isNetError, NetError } from '../../errno.ts';
import type { Inet, UdpSocket } from '../../inet/control.ts';
import type { NetStack } from '../../stack/index.ts';
import { decodePayload, SocketParams, SocketSendJson } from '../http/schemas/inet.ts';
import { requireUdpSocket } from '../http/routes/inet-sockets.ts';
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_CLIENTS } from './stream.ts';
import { asTcpEntry, tcpOf } from '../../inet/tcp-glue.ts';
import { TcpStreamSession, tcpStreamBusy } from './tcp-socket-stream.ts';

export const SOCKET_CLOSE = { GOING_AWAY: 1001, SOCKET_GONE: 4004 } as const;

const TEXT = { binary: false } as const;

export class SocketStreamSession extends SocketSession {
  /** Datagrams handed to the client. */
  delivered = 0;
  private paused = false;
  /** The socket's drops already told; 0 at the start, so a client learns of losses before it attached too. */
  private reportedDrops = 0;
  private readonly unsubscribe: () => void;
  private txPending: RawData[] = [];
  private txBinary: boolean[] = [];

  constructor(
    readonly sock: UdpSocket,
    ws: WebSocket,
    private readonly hwm: number,
  ) {
    super(ws);
    this.unsubscribe = sock.onReadable(() => this.pump());
    ws.on('message', this.onMessage);
    this.pump();
  }

  protected release(): void {
    this.unsubscribe();
    this.txPending = [];
    this.txBinary = [];
    this.ws.off('message', this.onMessage);
  }

  /** Send one message; false when the client is full (reading stops until it is written). */
  private send(text: string): boolean {
    if (this.ws.bufferedAmount + text.length < this.hwm) {
      this.ws.send(text, TEXT);
      return true;
    }
    this.paused = true;
    this.ws.send(text, TEXT, (err) => {
      this.paused = false;
      if (!err && !this.closed) this.pump();
    });
    return false;
  }

  private pump(): void {
    if (this.closed || this.paused) return;
    const total = this.sock.describe().drops;
    if (total !== this.reportedDrops) {
      const count = total - this.reportedDrops;
      this.reportedDrops = total;
      if (!this.send(`{"type":"drops","count":${count},"total":${total}}`)) return;
    }
    for (;;) {
      let d;
      try {
        const r = this.sock.recv({ nonblock: true });
        if (r instanceof Promise) {
          // A nonblocking recv should not wait; if it does, its result still comes here.
          r.then(
            (late) => this.deliver(late.from, late.data),
            () => undefined,
          );
          return;
        }
        d = r;
      } catch (err) {
        if (isNetError(err) && err.errno === 'EAGAIN') return;
        // A pending socket error (ECONNREFUSED after a port unreachable) is reported once, like recv() does.
        if (isNetError(err) && err.errno !== 'EBADF' && err.errno !== 'ESHUTDOWN') {
          if (!this.send(JSON.stringify({ type: 'error', errno: err.errno, detail: err.message }))) return;
          continue;
        }
        this.close(SOCKET_CLOSE.SOCKET_GONE, 'socket closed');
        return;
      }
      if (!this.deliver(d.from, d.data)) return;
    }
  }

  private deliver(from: string, data: Uint8Array): boolean {
    if (this.closed) return false;
    this.delivered++;
    const hex = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
    return this.send(`{"type":"datagram","from":"${from}","len":${data.byteLength},"data":"${hex}"}`);
  }

  private sendError(errno: string, detail: string): void {
    if (!this.closed) this.send(JSON.stringify({ type: 'error', errno, detail }));
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.closed) return;
    if (this.txBusy) {
      this.txPending.push(data);
      this.txBinary.push(isBinary);
      return;
    }
    this.transmit(data, isBinary);
  };

  private transmit(raw: RawData, isBinary: boolean): void {
    let payload: Buffer;
    let to: string | undefined;
    if (isBinary) {
      payload = toBuffer(raw);
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(toBuffer(raw).toString('utf8'));
      } catch {
        this.sendError('EINVAL', 'a text message is JSON: {"to": "ADDR:PORT", "data": "hex or base64"}');
        return;
      }
      const msg = SocketSendJson.safeParse(parsed);
      if (!msg.success) {
        const issue = msg.error.issues[0];
        this.sendError('EINVAL', `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`);
        return;
      }
      const decoded = decodePayload(msg.data.data);
      if (decoded === undefined) {
        this.sendError('EINVAL', 'data: hex (an even number of hex digits) or padded base64');
        return;
      }
      payload = decoded;
      to = msg.data.to;
    }
    let r: number | Promise<number>;
    try {
      r = this.sock.sendTo(payload, to);
    } catch (err) {
      this.reportError(err);
      return;
    }
    if (!(r instanceof Promise)) return;
    // The send buffer is full: read nothing more from this client until there is room.
    this.txBusy = true;
    this.ws.pause();
    r.then(() => undefined, (err: unknown) => this.reportError(err)).finally(() => {
      this.txBusy = false;
      while (!this.txBusy && !this.closed && this.txPending.length > 0) this.transmit(this.txPending.shift()!, this.txBinary.shift()!);
      if (!this.txBusy && !this.closed) this.ws.resume();
    });
  }

  private reportError(err: unknown): void {
    if (isNetError(err)) this.sendError(err.errno, err.message);
    else this.sendError('EIO', err instanceof Error ? err.message : String(err));
  }
}

export interface SocketStreamOptions {
  stack: NetStack;
  inet: Inet;
  /** Shared with the DELETE route, which closes the streams of a socket it closes. */
  streams: SocketStreams;
  highWaterMark?: number;
  /** Socket streams open at once; more are refused with 503 EAGAIN before the upgrade. Default 64. */
  maxClients?: number;
  /** Ping interval. Default 30 s. */
  heartbeatMs?: number;
}

/** The open socket streams, so DELETE /v1/sockets/{id} and shutdown can close them. */
/** What the registry needs of a UDP or a TCP (tcp-socket-stream.ts) session. */
export interface SocketStreamLike {
  readonly sock: { readonly id: number };
  ping(): boolean;
  terminate(): void;
  close(code: number, reason: string): void;
}

export class SocketStreams {
  readonly sessions = new Set<SocketStreamLike>();

  closeSocket(id: number): void {
    for (const s of [...this.sessions]) if (s.sock.id === id) s.close(SOCKET_CLOSE.SOCKET_GONE, `socket ${id} was closed`);
  }

  closeAll(): void {
    for (const s of [...this.sessions]) s.close(SOCKET_CLOSE.GOING_AWAY, 'server shutting down');
  }
}

const socketStreamRoutes: FastifyPluginAsync<SocketStreamOptions> = async function socketStreamRoutes(app, opts) {
  const { stack, inet, streams } = opts;
  const hwm = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
  const heartbeat = setInterval(() => {
    for (const s of [...streams.sessions]) if (!s.ping()) s.terminate();
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', async () => clearInterval(heartbeat));

  app.route({
    method: 'GET',
    url: '/v1/sockets/:id/stream',
    // The edge (api/http/edge.ts) lets a WebSocket upgrade through to stream routes only.
    config: { websocketRoute: true },
    schema: { params: SocketParams, hide: true },
    preHandler: async (request) => {
      const { id } = request.params as { id: number };
      const tcp = asTcpEntry(stack.sockets.get(id));
      if (tcp !== undefined) {
        if (request.ws && tcpStreamBusy(tcp)) throw new NetError('EBUSY', `socket ${id} already has a stream; one reader per byte stream`);
      } else requireUdpSocket(stack, id);
      if (!request.ws) return;
      if (streams.sessions.size >= maxClients) {
        throw new NetError('EAGAIN', `${maxClients} socket streams are open, the most this server allows; try again later`);
      }
    },
    // A plain GET: this route speaks only WebSocket.
    handler: async (request, reply) => {
      reply.header('upgrade', 'websocket').header('connection', 'Upgrade');
      return sendProblem(reply, problem(request, 426, 'EPROTO', 'this route is a WebSocket: send Connection: Upgrade and Upgrade: websocket'));
    },
    wsHandler: (ws, request) => {
      const { id } = request.params as { id: number };
      const glue = tcpOf(inet);
      const tcp = asTcpEntry(stack.sockets.get(id));
      if (glue !== undefined && tcp !== undefined) {
        const session = new TcpStreamSession(tcp, glue, ws, hwm);
        streams.sessions.add(session);
        session.onClosed = (s) => streams.sessions.delete(s);
        return;
      }
      let sock: UdpSocket;
      try {
        sock = requireUdpSocket(stack, id);
      } catch (err) {
        ws.close(SOCKET_CLOSE.SOCKET_GONE, err instanceof NetError ? err.message.slice(0, 120) : 'no such socket');
        return;
      }
      const session = new SocketStreamSession(sock, ws, hwm);
      streams.sessions.add(session);
      session.onClosed = (s) => streams.sessions.delete(s);
    },
  });
};

export default socketStreamRoutes;
