// POST /v1/devices/{name}/ioctl: the interface ioctls for people who think in
// struct ifreq. They call the same device operations as the REST resources,
// so both views always agree.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { devIoctl, type NetStack } from '../../../stack/index.ts';
import { DeviceParams, IoctlBody, IoctlResult, problemResponses } from '../schemas/index.ts';

const ioctlRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function ioctlRoutes(app, { stack }) {
  app.post(
    '/v1/devices/:name/ioctl',
    {
      schema: {
        summary: 'Run an interface ioctl (SIOCGIFFLAGS ... SIOCSIFMAP)',
        description:
          'The errnos are the kernel\'s: ENODEV (404), EINVAL (400), EEXIST / EBUSY (409), EADDRNOTAVAIL (422), ' +
          'ENOENT for a multicast address not on the list (404), EOPNOTSUPP where the device kind lacks the operation (501).',
        tags: ['devices'],
        params: DeviceParams,
        body: IoctlBody,
        response: { 200: IoctlResult, ...problemResponses(400, 404, 409, 413, 415, 422, 501) },
      },
    },
    async (request) => devIoctl(stack, request.params.name, request.body),
  );
};

export default ioctlRoutes;
