// Thousands of random and malformed requests across every route, over real
// sockets: random methods, paths, bodies, content types, broken JSON, huge
// numbers, odd hex, long names. None may get a 500 (or any 5xx other than the
// documented "not implemented" and "try again"), every error must be a
// problem+json with its errno, the server must still answer, and once the app
// and the stack are closed no sk_buff may be left.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IOCTL_REQUESTS } from '../../../src/stack/index.ts';
import { SYSCTL_NAMES } from '../../../src/sysctl.ts';
import { startServer } from './server.ts';

const RUNS = 3000;

/** 5xx answers that are part of the contract, by errno. */
const ALLOWED_5XX: Record<number, readonly string[]> = {
  501: ['EOPNOTSUPP'],
  503: ['EAGAIN', 'ENOBUFS', 'ENOMEM', 'EINTR'],
};

const names = fc.oneof(
  fc.constantFrom('lo', 'fz0', 'fz1', 'fzv0', 'fzv1', 'fzd0', 'nosuch', 'dummy%d', 'veth%d', 'fz0.7', '..', '.', 'a/b', 'x:y', 'a b', 'é'.repeat(8), 'x'.repeat(15), 'x'.repeat(16)),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
);

const weirdNumbers = fc.oneof(
  fc.integer(),
  fc.integer({ min: -1, max: 70000 }),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, 2 ** 64, 0.5, 4294967296, 65536, 68, 1500, 9000),
);

const macs = fc.oneof(
  fc.constantFrom('02:00:00:00:00:01', '01:00:5e:00:00:01', '33:33:00:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', '02-00-00-00-00-02', 'zz', ''),
  fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')),
);

const netem = fc.oneof(
  fc.constant(null),
  fc.record(
    { delay_ms: weirdNumbers, jitter_ms: weirdNumbers, loss: weirdNumbers, duplicate: weirdNumbers, corrupt: weirdNumbers, reorder: weirdNumbers, rate_bps: fc.oneof(weirdNumbers, fc.constantFrom(800, 80_000)), limit: weirdNumbers, seed: weirdNumbers, bogus: fc.string() },
    { requiredKeys: [] },
  ),
);

const linkFields = {
  up: fc.oneof(fc.boolean(), fc.constantFrom('yes', 1, null)),
  mtu: weirdNumbers,
  address: macs,
  promisc: fc.boolean(),
  allmulti: fc.boolean(),
  txqlen: weirdNumbers,
  netem,
  multicast: fc.record({ add: fc.array(macs, { maxLength: 3 }), del: fc.array(macs, { maxLength: 3 }) }, { requiredKeys: [] }),
};

const createBody = fc.oneof(
  fc.record(
    {
      kind: fc.constantFrom('dummy', 'veth'),
      name: fc.constantFrom('fz0', 'fz1', 'fzv0', 'fzd0', 'fz9', 'dummy%d', 'veth%d'),
      up: fc.boolean(),
      mtu: fc.constantFrom(1500, 9000),
      netem: fc.constantFrom({ rate_bps: 8000 }, { delay_ms: 2 }),
    },
    { requiredKeys: ['kind'] },
  ),
  fc.record({ kind: fc.constant('vlan'), link: fc.constantFrom('fz0', 'fzv0', 'lo', 'fzd0'), id: fc.integer({ min: 0, max: 4095 }) }),
  fc.record({ kind: fc.constantFrom('dummy', 'veth', 'vlan', 'bridge', 'DUMMY'), name: names, peer: names, link: names, id: weirdNumbers, ...linkFields }, { requiredKeys: ['kind'] }),
  // vxlan always binds loopback here: the default local address is every interface.
  fc.record(
    {
      kind: fc.constant('vxlan'),
      name: names,
      vni: weirdNumbers,
      local: fc.constant('127.0.0.1:0'),
      remote: fc.oneof(fc.constantFrom('127.0.0.1:4790', '[::1]:4790', 'not a host', '0.0.0.0:1', '224.0.0.1:5'), fc.array(fc.constantFrom('127.0.0.1:4791', '127.0.0.2:4791', '::1'), { maxLength: 3 })),
      dstport: weirdNumbers,
      ageing: weirdNumbers,
      learning: fc.boolean(),
    },
    { requiredKeys: ['kind', 'local'] },
  ),
);

