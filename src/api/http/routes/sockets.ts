// GET /v1/sockets: every socket, as `ss -a` lists them: packet sockets (as
// `ss -0 -p`, with their own fields) and UDP sockets, each with the memory
// it has charged: where a slow reader or a slow device shows.

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import type { PacketSocket } from '../../../sock/packet.ts';
import type { Inet } from '../../../inet/control.ts';
import { ETH_P_ALL } from '../../../proto/ptype.ts';
import { tcpOf } from '../../../inet/tcp-glue.ts';
import { TcpSocketView, type TcpSocketOut } from '../schemas/tcp.ts';
import { SocketView, UdpSocketView, type SocketOut, type UdpSocketOut } from '../schemas/index.ts';

export function protocolName(protocol: number): string {
  return protocol === ETH_P_ALL ? 'all' : `0x${protocol.toString(16).padStart(4, '0')}`;
}

export function socketOut(sock: PacketSocket): SocketOut {
  const sk = sock.sk;
  const protocol = protocolName(sock.protocol);
  const device = sock.dev?.name ?? null;
  return {
    id: sock.id,
    family: 'packet',
    type: 'raw',
    state: 'UNCONN',
    local: `${protocol}:${device ?? '*'}`,
    peer: '*',
    recv_q: sk.rmemAlloc,
    send_q: sk.wmemAlloc,
    device,
    protocol,
    direction: sock.direction,
    promisc: sock.promisc,
    owner: sock.owner,
    rcvbuf: sk.rcvbuf,
    rmem: sk.rmemAlloc,
    sndbuf: sk.sndbuf,
    wmem: sk.wmemAlloc,
    queue: sk.receiveQueue.length,
    drops: sk.drops,
    received: sock.received,
    sent: sock.sent,
  };
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
        response: { 200: z.array(z.union([AnySocket, TcpSocketView])) },
      },
    },
    async () => allSockets(stack, inet),
  );
};

export default socketRoutes;
