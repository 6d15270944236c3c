// POST /v1/ping: ping(8) inside the stack. The request lasts as long as the
// pings (count x interval, plus the wait for the last reply); a client that
// goes away stops it (the signal), as Ctrl-C stops ping.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Inet, PingOptions } from '../../../inet/control.ts';
import { PingRequest, PingResult, problemResponses } from '../schemas/index.ts';

const pingRoutes: FastifyPluginAsyncZod<{ inet: Inet }> = async function pingRoutes(app, { inet }) {
  const inFlight = new Set<AbortController>();
  // Pings in flight would hold up shutdown for up to count x interval.
  app.addHook('preClose', async () => {
    for (const ac of inFlight) ac.abort();
  });

  app.post(
    '/v1/ping',
    {
      schema: {
        summary: 'Ping a host (ping -c COUNT -i INTERVAL -s SIZE -t TTL -W TIMEOUT -I SRC DST)',
        description:
          'Answers 200 when done with the summary, every reply and every ICMP error (Destination Host Unreachable, Time to live exceeded). ' +
          'Defaults: count 4, interval_ms 1000, size 56. No route: 422 ENETUNREACH; a src that is not ours: 422 EADDRNOTAVAIL.',
        tags: ['inet'],
        body: PingRequest,
        response: { 200: PingResult, ...problemResponses(400, 415, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const ac = new AbortController();
      inFlight.add(ac);
      const onClose = (): void => {
        if (!reply.raw.writableEnded) ac.abort();
      };
      reply.raw.once('close', onClose);
      const opts: PingOptions = { dst: b.dst, count: b.count ?? 4, intervalMs: b.interval_ms ?? 1000, size: b.size ?? 56, signal: ac.signal };
      if (b.ttl !== undefined) opts.ttl = b.ttl;
      if (b.timeout_ms !== undefined) opts.timeoutMs = b.timeout_ms;
      if (b.src !== undefined) opts.src = b.src;
      try {
        return await inet.ping(opts);
      } finally {
        inFlight.delete(ac);
        reply.raw.off('close', onClose);
      }
    },
  );
};

export default pingRoutes;
