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
    len: z.number().int().describe('Length of the frame, bytes.'),
    info: z.string().describe('The one-line decode `netstackctl capture` prints (tcpdump -e -n words): addresses, ethertype, and ARP, IPv4, IPv6, ICMP, ICMPv6/ND, UDP, VLAN, VXLAN.'),
    data: z.string().describe('The frame, hex.'),
    summary: z.string().optional().describe('With detail=1 or trace=1: the one-line decode netstackctl capture prints.'),
    skb: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('With detail=1 or trace=1: the sk_buff as the stream\'s socket holds it: head, data, tail, end, mac_header, network_header, transport_header (-1 unset), len, headroom, tailroom, truesize, users, cloned, shared, charged {socket, kind, bytes, rmem, rcvbuf}.'),
    trace: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('With trace=1: the sk_buff at every layer it passed (layer, ts, dev, offsets, len, truesize, users, cloned, charged, sk).'),
  })
  .describe('Server to client (format=json): one frame.');

export const StreamReadyMessage = z
  .object({
    type: z.literal('ready'),
    ifname: z.string().describe('The device the stream listens on.'),
    socket: z.number().int().describe('Id of the stream\'s packet socket (GET /v1/sockets).'),
  })
  .describe('Server to client (format=json): the first message, sent once the stream\'s socket is bound; every frame after it is seen.');

export const StreamDropsMessage = z
  .object({ type: z.literal('drops'), count: z.number().int(), total: z.number().int() })
  .describe('Server to client: frames this stream lost since the last notice, and since it opened.');

export const StreamErrorMessage = z
  .object({ type: z.literal('error'), errno: z.string(), detail: z.string() })
  .describe('Server to client: a frame the client sent could not be transmitted.');

export const STREAM_DESCRIPTION =
  'WebSocket (`Connection: Upgrade`, `Upgrade: websocket`). The frames of the device arrive as they pass, through a packet socket of the ' +
  'stream\'s own: with format=json first `{type:"ready", ifname, socket}` once the socket is bound, then one message ' +
  '`{type:"frame", ts, ifname, protocol, pkt_type, len, info, data}` per frame (info the one-line decode, data hex); with ' +
  'format=binary pcap, the first message the global header (sent once the socket is bound) and each later one whole records, so the messages appended are a pcap file. ' +
  '`{type:"drops", count, total}` reports frames lost because the client read too slowly. A binary message from the client is one frame ' +
  'to transmit on the device (`{type:"error", errno, detail}` if it cannot be). The query and the device are checked before the upgrade, ' +
  'so those errors are ordinary problem+json answers. Close codes: 4004 device deleted, 1001 server shutting down, 1013 try again later, ' +
  '1011 internal error. Bearer authentication applies to the upgrade request (or the session cookie, or the token offered as a ' +
  'Sec-WebSocket-Protocol value next to `netstackd`). detail=1 adds each frame\'s decoded summary and sk_buff; trace=1 traces the device ' +
  'while the stream is open and adds the layers each frame passed.';
