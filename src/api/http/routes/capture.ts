// GET /v1/devices/{name}/capture and GET /v1/capture: a capture file streamed
// live as the frames pass (chunked), for `curl -N URL | tshark -r -` or
// `| wireshark -k -i -`. Each download is one packet socket (a CaptureSession);
// the response is a Readable whose back-pressure reaches the socket: while the
// client reads slowly the socket is not drained, and once its receive buffer
// is full the socket drops and counts frames (pcapng reports them at the end,
// isb_ifdrop) instead of the process buffering without bound.

import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NetError } from '../../../errno.ts';
import type { NetStack } from '../../../stack/index.ts';
import type { NetDevice } from '../../../dev/netdevice.ts';
import { CaptureSession, type CaptureEndReason, type CaptureFormat, type CaptureSink } from '../../../capture/index.ts';
import { PCAP_DEFAULT_SNAPLEN } from '../../../wire/pcap.ts';
import { DeviceParams, queryInt } from '../schemas/common.ts';
import { problemResponses } from '../schemas/problem.ts';
import { DirectionParam, PromiscParam, ProtocolParam, RcvbufParam } from '../../ws/packet-query.ts';

export const PCAP_CONTENT_TYPE = 'application/vnd.tcpdump.pcap';
/** Not registered with IANA yet; Wireshark's shared-mime-info uses this one. */
export const PCAPNG_CONTENT_TYPE = 'application/x-pcapng';

const Seconds = z
  .string()
  .regex(/^[0-9]{1,7}(\.[0-9]{1,9})?$/, { message: 'expected a number of seconds such as 10 or 0.5' })
  .transform(Number)
  .pipe(z.number().positive({ message: 'duration_s must be above 0' }).max(604_800, { message: 'duration_s is at most a week' }));

const common = {
  count: queryInt(1_000_000_000, 'Stop after this many frames.')
    .pipe(z.number().int().min(1, { message: 'count must be at least 1' }))
    .optional(),
  duration_s: Seconds.describe('Stop after this many seconds.').optional(),
  direction: DirectionParam.optional(),
  protocol: ProtocolParam.optional(),
  snaplen: queryInt(PCAP_DEFAULT_SNAPLEN, 'Bytes kept of each frame (the file records each frame\'s full length too). Default 262144.')
    .pipe(z.number().int().min(1, { message: 'snaplen must be at least 1' }))
    .optional(),
  rcvbuf: RcvbufParam.optional(),
};

const DeviceCaptureQuery = z.object({
  format: z.enum(['pcapng', 'pcap']).optional().describe('pcapng (default): interface name, direction and drop counts included; pcap: classic libpcap file, ns timestamps.'),
  promisc: PromiscParam.optional(),
  ...common,
});

const AllCaptureQuery = z.object({
  format: z.literal('pcapng').optional().describe('pcapng (the only format that holds several interfaces).'),
  ...common,
});

const captureFile = z.string().describe('The capture file, streamed as frames pass.');

const ENDINGS =
  'The file ends after `count` frames, after `duration_s` seconds, when the device is deleted, or when the server shuts down; ' +
  'without count or duration_s it runs until the client disconnects. The file header is sent at once, so a reader starts before the first frame. ' +
  'Timestamps are nanoseconds. In pcapng each frame carries epb_flags: direction (inbound, or outbound for frames the device sent) and the ' +
  'reception type (unicast, multicast, broadcast, promiscuous). The capture is a packet socket of its own (`GET /v1/sockets` lists it, owner "capture ..."): ' +
  'if the client reads too slowly the socket\'s receive buffer (rcvbuf) fills and frames are dropped there, counted as drop reason socket_rcvbuff; ' +
  'a pcapng file that ends normally closes with an Interface Statistics block per interface (isb_usrdeliv frames written, isb_ifdrop the socket\'s drops, ' +
  'written once: on the device\'s block, or on the first block of a capture of every device).';

function responses(types: readonly string[]) {
  const content: Record<string, { schema: typeof captureFile }> = {};
  for (const t of types) content[t] = { schema: captureFile };
  return { 200: { description: 'The capture file, chunked.', content } };
}

interface CaptureQuery {
  format?: CaptureFormat;
  promisc?: boolean;
  count?: number;
  duration_s?: number;
  direction?: 'in' | 'out' | 'both';
  protocol?: number;
  snaplen?: number;
  rcvbuf?: number;
}

/** The response body: a Readable fed by the session, read by fastify into the socket. */
class CaptureStream extends Readable {
  session: CaptureSession | null = null;

