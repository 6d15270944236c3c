// /v1/devices: `ip link show | add | set | del` over HTTP. The core checks
// every change before applying any, so a rejected request changes nothing.

import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { netemParamsFromFields } from '../../../rtnl/netem-fields.ts';
import { createDevice, deleteDevice, describeDevice, setLink, type DeviceSpec, type LinkChanges, type NetStack } from '../../../stack/index.ts';
import type { NetDevice } from '../../../dev/netdevice.ts';
import type { DeviceOps } from '../../../dev/ops.ts';
import { NetError } from '../../../errno.ts';
import { MemoryReducer } from '../memory-reducer.ts';
import {
  Device,
  DeviceCreate,
  DeviceCreated,
  DeviceDeleted,
  DeviceList,
  DeviceListPageQuery,
  DeviceListQuery,
  DeviceParams,
  DevicePatch,
  FdbAdd,
  FdbDeleteQuery,
  FdbList,
  problemResponses,
  type DeviceOut,
  type NetemSettingsBody,
} from '../schemas/index.ts';

/**
 * The API's view of a device: describeDevice with netem in the API's
 * snake_case. Built field by field, not with `{ netem, stats64, ...rest }`:
 * an object rest is a generic property copy in V8, and was a quarter of the
 * cost of listing 10,000 devices.
 */
