// GET /v1/netstat: /proc/net/snmp and /proc/net/netstat, as `nstat -a -z`
// reads them, by group and Linux name.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Inet } from '../../../inet/control.ts';
import { Netstat } from '../schemas/index.ts';

const netstatRoutes: FastifyPluginAsyncZod<{ inet: Inet }> = async function netstatRoutes(app, { inet }) {
  app.get(
    '/v1/netstat',
    {
      schema: {
        summary: 'Protocol counters (/proc/net/snmp, /proc/net/netstat)',
        description: 'The same numbers are in /metrics as netstack_netstat_<group>_<field> in snake_case.',
        tags: ['inet'],
        response: { 200: Netstat },
      },
    },
    async () => inet.netstat(),
  );
};

export default netstatRoutes;
