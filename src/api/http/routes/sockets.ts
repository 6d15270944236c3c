// GET /v1/sockets: every packet socket, as `ss -0 -p` lists them, with the
// memory each has charged: where a slow reader or a slow device shows.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import type { PacketSocket } from '../../../sock/packet.ts';
import { ETH_P_ALL } from '../../../proto/ptype.ts';
import { SocketList, type SocketOut } from '../schemas/index.ts';

export function protocolName(protocol: number): string {
  return protocol === ETH_P_ALL ? 'all' : `0x${protocol.toString(16).padStart(4, '0')}`;
}

export function socketOut(sock: PacketSocket): SocketOut {
  const sk = sock.sk;
  return {
    id: sock.id,
    device: sock.dev?.name ?? null,
    protocol: protocolName(sock.protocol),
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

const socketRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function socketRoutes(app, { stack }) {
  app.get(
    '/v1/sockets',
    {
      schema: {
        summary: 'List packet sockets (ss -0)',
        tags: ['stack'],
        response: { 200: SocketList },
      },
    },
    async () => [...stack.sockets.values()].sort((a, b) => a.id - b.id).map(socketOut),
  );
};

export default socketRoutes;