  constructor() {
    super({ highWaterMark: 256 * 1024 });
  }

  /** CaptureSink.write: false once the buffer is over its high-water mark. */
  offer(chunk: Buffer): boolean {
    return this.push(chunk);
  }

  /** CaptureSink.end: a file that ended properly ends the body; an aborted one is already destroyed. */
  conclude(reason: CaptureEndReason): void {
    if (reason !== 'aborted') this.push(null);
  }

  override _read(): void {
    this.session?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // The client went away (fastify destroys the body when the response closes).
    this.session?.abort();
    callback(err);
  }
}

function fileName(dev: NetDevice | null, format: CaptureFormat): string {
  return `${dev === null ? 'netstack' : dev.name.replace(/[^A-Za-z0-9._-]/g, '_')}.${format}`;
}

/** Captures open at once, by default: their own limit, well below the packet-socket limit they also count in. */
export const DEFAULT_MAX_CAPTURES = 64;

export interface CapturePluginOptions {
  stack: NetStack;
  /** Captures open at once; more are refused with 503 EAGAIN. Default 64. */
  maxCaptures?: number;
}

const captureRoutes: FastifyPluginAsyncZod<CapturePluginOptions> = async function captureRoutes(app, opts) {
  const { stack } = opts;
  const maxCaptures = opts.maxCaptures ?? DEFAULT_MAX_CAPTURES;
  const live = new Set<CaptureSession>();

  // Streaming responses keep their connections busy; end them (properly, with
  // the statistics block) so that closing the server does not wait for clients.
  app.addHook('preClose', async () => {
    for (const s of [...live]) s.finish('shutdown');
  });

  function start(request: FastifyRequest, reply: FastifyReply, dev: NetDevice | null, q: CaptureQuery): FastifyReply {
    // Captures have a limit of their own, so that they cannot take every
    // packet socket and leave none for streams and senders.
    if (live.size >= maxCaptures) {
      throw new NetError('EAGAIN', `${maxCaptures} captures are open, the most this server allows; try again later`);
    }
    const format = q.format ?? 'pcapng';
    const body = new CaptureStream();
    const session = new CaptureSession(
      stack,
      {
        format,
        dev,
        protocol: q.protocol,
        direction: q.direction,
        promisc: q.promisc,
        rcvbuf: q.rcvbuf,
        snaplen: q.snaplen,
        count: q.count,
        durationS: q.duration_s,
        owner: `capture ${request.ip}`,
      },
      {
        write: (chunk) => body.offer(chunk),
        end: (reason) => {
          live.delete(session);
          request.log.info({ ifname: dev?.name ?? null, reason, frames: session.frames, drops: session.drops }, 'capture ended');
          body.conclude(reason);
        },
      } satisfies CaptureSink,
    );
    body.session = session;
    live.add(session);
    session.start();
    return reply
      .type(format === 'pcap' ? PCAP_CONTENT_TYPE : PCAPNG_CONTENT_TYPE)
      .header('content-disposition', `attachment; filename="${fileName(dev, format)}"`)
      .header('cache-control', 'no-store')
      // Proxies such as nginx would otherwise hold the stream back.
      .header('x-accel-buffering', 'no')
      .send(body);
  }

  app.get(
    '/v1/devices/:name/capture',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'Capture a device\'s frames as a live pcapng or pcap stream',
        description: `Streams the frames the device receives and sends as a capture file: \`curl -sN URL | tshark -r -\`. ${ENDINGS}`,
        tags: ['capture'],
        params: DeviceParams,
        querystring: DeviceCaptureQuery,
        response: { ...responses([PCAPNG_CONTENT_TYPE, PCAP_CONTENT_TYPE]), ...problemResponses(400, 404, 429, 503) },
      },
    },
    async (request, reply) => start(request, reply, stack.devices.require(request.params.name), request.query),
  );

  app.get(
    '/v1/capture',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'Capture every device in one live pcapng stream',
        description:
          'One pcapng file with an Interface Description Block per device, written the first time a frame from it appears ' +
          `(devices created during the capture are included; a renamed device gets a block under its new name). ${ENDINGS}`,
        tags: ['capture'],
        querystring: AllCaptureQuery,
        response: { ...responses([PCAPNG_CONTENT_TYPE]), ...problemResponses(400, 429, 503) },
      },
    },
    async (request, reply) => start(request, reply, null, request.query),
  );
};

export default captureRoutes;