const patchBody = fc.oneof(
  fc.record({ ...linkFields, name: names }, { requiredKeys: [] }),
  // Mostly valid, so devices go up and down, get renamed, throttled and unthrottled.
  fc.record(
    {
      up: fc.boolean(),
      mtu: fc.constantFrom(68, 1500, 9000),
      promisc: fc.boolean(),
      txqlen: fc.constantFrom(0, 10, 1000),
      name: fc.constantFrom('fz0', 'fz1', 'fzv0', 'fzv1', 'fzd0', 'fz9', 'renamed0'),
      netem: fc.constantFrom(null, { rate_bps: 8000 }, { delay_ms: 1, loss: 10 }, { duplicate: 50, corrupt: 5, reorder: 10 }),
    },
    { requiredKeys: [] },
  ),
);

const ioctlBody = fc.record(
  {
    request: fc.oneof(fc.constantFrom(...IOCTL_REQUESTS), fc.constantFrom('SIOCGIFCONF', 'siocgifflags', '')),
    ifr_flags: fc.oneof(weirdNumbers, fc.array(fc.constantFrom('UP', 'PROMISC', 'RUNNING', 'LOOPBACK', 'NOPE'), { maxLength: 4 })),
    ifr_mtu: weirdNumbers,
    ifr_hwaddr: fc.record({ sa_family: fc.constantFrom(0, 1, 772, -1), sa_data: macs }, { requiredKeys: [] }),
    ifr_qlen: weirdNumbers,
    ifr_newname: names,
    ifr_map: fc.record({ mem_start: weirdNumbers, irq: weirdNumbers, port: weirdNumbers }, { requiredKeys: [] }),
  },
  { requiredKeys: ['request'] },
);

/** Frame strings: valid hex frames of random sizes, base64, odd hex, junk. */
const validFrame = fc.integer({ min: 14, max: 1514 }).map((n) => Buffer.alloc(n, 0xab).fill(0xff, 0, 6).toString('hex'));

const frameText = fc.oneof(
  { arbitrary: validFrame, weight: 3 },
  fc.integer({ min: 0, max: 1600 }).map((n) => Buffer.alloc(n, 0xab).fill(0xff, 0, Math.min(6, n)).toString('hex')),
  fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom('abc', 'zz', '0x1234', '', '====', 'ab cd', 'AAAA'),
  fc.string({ maxLength: 40 }),
);

const framesBody = fc.oneof(
  fc.record({ frames: fc.array(validFrame, { minLength: 1, maxLength: 40 }) }),
  fc.record({ frames: fc.array(frameText, { maxLength: 40 }) }),
  fc.record({ frames: frameText }),
);

/** Typed sysctls too: a word, vectors (as arrays or text) and a member name of a vector. */
const TYPED_SYSCTLS = ['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_local_port_range_min'];
const sysctlValue = fc.oneof(
  weirdNumbers,
  fc.string(),
  fc.constant(null),
  fc.constantFrom('reno', 'cubic', 'bbr', '4096 131072 6291456', '4096\t8192', '1 2 3 4', '40000 40000', '60999 32768', '-1 0 1', ''),
  fc.array(weirdNumbers, { maxLength: 4 }),
);
const sysctlBody = fc.dictionary(fc.oneof(fc.constantFrom(...SYSCTL_NAMES, ...TYPED_SYSCTLS), fc.string({ maxLength: 30 })), sysctlValue, { maxKeys: 4 });

