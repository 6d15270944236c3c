// /v1/sockets for the internet family: socket() + bind() + connect() in one
// POST, one socket's `ss` line, close, and sendto(). Sockets made here belong
// to the stack, like devices made over HTTP: they outlive the request (and a
// service socket is saved with the state); DELETE closes them. Packet
// sockets appear under the same ids but belong to the stream or capture that
// opened them, so DELETE refuses them (EOPNOTSUPP). Every route finds its
// socket with one lookup in the stack's socket table, then asks its family.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply } from 'fastify';
import { NetError } from '../../../errno.ts';
import type { NetStack } from '../../../stack/index.ts';
import { asUdpSocket, type Inet, type UdpOpenOptions, type UdpSendOptions, type UdpSocket } from '../../../inet/control.ts';
import { asTcpEntry } from '../../../inet/tcp-glue.ts';
import {
  decodePayload,
  problemResponses,
  SocketClosed,
  SocketCreate,
  SocketDeleteQuery,
  SocketParams,
  SocketSendJson,
  SocketSendQuery,
  SocketSent,
  UdpSocketView,
} from '../schemas/index.ts';
import { AnySocket, socketOut } from './sockets.ts';
import { TcpSocketView } from '../schemas/tcp.ts';
import { closeTcpSocket, createTcpSocket, sendTcp } from './tcp-sockets.ts';

// TCP sockets are handed to tcp-sockets.ts; TCP-only fields on a UDP socket are bad arguments (400 EINVAL).

/** A UDP socket by id, or ENOENT (EBADF would be the syscall's word, but 404 is what a client looks for). */
export function requireUdpSocket(stack: NetStack, id: number): UdpSocket {
  const sock = stack.sockets.get(id);
  const udp = asUdpSocket(sock);
  if (udp !== undefined) return udp;
  if (asTcpEntry(sock) !== undefined) throw new NetError('EOPNOTSUPP', `socket ${id} is a TCP socket; this operation is for UDP`);
  if (sock !== undefined) throw new NetError('EOPNOTSUPP', `socket ${id} is a packet socket; only inet sockets take this operation`);
  throw new NetError('ENOENT', `no socket ${id}`);
}

function openOptions(body: z.output<typeof SocketCreate>): UdpOpenOptions {
  for (const key of ['listen', 'nodelay', 'timeout_ms'] as const) {
    if (body[key] !== undefined) throw new NetError('EINVAL', `"${key}" applies to TCP sockets only`);
  }
  const opts: UdpOpenOptions = {};
  if (body.bind !== undefined) opts.bind = body.bind;
  if (body.connect !== undefined) opts.connect = body.connect;
  if (body.rcvbuf !== undefined) opts.rcvbuf = body.rcvbuf;
  if (body.sndbuf !== undefined) opts.sndbuf = body.sndbuf;
  if (body.service !== undefined) opts.service = body.service;
  return opts;
}

const SendBytes = z.instanceof(Buffer).meta({ type: 'string', format: 'binary', description: 'The datagram payload.' });

/** Aborts a wait when the client goes away. */
function abortOnDisconnect(reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) ac.abort();
  };
  reply.raw.once('close', onClose);
  if (reply.raw.socket === null || reply.raw.socket.destroyed) ac.abort();
  return { signal: ac.signal, done: () => reply.raw.off('close', onClose) };
}

