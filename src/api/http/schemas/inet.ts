// The internet layer over HTTP (DESIGN §3.1): addresses (`ip -j addr`),
// routes (`ip -j route`), neighbours (`ip -j neigh`), ping, the /proc/net
// counters, and UDP sockets (`ss -u -a`). Addresses are checked here, before
// the stack sees them, so `300.1.1.1/24` or `/33` is a 400 EINVAL naming the
// field, and the stack is left as it was.

import { z } from 'zod';
import { Count, IfName, MacAddress, QueryBool, queryInt } from './common.ts';

// ---- addresses as users write them (shared with the config file) ----

export { Ipv4Address, Ipv4Prefix, RouteDst, SocketAddress } from '../../../config/inet-values.ts';
import { Ipv4Address, Ipv4Prefix, RouteDst, SocketAddress } from '../../../config/inet-values.ts';

// ---- ip addr ----

export const AddrInfo = z.object({
  family: z.literal('inet'),
  local: z.string(),
  prefixlen: z.number().int().min(0).max(32),
  broadcast: z.string().optional(),
  scope: z.enum(['global', 'host', 'link']),
  label: z.string(),
  secondary: z.boolean().optional(),
});

export const IfAddr = z
  .object({
    ifindex: z.number().int().min(1),
    ifname: z.string(),
    flags: z.array(z.string()),
    mtu: z.number().int(),
    operstate: z.string(),
    address: z.string().describe('The link-layer address.'),
    addr_info: z.array(AddrInfo),
  })
  .meta({ id: 'IfAddr', description: 'A device and its IPv4 addresses, in the shape of `ip -j addr`.' });

export type IfAddrOut = z.output<typeof IfAddr>;
export const IfAddrList = z.array(IfAddr);

export const AddressCreate = z.strictObject({
  address: Ipv4Prefix,
  broadcast: Ipv4Address.optional().describe('Default: the prefix with every host bit set (none for /31 and /32).'),
  label: z
    .string()
    .min(1)
    .max(15)
    .regex(/^[^/\s\u0000-\u001f\u007f]+$/u)
    .optional()
    .describe('ip addr add ... label NAME; default the device name.'),
});

export type AddressCreateBody = z.input<typeof AddressCreate>;

export const AddressParams = z.object({
  name: IfName,
  addr: Ipv4Prefix.describe('A.B.C.D, or A.B.C.D/N (the slash sent as %2F).'),
});

// ---- ip route ----

export const Route = z
  .object({
    dst: z.string().describe('"default", A.B.C.D/N, or A.B.C.D for a host route.'),
    gateway: z.string().optional(),
    dev: z.string(),
    protocol: z.enum(['kernel', 'static']),
    scope: z.enum(['global', 'link', 'host']),
    prefsrc: z.string().optional(),
    metric: z.number().int().min(0).optional(),
    flags: z.array(z.string()),
    type: z.enum(['unicast', 'local', 'broadcast']).optional(),
  })
  .meta({ id: 'Route', description: 'A route in the shape of `ip -j route`.' });

export type RouteOut = z.output<typeof Route>;
export const RouteList = z.array(Route);

export const RouteCreate = z.strictObject({
  dst: RouteDst,
  gateway: Ipv4Address.optional().describe('Next hop; it must be on a connected network (else 422 ENETUNREACH).'),
  dev: IfName.optional().describe('Output device; needed when there is no gateway.'),
  metric: z.number().int().min(0).max(4294967295).optional().describe('Lower wins among routes to the same prefix; default 0.'),
  src: Ipv4Address.optional().describe('Preferred source address (prefsrc); must be one of ours.'),
});

export type RouteCreateBody = z.input<typeof RouteCreate>;

export const RouteDeleteQuery = z.object({
  dst: RouteDst,
  gateway: Ipv4Address.optional(),
  dev: IfName.optional(),
});

export const RouteGetQuery = z.object({ dst: Ipv4Address });

// ---- ip neigh ----

export const Neighbour = z
  .object({
    dst: z.string(),
    dev: z.string(),
    lladdr: z.string().optional(),
    state: z.array(z.string()).describe('NUD state(s), e.g. ["REACHABLE"], ["PERMANENT"].'),
  })
  .meta({ id: 'Neighbour', description: 'A neighbour entry in the shape of `ip -j neigh`.' });

export type NeighbourOut = z.output<typeof Neighbour>;
export const NeighbourList = z.array(Neighbour);

export const NeighbourCreate = z.strictObject({
  dst: Ipv4Address,
  dev: IfName,
  lladdr: MacAddress,
});

export const NeighbourDeleteQuery = z.object({
  dst: Ipv4Address.optional().describe('Without it, every entry of the device is flushed (ip neigh flush dev X).'),
  dev: IfName,
});

export const NeighbourFlushed = z.object({ flushed: Count });

// ---- ping ----

export const PingRequest = z.strictObject({
  dst: Ipv4Address,
  count: z.number().int().min(1).max(1000).optional().describe('Echo requests to send (default 4).'),
  interval_ms: z.number().int().min(0).max(60_000).optional().describe('Between requests (default 1000).'),
  size: z.number().int().min(0).max(65507).optional().describe('ICMP payload bytes (default 56).'),
  ttl: z.number().int().min(1).max(255).optional(),
  timeout_ms: z.number().int().min(1).max(3_600_000).optional().describe('How long to wait for the last reply (ping -W).'),
  src: Ipv4Address.optional().describe('Source address; must be one of ours.'),
});

export type PingRequestBody = z.input<typeof PingRequest>;