const brokenJson = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
  fc.constantFrom('{', '{"kind":', '[1,2', '{"mtu": 1e999}', '{"mtu": 123456789012345678901234567890}', '{"kind":"dummy","__proto__":{"a":1}}', '{"constructor":{"prototype":{}}}', 'null', '"x"', '\u0000', '{"kind":"dummy"}garbage'),
  fc.string({ maxLength: 60 }),
);

type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; value: string } | { kind: 'bytes'; value: Uint8Array };

const bodies: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ kind: 'none' }),
  fc.oneof(createBody, patchBody, ioctlBody, framesBody, sysctlBody, fc.jsonValue()).map((value): Body => ({ kind: 'json', value })),
  brokenJson.map((value): Body => ({ kind: 'text', value })),
  fc.uint8Array({ maxLength: 2000 }).map((value): Body => ({ kind: 'bytes', value })),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/octet-stream',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/problem+json',
  'multipart/form-data; boundary=x',
  '',
);

const query = fc.oneof(
  fc.constant(''),
  fc.record({ nonblock: fc.constantFrom('0', '1', 'true', 'false', 'yes', ''), timeout_ms: fc.constantFrom('0', '5', '-1', '1e3', '99999999999', 'abc'), stats: fc.constantFrom('0', '1', '2') }, { requiredKeys: [] }).map(
    (q) => '?' + new URLSearchParams(q as Record<string, string>).toString(),
  ),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

const paths = fc.oneof(
  fc.constantFrom('/v1/devices', '/v1/sockets', '/v1/stack', '/v1/stack/sysctl', '/healthz', '/openapi.json', '/', '/v1', '/v1/devices/', '//v1/devices', '/v1/stack/sysctl/x', '/docs/json'),
  names.map((n) => `/v1/devices/${encodeURIComponent(n)}`),
  names.map((n) => `/v1/devices/${encodeURIComponent(n)}/ioctl`),
  names.map((n) => `/v1/devices/${encodeURIComponent(n)}/frames`),
  fc.constantFrom('/v1/devices/fz0/frames', '/v1/devices/fzv0/frames', '/v1/devices/fzd0/frames', '/v1/devices/lo/frames', '/v1/devices/%zz', '/v1/devices/%00', '/v1/devices/a%2Fb'),
  fc.string({ maxLength: 30 }).map((s) => '/' + encodeURIComponent(s)),
);

interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  body: Body;
  contentType: string;
}

const known = fc.constantFrom('lo', 'fz0', 'fz1', 'fzv0', 'fzv1', 'fzd0');
const deviceName = fc.oneof({ arbitrary: known, weight: 4 }, { arbitrary: names, weight: 1 });
const json = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> => value.map((v): Body => ({ kind: 'json', value: v }));
const mostlyJson = fc.oneof({ arbitrary: fc.constant('application/json'), weight: 5 }, { arbitrary: contentTypes, weight: 1 });

/** Requests aimed at real routes with roughly the right shape, so they get past routing. */
const targeted: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.record({ method: fc.constant('GET'), path: fc.constant('/v1/devices'), query, body: fc.constant<Body>({ kind: 'none' }), contentType: contentTypes }),
  fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/devices'), query, body: json(createBody), contentType: mostlyJson }),
  fc.record({
    method: fc.constantFrom('GET', 'PATCH', 'PATCH', 'DELETE'),
    path: deviceName.map((n) => `/v1/devices/${encodeURIComponent(n)}`),
    query,
    body: json(patchBody),
    contentType: mostlyJson,
  }),
  fc.record({ method: fc.constant('POST'), path: deviceName.map((n) => `/v1/devices/${encodeURIComponent(n)}/ioctl`), query, body: json(ioctlBody), contentType: mostlyJson }),
  fc.record({
    method: fc.constant('POST'),
    path: deviceName.map((n) => `/v1/devices/${encodeURIComponent(n)}/frames`),
    query,
    body: fc.oneof(json(framesBody), fc.uint8Array({ minLength: 10, maxLength: 1600 }).map((value): Body => ({ kind: 'bytes', value }))),
    contentType: fc.constantFrom('application/json', 'application/octet-stream'),
  }),
  fc.record({ method: fc.constant('PATCH'), path: fc.constant('/v1/stack/sysctl'), query, body: json(sysctlBody), contentType: mostlyJson }),
  fc.record({ method: fc.constant('GET'), path: fc.constantFrom('/v1/sockets', '/v1/stack', '/healthz'), query, body: bodies, contentType: contentTypes }),
);

