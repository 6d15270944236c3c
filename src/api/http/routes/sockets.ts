// GET /v1/sockets: every socket of every family, as `ss -a -p` lists them
// (packet sockets as `ss -0`), with the memory each has charged: where a
// slow reader or a slow device shows. One listing: the stack's socket table,
// where packet, UDP and TCP sockets are all entries; each family describes
// its own.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import type { StackSocket } from '../../../sock/table.ts';
import { TcpSocketView, type TcpSocketOut } from '../schemas/tcp.ts';
import { SocketView, UdpSocketView, type SocketOut, type UdpSocketOut } from '../schemas/index.ts';

export { protocolName } from '../../../packet/socket.ts';

/** One socket of any family as the API shows it (its describe(): packet, UDP or TCP row). */
export function socketOut(sock: StackSocket): AnySocketOut {
  return sock.describe() as AnySocketOut;
}

export const AnySocket = z.union([SocketView, UdpSocketView]);
export type AnySocketOut = SocketOut | UdpSocketOut | TcpSocketOut;

/** Every socket of the stack, in id order. */
export function allSockets(stack: NetStack): AnySocketOut[] {
  const out: AnySocketOut[] = [];
  for (const sock of stack.sockets.values()) out.push(socketOut(sock));
  return out.sort((a, b) => a.id - b.id);
}

const socketRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function socketRoutes(app, { stack }) {
  app.get(
    '/v1/sockets',
    {
      schema: {
        summary: 'List sockets (ss -a -m -i: packet, UDP and TCP)',
        description:
          'Every socket: `family` "packet" (ss -0; with the packet socket’s own fields) or "inet" (UDP, or TCP with tcp_info). recv_q/send_q, rmem/wmem are bytes charged.',
        tags: ['stack'],
        response: { 200: z.array(z.union([TcpSocketView, AnySocket])) },
      },
    },
    async () => allSockets(stack),
  );
};

export default socketRoutes;