const inetSocketRoutes: FastifyPluginAsyncZod<{ stack: NetStack; inet: Inet; onClose?: (id: number) => void }> = async function inetSocketRoutes(
  app,
  { stack, inet, onClose },
) {
  // A send waiting for buffer space must not hold up shutdown.
  const waits = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const ac of waits) ac.abort();
  });

  app.post(
    '/v1/sockets',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Open a socket (socket + bind + connect; optionally an echo/discard/chargen service)',
        description:
          'UDP: bind defaults to 0.0.0.0:0 (an ephemeral port from net.ipv4.ip_local_port_range). Port in use: 409 EADDRINUSE; ' +
          'a bind address that is not ours: 422 EADDRNOTAVAIL. Location names the socket. ' +
          'TCP: connect answers once ESTABLISHED; a reset: 502 ECONNREFUSED; no answer within timeout_ms (default: the SYN retries): 504 ETIMEDOUT; ' +
          'no route: 422 ENETUNREACH; a neighbour or router that says unreachable: 422 EHOSTUNREACH. listen: BACKLOG needs bind ADDR:PORT; ' +
          'service runs on every connection the listener accepts.',
        tags: ['sockets'],
        body: SocketCreate,
        response: { 201: z.union([TcpSocketView, UdpSocketView]), ...problemResponses(400, 409, 415, 422, 429, 501, 502, 504) },
      },
    },
    async (request, reply) => {
      if (request.body.type === 'tcp') {
        // The handshake may take a while: a client that goes away aborts it (RST), as would closing the fd.
        const wait = abortOnDisconnect(reply);
        try {
          const out = await createTcpSocket(inet, request.body, wait.signal);
          reply.code(201).header('location', `/v1/sockets/${out.id}`);
          return out;
        } finally {
          wait.done();
        }
      }
      const sock = inet.udpOpen(openOptions(request.body));
      reply.code(201).header('location', `/v1/sockets/${sock.id}`);
      return sock.describe();
    },
  );

  app.get(
    '/v1/sockets/:id',
    {
      schema: {
        summary: 'One socket (its ss line)',
        description:
          'A TCP connection that ended under its user (reset by the peer, timed out) stays here, as an fd stays until close(): ' +
          'state UNCONN with `error` (ECONNRESET, ETIMEDOUT, ...) until DELETE. It holds no port and counts against --max-sockets.',
        tags: ['sockets'],
        params: SocketParams,
        response: { 200: z.union([TcpSocketView, AnySocket]), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const sock = stack.sockets.get(id);
      if (sock === undefined) throw new NetError('ENOENT', `no socket ${id}`);
      return socketOut(sock);
    },
  );

  app.delete(
    '/v1/sockets/:id',
    {
      config: { errnoStatus: { EOPNOTSUPP: 409 }, changesInetState: true },
      schema: {
        summary: 'Close a socket',
        description:
          'Closes an inet socket (what it had queued is freed). A TCP socket in UNCONN (its connection reset or timed out) leaves the table here; ' +
          'one still connected leaves once its FIN exchange and TIME-WAIT are over (?abort=1: RST, at once). ' +
          'No such socket: 404 ENOENT; a packet socket (it belongs to a stream or capture): 409 EOPNOTSUPP.',
        tags: ['sockets'],
        params: SocketParams,
        querystring: SocketDeleteQuery,
        response: { 200: SocketClosed, ...problemResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const tcp = asTcpEntry(stack.sockets.get(request.params.id));
      if (tcp !== undefined) {
        closeTcpSocket(inet, tcp, request.query.abort === true);
        onClose?.(tcp.id);
        return { closed: tcp.id };
      }
      const sock = requireUdpSocket(stack, request.params.id);
      sock.close();
      onClose?.(sock.id);
      return { closed: sock.id };
    },
  );

  app.post(
    '/v1/sockets/:id/send',
    {
      logLevel: 'warn',
      config: { rawBody: true, errnoStatus: { EOPNOTSUPP: 409 } },
      schema: {
        summary: 'Send a datagram (sendto)',
        description:
          'application/json {to?, data} (data hex or base64), or application/octet-stream with ?to=. Without `to` the socket must be connected. ' +
          'Waits for send-buffer space like sendto(); nonblock=1: 503 EAGAIN. ' +
          'Larger than 65507 bytes: 413 EMSGSIZE; no route: 422 ENETUNREACH; a connected peer that answered port unreachable: 502 ECONNREFUSED. ' +
          'TCP: the body (octet-stream, or JSON data) is appended to the byte stream like write(), waiting for send-buffer space; nonblock=1 (or timeout_ms) ' +
          'takes what fits and, if not all, answers 503 EAGAIN with `sent`; a listener: 409 ENOTCONN; a connection that ended under it answers its error once ' +
          '(reset: 502 ECONNRESET; retransmissions or keepalive probes ran out: 504 ETIMEDOUT), then 409 EPIPE; after our FIN: 409 EPIPE.',
        tags: ['sockets'],
        params: SocketParams,
        querystring: SocketSendQuery,
        body: {
          content: {
            'application/octet-stream': { schema: SendBytes },
            'application/json': { schema: SocketSendJson },
          },
        },
        response: { 200: SocketSent, ...problemResponses(400, 404, 409, 413, 415, 422, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const tcp = asTcpEntry(stack.sockets.get(request.params.id));
      const sock = tcp === undefined ? requireUdpSocket(stack, request.params.id) : undefined;
      const body = request.body as Buffer | z.output<typeof SocketSendJson> | undefined;
      let data: Buffer;
      let to = request.query.to;
      if (Buffer.isBuffer(body)) {
        data = body;
      } else if (body !== undefined && body !== null && typeof body.data === 'string') {
        const decoded = decodePayload(body.data);
        if (decoded === undefined) throw new NetError('EINVAL', 'data: hex (an even number of hex digits) or padded base64');
        data = decoded;
        if (body.to !== undefined) {
          if (to !== undefined && to !== body.to) throw new NetError('EINVAL', 'two different destinations: ?to= and the body\'s "to"');
          to = body.to;
        }
      } else {
        throw new NetError('EINVAL', 'no datagram: send {"data": ...} as application/json or the payload as application/octet-stream');
      }
      const { nonblock, timeout_ms: timeoutMs } = request.query;
      const opts: UdpSendOptions = {};
      if (nonblock !== undefined) opts.nonblock = nonblock;
      if (timeoutMs !== undefined) opts.timeoutMs = timeoutMs;
      // The signal costs little next to an HTTP request, and a send that must wait for buffer
      // space (sock_alloc_send_skb) then stops when the client goes away or the server shuts down.
      const wait = abortOnDisconnect(reply);
      const ac = new AbortController();
      const abort = (): void => ac.abort();
      wait.signal.addEventListener('abort', abort, { once: true });
      if (wait.signal.aborted) ac.abort();
      waits.add(ac);
      let r: number;
      try {
        if (tcp !== undefined) {
          if (to !== undefined) throw new NetError('EISCONN', 'a TCP connection sends to its peer; no "to"');
          return await sendTcp(tcp, data, { ...opts, signal: ac.signal }, request, reply);
        }
        const pending = sock!.sendTo(data, to, { ...opts, signal: ac.signal });
        r = pending instanceof Promise ? await pending : pending;
      } finally {
        waits.delete(ac);
        wait.signal.removeEventListener('abort', abort);
        wait.done();
      }
      return { sent: r };
    },
  );
};

export default inetSocketRoutes;
