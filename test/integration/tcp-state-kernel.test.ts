// A restart against the Linux kernel: netstackd (the service, as a user
// runs it) starts from a config with a VXLAN device, an address, a TCP echo
// listener and TCP sysctls, saves them in --state, stops, and starts again
// from the state file alone; socat in a namespace joined over VXLAN then gets
// 1 MB back intact from the restored echo listener.
//
//   [ns] vx0 192.0.2.2/24 ==VNI 46== vx0 192.0.2.1  netstackd (restarted)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { api, startService, tempDir } from '../helpers/service.ts';
import { cannotRun, kernelVxlan, removeStale, runAsync, tryRun } from '../helpers/netns.ts';

const PREFIX = 'tcps-';
const pid = process.pid;
const NS = `${PREFIX}${pid}`;
const hostIfs = (p: number) => [`tcs${p % 1_000_000}`];
const [IF] = hostIfs(pid) as [string];
const NS_MAC = '02:00:00:00:46:02';
const STACK_MAC = '02:00:00:00:46:01';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a TCP echo listener restored from --state answers Linux over VXLAN', { timeout: 120_000 }, async (t) => {
  const why = cannotRun(['socat', 'ethtool', 'sha256sum']);
  if (why !== null) {
    console.log(`# tcp-state-kernel: skipped: ${why}`);
    t.skip(why);
    return;
  }
  removeStale(PREFIX, hostIfs);
  t.after(() => {
    tryRun('ip', ['netns', 'del', NS]);
    tryRun('ip', ['link', 'del', IF]);
  });
  let a;
  try {
    a = kernelVxlan({ ns: NS, hostIf: IF, nsIf: 'u0', vni: 46, mac: NS_MAC, cidr: '192.0.2.2/24', txChecksum: false });
  } catch (err) {
    const reason = `cannot build the namespace: ${(err as Error).message}`;
    console.log(`# tcp-state-kernel: skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  const dir = tempDir(t);
  const config = path.join(dir, 'lab.json');
  const state = path.join(dir, 'state.json');
  writeFileSync(
    config,
    JSON.stringify({
      devices: [{ kind: 'vxlan', name: 'vx0', vni: 46, local: `${a.host}:4789`, remote: [`${a.nsAddr}:4789`], address: STACK_MAC, up: true }],
      addresses: [{ dev: 'vx0', address: '192.0.2.1/24' }],
      sockets: [{ type: 'tcp', bind: '0.0.0.0:7', service: 'echo', backlog: 8 }],
      sysctl: { 'net.ipv4.tcp_congestion_control': 'reno', 'net.ipv4.tcp_rmem': '4096 262144 6291456' },
    }),
  );
  const data = randomBytes(1 << 20);
  const file = path.join(dir, '1m');
  writeFileSync(file, data);
  const echoFromLinux = async (): Promise<string> => {
    const r = await runAsync('ip', ['netns', 'exec', NS, 'sh', '-c', `socat -t 30 -T 30 - TCP4:192.0.2.1:7 < ${file} | sha256sum`], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split(' ')[0]!;
  };

  const first = await startService(t, ['--listen', '127.0.0.1:0', '--config', config, '--state', state]);
  assert.equal(await echoFromLinux(), sha(data), 'the echo listener from the config answers');
  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { sockets: unknown[] };
  assert.deepEqual(saved.sockets, [{ type: 'tcp', bind: '0.0.0.0:7', service: 'echo', backlog: 8 }]);

  const second = await startService(t, ['--listen', '127.0.0.1:0', '--state', state]);
  assert.equal(await echoFromLinux(), sha(data), 'the restored echo listener answers: 1 MB back intact');
  const sockets = (await api(second.url, 'GET', '/v1/sockets')).json as { state: string; local: string; service?: string; tcp_info?: { congestion_control: string } }[];
  assert.ok(sockets.some((s) => s.state === 'LISTEN' && s.local === '0.0.0.0:7' && s.service === 'echo'));
  const sysctl = ((await api(second.url, 'GET', '/v1/stack')).json as { sysctl: Record<string, unknown> }).sysctl;
  assert.equal(sysctl['net.ipv4.tcp_congestion_control'], 'reno');
  assert.deepEqual(sysctl['net.ipv4.tcp_rmem'], [4096, 262144, 6291456]);
  assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
});
