// A small listening server for the stream and capture tests: fastify with the
// zod compilers, problem+json errors, @fastify/websocket (as the app sets it
// up) and the two plugins under test, on 127.0.0.1 with port 0.

import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { installProblemHandlers } from '../../../src/api/http/problem.ts';
import streamRoutes, { type StreamPluginOptions } from '../../../src/api/ws/stream.ts';
import captureRoutes from '../../../src/api/http/routes/capture.ts';
import type { NetStack } from '../../../src/stack/index.ts';

export interface TestServer {
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  close(): Promise<void>;
}

export async function startServer(stack: NetStack, opts: Omit<StreamPluginOptions, 'stack'> = {}): Promise<TestServer> {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  await app.register(websocket, { options: { perMessageDeflate: false, maxPayload: 64 * 1024 } });
  await app.register(streamRoutes, { stack, ...opts });
  await app.register(captureRoutes, { stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    app,
    url: `http://127.0.0.1:${addr.port}`,
    wsUrl: `ws://127.0.0.1:${addr.port}`,
    close: () => app.close(),
  };
}