export const PingResult = z
  .object({
    dst: z.string(),
    transmitted: Count,
    received: Count,
    loss_percent: z.number().min(0).max(100),
    rtt_ms: z.object({ min: z.number(), avg: z.number(), max: z.number(), mdev: z.number() }).nullable(),
    replies: z.array(z.object({ seq: Count, from: z.string(), ttl: Count, time_ms: z.number() })),
    errors: z.array(z.object({ seq: Count, from: z.string(), message: z.string() })),
  })
  .meta({ id: 'PingResult', description: "ping's summary and every reply (and ICMP error) it got." });

export type PingResultOut = z.output<typeof PingResult>;

// ---- netstat ----

export const Netstat = z
  .record(z.string(), z.record(z.string(), z.number()))
  .meta({
    id: 'Netstat',
    description:
      'The counters of /proc/net/snmp and /proc/net/netstat by their Linux names, by group: ' +
      '{Ip: {InReceives, ...}, Icmp: {...}, IcmpMsg: {InType8, ...}, Udp: {InDatagrams, NoPorts, RcvbufErrors, ...}, ...}.',
  });

// ---- sockets ----

export const UdpSocketView = z
  .object({
    id: z.number().int().min(1),
    family: z.literal('inet'),
    type: z.literal('dgram'),
    state: z.enum(['UNCONN', 'ESTAB']),
    local: z.string().describe('ADDR:PORT, as ss prints it (0.0.0.0:7).'),
    peer: z.string().describe('ADDR:PORT of a connected socket, else "*:*".'),
    recv_q: Count,
    send_q: Count,
    rmem: Count,
    rcvbuf: Count,
    wmem: Count,
    sndbuf: Count,
    drops: Count,
  })
  .meta({ id: 'UdpSocket', description: 'A UDP socket, like a line of `ss -u -a -m`.' });

export type UdpSocketOut = z.output<typeof UdpSocketView>;

const Bufsize = z.number().int().min(0).max(2147483647);

export const SocketCreate = z.strictObject({
  type: z.enum(['udp', 'tcp']).describe('tcp answers 501 EOPNOTSUPP until TCP lands.'),
  bind: SocketAddress.optional().describe('Default 0.0.0.0:0 (any address, an ephemeral port).'),
  connect: SocketAddress.optional().describe('Default peer (UDP connect()).'),
  listen: z.number().int().min(0).max(65535).optional().describe('TCP only: listen with this backlog.'),
  service: z.enum(['echo', 'discard', 'chargen']).optional().describe('Run the RFC 862/863/864 service on the socket inside netstackd.'),
  rcvbuf: Bufsize.optional().describe('SO_RCVBUF, bytes (stored doubled, as Linux does).'),
  sndbuf: Bufsize.optional().describe('SO_SNDBUF, bytes (stored doubled, as Linux does).'),
  nodelay: z.boolean().optional().describe('TCP only: TCP_NODELAY.'),
  timeout_ms: z.number().int().min(1).max(3_600_000).optional().describe('TCP only: connect timeout.'),
});

export type SocketCreateBody = z.input<typeof SocketCreate>;

export const SocketParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, { message: 'expected a socket id (a positive integer)' })
    .transform(Number),
});

export const SocketDeleteQuery = z.object({
  abort: QueryBool.optional().describe('TCP: reset instead of FIN. Nothing different for UDP.'),
});

export const SocketSendJson = z.strictObject({
  to: SocketAddress.optional().describe('Destination; default the connected peer.'),
  data: z.string().describe('The payload, hex (an even number of hex digits) or else padded base64; "" sends an empty datagram.'),
});

export const SocketSendQuery = z.object({
  to: SocketAddress.optional().describe('Destination for an application/octet-stream body.'),
  nonblock: QueryBool.optional().describe('1: 503 EAGAIN instead of waiting when the send buffer is full.'),
  timeout_ms: queryInt(3_600_000, 'Wait at most this long for send-buffer space (SO_SNDTIMEO), then 503 EAGAIN.').optional(),
});

export const SocketSent = z.object({ sent: Count.describe('Payload bytes sent.') }).meta({ id: 'SocketSent' });

export const SocketClosed = z.object({ closed: z.number().int().min(1) });

// ---- the socket stream (WebSocket), for the OpenAPI document ----

export const SOCKET_STREAM_PATH = '/v1/sockets/{id}/stream';

export const SocketDatagramMessage = z
  .object({
    type: z.literal('datagram'),
    from: z.string().describe('ADDR:PORT of the sender.'),
    len: Count,
    data: z.string().describe('The payload, hex.'),
  })
  .describe('Server to client: one datagram received on the socket.');

export const SocketStreamSend = z
  .strictObject({ to: SocketAddress.optional(), data: z.string() })
  .describe('Client to server (text message): a datagram to send; data hex or base64. A binary message is sent as it is to the connected peer.');

export const SOCKET_STREAM_DESCRIPTION =
  'WebSocket. UDP: every datagram the socket receives arrives as `{type:"datagram", from, len, data}` (data hex), read from the socket only ' +
  'while the client keeps up, so a slow client loses datagrams at the socket (counted as Udp RcvbufErrors) and `{type:"drops", count, total}` ' +
  'tells it (total: the socket\'s drops, including those before the stream opened). The client sends `{to?, data}` as text (data hex or base64) or the payload as a binary message (to the connected peer). ' +
  'A datagram that cannot be sent answers `{type:"error", errno, detail}`; the stream stays open. Close codes: 4004 socket closed, ' +
  '1001 server shutting down.';

/** Hex (even number of hex digits) first, else padded base64; undefined when it is neither. */
export function decodePayload(text: string): Buffer | undefined {
  if (text === '') return Buffer.alloc(0);
  const hex = Buffer.from(text, 'hex');
  if (hex.length * 2 === text.length) return hex;
  if (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

/** A 204 answer: no body. */
export const NoContent = z.null().describe('No content.');
