// The TCP half of /v1/sockets (DESIGN §3.1): the routes in inet-sockets.ts
// hand a TCP socket here. POST answers once the connection is established
// (or at once for a listener), send appends to the byte stream like write(),
// DELETE closes with FIN (or RST with ?abort=1).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { NetError } from '../../../errno.ts';
import type { Inet } from '../../../inet/control.ts';
import { tcpOf, type TcpEntry, type TcpGlue, type TcpOpenOptions } from '../../../inet/tcp-glue.ts';
import { TcpState } from '../../../inet/tcp/sock.ts';
import { problem } from '../problem.ts';
import type { SocketCreateBody } from '../schemas/inet.ts';
import type { TcpSocketOut } from '../schemas/tcp.ts';

export function tcpGlue(inet: Inet): TcpGlue {
  const g = tcpOf(inet);
  if (g === undefined) throw new NetError('EOPNOTSUPP', 'TCP is not attached to this stack');
  return g;
}

/** socket + bind + connect/listen: resolves with the socket once established (a listener: at once). */
export async function createTcpSocket(inet: Inet, body: SocketCreateBody, signal: AbortSignal): Promise<TcpSocketOut> {
  const g = tcpGlue(inet);
  const o: TcpOpenOptions = { signal };
  if (body.bind !== undefined) o.bind = body.bind;
  if (body.connect !== undefined) o.connect = body.connect;
  if (body.listen !== undefined) o.listen = body.listen;
  if (body.service !== undefined) o.service = body.service;
  if (body.rcvbuf !== undefined) o.rcvbuf = body.rcvbuf;
  if (body.sndbuf !== undefined) o.sndbuf = body.sndbuf;
  if (body.nodelay !== undefined) o.nodelay = body.nodelay;
  if (body.timeout_ms !== undefined) o.timeoutMs = body.timeout_ms;
  const e = await g.open(o);
  return g.describe(e) as TcpSocketOut;
}

/**
 * write(): `data` appended to the send buffer, waiting for room like a
 * blocking write. nonblock: what fits now; if not all of it, 503 EAGAIN with
 * `sent` saying how much was taken (the rest is the client's to send again).
 */
export async function sendTcp(
  e: TcpEntry,
  data: Buffer,
  opts: { nonblock?: boolean; timeoutMs?: number; signal: AbortSignal },
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ sent: number } | undefined> {
  if (e.sk.state === TcpState.LISTEN) throw new NetError('ENOTCONN', `socket ${e.id} is listening; send on a connection`);
  const sent = await e.sk.write(data, { nonblock: opts.nonblock, timeoutMs: opts.timeoutMs, signal: opts.signal });
  if (sent < data.length && (opts.nonblock === true || opts.timeoutMs !== undefined)) {
    const body = { ...problem(request, 503, 'EAGAIN', `the send buffer took ${sent} of ${data.length} bytes; send the rest later`), sent };
    void reply.code(503).header('retry-after', '1').type('application/problem+json').send(body);
    return undefined;
  }
  return { sent };
}

/** close(): FIN after what is queued; abort: RST now (SO_LINGER 0). */
export function closeTcpSocket(inet: Inet, e: TcpEntry, abort: boolean): void {
  tcpGlue(inet).close(e, abort);
}
