// Bad input on every route of the internet layer (DESIGN §3.1): wrong types,
// malformed addresses (300.1.1.1/24, /33), unknown fields and devices. Each
// is a 4xx problem with the errno, and leaves devices, sockets, sysctls,
// addresses, routes and neighbours exactly as they were.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, observableState, startServer, type TestServer } from './server.ts';

let server: TestServer;

before(async () => {
  server = await startServer();
  const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'd0', up: true } });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await server.close();
  assert.equal(server.stack.pool.stats.inUse, 0);
});

async function everything(): Promise<string> {
  const [addresses, routes, neighbours] = await Promise.all([
    server.request('GET', '/v1/addresses'),
    server.request('GET', '/v1/routes'),
    server.request('GET', '/v1/neighbours'),
  ]);
  for (const r of [addresses, routes, neighbours]) assert.equal(r.status, 200, r.text);
  return JSON.stringify([await observableState(server), addresses.json, routes.json, neighbours.json]);
}

/** Sends each request, expects the status and errno, and that nothing changed. */
async function refused(cases: [method: string, path: string, body: unknown, status: number, errno: string][]): Promise<void> {
  const before = await everything();
  for (const [method, path, body, status, errno] of cases) {
    const r = await server.request(method, path, body === undefined ? {} : { body });
    assertProblem(r, status, errno);
  }
  assert.equal(await everything(), before, 'a refused request changed something');
}

const BAD_PREFIXES = ['300.1.1.1/24', '198.51.100.1/33', '198.51.100.1/', '198.51.100/24', '198.51.100.01/24', '1.2.3.4.5/8', 'default', '', ' 198.51.100.1/24'];

