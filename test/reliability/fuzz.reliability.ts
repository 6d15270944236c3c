// A fuzz driven by the OpenAPI document: for every operation of
// openapi/openapi.json, requests built from its own parameter and body
// schemas, most of them valid, the rest bent (wrong types, values off the
// bounds, extra members, broken JSON, wrong content types, odd names and
// encodings). Over at least 10,000 requests: no answer is a 5xx outside the
// contract (501 EOPNOTSUPP and 503 "try again" are documented answers; 500,
// 502, 504 never are), every error is problem+json, and a rejected request
// leaves the configuration (devices, their settings, sysctls, sockets) as it
// was.
//
//   RELIABILITY_FUZZ_REQUESTS=10000 (default)  RELIABILITY_SEED=N to replay

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotStack } from '../../src/config/snapshot.ts';
import { seededRandom } from '../../src/random.ts';
import { startServer, type TestServer } from '../api/http/server.ts';

const REQUESTS = Number(process.env['RELIABILITY_FUZZ_REQUESTS'] ?? 10_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; required: boolean; schema: Schema }[];
  body: { required: boolean; content: Record<string, Schema> } | null;
}

/** 5xx answers the contract has (problem.ts): the operation is not implemented for the kind, or try again. */
const CONTRACT_5XX: Record<number, readonly string[]> = { 501: ['EOPNOTSUPP'], 503: ['EAGAIN', 'ENOBUFS', 'ENOMEM', 'EINTR'] };

const seed = Number(process.env['RELIABILITY_SEED'] ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const chance = (p: number): boolean => random() < p;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const doc = JSON.parse(readFileSync(path.join(root, 'openapi', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: Operation['params']; requestBody?: Operation['body'] & { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
};

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const body = op.requestBody;
      out.push({
        method: method.toUpperCase(),
        path: p,
        params: op.parameters ?? [],
        body: body === undefined ? null : { required: body.required, content: Object.fromEntries(Object.entries(body.content).map(([t, c]) => [t, c.schema])) },
      });
    }
  }
  return out;
}

function deref(s: Schema): Schema {
  const ref = s['$ref'];
  if (typeof ref === 'string') return deref(doc.components.schemas[ref.replace('#/components/schemas/', '')] ?? {});
  return s;
}

// ---- values ----

const ODD_STRINGS = ['', ' ', '\u0000', '\ud800x', 'x\udfff', '\u{1F600}', 'é'.repeat(8), 'x'.repeat(16), 'a/b', 'a:b', '..', '.', '%', '%d', 'null', '0x', '-1', '1e999', 'ffff', 'x'.repeat(5000)];
const MACS = ['02:00:00:00:00:01', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', '02-00-00-00-00-02', '33:33:00:00:00:01'];

let deviceNames: () => string[] = () => ['lo'];

function nameValue(): string {
  if (chance(0.45)) return pick(deviceNames());
  if (chance(0.6)) return `fz${int(0, 300)}`;
  if (chance(0.3)) return pick(['dummy%d', 'veth%d', 'fz%d']);
  return pick(ODD_STRINGS);
}

function oddValue(depth: number): unknown {
  switch (int(0, 9)) {
    case 0:
      return null;
    case 1:
      return pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, 4294967296, 65536]);
    case 2:
      return pick(ODD_STRINGS);
    case 3:
      return chance(0.5);
    case 4:
      return depth > 3 ? [] : [oddValue(depth + 1)];
    case 5:
      return depth > 3 ? {} : { [pick(['x', '__proto__', 'constructor', 'kind', 'name'])]: oddValue(depth + 1) };
    case 6:
      return 'x'.repeat(int(0, 70_000));
    case 7:
      return pick(MACS);
    case 8:
      return int(-5, 70000);
    default:
      return {};
  }
}

