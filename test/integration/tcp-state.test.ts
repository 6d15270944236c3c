// TCP survives a restart: its sysctls (Linux's syntax) and its service
// listeners from --config, and those set over the API afterwards, come back
// from --state; a restored echo listener answers, and new connections take
// the restored congestion control. Client connections are not saved. A bad
// TCP entry refuses to start (exit 2) and leaves the state file as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { api, runRefused, startService, tempDir } from '../helpers/service.ts';
import { untilAsync } from '../helpers/wait.ts';

interface SockJson {
  id: number;
  type: string;
  state: string;
  local: string;
  service?: string;
  sndbuf: number;
  tcp_info?: { bytes_received: number; congestion_control: string };
}

async function tcpListeners(base: string): Promise<[string, string | undefined, number][]> {
  const r = await api(base, 'GET', '/v1/sockets');
  assert.equal(r.status, 200);
  return (r.json as SockJson[])
    .filter((s) => s.type === 'stream' && s.state === 'LISTEN')
    .map((s): [string, string | undefined, number] => [s.local, s.service, s.sndbuf])
    .sort();
}

async function tcpSysctls(base: string): Promise<Record<string, unknown>> {
  const r = await api(base, 'GET', '/v1/stack');
  const all = (r.json as { sysctl: Record<string, unknown> }).sysctl;
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('net.ipv4.tcp_') || k === 'net.ipv4.ip_local_port_range'));
}

/** A client connection to `to`; "hello" sent; resolves once `expect` bytes came back. Returns its tcp_info. */
async function hello(base: string, to: string, expect: number): Promise<SockJson> {
  const c = await api(base, 'POST', '/v1/sockets', { type: 'tcp', connect: to });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const id = (c.json as SockJson).id;
  const sent = await api(base, 'POST', `/v1/sockets/${id}/send`, { data: '68656c6c6f' });
  assert.equal(sent.status, 200, JSON.stringify(sent.json));
  let last: SockJson | undefined;
  await untilAsync(async () => {
    last = (await api(base, 'GET', `/v1/sockets/${id}`)).json as SockJson;
    return (last.tcp_info?.bytes_received ?? 0) >= expect;
  }, `${expect} bytes back from ${to}`);
  return last!;
}

test('TCP sysctls and service listeners come back after a restart; the restored echo answers', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'lab.yaml');
  const state = path.join(dir, 'state.json');
  writeFileSync(
    config,
    [
      'sockets:',
      '  - { type: tcp, bind: "127.0.0.1:7", service: echo, backlog: 16 }',
      'sysctl:',
      '  net.ipv4.tcp_rmem: 4096 87380 6291456',
      '  net.ipv4.tcp_keepalive_time: 600',
    ].join('\n'),
  );
  const first = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  assert.deepEqual((await tcpListeners(first.url)).map(([local, service]) => [local, service]), [['127.0.0.1:7', 'echo']]);
  assert.equal((await hello(first.url, '127.0.0.1:7', 5)).tcp_info?.congestion_control, 'cubic');

  // Changes over the API after start; a client connection that stays open.
  for (const [method, url, body] of [
    ['PATCH', '/v1/stack/sysctl', { 'net.ipv4.tcp_congestion_control': 'reno', 'net.ipv4.tcp_wmem': '4096 32768 4194304', 'net.ipv4.tcp_syn_retries': 3 }],
    ['POST', '/v1/sockets', { type: 'tcp', bind: '0.0.0.0:9', listen: 32, service: 'discard', sndbuf: 65536 }],
    ['POST', '/v1/sockets', { type: 'tcp', bind: '0.0.0.0:19', listen: 4 }],
  ] as const) {
    const r = await api(first.url, method, url, body);
    assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  await hello(first.url, '127.0.0.1:9', 0);
  const listeners = await tcpListeners(first.url);
  assert.equal(listeners.find(([local]) => local === '0.0.0.0:9')?.[2], 131072, 'SO_SNDBUF 65536, stored doubled');
  const sysctls = await tcpSysctls(first.url);
  assert.deepEqual(sysctls['net.ipv4.tcp_rmem'], [4096, 87380, 6291456]);
  assert.equal(sysctls['net.ipv4.tcp_congestion_control'], 'reno');
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });

  const saved = JSON.parse(readFileSync(state, 'utf8')) as { sockets: unknown[]; sysctl: Record<string, unknown> };
  assert.deepEqual(saved.sockets, [
    { type: 'tcp', bind: '127.0.0.1:7', service: 'echo', backlog: 16 },
    { type: 'tcp', bind: '0.0.0.0:9', service: 'discard', backlog: 32, sndbuf: 65536 },
  ], 'service listeners only: not the listener without a service, not the client connections');
  assert.equal(saved.sysctl['net.ipv4.tcp_congestion_control'], 'reno');

  const second = await startService(t, ['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(await tcpSysctls(second.url), sysctls);
  // A listener without SO_SNDBUF takes tcp_wmem's default, which the restored sysctls set first.
  const restored = await tcpListeners(second.url);
  assert.deepEqual(
    restored.map(([local, service]) => [local, service]),
    listeners.filter(([local]) => local !== '0.0.0.0:19').map(([local, service]) => [local, service]),
  );
  assert.equal(restored.find(([local]) => local === '0.0.0.0:9')?.[2], 131072, 'its SO_SNDBUF is restored');
  const c = await hello(second.url, '127.0.0.1:7', 5);
  assert.equal(c.tcp_info?.congestion_control, 'reno', 'a new connection takes the restored congestion control');
  assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
});

test('a bad TCP entry or TCP sysctl refuses to start with exit 2, and the state file is left as it was', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'bad.yaml');
  writeFileSync(config, 'sockets:\n  - { type: tcp, bind: "0.0.0.0:0", service: echo }\n');
  let r = await runRefused(['--listen', '127.0.0.1:0', '--config', config]);
  assert.deepEqual(r.exit, { code: 2, signal: null });
  assert.match(r.stderr, /sockets\[0\]\.bind: a listener needs a port/);

  writeFileSync(config, 'sysctl:\n  net.ipv4.tcp_congestion_control: bbr\n');
  r = await runRefused(['--listen', '127.0.0.1:0', '--config', config]);
  assert.deepEqual(r.exit, { code: 2, signal: null });
  assert.match(r.stderr, /sysctl\["net\.ipv4\.tcp_congestion_control"\]: "bbr" is not available/);

  // Valid shape, impossible setup: two listeners on one port.
  const state = path.join(dir, 'state.json');
  const text = JSON.stringify({
    version: 1,
    saved_at: 'x',
    sysctl: {},
    devices: [],
    sockets: [{ type: 'tcp', bind: '0.0.0.0:7', service: 'echo' }, { type: 'tcp', bind: '127.0.0.1:7', service: 'discard' }],
  });
  writeFileSync(state, text);
  const ino = statSync(state).ino;
  r = await runRefused(['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(r.exit, { code: 2, signal: null });
  assert.match(r.stderr, /sockets\[1\] \(tcp 127\.0\.0\.1:7 discard\): EADDRINUSE/);
  assert.equal(readFileSync(state, 'utf8'), text);
  assert.equal(statSync(state).ino, ino);
});
