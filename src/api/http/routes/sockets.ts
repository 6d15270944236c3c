// GET /v1/sockets: every socket of every family, as `ss -a -p` lists them
// (packet sockets as `ss -0`), with the memory each has charged: where a
// slow reader or a slow device shows. Each family describes its own.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import type { StackSocket } from '../../../sock/table.ts';
import type { Inet } from '../../../inet/control.ts';
import { tcpOf } from '../../../inet/tcp-glue.ts';
import { TcpSocketView, type TcpSocketOut } from '../schemas/tcp.ts';
import { SocketView, UdpSocketView, type SocketOut, type UdpSocketOut } from '../schemas/index.ts';

export { protocolName } from '../../../packet/socket.ts';

export function socketOut(sock: StackSocket): SocketOut {
  return sock.describe() as SocketOut;
}

export const AnySocket = z.union([SocketView, UdpSocketView]);
export type AnySocketOut = SocketOut | UdpSocketOut | TcpSocketOut;

/** Every socket of the stack, by id. */
export function allSockets(stack: NetStack, inet: Inet | undefined): AnySocketOut[] {
  const out: AnySocketOut[] = [...stack.sockets.values()].map(socketOut);
  if (inet !== undefined) for (const s of inet.udpSockets()) out.push(s.describe());
  const tcp = inet === undefined ? undefined : tcpOf(inet);
  if (tcp !== undefined) for (const e of tcp.list()) out.push(tcp.describe(e) as TcpSocketOut);
  return out.sort((a, b) => a.id - b.id);
}

const socketRoutes: FastifyPluginAsyncZod<{ stack: NetStack; inet?: Inet }> = async function socketRoutes(app, { stack, inet }) {
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
    async () => allSockets(stack, inet),
  );
};

export default socketRoutes;
