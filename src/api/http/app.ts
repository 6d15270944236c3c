// The HTTP service around one NetStack: fastify with zod validation on every
// input, one plugin per resource, errors as problem+json, an OpenAPI 3.1
// document generated from the same schemas (served at /openapi.json, browsable
// at /docs), optional bearer authentication, and the WebSocket plugin the
// frame streams use. The app never owns the stack: closing the app closes its
// sockets, and the caller closes the stack.

import { createRequire } from 'node:module';
import Fastify, { errorCodes, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { z } from 'zod';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { NetStack } from '../../stack/index.ts';
import { frameworkErrorProblem, installProblemHandlers } from './problem.ts';
import { installBearerAuth } from './auth.ts';
import { IfName, PROBLEM_CONTENT_TYPE, STREAM_DESCRIPTION, STREAM_PATH, StreamDropsMessage, StreamErrorMessage, StreamFrameMessage } from './schemas/index.ts';
import healthRoutes from './routes/health.ts';
import deviceRoutes from './routes/devices.ts';
import ioctlRoutes from './routes/ioctl.ts';
import frameRoutes from './routes/frames.ts';
import socketRoutes from './routes/sockets.ts';
import stackRoutes from './routes/stack.ts';
import captureRoutes from './routes/capture.ts';
import metricsRoutes from './routes/metrics.ts';
import qdiscRoutes from './routes/qdisc.ts';
import streamRoutes, { StreamQuerystring } from '../ws/stream.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes an application/octet-stream body (a Buffer); elsewhere that type is 415. */
    rawBody?: boolean;
  }
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_WS_MAX_PAYLOAD = 64 * 1024;

export interface AppLimits {
  /** Concurrent WebSocket frame streams (default 64, the stream plugin's). */
  maxWsClients?: number;
  /** Largest request body, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Largest WebSocket message, bytes (default 64 KiB). */
  wsMaxPayload?: number;
}

export interface AppOptions {
  stack: NetStack;
  /** fastify's logger option: false (default), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** A pino logger to use instead (for example the process's own); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** When set, every route but /healthz and /metrics needs `Authorization: Bearer <token>`. */
  token?: string;
  limits?: AppLimits;
}

const API_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

const DOC_DESCRIPTION =
  'A Linux-style network stack in user space: devices, queues, packet sockets and sk_buffs you can drive and watch. ' +
  'Errors are RFC 9457 problem details (application/problem+json) with the errno name in `errno`, e.g. ENODEV. ' +
  'When the server has a token, send `Authorization: Bearer <token>` (not needed for /healthz and /metrics). ' +
  `Live frames: WebSocket at GET ${STREAM_PATH} (see that path).`;

// ---- the OpenAPI document ----

interface ContentBody {
  content: Record<string, { schema: unknown }>;
}

function isContentBody(body: unknown): body is ContentBody {
  return typeof body === 'object' && body !== null && !(body instanceof z.ZodType) && 'content' in body;
}

/**
 * jsonSchemaTransform, plus request bodies given per content type (the frame
 * route takes octet-stream or JSON), which it does not handle by itself.
 */
const documentRoute: SwaggerTransform = (input) => {
  const body = input.schema?.body;
  if (!isContentBody(body) || input.schema.hide === true) return jsonSchemaTransform(input);
  const { body: _perType, ...rest } = input.schema;
  const out = jsonSchemaTransform({ ...input, schema: rest });
  const content: Record<string, { schema: unknown }> = {};
  for (const [type, { schema }] of Object.entries(body.content)) {
    content[type] = { schema: jsonSchemaTransform({ ...input, schema: { body: schema } }).schema.body };
  }
  return { ...out, schema: { ...out.schema, body: { content } } };
};

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return json;
}

const problemRef = { $ref: '#/components/schemas/Problem' };