/** A value for `schema`: conforming most of the time, bent at some level otherwise. */
function valueFor(schema0: Schema, depth: number, field = ''): unknown {
  const schema = deref(schema0);
  if (chance(depth === 0 ? 0.05 : 0.04)) return oddValue(depth);
  if (Array.isArray(schema['oneOf']) || Array.isArray(schema['anyOf'])) {
    return valueFor(pick((schema['oneOf'] ?? schema['anyOf']) as Schema[]), depth, field);
  }
  if (Array.isArray(schema['allOf'])) return valueFor(Object.assign({}, ...(schema['allOf'] as Schema[]).map(deref)) as Schema, depth, field);
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum'])) return chance(0.97) ? pick(schema['enum'] as unknown[]) : pick(ODD_STRINGS);
  let type = schema['type'];
  if (Array.isArray(type)) type = pick(type as string[]);
  switch (type) {
    case 'string':
      return stringFor(schema, field);
    case 'integer':
    case 'number': {
      const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : -1000;
      const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : 100_000;
      if (chance(0.1)) return pick([min - 1, max + 1, min, max, 0.5]);
      const lo = Math.max(min, -1e6);
      const hi = Math.min(max, 1e6);
      const v = lo + random() * (hi - lo);
      return type === 'integer' ? Math.round(v) : v;
    }
    case 'boolean':
      return chance(0.5);
    case 'null':
      return null;
    case 'array': {
      const n = int(typeof schema['minItems'] === 'number' ? schema['minItems'] : 0, Math.min(typeof schema['maxItems'] === 'number' ? schema['maxItems'] : 4, 4));
      return Array.from({ length: n }, () => valueFor((schema['items'] as Schema) ?? {}, depth + 1, field));
    }
    case 'object':
    default: {
      const props = (schema['properties'] ?? {}) as Record<string, Schema>;
      const required = new Set((schema['required'] ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(props)) {
        if (required.has(k) ? chance(0.98) : chance(0.35)) out[k] = valueFor(s, depth + 1, k);
      }
      if (chance(0.03)) out[pick(['bogus', 'x', 'NAME'])] = oddValue(depth + 1);
      if (type !== 'object' && Object.keys(props).length === 0) return chance(0.5) ? out : oddValue(depth);
      return out;
    }
  }
}

function stringFor(schema: Schema, field: string): string {
  const pattern = String(schema['pattern'] ?? '');
  if (field === 'name' || field === 'peer' || field === 'link' || field === 'newname' || /\\u001f/.test(pattern)) return nameValue();
  if (/\{2\}\(\[:-\]\)|\[0-9a-fA-F\]\{2\}/.test(pattern) || /address|hwaddr/i.test(field)) return chance(0.9) ? pick(MACS) : pick(ODD_STRINGS);
  if (pattern.startsWith('^[0-9]')) return chance(0.9) ? String(int(0, chance(0.5) ? 100 : 200_000)) : pick(ODD_STRINGS);
  if (field === 'frames' || /hex/i.test(String(schema['description'] ?? ''))) {
    const len = chance(0.8) ? int(14, 200) : int(0, 3000);
    return Buffer.alloc(len, int(0, 255)).fill(0xff, 0, Math.min(6, len)).toString(chance(0.7) ? 'hex' : 'base64');
  }
  if (/remote|local/.test(field)) return pick(['127.0.0.1:4789', '127.0.0.1:0', '[::1]:4789', '192.0.2.1', 'nohost:1', ':', '']);
  if (field === 'protocol') return pick(['all', '0x0800', '0x86dd', '0x88b5', '0xzz', '65536']);
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : 40;
  return chance(0.7) ? 'x'.repeat(int(typeof schema['minLength'] === 'number' ? schema['minLength'] : 0, Math.min(max, 40))) : pick(ODD_STRINGS);
}

function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    // A lone surrogate: send the bytes of its (invalid) UTF-8 form, as a client in another language might.
    return s.replace(/[\uD800-\uDFFF]/gu, '%ED%A0%80').replace(/[^%A-Za-z0-9_.~-]/g, (c) => encodeURIComponent(c));
  }
}

// ---- requests ----

interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function build(op: Operation): Built {
  let url = op.path;
  const query = new URLSearchParams();
  for (const p of op.params) {
    if (p.in === 'path') {
      url = url.replace(`{${p.name}}`, encodeSegment(p.name === 'name' ? nameValue() : String(valueFor(p.schema, 1, p.name))));
    } else if (p.in === 'query' && (p.required || chance(0.4))) {
      const v = valueFor(p.schema, 1, p.name);
      query.set(p.name, typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
  if (chance(0.03)) query.set(pick(['bogus', 'limit', 'after', 'count']), pick(ODD_STRINGS));
  const qs = query.toString();
  const built: Built = { method: chance(0.01) ? pick(['PUT', 'OPTIONS', 'HEAD']) : op.method, url: qs === '' ? url : `${url}?${qs}`, headers: {} };
  if (op.body !== null && (op.body.required || chance(0.5)) && built.method !== 'HEAD') {
    const types = Object.keys(op.body.content);
    const type = pick(types);
    if (type === 'application/octet-stream') {
      built.body = Buffer.alloc(chance(0.9) ? int(14, 1600) : int(0, 70_000), int(0, 255));
    } else {
      const v = valueFor(op.body.content[type]!, 0);
      built.body = chance(0.03) ? JSON.stringify(v).slice(0, int(0, 20)) : JSON.stringify(v) ?? 'null';
    }
    built.headers['content-type'] = chance(0.03) ? pick(['text/plain', 'application/xml', 'application/json; charset=latin1', '']) : type;
    if (built.headers['content-type'] === '') delete built.headers['content-type'];
  }
  return built;
}

/** What a rejected request must not change: configuration, sysctls, sockets other than the HTTP layer's own. */
function fingerprint(server: TestServer): string {
  const { state } = snapshotStack(server.stack);
  const { saved_at: _t, ...config } = state;
  const sockets = [...server.stack.sockets.values()].filter((s) => !/^(http|capture)/.test(String(s.describe().owner ?? ''))).map((s) => s.id);
  return JSON.stringify({ config, sockets });
}

test(`OpenAPI-driven fuzz: ${REQUESTS} requests over every operation, no 5xx outside the contract, rejected requests change nothing`, { timeout: 20 * 60_000 }, async (t) => {
  const server = await startServer({ stackOptions: { limits: { maxDevices: 400, maxSockets: 256 } } });
  t.after(() => server.close());
  deviceNames = () => [...server.stack.devices.list().map((d) => d.name)];
  const ops = operations();
  assert.ok(ops.length >= 14, `${ops.length} operations in the document`);
  const byStatus = new Map<number, number>();
  const perOp = new Map<string, number>();
  const failures: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    // Keep the stack from filling up: past 200 devices, delete some.
    if (server.stack.devices.size > 200) {
      for (const name of deviceNames().filter((n) => n !== 'lo').slice(0, 100)) await server.request('DELETE', `/v1/devices/${encodeURIComponent(name)}`);
    }
    const op = ops[i % ops.length]!;
    const req = build(op);
    const before = fingerprint(server);
    const abort = new AbortController();
    let status: number;
    let contentType: string;
    let text = '';
    try {
      const res = await fetch(server.base + req.url, { method: req.method, headers: req.headers, body: req.body, signal: abort.signal });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      if (op.path.endsWith('capture') && status === 200) abort.abort(); // a live capture: the headers are enough
      else text = await res.text();
    } catch (err) {
      failures.push(`${req.method} ${req.url}: no answer (${(err as Error).message})`);
      continue;
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    perOp.set(`${op.method} ${op.path}`, (perOp.get(`${op.method} ${op.path}`) ?? 0) + 1);
    const what = `${req.method} ${req.url.slice(0, 120)} ${typeof req.body === 'string' ? req.body.slice(0, 200) : ''} -> ${status} ${text.slice(0, 200)}`;
    if (status >= 500) {
      const errno = (() => {
        try {
          return String((JSON.parse(text) as { errno?: unknown }).errno);
        } catch {
          return '';
        }
      })();
      if (!(CONTRACT_5XX[status] ?? []).includes(errno)) failures.push(`5xx: ${what}`);
    }
    if (status >= 400) {
      if (!/^application\/problem\+json/.test(contentType)) failures.push(`not problem+json: ${what}`);
      if (fingerprint(server) !== before) failures.push(`rejected but changed the configuration: ${what}`);
    }
    if (failures.length >= 20) break;
  }
  const statuses = [...byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  process.stdout.write(`# fuzz: seed ${seed}, ${REQUESTS} requests over ${ops.length} operations; statuses ${statuses}\n`);
  assert.deepEqual(failures, []);
  assert.equal(perOp.size, ops.length, 'every operation was exercised');
  assert.ok((byStatus.get(200) ?? 0) + (byStatus.get(201) ?? 0) > REQUESTS / 10, 'enough requests were valid to reach the handlers');
  assert.equal((await server.request('GET', '/healthz')).status, 200);
});
