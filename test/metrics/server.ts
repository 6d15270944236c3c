// A listening app with only the metrics plugin, wired the way the service
// wires its routes (zod compilers, OpenAPI 3.1 via @fastify/swagger), so the
// metrics tests need nothing from the rest of the HTTP layer.

import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { NetStack } from '../../src/stack/index.ts';
import metricsRoutes from '../../src/api/http/routes/metrics.ts';

export interface MetricsServer {
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
}

export async function startMetricsServer(stack: NetStack): Promise<MetricsServer> {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: { openapi: '3.1.0', info: { title: 'netstackd', version: '0.0.0' } },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(metricsRoutes, { stack });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the server has no TCP address');
  return { app, url: `http://127.0.0.1:${addr.port}`, port: addr.port };
}