describe('inet input validation', () => {
  it('POST /v1/devices/{name}/addresses', async () => {
    await refused([
      ...BAD_PREFIXES.map((a): [string, string, unknown, number, string] => ['POST', '/v1/devices/d0/addresses', { address: a }, 400, 'EINVAL']),
      ['POST', '/v1/devices/d0/addresses', { address: 198 }, 400, 'EINVAL'],
      ['POST', '/v1/devices/d0/addresses', {}, 400, 'EINVAL'],
      ['POST', '/v1/devices/d0/addresses', { address: '198.51.100.1/24', extra: 1 }, 400, 'EINVAL'],
      ['POST', '/v1/devices/d0/addresses', { address: '198.51.100.1/24', broadcast: '300.0.0.0' }, 400, 'EINVAL'],
      ['POST', '/v1/devices/d0/addresses', ['198.51.100.1/24'], 400, 'EINVAL'],
      ['POST', '/v1/devices/bad%2Fname/addresses', { address: '198.51.100.1/24' }, 400, 'EINVAL'],
      ['POST', '/v1/devices/nosuch0/addresses', { address: '198.51.100.1/24' }, 404, 'ENODEV'],
    ]);
  });

  it('DELETE /v1/devices/{name}/addresses/{addr}', async () => {
    await refused([
      ['DELETE', '/v1/devices/d0/addresses/300.1.1.1', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/devices/d0/addresses/198.51.100.1%2F33', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/devices/d0/addresses/x', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/devices/d0/addresses/198.51.100.77', undefined, 422, 'EADDRNOTAVAIL'],
      ['DELETE', '/v1/devices/d0/addresses/198.51.100.77%2F24', undefined, 422, 'EADDRNOTAVAIL'],
      ['DELETE', '/v1/devices/nosuch0/addresses/198.51.100.1%2F24', undefined, 404, 'ENODEV'],
    ]);
  });

  it('POST /v1/routes, DELETE /v1/routes, GET /v1/routes/get', async () => {
    await refused([
      ...BAD_PREFIXES.filter((p) => p !== 'default').map((d): [string, string, unknown, number, string] => ['POST', '/v1/routes', { dst: d, dev: 'd0' }, 400, 'EINVAL']),
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', gateway: '300.1.1.1' }, 400, 'EINVAL'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', dev: 'd0', metric: -1 }, 400, 'EINVAL'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', dev: 'd0', metric: '1' }, 400, 'EINVAL'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', dev: 'd0', src: '1.2.3' }, 400, 'EINVAL'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', dev: 'd0', via: '198.51.100.1' }, 400, 'EINVAL'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', gateway: '192.0.2.1' }, 422, 'ENETUNREACH'],
      ['POST', '/v1/routes', { dst: '203.0.113.0/24', dev: 'nosuch0' }, 404, 'ENODEV'],
      ['DELETE', '/v1/routes', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/routes?dst=300.1.1.0/24', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/routes?dst=203.0.113.0/33', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/routes?dst=203.0.113.0/24&gateway=x', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/routes?dst=203.0.113.0/24', undefined, 404, 'ESRCH'],
      ['GET', '/v1/routes/get', undefined, 400, 'EINVAL'],
      ['GET', '/v1/routes/get?dst=300.1.1.1', undefined, 400, 'EINVAL'],
      ['GET', '/v1/routes/get?dst=203.0.113.0/24', undefined, 400, 'EINVAL'],
    ]);
  });

  it('POST and DELETE /v1/neighbours', async () => {
    await refused([
      ['POST', '/v1/neighbours', { dst: '300.1.1.1', dev: 'd0', lladdr: '02:00:00:00:00:01' }, 400, 'EINVAL'],
      ['POST', '/v1/neighbours', { dst: '198.51.100.2', dev: 'd0', lladdr: '02:00:00:00:00' }, 400, 'EINVAL'],
      ['POST', '/v1/neighbours', { dst: '198.51.100.2', dev: 'd0' }, 400, 'EINVAL'],
      ['POST', '/v1/neighbours', { dst: '198.51.100.2', dev: 7, lladdr: '02:00:00:00:00:01' }, 400, 'EINVAL'],
      ['POST', '/v1/neighbours', { dst: '198.51.100.2', dev: 'nosuch0', lladdr: '02:00:00:00:00:01' }, 404, 'ENODEV'],
      ['DELETE', '/v1/neighbours', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/neighbours?dev=d0&dst=1.2.3.400', undefined, 400, 'EINVAL'],
      ['DELETE', '/v1/neighbours?dev=d0&dst=198.51.100.9', undefined, 404, 'ENOENT'],
      ['DELETE', '/v1/neighbours?dev=nosuch0', undefined, 404, 'ENODEV'],
    ]);
  });

  it('POST /v1/ping', async () => {
    await refused([
      ['POST', '/v1/ping', {}, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '300.1.1.1' }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', count: 0 }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', count: '4' }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', ttl: 0 }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', ttl: 256 }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', size: 65508 }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', src: 'me' }, 400, 'EINVAL'],
      ['POST', '/v1/ping', { dst: '198.51.100.2', flood: true }, 400, 'EINVAL'],
    ]);
  });

  it('POST /v1/sockets and the per-socket routes', async () => {
    await refused([
      ['POST', '/v1/sockets', {}, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'raw' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', bind: '300.1.1.1:7' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', bind: '0.0.0.0:65536' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', bind: '0.0.0.0' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', connect: 'x:1' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', rcvbuf: -1 }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', service: 'daytime' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'udp', listen: 5 }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', bind: '0.0.0.0:80' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', bind: '0.0.0.0:0', listen: 5 }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', connect: '127.0.0.1:0' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', connect: '127.0.0.1:7', listen: 5 }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', connect: '127.0.0.1:7', service: 'echo' }, 400, 'EINVAL'],
      ['POST', '/v1/sockets', { type: 'tcp', connect: '203.0.113.1:80' }, 422, 'ENETUNREACH'],
      ['POST', '/v1/sockets', { type: 'tcp', bind: '0.0.0.0:80', listen: 70000 }, 400, 'EINVAL'],
      ['GET', '/v1/sockets/0', undefined, 400, 'EINVAL'],
      ['GET', '/v1/sockets/abc', undefined, 400, 'EINVAL'],
      ['GET', '/v1/sockets/999', undefined, 404, 'ENOENT'],
      ['DELETE', '/v1/sockets/999', undefined, 404, 'ENOENT'],
      ['POST', '/v1/sockets/999/send', { data: '00' }, 404, 'ENOENT'],
      ['POST', '/v1/sockets/abc/send', { data: '00' }, 400, 'EINVAL'],
    ]);
  });
});
