// The HTTP service around one NetStack: fastify with zod validation on every
// input, one plugin per resource, errors as problem+json, an OpenAPI 3.1
// document generated from the same schemas (served at /openapi.json, browsable
// at /docs), optional bearer authentication, and the WebSocket plugin the
// frame streams use. The app never owns the stack: closing the app closes its
// sockets, and the caller closes the stack.

import { createRequire } from 'node:module';
import Fastify, { errorCodes, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { NetStack } from '../../stack/index.ts';
import { frameworkErrorProblem, installProblemHandlers } from './problem.ts';
import { installBearerAuth } from './auth.ts';
import { SessionStore, WS_SUBPROTOCOL } from './session.ts';
import { STREAM_PATH } from './schemas/index.ts';
import { documentObject, documentRoute } from './openapi.ts';
import { installDurableAcks, type CommitBarrier } from './durable.ts';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  clientErrorHandler,
  installConnectionLimits,
  installUpgradeGate,
  type EdgeLimits,
} from './edge.ts';
import healthRoutes from './routes/health.ts';
import deviceRoutes, { fdbRoutes } from './routes/devices.ts';
import ioctlRoutes from './routes/ioctl.ts';
import frameRoutes from './routes/frames.ts';
import socketRoutes from './routes/sockets.ts';
import stackRoutes from './routes/stack.ts';
import captureRoutes from './routes/capture.ts';
import metricsRoutes from './routes/metrics.ts';
import qdiscRoutes from './routes/qdisc.ts';
import streamRoutes from '../ws/stream.ts';
import eventsRoutes from '../ws/events.ts';
import sessionRoutes from './routes/session.ts';
import consoleRoutes from '../../web/serve.ts';
import { wsErrorHandler } from '../ws/ws-errors.ts';
import { attachInet, inetOf } from '../../inet/control.ts';
import addressRoutes from './routes/addresses.ts';
import routeRoutes from './routes/routes.ts';
import neighbourRoutes from './routes/neighbours.ts';
import pingRoutes from './routes/ping.ts';
import netstatRoutes from './routes/netstat.ts';
import inetSocketRoutes from './routes/inet-sockets.ts';
import socketStreamRoutes, { SocketStreams } from '../ws/inet-socket-stream.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes an application/octet-stream body (a Buffer); elsewhere that type is 415. */
    rawBody?: boolean;
    /** A successful request changes what the state file holds of the internet layer (AppOptions.onChange). */
    changesInetState?: boolean;
  }
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_WS_MAX_PAYLOAD = 64 * 1024;

export interface AppLimits extends EdgeLimits {
  /** Concurrent WebSocket frame streams (default 64, the stream plugin's). */
  maxWsClients?: number;
  /** Largest request body, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Captures open at once (default 64, the capture plugin's). */
  maxCaptures?: number;
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
  /** When set, a change is answered 2xx only once this resolves (the state file holds it): durable.ts. */
  commit?: CommitBarrier;
  /**
   * Called after every successful request that changed the internet layer's
   * configuration (addresses, routes, neighbours, sockets opened or closed):
   * state saving follows it through here, as it has no notifier of its own.
   */
  onChange?: () => void;
}

const API_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

const DOC_DESCRIPTION =
  'A Linux-style network stack in user space: devices, queues, packet sockets and sk_buffs you can drive and watch. ' +
  'Errors are RFC 9457 problem details (application/problem+json) with the errno name in `errno`, e.g. ENODEV. ' +
  'When the server has a token, send `Authorization: Bearer <token>` (not needed for /healthz, /metrics, /openapi.json and /docs), or log in with ' +
  'POST /v1/session for a session cookie (browsers; the console at /console/ does). ' +
  `Live frames: WebSocket at GET ${STREAM_PATH}; changes and stats: WebSocket at GET /v1/events (see those paths).`;


// ---- the app ----

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { stack } = opts;
  const bodyLimit = opts.limits?.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const logging: Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> =
    opts.loggerInstance !== undefined
      ? { loggerInstance: opts.loggerInstance }
      : { logger: typeof opts.logger === 'object' && opts.logger !== null ? { redact: ['req.headers.authorization'], ...opts.logger } : (opts.logger ?? false) };
  const requestTimeout = opts.limits?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Node requires headersTimeout <= requestTimeout: a shorter request timeout shortens both.
  const headersTimeout = Math.min(requestTimeout, opts.limits?.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS);
  const app = Fastify({
    ...logging,
    bodyLimit,
    frameworkErrors: frameworkErrorProblem,
    clientErrorHandler,
    // A request must arrive whole (headers, then body) in time; Node checks
    // every connection at this interval, so it bounds how late the cut comes.
    requestTimeout,
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
  });
  installConnectionLimits(app.server, {
    maxConnections: opts.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerAddress: opts.limits?.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  if (opts.onChange !== undefined) {
    // Before the durable ack below: the change must be marked before the commit that covers it.
    const onChange = opts.onChange;
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.routeOptions.config?.changesInetState === true && reply.statusCode < 300) onChange();
      return payload;
    });
  }
  if (opts.commit !== undefined) installDurableAcks(app, opts.commit);

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
        { name: 'inet', description: 'IPv4: ip addr, ip route, ip neigh, ping, netstat' },
        { name: 'sockets', description: 'UDP sockets: open, send, receive (WebSocket), close' },
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
    options: {
      perMessageDeflate: false,
      maxPayload: opts.limits?.wsMaxPayload ?? DEFAULT_WS_MAX_PAYLOAD,
      // A browser that offers ["netstackd", token] gets "netstackd" back, never its token (auth.ts).
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : (protocols.values().next().value ?? false)),
    },
    // A client's protocol error (a message over maxPayload: close 1009) is one info line, not an error with a stack.
    errorHandler: wsErrorHandler,
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
  installUpgradeGate(app);
  const sessions = new SessionStore();
  if (opts.token !== undefined) installBearerAuth(app, opts.token, sessions);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(deviceRoutes, { stack });
  await app.register(fdbRoutes, { stack });
  await app.register(ioctlRoutes, { stack });
  await app.register(qdiscRoutes, { stack });
  await app.register(frameRoutes, { stack });
  // The internet layer: the one the caller attached, or one attached now (a
  // stack made without it, as tests and embedders do, still gets IPv4).
  const inet = inetOf(stack) ?? attachInet(stack);
  const socketStreams = new SocketStreams();
  await app.register(socketRoutes, { stack });
  await app.register(inetSocketRoutes, { stack, inet, onClose: (id: number) => socketStreams.closeSocket(id) });
  await app.register(socketStreamRoutes, { stack, inet, streams: socketStreams, maxClients: opts.limits?.maxWsClients });
  await app.register(addressRoutes, { inet });
  await app.register(routeRoutes, { inet });
  await app.register(neighbourRoutes, { inet });
  await app.register(pingRoutes, { inet });
  await app.register(netstatRoutes, { inet });
  await app.register(stackRoutes, { stack });
  await app.register(streamRoutes, { stack, maxClients: opts.limits?.maxWsClients });
  await app.register(eventsRoutes, { stack, maxClients: opts.limits?.maxWsClients });
  await app.register(sessionRoutes, { token: opts.token, sessions });
  await app.register(consoleRoutes);
  await app.register(captureRoutes, { stack, ...(opts.limits?.maxCaptures === undefined ? {} : { maxCaptures: opts.limits.maxCaptures }) });
  await app.register(metricsRoutes, { stack });
  return app;
}
