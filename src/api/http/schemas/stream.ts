// GET /v1/devices/{name}/stream (WebSocket), for the OpenAPI document only:
// @fastify/websocket hides its routes from @fastify/swagger, so the app adds
// this path itself. The route, and its query schema, are src/api/ws/stream.ts.

import { z } from 'zod';

export const STREAM_PATH = '/v1/devices/{name}/stream';

export const StreamFrameMessage = z
  .object({
    type: z.literal('frame'),
    ts: z.number().describe('Wall-clock time, ms.'),
    ifname: z.string(),
    protocol: z.number().int(),
    pkt_type: z.number().int().describe('0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing.'),
    len: z.number().int(),
    data: z.string().describe('The frame, hex.'),
  })
  .describe('Server to client (format=json): one frame.');

export const StreamDropsMessage = z
  .object({ type: z.literal('drops'), count: z.number().int(), total: z.number().int() })
  .describe('Server to client: frames this stream lost since the last notice, and since it opened.');

export const StreamErrorMessage = z
  .object({ type: z.literal('error'), errno: z.string(), detail: z.string() })
  .describe('Server to client: a frame the client sent could not be transmitted.');

export const STREAM_DESCRIPTION =
  'WebSocket (`Connection: Upgrade`, `Upgrade: websocket`). The frames of the device arrive as they pass, through a packet socket of the ' +
  'stream\'s own: with format=json one message `{type:"frame", ts, ifname, protocol, pkt_type, len, data}` per frame (data hex); with ' +
  'format=binary pcap, the first message the global header and each later one whole records, so the messages appended are a pcap file. ' +
  '`{type:"drops", count, total}` reports frames lost because the client read too slowly. A binary message from the client is one frame ' +
  'to transmit on the device (`{type:"error", errno, detail}` if it cannot be; `errno: "ENETDOWN"` also when the device goes down). The query and the device are checked before the upgrade, ' +
  'so those errors are ordinary problem+json answers. Close codes: 4004 device deleted, 1001 server shutting down, 1013 try again later, ' +
  '1011 internal error. Bearer authentication applies to the upgrade request.';