/** @fastify/websocket hides its routes from the document; the stream is described here instead. */
function streamPathItem(): Record<string, unknown> {
  const problems = (description: string) => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: problemRef } } });
  return {
    get: {
      summary: 'Watch frames live, and send frames (WebSocket)',
      description: STREAM_DESCRIPTION,
      tags: ['streams'],
      parameters: [
        { name: 'name', in: 'path', required: true, schema: jsonSchemaOf(IfName), description: 'The device.' },
        ...Object.entries(StreamQuerystring.shape).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema: jsonSchemaOf(schema),
          ...(schema.description === undefined ? {} : { description: schema.description }),
        })),
      ],
      responses: {
        101: {
          description: 'Switching Protocols: the WebSocket is open. Server messages are frames and drop reports (schemas below); client binary messages are frames to send.',
          content: {
            'application/json': {
              schema: { oneOf: [jsonSchemaOf(StreamFrameMessage), jsonSchemaOf(StreamDropsMessage), jsonSchemaOf(StreamErrorMessage)] },
            },
          },
        },
        400: problems('Invalid name or query (EINVAL)'),
        401: problems('Missing or wrong bearer token (EACCES), when the server has one'),
        404: problems('No such device (ENODEV); also a plain GET that asks for no upgrade'),
        503: problems('As many streams are open as the server allows (EAGAIN); Retry-After is set'),
      },
    },
  };
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Component schemas nothing refers to (zod's unused *Input twins) only clutter the document. */
function pruneUnreferenced(doc: { paths?: unknown; components?: { schemas?: Record<string, unknown> } }): void {
  const schemas = doc.components?.schemas;
  if (schemas === undefined) return;
  const used = new Set<string>();
  const visit = (text: string): void => {
    for (const m of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      const name = m[1]!;
      if (used.has(name)) continue;
      used.add(name);
      if (schemas[name] !== undefined) visit(JSON.stringify(schemas[name]));
    }
  };
  visit(JSON.stringify(doc.paths ?? {}));
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}

/** Registry schemas as components, the stream path added, keys in a stable order. */
const documentObject: SwaggerTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as {
    paths?: Record<string, Record<string, unknown>>;
    components?: { schemas?: Record<string, unknown> };
  } & Record<string, unknown>;
  const paths: Record<string, Record<string, unknown>> = { ...doc.paths, [STREAM_PATH]: streamPathItem() };
  // /metrics is public, like /healthz.
  const metricsGet = paths['/metrics']?.get;
  if (typeof metricsGet === 'object' && metricsGet !== null) paths['/metrics'] = { ...paths['/metrics'], get: { ...metricsGet, security: [] } };
  // Every operation but the public ones answers 401 when the server has a token.
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item) as { security?: unknown[]; responses?: Record<string, unknown> }[]) {
      if (op.responses === undefined || (Array.isArray(op.security) && op.security.length === 0)) continue;
      op.responses['401'] ??= {
        description: 'Missing or wrong bearer token (EACCES), when the server has one',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: problemRef } },
      };
      op.responses = sortedByKey(op.responses);
    }
  }
  doc.paths = sortedByKey(paths);
  pruneUnreferenced(doc);
  if (doc.components?.schemas !== undefined) doc.components.schemas = sortedByKey(doc.components.schemas);
  return doc;
};

// ---- the app ----

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { stack } = opts;
  const bodyLimit = opts.limits?.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const logging: Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> =
    opts.loggerInstance !== undefined
      ? { loggerInstance: opts.loggerInstance }
      : { logger: typeof opts.logger === 'object' && opts.logger !== null ? { redact: ['req.headers.authorization'], ...opts.logger } : (opts.logger ?? false) };
  const app = Fastify({
    ...logging,
    bodyLimit,
    frameworkErrors: frameworkErrorProblem,
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  // Bodies are JSON, and raw frames on the one route that asks for them; nothing else.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (request, body, done) => {
    if (request.routeOptions.config.rawBody === true) done(null, body);
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('application/octet-stream'), undefined);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'netstackd', version: API_VERSION, description: DOC_DESCRIPTION },
      tags: [
        { name: 'devices', description: 'ip link: create, show, change, delete; ioctls' },
        { name: 'frames', description: 'Raw frame send' },
        { name: 'streams', description: 'Live frames over WebSocket' },
        { name: 'capture', description: 'pcap / pcapng downloads' },
        { name: 'stack', description: 'Sockets, sk_buffs, backlog, drops, sysctls' },
        { name: 'metrics', description: 'Prometheus' },
        { name: 'service', description: 'Health' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Needed only when the server runs with a token.' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: documentRoute,
    transformObject: documentObject,
  });
  await app.register(websocket, {
    options: { perMessageDeflate: false, maxPayload: opts.limits?.wsMaxPayload ?? DEFAULT_WS_MAX_PAYLOAD },
    // The plugin's default preClose runs before ours and closes clients with
    // no status code (1005); clients should learn why: 1001 "going away".
    preClose(done) {
      const server = app.websocketServer;
      for (const client of server.clients) client.close(1001, 'server shutting down');
      server.close(() => done());
    },
  });
  // After the websocket plugin, whose onRequest hook marks upgrade requests: its onResponse
  // hook then closes the socket of an upgrade refused here, which would otherwise stay open.
  if (opts.token !== undefined) installBearerAuth(app, opts.token);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(deviceRoutes, { stack });
  await app.register(ioctlRoutes, { stack });
  await app.register(qdiscRoutes, { stack });
  await app.register(frameRoutes, { stack });
  await app.register(socketRoutes, { stack });
  await app.register(stackRoutes, { stack });
  await app.register(streamRoutes, { stack, maxClients: opts.limits?.maxWsClients });
  await app.register(captureRoutes, { stack });
  await app.register(metricsRoutes, { stack });
  return app;
}
