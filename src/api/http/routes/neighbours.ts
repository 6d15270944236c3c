// /v1/neighbours: `ip neigh show | add | del | flush`. Entries added here are
// PERMANENT (neigh_add with NUD_PERMANENT): no timer touches them. A DELETE
// without dst flushes the device's dynamic entries, as `ip neigh flush dev X`.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Inet } from '../../../inet/control.ts';
import { Neighbour, NeighbourCreate, NeighbourDeleteQuery, NeighbourFlushed, NeighbourList, problemResponses, NoContent } from '../schemas/index.ts';

const neighbourRoutes: FastifyPluginAsyncZod<{ inet: Inet }> = async function neighbourRoutes(app, { inet }) {
  app.get(
    '/v1/neighbours',
    {
      schema: {
        summary: 'List neighbours (ip -j neigh show)',
        tags: ['inet'],
        response: { 200: NeighbourList },
      },
    },
    async () => inet.neighList(),
  );

  app.post(
    '/v1/neighbours',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Add a permanent neighbour (ip neigh replace A.B.C.D lladdr MAC dev NAME nud permanent)',
        description: 'Unknown device: 404 ENODEV; malformed address: 400 EINVAL.',
        tags: ['inet'],
        body: NeighbourCreate,
        response: { 201: Neighbour, ...problemResponses(400, 404, 415) },
      },
    },
    async (request, reply) => {
      const made = inet.neighAdd(request.body);
      reply.code(201);
      return made;
    },
  );

  app.delete(
    '/v1/neighbours',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Delete a neighbour, or flush a device (ip neigh del | flush)',
        description: 'With dst: delete that entry (none: 404 ENOENT), answers 204. Without dst: flush the device, answers {flushed}.',
        tags: ['inet'],
        querystring: NeighbourDeleteQuery,
        response: { 200: NeighbourFlushed, 204: NoContent, ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { dst, dev } = request.query;
      if (dst === undefined) return { flushed: inet.neighFlush(dev) };
      inet.neighDel({ dst, dev });
      return reply.code(204).send(null);
    },
  );
};

export default neighbourRoutes;
