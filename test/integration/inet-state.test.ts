// The internet layer survives a restart: addresses, static routes,
// permanent neighbours, service sockets and net.ipv4 sysctls from --config,
// and those changed over the API afterwards, come back from --state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { api, startService, tempDir } from '../helpers/service.ts';

interface Snapshot {
  addresses: unknown;
  routes: unknown;
  neighbours: unknown;
  sockets: unknown;
  sysctl: unknown;
}

async function snapshot(base: string): Promise<Snapshot> {
  const get = async (url: string): Promise<unknown> => {
    const r = await api(base, 'GET', url);
    assert.equal(r.status, 200, url);
    return r.json;
  };
  const addresses = (await get('/v1/addresses')) as { ifname: string; addr_info: unknown[] }[];
  const neighbours = (await get('/v1/neighbours')) as { state: string[] }[];
  const sockets = (await get('/v1/sockets')) as { family: string; local: string; peer: string; rcvbuf: number }[];
  const sysctl = ((await get('/v1/stack')) as { sysctl: Record<string, number> }).sysctl;
  return {
    addresses: addresses.map((a) => [a.ifname, a.addr_info]),
    routes: await get('/v1/routes'),
    neighbours: neighbours.filter((n) => n.state.includes('PERMANENT')),
    sockets: sockets.filter((s) => s.family === 'inet').map((s) => [s.local, s.peer]).sort(),
    sysctl: Object.fromEntries(Object.entries(sysctl).filter(([k]) => k.startsWith('net.ipv4.'))),
  };
}

test('addresses, routes, permanent neighbours, service sockets and net.ipv4 sysctls come back after a restart', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'lab.yaml');
  const state = path.join(dir, 'state.json');
  writeFileSync(
    config,
    [
      'devices:',
      '  - { kind: dummy, name: d0, up: true }',
      'addresses:',
      '  - { dev: d0, address: 198.51.100.1/24 }',
      'routes:',
      '  - { dst: 203.0.113.0/24, gateway: 198.51.100.254, metric: 7 }',
      'neighbours:',
      '  - { dst: 198.51.100.254, dev: d0, lladdr: "02:00:00:00:00:fe" }',
      'sockets:',
      '  - { bind: "0.0.0.0:7", service: echo }',
      'sysctl:',
      '  net.ipv4.ip_default_ttl: 32',
    ].join('\n'),
  );
  const first = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  const base = first.url;
  const fromConfig = await snapshot(base);
  assert.deepEqual((fromConfig.addresses as [string, { local: string }[]][]).find(([n]) => n === 'd0')?.[1].map((i) => i.local), ['198.51.100.1']);
  assert.deepEqual(fromConfig.sockets, [['0.0.0.0:7', '0.0.0.0:*']]);
  assert.equal((fromConfig.sysctl as Record<string, number>)['net.ipv4.ip_default_ttl'], 32);

  // Changes over the API after start.
  for (const [method, url, body] of [
    ['POST', '/v1/devices/d0/addresses', { address: '192.0.2.1/28' }],
    ['POST', '/v1/routes', { dst: 'default', gateway: '192.0.2.14' }],
    ['POST', '/v1/neighbours', { dst: '192.0.2.14', dev: 'd0', lladdr: '02:00:00:00:00:0e' }],
    ['POST', '/v1/sockets', { type: 'udp', bind: '192.0.2.1:9', service: 'discard' }],
    ['PATCH', '/v1/stack/sysctl', { 'net.ipv4.ip_forward': 1 }],
    ['DELETE', '/v1/routes?dst=203.0.113.0/24', undefined],
  ] as const) {
    const r = await api(base, method, url, body);
    assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  const before = await snapshot(base);
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { addresses: unknown[]; sockets: unknown[] };
  assert.equal(saved.addresses.length, 2);
  assert.equal(saved.sockets.length, 2);

  const second = await startService(t, ['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(await snapshot(second.url), before);
  assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
});
