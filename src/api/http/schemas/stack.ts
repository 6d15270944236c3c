// The stack as a whole: packet sockets (`ss -0`), buffer and backlog
// counters, drops by reason, and the sysctls.

import { z } from 'zod';
import { DROP_REASONS } from '../../../skb/drop-reason.ts';
import { SYSCTL_DEFAULTS, type SysctlName } from '../../../sysctl.ts';
import { Count } from './common.ts';

export const SocketView = z
  .object({
    id: z.number().int().min(1),
    family: z.enum(['packet', 'inet']).describe('Address family: packet (AF_PACKET) or inet.'),
    type: z.enum(['raw', 'dgram', 'stream']),
    state: z.string().describe('ss\'s State column: UNCONN for raw and datagram sockets, ESTAB, LISTEN, ... for stream sockets.'),
    local: z.string().describe('Local address as ss prints it; a packet socket: DEVICE:PROTOCOL, "*" for every device.'),
    peer: z.string().describe('Peer address, "*" when none.'),
    recv_q: Count.describe('Bytes (truesize) queued for the reader.'),
    send_q: Count.describe('Bytes (truesize) sent and not yet freed.'),
    rcvbuf: Count,
    rmem: Count.describe('Receive memory charged (bytes of truesize).'),
    sndbuf: Count,
    wmem: Count.describe('Send memory charged: frames sent and not yet freed by the device.'),
    drops: Count.describe('Frames refused because the receive buffer was full.'),
    device: z.string().nullable().optional().describe('packet: bound device, or null for every device.'),
    protocol: z.string().optional().describe('packet: ethertype as 0x0800, or "all" (ETH_P_ALL).'),
    direction: z.enum(['in', 'out', 'both']).optional().describe('packet: which frames it sees.'),
    promisc: z.boolean().optional(),
    owner: z.string().optional().describe('packet: who uses it: "http" (raw send), a WebSocket client, a capture.'),
    queue: Count.optional().describe('Frames waiting in the receive queue.'),
    received: Count.optional(),
    sent: Count.optional(),
  })
  .meta({ id: 'Socket', description: 'A socket of any family, like a line of `ss -a -p` (`ss -0` for packet sockets).' });

export type SocketOut = z.output<typeof SocketView>;

export const SocketList = z.array(SocketView);

const sysctlShape = Object.fromEntries(
  Object.keys(SYSCTL_DEFAULTS).map((name) => [name, z.number().int()]),
) as Record<SysctlName, z.ZodNumber>;

/** A value as the table holds it: most are integers; a few are a word or a vector of integers, as Linux's are. */
const SysctlValueOut = z
  .union([z.number().int(), z.string(), z.array(z.number().int())])
  .describe('An integer; a word (net.ipv4.tcp_congestion_control: "cubic"); or a vector of integers (net.ipv4.tcp_rmem: [4096, 131072, 6291456]).');

export const SysctlMap = z
  .object(sysctlShape)
  .catchall(SysctlValueOut)
  .describe('Every sysctl the stack reads: net.core, then those its protocols registered (net.ipv4, net.ipv4.tcp_*).');

export type SysctlMapOut = z.output<typeof SysctlMap>;

const SysctlValueIn = z
  .union([z.number(), z.string(), z.array(z.number())])
  .describe(
    'An integer; a word for net.ipv4.tcp_congestion_control ("reno", "cubic"); a vector (tcp_rmem, tcp_wmem, ip_local_port_range) as an array of integers or as the text sysctl prints ("4096 131072 6291456").',
  );

export const SysctlPatch = z
  .object(
    Object.fromEntries(Object.keys(SYSCTL_DEFAULTS).map((name) => [name, z.number().int().optional()])) as Record<
      SysctlName,
      z.ZodOptional<z.ZodNumber>
    >,
  )
  .catchall(SysctlValueIn)
  .describe(
    'Sysctls to set, by full name. All are checked before any is set; an unknown name is 404 ENOENT, and so is an unknown congestion control ("No such file or directory", as sysctl -w answers); a value out of range, of the wrong shape, or a vector that decreases is 400 EINVAL; a read-only one 403 EACCES.',
  );

export type SysctlPatchBody = z.input<typeof SysctlPatch>;

const dropsShape = Object.fromEntries(DROP_REASONS.map((r) => [r.toLowerCase(), Count])) as Record<Lowercase<(typeof DROP_REASONS)[number]>, typeof Count>;

export const StackView = z
  .object({
    skb: z.object({
      in_use: Count.describe('sk_buffs allocated and not yet freed.'),
      bytes: Count.describe('Their truesize in bytes.'),
      allocs: Count,
      frees: Count,
      clones: Count,
      copies: Count,
      alloc_failures: Count,
      double_frees: Count,
    }),
    backlog: z.object({
      length: Count.describe('Frames waiting for the bottom half.'),
      max: Count.describe('net.core.netdev_max_backlog.'),
      processed: Count,
      dropped: Count,
      time_squeeze: Count,
    }),
    drops: z.object(dropsShape).describe('Frames dropped, by SKB_DROP_REASON (lower case), every reason listed.'),
    drops_total: Count,
    sysctl: SysctlMap,
    devices: Count,
    sockets: Count,
    uptime_s: z.number().min(0).describe('Seconds since the API started.'),
  })
  .meta({ id: 'Stack', description: 'Counters of the whole stack.' });

export type StackOut = z.output<typeof StackView>;
