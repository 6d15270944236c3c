// GET /metrics: the Prometheus text exposition of one NetStack. The registry
// reads the stack when scraped, so serving it costs nothing between scrapes.
// No authentication here: the app exempts /metrics, as scrapers expect.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import { createMetrics } from '../../../metrics/index.ts';

const exposition = z
  .string()
  .describe('Prometheus text exposition format 0.0.4: netstack_* families read from the stack at scrape time, plus process_* and nodejs_* process metrics.');

const metricsRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function metricsRoutes(app, opts) {
  const metrics = createMetrics(opts.stack);
  app.get(
    '/metrics',
    {
      // A scrape every few seconds must not flood the log at info level.
      logLevel: 'warn',
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Every device, transmit queue, packet socket, the receive backlog, the sk_buff pool and drops by reason, ' +
          'in the Prometheus text format (names shaped like node_exporter\'s netdev collector, prefix netstack_). ' +
          'Counters are the stack\'s own totals; series of deleted devices and closed sockets disappear.',
        tags: ['metrics'],
        // Public: scrapers send no token (the app lets /metrics through).
        security: [],
        response: {
          200: {
            description: 'The exposition, Content-Type text/plain; version=0.0.4; charset=utf-8.',
            content: { 'text/plain': { schema: exposition } },
          },
        },
      },
    },
    async (_request, reply) => {
      const body = await metrics.metrics();
      return reply.type(metrics.contentType).send(body);
    },
  );
};

export default metricsRoutes;
