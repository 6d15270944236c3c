// Query parameters of the routes that open a packet socket for a client:
// the frame stream (WebSocket) and the capture downloads. One definition, so
// `?protocol=0x0800&direction=in&promisc=1&rcvbuf=65536` means the same on both.

import { z } from 'zod';
import { QueryBool, queryInt } from '../http/schemas/common.ts';
import { ETH_P_ALL } from '../../proto/ptype.ts';

/** `all`, or an ethertype as 0x0800 (hex) or 2048 (decimal), 0x0001..0xffff. */
export const ProtocolParam = z
  .string()
  .regex(/^(all|0[xX][0-9a-fA-F]{1,4}|[0-9]{1,5})$/, { message: 'expected all, or an ethertype such as 0x0800' })
  .transform((s) => (s === 'all' ? ETH_P_ALL : Number(s)))
  .pipe(z.number().int().min(1, { message: 'ethertype 0 receives nothing' }).max(0xffff, { message: 'an ethertype is at most 0xffff' }))
  .describe('Ethertype to receive, as 0x0800 or 2048, or all (default): ETH_P_ALL.');

export const DirectionParam = z
  .enum(['in', 'out', 'both'])
  .describe('in: frames the device received; out: frames it sent (PACKET_OUTGOING); both (default).');

export const PromiscParam = QueryBool.describe(
  '1 puts the device in promiscuous mode while this socket is open (counted, as `ip link` shows promiscuity): frames for other hosts are seen too.',
);

export const RcvbufParam = queryInt(
  2_147_483_647,
  'SO_RCVBUF of this socket, bytes; clamped to net.core.rmem_max and doubled, as setsockopt does. A reader that falls behind loses frames there (drop reason socket_rcvbuff), counted.',
);
