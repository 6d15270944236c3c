// /v1/addresses and /v1/devices/{name}/addresses: `ip addr show | add | del`.
// Adding an address adds its local and connected routes, as Linux does
// (fib_add_ifaddr); deleting it removes them. Errors are rtnetlink's: the
// same address twice is EEXIST, an address the device lacks EADDRNOTAVAIL.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Inet } from '../../../inet/control.ts';
import { AddressCreate, AddressParams, AddrInfo, DeviceParams, IfAddrList, problemResponses, NoContent } from '../schemas/index.ts';

const addressRoutes: FastifyPluginAsyncZod<{ inet: Inet }> = async function addressRoutes(app, { inet }) {
  app.get(
    '/v1/addresses',
    {
      schema: {
        summary: 'List addresses (ip -j addr show)',
        tags: ['inet'],
        response: { 200: IfAddrList },
      },
    },
    async () => inet.addrList(),
  );

  app.post(
    '/v1/devices/:name/addresses',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Add an address (ip addr add A.B.C.D/N dev NAME)',
        description:
          'Adds the address and its local and connected routes. The same address again: 409 EEXIST; unknown device: 404 ENODEV; ' +
          'a malformed address (300.1.1.1/24, /33): 400 EINVAL.',
        tags: ['inet'],
        params: DeviceParams,
        body: AddressCreate,
        response: { 201: AddrInfo, ...problemResponses(400, 404, 409, 415) },
      },
    },
    async (request, reply) => {
      const { address, broadcast, label } = request.body;
      const opts: { broadcast?: string; label?: string } = {};
      if (broadcast !== undefined) opts.broadcast = broadcast;
      if (label !== undefined) opts.label = label;
      const cidr = address.includes('/') ? address : `${address}/32`;
      const added = inet.addrAdd(request.params.name, cidr, opts);
      reply.code(201);
      return added;
    },
  );

  app.delete(
    '/v1/devices/:name/addresses/:addr',
    {
      config: { changesInetState: true },
      schema: {
        summary: 'Delete an address (ip addr del A.B.C.D/N dev NAME)',
        description:
          '`addr` is A.B.C.D or A.B.C.D%2FN. An address the device does not have: 422 EADDRNOTAVAIL; unknown device: 404 ENODEV. ' +
          'Answers 204; the routes the address brought go with it.',
        tags: ['inet'],
        params: AddressParams,
        response: { 204: NoContent, ...problemResponses(400, 404, 422) },
      },
    },
    async (request, reply) => {
      inet.addrDel(request.params.name, request.params.addr);
      return reply.code(204).send(null);
    },
  );
};

export default addressRoutes;
