// Post-processing of the OpenAPI 3.1 document @fastify/swagger builds from
// the routes' zod schemas: request bodies per content type, the WebSocket
// stream path (hidden by @fastify/websocket), 401 on every protected
// operation, unreferenced components pruned, keys in a stable order (the
// committed openapi/openapi.json is drift-tested).

import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { z } from 'zod';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { describeFields } from './doc-fields.ts';
import { OPERATION_IDS, QUERY_EXAMPLES, REQUEST_EXAMPLES, fallbackOperationId, nameExample, problemExample } from './doc-examples.ts';
import { IfName, PROBLEM_CONTENT_TYPE, STREAM_DESCRIPTION, STREAM_PATH, StreamDropsMessage, StreamErrorMessage, StreamFrameMessage, StreamReadyMessage } from './schemas/index.ts';
import { StreamQuerystring } from '../ws/stream.ts';
import { eventsPathItem, EVENTS_PATH } from '../ws/events-doc.ts';

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
export const documentRoute: SwaggerTransform = (input) => {
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

/** A query parameter's description, also when .optional() wraps the described schema. */
function descriptionOf(schema: z.ZodType): { description?: string } {
  const text = schema.description ?? (schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType).description : undefined);
  return text === undefined ? {} : { description: text };
}

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
          ...descriptionOf(schema),
        })),
      ],
      responses: {
        101: {
          description: 'Switching Protocols: the WebSocket is open. Server messages are frames and drop reports (schemas below); client binary messages are frames to send.',
          content: {
            'application/json': {
              schema: { oneOf: [jsonSchemaOf(StreamReadyMessage), jsonSchemaOf(StreamFrameMessage), jsonSchemaOf(StreamDropsMessage), jsonSchemaOf(StreamErrorMessage)] },
            },
          },
        },
        400: problems('Invalid name or query (EINVAL), or a malformed WebSocket handshake (EPROTO)'),
        401: problems('Missing or wrong bearer token (EACCES), when the server has one'),
        404: problems('No such device (ENODEV)'),
        426: problems('A plain GET that asks for no WebSocket upgrade (EPROTO); Upgrade: websocket is set'),
        429: problems('Every packet socket is taken (EMFILE): refused before the upgrade'),
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
export const documentObject: SwaggerTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as {
    paths?: Record<string, Record<string, unknown>>;
    components?: { schemas?: Record<string, unknown> };
  } & Record<string, unknown>;
  const paths: Record<string, Record<string, unknown>> = { ...doc.paths, [STREAM_PATH]: streamPathItem(), [EVENTS_PATH]: eventsPathItem() };
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
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item) as [string, OperationDoc][]) {
      annotateOperation(method.toUpperCase(), path, op);
    }
  }
  // The documentation routes are public too (auth.ts), like /healthz and /metrics.
  for (const path of ['/healthz', '/openapi.json']) {
    const get = paths[path]?.get as OperationDoc | undefined;
    if (get !== undefined) get.security = [];
  }
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) describeFields(schema, name);
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item) as { requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }[]) {
      for (const media of Object.values(op.requestBody?.content ?? {})) describeFields(media.schema, '');
      for (const res of Object.values(op.responses ?? {})) for (const media of Object.values(res.content ?? {})) describeFields(media.schema, '');
    }
  }
  doc.paths = sortedByKey(paths);
  pruneUnreferenced(doc);
  if (doc.components?.schemas !== undefined) doc.components.schemas = sortedByKey(doc.components.schemas);
  return doc;
};


interface OperationDoc {
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; example?: unknown }[];
  requestBody?: { content?: Record<string, { example?: unknown }> };
  responses?: Record<string, { content?: Record<string, { example?: unknown }> }>;
}

/** operationId, request and parameter examples, and a problem example per error status (doc-examples.ts). */
function annotateOperation(method: string, path: string, op: OperationDoc): void {
  const key = `${method} ${path}`;
  op.operationId ??= OPERATION_IDS[key] ?? fallbackOperationId(method, path);
  const queryExamples = QUERY_EXAMPLES[key] ?? {};
  for (const param of op.parameters ?? []) {
    if (param.in === 'path' && param.name === 'name') param.example ??= nameExample(path);
    else if (param.in === 'query' && param.name in queryExamples) param.example ??= queryExamples[param.name];
  }
  const examples = REQUEST_EXAMPLES[key];
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    const example = examples?.[type];
    if (example !== undefined) media.example ??= example;
  }
  for (const [code, response] of Object.entries(op.responses ?? {})) {
    const status = Number(code);
    const media = response.content?.[PROBLEM_CONTENT_TYPE];
    if (status >= 400 && media !== undefined) media.example ??= problemExample(status, path);
  }
}
