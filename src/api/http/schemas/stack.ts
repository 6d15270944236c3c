// The stack as a whole: packet sockets (`ss -0`), buffer and backlog
// counters, drops by reason, and the net.core sysctls.

import { z } from 'zod';
import { DROP_REASONS } from '../../../skb/drop-reason.ts';
import { SYSCTL_DEFAULTS, type SysctlName } from '../../../sysctl.ts';
import { Count } from './common.ts';

export const SocketView = z
  .object({
    id: z.number().int().min(1),
    family: z.literal('packet'),
    type: z.literal('raw'),
    state: z.literal('UNCONN'),
    local: z.string().describe('protocol:device, as ss -0 prints it (all:veth0, 0x0800:*).'),
    peer: z.literal('*'),
    recv_q: Count.describe('Bytes charged for reading (rmem), as ss shows for packet sockets.'),
    send_q: Count.describe('Bytes charged for sending (wmem).'),
    device: z.string().nullable().describe('Bound device, or null for every device.'),
    protocol: z.string().describe('Ethertype as 0x0800, or "all" (ETH_P_ALL).'),
    direction: z.enum(['in', 'out', 'both']),
    promisc: z.boolean(),
    owner: z.string().describe('Who uses it: "http" (raw send), a WebSocket client, a capture.'),
    rcvbuf: Count,
    rmem: Count.describe('Receive memory charged (bytes of truesize).'),
    sndbuf: Count,
    wmem: Count.describe('Send memory charged: frames sent and not yet freed by the device.'),
    queue: Count.describe('Frames waiting in the receive queue.'),
    drops: Count.describe('Frames refused because the receive buffer was full.'),
    received: Count,
    sent: Count,
  })
  .meta({ id: 'Socket', description: 'A packet socket, like a line of `ss -0 -p`.' });

export type SocketOut = z.output<typeof SocketView>;

export const SocketList = z.array(SocketView);

const sysctlShape = Object.fromEntries(
  Object.keys(SYSCTL_DEFAULTS).map((name) => [name, z.number().int()]),
) as Record<SysctlName, z.ZodNumber>;

export const SysctlMap = z
  .object(sysctlShape)
  .catchall(z.number().int())
  .describe('Every sysctl the stack reads: net.core, and those its protocols registered (net.ipv4.*).');

export type SysctlMapOut = z.output<typeof SysctlMap>;

export const SysctlPatch = z
  .object(
    Object.fromEntries(Object.keys(SYSCTL_DEFAULTS).map((name) => [name, z.number().int().optional()])) as Record<
      SysctlName,
      z.ZodOptional<z.ZodNumber>
    >,
  )
  .catchall(z.number())
  .describe('Sysctls to set, by full name. All are checked before any is set; an unknown name is 404 ENOENT, a value out of range 400 EINVAL.');

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
