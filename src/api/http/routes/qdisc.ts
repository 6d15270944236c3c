// /v1/devices/{name}/qdisc: `tc -s -j qdisc show dev X` and
// `tc qdisc replace dev X root KIND [limit N]`, so that a device's queue is
// one call away, as it is in Linux.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { qdiscReplace, qdiscView, type NetStack } from '../../../stack/index.ts';
import { DeviceParams, QdiscOut, QdiscReplace, problemResponses } from '../schemas/index.ts';

const qdiscRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function qdiscRoutes(app, { stack }) {
  app.get(
    '/v1/devices/:name/qdisc',
    {
      schema: {
        summary: 'Show the root qdisc (tc -s -j qdisc show dev X)',
        operationId: 'getQdisc',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: QdiscOut, ...problemResponses(400, 404) },
      },
    },
    async (request) => qdiscView(stack.devices.require(request.params.name)),
  );

  app.put(
    '/v1/devices/:name/qdisc',
    {
      schema: {
        summary: 'Replace the root qdisc (tc qdisc replace dev X root KIND [limit N])',
        operationId: 'replaceQdisc',
        description: 'Frames the old qdisc held are dropped (queue_purge). A limit for pfifo_fast or noqueue: 400 EINVAL.',
        tags: ['devices'],
        params: DeviceParams,
        body: QdiscReplace,
        response: { 200: QdiscOut, ...problemResponses(400, 404, 413, 415) },
      },
    },
    async (request) => qdiscReplace(stack, request.params.name, request.body),
  );
};

export default qdiscRoutes;
