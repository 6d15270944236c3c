// POST /v1/devices/{name}/frames: raw send, as sendto() on an AF_PACKET
// socket. The HTTP layer owns one packet socket per device (owner "http",
// protocol 0 so it never receives), opened at the first send and closed when
// the device is unregistered. Sending goes through the socket's send buffer,
// so a slow device throttles HTTP senders exactly as it throttles any other:
// the request waits for space (or fails with EAGAIN when asked not to wait).

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply } from 'fastify';
import { NetError } from '../../../errno.ts';
import type { NetStack } from '../../../stack/index.ts';
import type { NetDevice } from '../../../dev/netdevice.ts';
import type { PacketSendResult, PacketSocket } from '../../../packet/socket.ts';
import { withProblemMembers } from '../problem.ts';
import { frameFitsDevice, maxFrameLen } from '../../../dev/frame-size.ts';
import { readEthType } from '../../../wire/eth.ts';
import { DeviceParams, FramesJson, FramesQuery, problemResponses, SendResult, type FramesJsonOut, type SendResultOut } from '../schemas/index.ts';

/** One send socket per device, for the life of the device (or of the app). */
export class HttpSendSockets {
  private readonly byDev = new Map<NetDevice, PacketSocket>();

  constructor(private readonly stack: NetStack) {}

  socketFor(dev: NetDevice): PacketSocket {
    const open = this.byDev.get(dev);
    if (open !== undefined && !open.closed) return open;
    const sock = this.stack.openPacketSocket({ protocol: 0, dev, owner: 'http' });
    this.byDev.set(dev, sock);
    // The socket hears its device go away (packet_notifier).
    sock.addGoneListener(() => this.release(dev));
    return sock;
  }

  release(dev: NetDevice): void {
    const sock = this.byDev.get(dev);
    if (sock === undefined) return;
    this.byDev.delete(dev);
    sock.close();
  }

  close(): void {
    for (const sock of this.byDev.values()) sock.close();
    this.byDev.clear();
  }
}

const FrameBytes = z
  .instanceof(Buffer)
  .meta({ type: 'string', format: 'binary', description: 'One whole Ethernet frame (destination MAC first, no FCS).' });

/**
 * The frames of a request body. Only two parsers exist for this route, and the
 * schema validates (and decodes) what each gives: a Buffer, or {frames: Buffer[]}.
 * A request without a body reaches here with none.
 */
function framesOf(body: Buffer | FramesJsonOut | undefined): Buffer[] {
  if (Buffer.isBuffer(body)) return [body];
  if (body !== undefined && body !== null && Array.isArray(body.frames)) return body.frames;
  throw new NetError('EINVAL', 'no frame: send one as application/octet-stream, or {"frames": [...]} as application/json');
}

/**
 * Every frame is checked before the first is sent, so a bad one in a batch
 * sends nothing. The length rule is the packet socket's (dev/frame-size.ts):
 * a frame with an 802.1Q tag may be 4 bytes longer.
 */
function checkFrames(dev: NetDevice, frames: readonly Buffer[]): void {
  if (!dev.isUp()) throw new NetError('ENETDOWN', `${dev.name} is down`);
  const which = (i: number): string => (frames.length === 1 ? 'frame' : `frame ${i}`);
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const len = frame.length;
    if (len < dev.hardHeaderLen) throw new NetError('EINVAL', `${which(i)} has ${len} bytes, less than the ${dev.hardHeaderLen}-byte link header`);
    const type = readEthType(frame);
    if (!frameFitsDevice(dev, len, type)) {
      throw new NetError('EMSGSIZE', `${which(i)} has ${len} bytes, more than ${maxFrameLen(dev, type)} (${dev.name}'s mtu ${dev.mtu} + ${maxFrameLen(dev, type) - dev.mtu})`);
    }
  }
}

/** Aborts a wait when the client goes away; made only when a send is about to wait. */
function abortOnDisconnect(reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) ac.abort();
  };
  reply.raw.once('close', onClose);
  // The connection may have closed already (while the body was read): its close event is gone.
  if (reply.raw.socket === null || reply.raw.socket.destroyed) ac.abort();
  return { signal: ac.signal, done: () => reply.raw.off('close', onClose) };
}

const frameRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function frameRoutes(app, { stack }) {
  const sockets = new HttpSendSockets(stack);
  // preClose, not only onClose: fastify waits for in-flight requests before
  // onClose, and a send waiting for buffer space would wait forever. Closing
  // the sockets wakes it (EPIPE), so shutdown and the state save go on.
  app.addHook('preClose', async () => sockets.close());
  app.addHook('onClose', async () => sockets.close());

  app.post(
    '/v1/devices/:name/frames',
    {
      // One line per request at info level would flood the log at these rates.
      logLevel: 'warn',
      config: { rawBody: true },
      schema: {
        summary: 'Send raw frames (AF_PACKET sendto)',
        description:
          'application/octet-stream: the body is one frame. application/json: {"frames": [...]}, each hex or base64, sent in order. ' +
          'Every frame is checked before any is sent (length 14 .. mtu + 14, or mtu + 18 for a frame with an 802.1Q tag). 202 {sent, dropped}: sent = queued for the wire, ' +
          'dropped = dropped by the stack and counted under a drop reason. Device down: 409 ENETDOWN; frame too big: 413 EMSGSIZE; ' +
          'send buffer full with nonblock=1 (or timeout_ms elapsed): 503 EAGAIN. An error part-way through a batch reports ' +
          '`sent`, `dropped` and `at` (the failing index) in the problem body. Without nonblock the request waits for buffer ' +
          'space as long as the client stays connected.',
        tags: ['frames'],
        params: DeviceParams,
        querystring: FramesQuery,
        body: {
          content: {
            'application/octet-stream': { schema: FrameBytes },
            'application/json': { schema: FramesJson },
          },
        },
        response: { 202: SendResult, ...problemResponses(400, 404, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply): Promise<SendResultOut> => {
      const dev = stack.devices.require(request.params.name);
      const frames = framesOf(request.body as Buffer | FramesJsonOut | undefined);
      checkFrames(dev, frames);
      const sock = sockets.socketFor(dev);
      const { nonblock, timeout_ms: timeoutMs } = request.query;
      let sent = 0;
      let dropped = 0;
      let wait: ReturnType<typeof abortOnDisconnect> | null = null;
      const sendOpts: { nonblock?: boolean; timeoutMs?: number; signal?: AbortSignal } = { nonblock, timeoutMs };
      try {
        for (let i = 0; i < frames.length; i++) {
          let r: PacketSendResult | Promise<PacketSendResult>;
          try {
            // The socket waits exactly when its send buffer is full (sock_alloc_send_skb); only
            // then is an abort signal worth its cost, so the fast path allocates nothing for it.
            if (wait === null && nonblock !== true && sock.sk.wmemAlloc >= sock.sk.sndbuf) {
              wait = abortOnDisconnect(reply);
              sendOpts.signal = wait.signal;
            }
            r = sock.send(frames[i]!, sendOpts);
            // Synchronous while the send buffer has room: await only when the socket must wait.
            if (r instanceof Promise) r = await r;
          } catch (err) {
            if (err instanceof NetError) throw withProblemMembers(err, { sent, dropped, at: i });
            throw err;
          }
          if (r === 'sent') sent++;
          else dropped++;
        }
      } finally {
        wait?.done();
      }
      reply.code(202);
      return { sent, dropped };
    },
  );
};

export default frameRoutes;
