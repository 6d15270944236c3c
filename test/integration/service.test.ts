// The real service as a child process (`node --import tsx src/main.ts`):
// listening on port 0 and saying where, state saved and restored across a
// restart, SIGTERM closing streams with a close frame and exiting 0, the
// token enforced, and bad arguments or files refused with exit status 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { api, runRefused, spawnService, startService, tempDir } from '../helpers/service.ts';

type View = Record<string, unknown> & { ifname: string };

/** Devices as configuration: without counters, ifindexes and netem statistics. */
function configViews(json: unknown): View[] {
  assert.ok(Array.isArray(json));
  return (json as View[]).map((v) => {
    const { ifindex: _i, stats64: _s, queue: _q, ...rest } = v;
    const netem = rest['netem'] as Record<string, unknown> | null;
    if (netem !== null && typeof netem === 'object') {
      const { stats: _st, ...params } = netem;
      rest['netem'] = params;
    }
    return rest as View;
  });
}

test('a restart with --state brings the same configuration back, and the state wins over --config', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'lab.yaml');
  const state = path.join(dir, 'state.json');
  writeFileSync(
    config,
    [
      'devices:',
      '  - { kind: veth, name: a0, peer: b0, mtu: 9000, up: true }',
      '  - { kind: vlan, link: b0, id: 7, up: true }',
      '  - { kind: vxlan, name: vx0, vni: 7, local: "127.0.0.1:0", remote: ["127.0.0.1:4789"], up: true }',
      '  - kind: dummy',
      '    name: d0',
      '    netem: { delay_ms: 5, loss: 10, seed: 42 }',
      'sysctl:',
      '  net.core.rmem_default: 65536',
    ].join('\n'),
  );
  const first = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  const base = first.url;
  let r = await api(base, 'GET', '/v1/devices');
  assert.deepEqual(configViews(r.json).map((v) => v.ifname), ['lo', 'a0', 'b0', 'b0.7', 'vx0', 'd0']);

  // Changes after start, over the API.
  assert.equal((await api(base, 'PATCH', '/v1/devices/d0', { mtu: 1280, promisc: true, up: true })).status, 200);
  assert.equal((await api(base, 'POST', '/v1/devices', { kind: 'dummy', name: 'late0', txqlen: 10 })).status, 201);
  assert.equal((await api(base, 'PATCH', '/v1/stack/sysctl', { 'net.core.wmem_max': 1048576 })).status, 200);
  r = await api(base, 'POST', '/v1/devices/a0/ioctl', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: '01:00:5e:00:00:fb' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const before = configViews((await api(base, 'GET', '/v1/devices')).json);
  const sysctlBefore = ((await api(base, 'GET', '/v1/stack')).json as { sysctl: unknown }).sysctl;
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });

  // The config gains a device: it must not appear, because the state exists.
  writeFileSync(config, `${readFileSync(config, 'utf8')}\n`.replace('devices:\n', 'devices:\n  - { kind: dummy, name: fromconfig }\n'));
  const second = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  const after = configViews((await api(second.url, 'GET', '/v1/devices')).json);
  assert.deepEqual(after, before);
  const sysctlAfter = ((await api(second.url, 'GET', '/v1/stack')).json as { sysctl: Record<string, number> }).sysctl;
  assert.deepEqual(sysctlAfter, sysctlBefore);
  assert.equal(sysctlAfter['net.core.rmem_default'], 65536);
  assert.equal(sysctlAfter['net.core.wmem_max'], 1048576);
  assert.ok(second.logs.some((l) => typeof l['msg'] === 'string' && /state file exists/.test(l['msg'])), 'says the config was not applied');
  assert.deepEqual(await second.stop('SIGINT'), { code: 0, signal: null });
});