/** Anything at all. */
const anything: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'),
  path: paths,
  query,
  body: bodies,
  contentType: contentTypes,
});

const requests = fc.oneof({ arbitrary: targeted, weight: 3 }, { arbitrary: anything, weight: 1 });

describe('fuzz', () => {
  it(`survives ${RUNS} random and malformed requests with no 500 and no leak`, { timeout: 600_000 }, async () => {
    const server = await startServer();
    // A few devices for requests to hit; some on slow links, so sends wait and get cut off.
    for (const body of [
      { kind: 'veth', name: 'fz0', peer: 'fz1', up: true },
      { kind: 'veth', name: 'fzv0', peer: 'fzv1', up: true, netem: { rate_bps: 8000, limit: 20 } },
      { kind: 'dummy', name: 'fzd0', up: true, netem: { delay_ms: 50 } },
    ]) {
      assert.equal((await server.request('POST', '/v1/devices', { body })).status, 201);
    }
    const statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(requests, async (r) => {
          const headers: Record<string, string> = {};
          let payload: string | Uint8Array | undefined;
          if (r.body.kind !== 'none' && r.method !== 'GET' && r.method !== 'HEAD') {
            payload = r.body.kind === 'json' ? JSON.stringify(r.body.value) : r.body.value;
            if (r.contentType !== '') headers['content-type'] = r.contentType;
          }
          // A send on a slow link may wait for buffer space as long as the client stays: cut it off.
          const mayWait = r.method === 'POST' && r.path.endsWith('/frames');
          const signal = AbortSignal.timeout(mayWait ? 300 : 20_000);
          let res: Response;
          try {
            res = await fetch(server.base + r.path + r.query, { method: r.method, headers, body: payload, signal });
          } catch (err) {
            if (mayWait && (err as Error).name === 'TimeoutError') return;
            throw err;
          }
          const text = r.method === 'HEAD' ? '' : await res.text().catch((err: Error) => {
            if (mayWait && err.name === 'TimeoutError') return '';
            throw err;
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const where = `${r.method} ${r.path}${r.query} -> ${res.status} ${text.slice(0, 300)}`;
          assert.notEqual(res.status, 500, where);
          if (res.status >= 400 && r.method !== 'HEAD' && text !== '') {
            assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, where);
            const p = JSON.parse(text) as { errno: string; status: number; title: string; type: string };
            assert.equal(p.status, res.status, where);
            assert.equal(p.type, `urn:netstack:errno:${p.errno}`, where);
            if (res.status >= 500) assert.ok(ALLOWED_5XX[res.status]?.includes(p.errno), where);
          }
          assert.ok(res.status < 500 || ALLOWED_5XX[res.status] !== undefined, where);
        }),
        { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
      );
      const health = await server.request('GET', '/healthz');
      assert.equal(health.status, 200);
      const stack = await server.request('GET', '/v1/stack');
      assert.equal(stack.status, 200);
    } finally {
      await server.close();
    }
    process.stderr.write(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`);
    const s = server.stack;
    assert.equal(s.pool.stats.inUse, 0, 'every sk_buff is freed once the app and the stack are closed');
    assert.equal(s.pool.stats.bytes, 0);
    assert.equal(s.pool.stats.doubleFrees, 0);
    assert.equal(s.sockets.size, 0);
    assert.ok(statuses.size > 5, 'the requests reached many different answers');
    assert.ok([...statuses.keys()].some((st) => st >= 200 && st < 300), 'some requests succeeded');
  });
});
