// /v1/devices: `ip link show | add | set | del` over HTTP. The core checks
// every change before applying any, so a rejected request changes nothing.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { netemParamsFromFields } from '../../../rtnl/netem-fields.ts';
import { createDevice, deleteDevice, describeDevice, setLink, type DeviceSpec, type LinkChanges, type NetStack } from '../../../stack/index.ts';
import type { NetDevice } from '../../../dev/netdevice.ts';
import {
  Device,
  DeviceCreate,
  DeviceCreated,
  DeviceDeleted,
  DeviceList,
  DeviceListQuery,
  DeviceParams,
  DevicePatch,
  problemResponses,
  type DeviceOut,
  type NetemSettingsBody,
} from '../schemas/index.ts';

/** The API's view of a device: describeDevice with netem in the API's snake_case. */
export function deviceOut(dev: NetDevice, withStats = true): DeviceOut {
  const { netem, stats64, ...rest } = describeDevice(dev);
  const out: DeviceOut = {
    ...rest,
    netem:
      netem === null
        ? null
        : {
            delay_ms: netem.delayMs,
            jitter_ms: netem.jitterMs,
            loss: netem.loss,
            duplicate: netem.duplicate,
            corrupt: netem.corrupt,
            reorder: netem.reorder,
            rate_bps: netem.rateBps,
            limit: netem.limit,
            seed: netem.seed,
            stats: netem.stats,
          },
  };
  if (withStats) out.stats64 = stats64;
  return out;
}

export function devicePath(name: string): string {
  return `/v1/devices/${encodeURIComponent(name)}`;
}

/** netem as the core spells it (rtnl/netem-fields.ts); fields left out stay out. */
function netemIn(n: NetemSettingsBody | null | undefined): LinkChanges['netem'] {
  if (n === null || n === undefined) return n;
  return netemParamsFromFields(n);
}

/** The body is the kind's spec (rtnl/kind.ts: same field names); only netem is spelled differently. */
function specOf(body: z.output<typeof DeviceCreate>): DeviceSpec {
  return { ...body, netem: netemIn(body.netem) } as DeviceSpec;
}

function changesOf(body: z.output<typeof DevicePatch>): LinkChanges {
  return { ...body, netem: netemIn(body.netem) };
}

const deviceRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function deviceRoutes(app, { stack }) {
  app.get(
    '/v1/devices',
    {
      schema: {
        summary: 'List devices (ip -j -s -d link show)',
        tags: ['devices'],
        querystring: DeviceListQuery,
        response: { 200: DeviceList, ...problemResponses(400) },
      },
    },
    async (request) => {
      const withStats = request.query.stats ?? true;
      return stack.devices.list().map((dev) => deviceOut(dev, withStats));
    },
  );

  app.post(
    '/v1/devices',
    {
      schema: {
        summary: 'Create a device (ip link add)',
        description: 'Name taken: 409 EEXIST; bad name: 400 EINVAL. A veth returns both ends; Location names the first device.',
        tags: ['devices'],
        body: DeviceCreate,
        response: { 201: DeviceCreated, ...problemResponses(400, 404, 409, 413, 415, 422, 429, 501) },
      },
    },
    async (request, reply) => {
      const made = await createDevice(stack, specOf(request.body));
      reply.code(201).header('location', devicePath(made[0]!.name));
      return made.map((dev) => deviceOut(dev));
    },
  );

  app.get(
    '/v1/devices/:name',
    {
      schema: {
        summary: 'Show one device',
        tags: ['devices'],
        params: DeviceParams,
        querystring: DeviceListQuery,
        response: { 200: Device, ...problemResponses(400, 404) },
      },
    },
    async (request) => deviceOut(stack.devices.require(request.params.name), request.query.stats ?? true),
  );

  app.patch(
    '/v1/devices/:name',
    {
      schema: {
        summary: 'Change a device (ip link set, tc qdisc netem)',
        description:
          'Unknown device: 404 ENODEV; rename while up: 409 EBUSY; bad value: 400 EINVAL; non-unicast address: 422 EADDRNOTAVAIL. ' +
          'After a rename, Content-Location names the device.',
        tags: ['devices'],
        params: DeviceParams,
        body: DevicePatch,
        response: { 200: Device, ...problemResponses(400, 404, 409, 413, 415, 422, 501) },
      },
    },
    async (request, reply) => {
      const oldName = request.params.name;
      const dev = setLink(stack, oldName, changesOf(request.body));
      if (dev.name !== oldName) reply.header('content-location', devicePath(dev.name));
      return deviceOut(dev);
    },
  );

  app.delete(
    '/v1/devices/:name',
    {
      // DESIGN §3: deleting lo is 400 EOPNOTSUPP (a request that can never succeed), not 501.
      config: { errnoStatus: { EOPNOTSUPP: 400 } },
      schema: {
        summary: 'Delete a device (ip link del)',
        description: 'Answers 200 with every device removed: a veth takes its peer along, a parent its VLANs. Deleting lo: 400 EOPNOTSUPP.',
        tags: ['devices'],
        params: DeviceParams,
        response: { 200: DeviceDeleted, ...problemResponses(400, 404) },
      },
    },
    async (request) => ({ deleted: deleteDevice(stack, request.params.name).map((dev) => dev.name) }),
  );
};

export default deviceRoutes;
