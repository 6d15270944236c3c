// /v1/routes: `ip route show | add | del | get` on the main table. The FIB
// answers with rtnetlink's errnos: a gateway that is not on a connected
// network is ENETUNREACH, a duplicate EEXIST, a route that is not there
// ESRCH (fib_table_delete), a destination no route covers ENETUNREACH.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Inet } from '../../../inet/control.ts';
import { problemResponses, Route, RouteCreate, RouteDeleteQuery, RouteGetQuery, RouteList, NoContent } from '../schemas/index.ts';

/** Only the fields that were given: the core tells "absent" from "undefined" nowhere, but the view stays clean. */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

const routeRoutes: FastifyPluginAsyncZod<{ inet: Inet }> = async function routeRoutes(app, { inet }) {
  app.get(
    '/v1/routes',
    {
      schema: {
        summary: 'List routes (ip -j route show)',
        tags: ['inet'],
        response: { 200: RouteList },
      },
    },
    async () => inet.routeList(),
  );

  app.post(
    '/v1/routes',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Add a route (ip route add DST [via GW] [dev NAME] [metric N] [src A])',
        description:
          'A gateway not on a connected network: 422 ENETUNREACH; the same route again: 409 EEXIST; unknown device: 404 ENODEV; ' +
          'neither gateway nor dev, or a src that is not ours: 400 EINVAL.',
        tags: ['inet'],
        body: RouteCreate,
        response: { 201: Route, ...problemResponses(400, 404, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const made = inet.routeAdd(defined(request.body));
      reply.code(201);
      return made;
    },
  );

  app.delete(
    '/v1/routes',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Delete a route (ip route del DST [via GW] [dev NAME])',
        description: 'No such route: 404 ESRCH. Answers 204.',
        tags: ['inet'],
        querystring: RouteDeleteQuery,
        response: { 204: NoContent, ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      inet.routeDel(defined(request.query));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/routes/get',
    {
      schema: {
        summary: 'The route a destination takes (ip route get A.B.C.D)',
        description: 'The route with the device and the source address (prefsrc) used. No route: 422 ENETUNREACH.',
        tags: ['inet'],
        querystring: RouteGetQuery,
        response: { 200: Route, ...problemResponses(400, 422) },
      },
    },
    async (request) => inet.routeGet(request.query.dst),
  );
};

export default routeRoutes;
