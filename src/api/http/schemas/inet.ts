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
  family: z.literal('inet').describe('Address family; always inet (IPv4).'),
  local: z.string().describe('The address, A.B.C.D.'),
  prefixlen: z.number().int().min(0).max(32).describe('Prefix length, bits (the /N).'),
  broadcast: z.string().optional().describe('IPv4 broadcast address of the prefix; absent for /31 and /32.'),
  scope: z.enum(['global', 'host', 'link']).describe('Address scope: host for 127.0.0.0/8, else global.'),
  label: z.string().describe('Address label (ip addr ... label); the device name unless set.'),
  secondary: z.boolean().optional().describe('Present (true) when the device already had an address in the same prefix, which stays the primary.'),
});

export const IfAddr = z
  .object({
    ifindex: z.number().int().min(1),
    ifname: z.string(),
    flags: z.array(z.string()),
    mtu: z.number().int(),
    operstate: z.string(),
    address: z.string().describe('The link-layer address.'),
    addr_info: z.array(AddrInfo).describe("The device's IPv4 addresses, primaries first."),
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
  addr: Ipv4Prefix.meta({ description: 'A.B.C.D, or A.B.C.D/N (the slash sent as %2F).', examples: ['192.0.2.1/24'] }),
});

// ---- ip route ----