test('SIGTERM closes a WebSocket stream with a close frame, then the service exits 0', async (t) => {
  const svc = await startService(t, ['--listen', '127.0.0.1:0', '--token', 'sesame']);
  const wsUrl = `${svc.url.replace(/^http/, 'ws')}/v1/devices/lo/stream`;
  const ws = new WebSocket(wsUrl, { headers: { authorization: 'Bearer sesame' } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`stream refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  svc.proc.kill('SIGTERM');
  const close = await closed;
  // 1006 would mean the connection dropped without a close frame; 1005 is a
  // close frame without a status code, 1001 "going away".
  assert.notEqual(close.code, 1006, 'a close frame was received');
  assert.equal(close.code, 1001, `a going-away close frame, not ${close.code} (reason: ${close.reason})`);
  assert.deepEqual(await svc.exited, { code: 0, signal: null });
  assert.ok(svc.logs.some((l) => l['msg'] === 'stopped' && l['exitCode'] === 0));
});

test('with NETSTACK_TOKEN every route but /healthz and /metrics needs the bearer token', async (t) => {
  const svc = await startService(t, ['--listen', '127.0.0.1:0'], { NETSTACK_TOKEN: 'sesame' });
  const denied = await api(svc.url, 'GET', '/v1/devices');
  assert.equal(denied.status, 401);
  assert.equal((denied.json as { errno: string }).errno, 'EACCES');
  assert.equal((await api(svc.url, 'GET', '/v1/devices', undefined, 'wrong')).status, 401);
  assert.equal((await api(svc.url, 'POST', '/v1/devices', { kind: 'dummy' })).status, 401);
  assert.equal((await api(svc.url, 'GET', '/v1/devices', undefined, 'sesame')).status, 200);
  assert.equal((await fetch(new URL('/healthz', svc.url))).status, 200);
  assert.deepEqual(await svc.stop(), { code: 0, signal: null });
});

test('a bad config exits 2 with a message naming the offending path', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'bad.json');
  writeFileSync(config, JSON.stringify({ devices: [{ kind: 'dummy' }, { kind: 'dummy', mtu: 70000 }] }));
  const r = await runRefused(['--listen', '127.0.0.1:0', '--config', config]);
  assert.deepEqual(r.exit, { code: 2, signal: null });
  assert.match(r.stderr, /devices\[1\]\.mtu: must be <= 65535/);
  assert.ok(!r.logs.some((l) => l['msg'] === 'listening'));

  // Valid shape, impossible setup: the entry is named.
  writeFileSync(config, JSON.stringify({ devices: [{ kind: 'vlan', link: 'eth9', id: 5 }] }));
  const r2 = await runRefused(['--listen', '127.0.0.1:0', '--config', config]);
  assert.deepEqual(r2.exit, { code: 2, signal: null });
  assert.match(r2.stderr, /devices\[0\] \(vlan\): ENODEV/);
});

test('a corrupt state file is refused with exit 2 and left exactly as it was', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'state.json');
  const text = '{"version": 1, "saved_at": "x", "sysctl": {}, "devices": [{"kind": "dummy", "mtu": ';
  writeFileSync(state, text);
  const ino = statSync(state).ino;
  const r = await runRefused(['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(r.exit, { code: 2, signal: null });
  assert.match(r.stderr, /state .*state\.json: not valid JSON/);
  assert.equal(readFileSync(state, 'utf8'), text);
  assert.equal(statSync(state).ino, ino);

  writeFileSync(state, JSON.stringify({ version: 1, saved_at: 'x', sysctl: {}, devices: [{ kind: 'dummy', mtu: 1 }] }));
  const r2 = await runRefused(['--listen', '127.0.0.1:0', '--state', state]);
  assert.deepEqual(r2.exit, { code: 2, signal: null });
  assert.match(r2.stderr, /devices\[0\]\.mtu: must be >= 68/);
});

test('bad arguments exit 2 with a one-line reason; --help exits 0', async () => {
  for (const [args, why] of [
    [['--listen', 'nowhere'], /--listen "nowhere": expected HOST:PORT/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['--log-level', 'chatty'], /--log-level "chatty"/],
  ] as const) {
    const r = await runRefused([...args]);
    assert.deepEqual(r.exit, { code: 2, signal: null }, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /Try 'netstackd --help'/);
  }
  const help = spawnService(['--help']);
  assert.deepEqual(await help.exited, { code: 0, signal: null });
  assert.ok(help.logs.some((l) => String(l['unparsed']).includes('--listen HOST:PORT')), 'usage on stdout');
});
