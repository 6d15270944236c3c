// GET /healthz: answers while the process can serve requests. No
// authentication, so orchestrators and load balancers can call it.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Health } from '../schemas/index.ts';

const healthRoutes: FastifyPluginAsyncZod = async function healthRoutes(app) {
  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Liveness check',
        tags: ['service'],
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};

export default healthRoutes;