export const Route = z
  .object({
    dst: z.string().describe('"default", A.B.C.D/N, or A.B.C.D for a host route.'),
    gateway: z.string().optional().describe('Next hop, A.B.C.D; absent for a directly connected route.'),
    dev: z.string().describe('Output device.'),
    protocol: z.enum(['kernel', 'static']).describe('Who added the route: kernel (from an address) or static (POST /v1/routes).'),
    scope: z.enum(['global', 'link', 'host']).describe('Route scope: link for a connected network, host for our own addresses, else global.'),
    prefsrc: z.string().optional().describe('Preferred source address for traffic on this route.'),
    metric: z.number().int().min(0).optional().describe('Route metric (priority); lower wins among routes to the same prefix. Absent when 0.'),
    flags: z.array(z.string()).describe('Route flags, e.g. ["linkdown"] when the output device has no carrier.'),
    type: z.enum(['unicast', 'local', 'broadcast']).optional().describe('Route type; absent means unicast (local: our own address).'),
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
    dst: z.string().describe('The neighbour\'s IPv4 address.'),
    dev: z.string().describe('The device it is reached on.'),
    lladdr: z.string().optional().describe('Its link-layer (MAC) address; absent while unresolved or FAILED.'),
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

export const NeighbourFlushed = z.object({ flushed: Count.describe('Neighbour entries removed.') });

// ---- ping ----

export const PingRequest = z.strictObject({
  dst: Ipv4Address,
  count: z.number().int().min(1).max(1000).optional().describe('Echo requests to send (default 4).'),
  interval_ms: z.number().int().min(0).max(60_000).optional().describe('Between requests (default 1000).'),
  size: z.number().int().min(0).max(65507).optional().describe('ICMP payload bytes (default 56).'),
  ttl: z.number().int().min(1).max(255).optional().describe('IP time to live of the requests (default 64).'),
  timeout_ms: z.number().int().min(1).max(3_600_000).optional().describe('How long to wait for the last reply (ping -W).'),
  src: Ipv4Address.optional().describe('Source address; must be one of ours.'),
});

export type PingRequestBody = z.input<typeof PingRequest>;

export const PingResult = z
  .object({
    dst: z.string().describe('The address pinged.'),
    transmitted: Count.describe('Echo requests sent.'),
    received: Count.describe('Echo replies received.'),
    loss_percent: z.number().min(0).max(100).describe('Requests without a reply, percent.'),
    rtt_ms: z
      .object({
        min: z.number().describe('Shortest round trip, ms.'),
        avg: z.number().describe('Mean round trip, ms.'),
        max: z.number().describe('Longest round trip, ms.'),
        mdev: z.number().describe('Mean deviation of the round trips, ms (as ping prints it).'),
      })
      .nullable()
      .describe('Round-trip times; null when no reply came.'),
    replies: z
      .array(
        z.object({
          seq: Count.describe('ICMP sequence number of the request answered.'),
          from: z.string().describe('Address the reply came from.'),
          ttl: Count.describe('IP time to live of the reply.'),
          time_ms: z.number().describe('Round trip, ms.'),
        }),
      )
      .describe('Every echo reply, in the order received.'),
    errors: z
      .array(
        z.object({
          seq: Count.describe('ICMP sequence number of the request the error is about.'),
          from: z.string().describe('Address of the host that sent the ICMP error (our own address for a local error).'),
          message: z.string().describe('The error as ping prints it, e.g. "Destination Host Unreachable" or "local error: message too long, mtu=1400".'),
        }),
      )
      .describe('ICMP errors received for the requests (unreachable, time exceeded), and local errors sending them.'),
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
    id: z.number().int().min(1).describe('Socket id: GET/DELETE /v1/sockets/{id}, its send and its stream.'),
    family: z.literal('inet').describe('Address family; always inet (IPv4).'),
    type: z.literal('dgram').describe('Socket type; dgram (UDP).'),
    state: z.enum(['UNCONN', 'ESTAB']).describe('ESTAB when connected to a peer, else UNCONN (as ss prints it).'),
    local: z.string().describe('ADDR:PORT, as ss prints it (0.0.0.0:7).'),
    peer: z.string().describe('ADDR:PORT of a connected socket, else "*:*".'),
    recv_q: Count.describe('Bytes received and not yet read (ss Recv-Q).'),
    send_q: Count.describe('Bytes queued for sending (ss Send-Q).'),
    rmem: Count.describe('Receive memory charged to the socket, bytes (sk_rmem_alloc).'),
    rcvbuf: Count.describe('Receive buffer size, bytes (SO_RCVBUF, as stored: doubled).'),
    wmem: Count.describe('Send memory charged to the socket, bytes (sk_wmem_alloc).'),
    sndbuf: Count.describe('Send buffer size, bytes (SO_SNDBUF, as stored: doubled).'),
    drops: Count.describe('Datagrams dropped at the socket (receive buffer full: Udp RcvbufErrors).'),
    service: z.enum(['echo', 'discard', 'chargen']).optional().describe('The RFC 862/863/864 service netstackd runs on the socket, if any.'),
  })
  .meta({ id: 'UdpSocket', description: 'A UDP socket, like a line of `ss -u -a -m`.' });

export type UdpSocketOut = z.output<typeof UdpSocketView>;

const Bufsize = z.number().int().min(0).max(2147483647);

export const SocketCreate = z.strictObject({
  type: z.enum(['udp', 'tcp']).describe('The protocol: udp (a datagram socket) or tcp (a stream socket that connects or listens).'),
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
    .meta({ description: 'The socket id, as GET /v1/sockets lists it.', examples: ['1'] })
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

export const SocketClosed = z.object({ closed: z.number().int().min(1).describe('Id of the socket closed.') });

// ---- the socket stream (WebSocket), for the OpenAPI document ----

export const SOCKET_STREAM_PATH = '/v1/sockets/{id}/stream';

export const SocketDatagramMessage = z
  .object({
    type: z.literal('datagram'),
    from: z.string().describe('ADDR:PORT of the sender.'),
    len: Count.describe('Payload length, bytes.'),
    data: z.string().describe('The payload, hex.'),
  })
  .describe('Server to client: one datagram received on the socket.');

export const SocketStreamSend = z
  .strictObject({
    to: SocketAddress.optional().describe('Destination ADDR:PORT; default the connected peer.'),
    data: z.string().describe('The payload, hex (an even number of hex digits) or else padded base64.'),
  })
  .describe('Client to server (text message): a datagram to send; data hex or base64. A binary message is sent as it is to the connected peer.');

export const SOCKET_STREAM_DESCRIPTION =
  'WebSocket. UDP: every datagram the socket receives arrives as `{type:"datagram", from, len, data}` (data hex), read from the socket only ' +
  'while the client keeps up, so a slow client loses datagrams at the socket (counted as Udp RcvbufErrors) and `{type:"drops", count, total}` ' +
  'tells it (total: the socket\'s drops, including those before the stream opened). The client sends `{to?, data}` as text (data hex or base64) or the payload as a binary message (to the connected peer). ' +
  'A datagram that cannot be sent answers `{type:"error", errno, detail}`; the stream stays open. Close codes: 4004 socket closed, ' +
  '1001 server shutting down.';

// A datagram's `data` is read as a frame's is: hex first, else padded base64.
export { decodePayload } from './frames.ts';

/** A 204 answer: no body. */
export const NoContent = z.null().describe('No content.');
