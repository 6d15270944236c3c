// GET /v1/sockets: every socket of every family, as `ss -a -p` lists them
// (packet sockets as `ss -0`), with the memory each has charged: where a
// slow reader or a slow device shows. Each family describes its own.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import type { StackSocket } from '../../../sock/table.ts';
import { SocketList, type SocketOut } from '../schemas/index.ts';

export { protocolName } from '../../../packet/socket.ts';

export function socketOut(sock: StackSocket): SocketOut {
  return sock.describe() as SocketOut;
}

const socketRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function socketRoutes(app, { stack }) {
  app.get(
    '/v1/sockets',
    {
      schema: {
        summary: 'List sockets (ss -a; packet sockets as ss -0)',
        tags: ['stack'],
        response: { 200: SocketList },
      },
    },
    async () => [...stack.sockets.values()].sort((a, b) => a.id - b.id).map(socketOut),
  );
};

export default socketRoutes;