export function deviceOut(dev: NetDevice, withStats = true): DeviceOut {
  const v = describeDevice(dev);
  const netem = v.netem;
  const out: DeviceOut = {
    ifindex: v.ifindex,
    ifname: v.ifname,
    flags: v.flags,
    mtu: v.mtu,
    qdisc: v.qdisc,
    operstate: v.operstate,
    linkmode: v.linkmode,
    group: v.group,
    txqlen: v.txqlen,
    link_type: v.link_type,
    address: v.address,
    broadcast: v.broadcast,
    kind: v.kind,
    promiscuity: v.promiscuity,
    allmulti: v.allmulti,
    min_mtu: v.min_mtu,
    max_mtu: v.max_mtu,
    linkinfo: v.linkinfo,
    multicast: v.multicast,
    queue: v.queue,
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
  if (v.link !== undefined) out.link = v.link;
  if (v.master !== undefined) out.master = v.master;
  if (withStats) out.stats64 = v.stats64;
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

/**
 * Devices described per chunk of a listed page: one chunk is ~100 KB of
 * JSON, small enough that its objects die in V8's young generation.
 */
export const LIST_CHUNK = 128;

/**
 * The JSON text of `devs` as an array, LIST_CHUNK devices at a
 * time. Each device is described when its chunk is made, like a netlink dump
 * resumed between messages: one deleted since the list was taken is left out.
 * JSON.stringify, not the zod response serializer: deviceOut is typed by the
 * same schema (DeviceOut), and a test parses lists of every kind with it; the
 * serializer's copy of every object was most of the listing's time.
 */
export function* deviceListChunks(devs: readonly NetDevice[], withStats: boolean): Generator<string> {
  let first = true;
  let text = '[';
  for (let i = 0; i < devs.length; i++) {
    const dev = devs[i]!;
    if (dev.registered) {
      text += (first ? '' : ',') + JSON.stringify(deviceOut(dev, withStats));
      first = false;
    }
    if (i % LIST_CHUNK === LIST_CHUNK - 1) {
      yield text;
      text = '';
    }
  }
  yield text + ']';
}

function changesOf(body: z.output<typeof DevicePatch>): LinkChanges {
  return { ...body, netem: netemIn(body.netem) };
}

const deviceRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function deviceRoutes(app, { stack }) {
  // Devices deleted by any path (a DELETE here, a veth's peer, a parent's
  // VLANs) count towards giving their memory back (memory-reducer.ts).
  const reducer = new MemoryReducer();
  const unsubscribe = stack.notifier.subscribe((event) => {
    if (event === 'UNREGISTER') reducer.freed(1);
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    reducer.close();
  });

  app.get(
    '/v1/devices',
    {
      schema: {
        summary: 'List devices (ip -j -s -d link show)',
        description:
          'In ifindex order. Without `limit`, every device. With `limit=N`, at most N, and when more follow a ' +
          '`Link: <...&after=IFINDEX>; rel="next"` header names the next page. `after` is an ifindex (digits) or a name; ' +
          'an unknown name is 404 ENODEV, an ifindex need not exist any more. A list of more than 128 devices is streamed ' +
          '(chunked, without Content-Length) as the client reads it; a device deleted while it is written is left out.',
        tags: ['devices'],
        querystring: DeviceListPageQuery,
        response: { 200: DeviceList, ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { stats, limit, after } = request.query;
      const withStats = stats ?? true;
      let devs: NetDevice[];
      if (after === undefined && limit === undefined) {
        devs = stack.devices.list();
      } else {
        // Digits are an ifindex (a cursor that outlives its device); anything else names a device.
        const from = after === undefined ? 0 : /^[0-9]+$/.test(after) ? Number(after) : stack.devices.require(after).ifindex;
        const page = stack.devices.page(from, limit ?? Infinity);
        devs = page.devices;
        if (page.more) {
          const q = new URLSearchParams({ limit: String(limit), after: String(devs[devs.length - 1]!.ifindex) });
          if (stats !== undefined) q.set('stats', withStats ? '1' : '0');
          reply.header('link', `</v1/devices?${q.toString()}>; rel="next"`);
        }
      }
      reply.type('application/json; charset=utf-8');
      const chunks = deviceListChunks(devs, withStats);
      // A short list is one string (with a Content-Length); a long one is
      // streamed chunk by chunk as the client reads it, so each chunk's
      // objects die young and a 10,000-device list never holds its whole
      // text, or a copy of every device, in memory at once.
      const body = devs.length <= LIST_CHUNK ? [...chunks].join('') : Readable.from(chunks, { objectMode: false, highWaterMark: 1 });
      // Already the text of a DeviceList: fastify sends a string or stream as it is.
      return reply.send(body as unknown as DeviceOut[]);
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

/** The device's fdb method, or EOPNOTSUPP: only bridges and vxlan devices have a forwarding table. */
function fdbOp<K extends 'fdbDump' | 'fdbAdd' | 'fdbDel'>(dev: NetDevice, op: K): NonNullable<DeviceOps[K]> {
  const fn = dev.ops[op];
  if (fn === undefined) throw new NetError('EOPNOTSUPP', `${dev.name} (${dev.kind}) has no forwarding table`);
  return fn as NonNullable<DeviceOps[K]>;
}

/** /v1/devices/{name}/fdb: `bridge fdb show|add|del` through the device's ndo_fdb_* methods. */
export const fdbRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function fdbRoutes(app, { stack }) {
  app.get(
    '/v1/devices/:name/fdb',
    {
      schema: {
        summary: 'Show the forwarding table (bridge -j fdb show)',
        description: 'A bridge\'s or a vxlan device\'s forwarding table. Other kinds: 400 EOPNOTSUPP.',
        tags: ['fdb'],
        params: DeviceParams,
        response: { 200: FdbList, ...problemResponses(400, 404) },
      },
      config: { errnoStatus: { EOPNOTSUPP: 400 } },
    },
    async (request) => {
      const dev = stack.devices.require(request.params.name);
      return fdbOp(dev, 'fdbDump')(dev);
    },
  );

  app.post(
    '/v1/devices/:name/fdb',
    {
      schema: {
        summary: 'Add a static entry (bridge fdb add MAC dev PORT)',
        description: 'On a bridge, `ifname` names one of its ports. An address already in the table: 409 EEXIST (delete it first, as `bridge fdb add` does).',
        tags: ['fdb'],
        params: DeviceParams,
        body: FdbAdd,
        response: { 200: FdbList, ...problemResponses(400, 404, 409) },
      },
      config: { errnoStatus: { EOPNOTSUPP: 400 } },
    },
    async (request) => {
      const dev = stack.devices.require(request.params.name);
      const { state: _state, ...entry } = request.body;
      fdbOp(dev, 'fdbAdd')(dev, entry);
      return fdbOp(dev, 'fdbDump')(dev);
    },
  );

  app.delete(
    '/v1/devices/:name/fdb',
    {
      schema: {
        summary: 'Remove an entry (bridge fdb del MAC dev X)',
        description: 'No such entry: 404 ENOENT.',
        tags: ['fdb'],
        params: DeviceParams,
        querystring: FdbDeleteQuery,
        response: { 200: FdbList, ...problemResponses(400, 404) },
      },
      config: { errnoStatus: { EOPNOTSUPP: 400 } },
    },
    async (request) => {
      const dev = stack.devices.require(request.params.name);
      fdbOp(dev, 'fdbDel')(dev, request.query.mac, request.query.dst);
      return fdbOp(dev, 'fdbDump')(dev);
    },
  );
};

export default deviceRoutes;
