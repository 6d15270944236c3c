// The internet layer's API and CLI against the Linux kernel, as a user would
// drive them (docs/ipv4.md's session): a netstackd app on the real stack,
// its vxlan0 joined to a kernel vx0 in a namespace this test creates,
// addresses set with netstackctl, then ping both ways, the kernel's
// neighbour entry for netstackd, `netstackctl neigh show` for the kernel's,
// and UDP: socat in the namespace talks to an echo service opened with
// POST /v1/sockets, and a netstackd socket's stream receives what a socat
// echo server in the namespace sends back.
//
// Underlay: a veth pair with a /30 of 203.0.113.0/24 that no interface here
// uses. The kernel leaves UDP checksums of what vx0 sends to the "hardware"
// (checksum offload); netstackd is that hardware and checks them, so the
// test turns tx offload off on vx0 (ethtool), as docs/ipv4.md says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { startServer, ctlInProcess } from '../cli/harness.ts';
import { until } from '../helpers/wait.ts';

const execFileAsync = promisify(execFile);
const pid = process.pid;
const NS = `iapi-${pid}`;
const HOST_IF = `iah${pid % 1_000_000}`;
const NS_IF = `ian${pid % 1_000_000}`;

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Already gone.
  }
}

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}

function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  for (const tool of ['ip', 'ping', 'socat', 'ethtool']) if (!hasTool(tool)) return `${tool} is not installed`;
  return null;
}

/** A /30 of 203.0.113.0/24 that no interface here uses: [host address, namespace address]. */
function pickUnderlay(): [string, string] {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 64; i++) {
    const base = (((pid + i) % 63) + 1) * 4;
    if (!used.includes(` 203.0.113.${base + 1}/`) && !used.includes(` 203.0.113.${base + 2}/`)) return [`203.0.113.${base + 1}`, `203.0.113.${base + 2}`];
  }
  throw new Error('no free /30 in 203.0.113.0/24');
}

test('netstackctl and the HTTP API against a Linux namespace over VXLAN: ping both ways, UDP echo both ways', { timeout: 120_000 }, async (t) => {
  const why = cannotRun();
  if (why !== null) {
    console.log(`# inet-api-kernel: skipped: ${why}`);
    t.skip(why);
    return;
  }
  const [hostAddr, nsAddr] = pickUnderlay();
  const srv = await startServer();
  const children: ChildProcess[] = [];
  const ctl = async (...args: string[]): Promise<string> => {
    const r = await ctlInProcess(args, { url: srv.url });
    assert.equal(r.code, 0, `netstackctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const inNs = (...args: string[]): string => run('ip', ['netns', 'exec', NS, ...args]);
  const inNsAsync = async (...args: string[]): Promise<string> => (await execFileAsync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' })).stdout;
  try {
    run('ip', ['netns', 'add', NS]);
    run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
    run('ip', ['link', 'set', NS_IF, 'netns', NS]);
    run('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', HOST_IF]);
    run('ip', ['link', 'set', HOST_IF, 'up']);
    run('ip', ['-n', NS, 'addr', 'add', `${nsAddr}/30`, 'dev', NS_IF]);
    run('ip', ['-n', NS, 'link', 'set', NS_IF, 'up']);
    run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', NS, 'link', 'add', 'vx0', 'address', '02:00:00:00:42:02', 'type', 'vxlan', 'id', '42', 'local', nsAddr, 'remote', hostAddr, 'dstport', '4789', 'nolearning']);
    inNs('sysctl', '-qw', 'net.ipv6.conf.vx0.disable_ipv6=1');
    inNs('ethtool', '-K', 'vx0', 'tx', 'off');
    run('ip', ['-n', NS, 'addr', 'add', '198.51.100.2/24', 'dev', 'vx0']);
    run('ip', ['-n', NS, 'link', 'set', 'vx0', 'up']);

    await ctl('link', 'add', 'vxlan0', 'address', '02:00:00:00:42:01', 'type', 'vxlan', 'id', '42', 'local', `${hostAddr}:4789`, 'remote', `${nsAddr}:4789`);
    await ctl('link', 'set', 'vxlan0', 'up');
    await ctl('addr', 'add', '198.51.100.1/24', 'dev', 'vxlan0');

    // netstackd pings the kernel, then the kernel pings netstackd.
    const out = await ctl('ping', '-c', '3', '-i', '0.1', '198.51.100.2');
    assert.match(out, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.match(out, /^64 bytes from 198\.51\.100\.2: icmp_seq=1 ttl=64 time=/m);
    assert.match(await ctl('neigh', 'show', 'dev', 'vxlan0'), /^198\.51\.100\.2 lladdr 02:00:00:00:42:02 (REACHABLE|STALE|DELAY) $/m);
    // Asynchronously: the service runs in this process and must answer while ping waits.
    assert.match(await inNsAsync('ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.1'), /2 packets transmitted, 2 received/);
    assert.match(run('ip', ['-n', NS, 'neigh', 'show', 'dev', 'vx0']), /^198\.51\.100\.1 lladdr 02:00:00:00:42:01 /m);

    // The kernel's socat uses netstackd's echo service.
    let r = await srv.app.inject({ method: 'POST', url: '/v1/sockets', payload: { type: 'udp', bind: '0.0.0.0:7', service: 'echo' } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(await inNsAsync('sh', '-c', 'echo hello | socat -t2 - UDP:198.51.100.1:7'), 'hello\n');

    // A netstackd socket talks to a socat echo server in the namespace; its stream gets the reply.
    const echo = spawn('ip', ['netns', 'exec', NS, 'socat', 'UDP-LISTEN:9000,fork', 'EXEC:cat'], { stdio: 'ignore' });
    children.push(echo);
    await until(() => inNs('ss', '-uan').includes(':9000 '), 'socat listening on 9000', { intervalMs: 50 });
    r = await srv.app.inject({ method: 'POST', url: '/v1/sockets', payload: { type: 'udp', connect: '198.51.100.2:9000' } });
    assert.equal(r.statusCode, 201, r.body);
    const id = (JSON.parse(r.body) as { id: number }).id;
    const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/v1/sockets/${id}/stream`);
    const got: { type: string; from?: string; data?: string }[] = [];
    ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString('utf8')) as { type: string }));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ data: Buffer.from('ping over udp').toString('hex') }));
    await until(() => got.some((m) => m.type === 'datagram'), 'the echo from the kernel side', { timeoutMs: 5000 });
    const reply = got.find((m) => m.type === 'datagram')!;
    assert.equal(reply.from, '198.51.100.2:9000');
    assert.equal(Buffer.from(reply.data!, 'hex').toString(), 'ping over udp');
    ws.close();

    const stats = JSON.parse(await ctl('-j', 'nstat', 'Udp*')) as { kernel: Record<string, number> };
    assert.ok((stats.kernel.UdpInDatagrams ?? 0) >= 2);
    assert.equal(stats.kernel.UdpInCsumErrors ?? 0, 0, 'no checksum errors');
  } finally {
    for (const c of children) c.kill();
    await srv.close();
    tryRun('ip', ['netns', 'del', NS]);
    tryRun('ip', ['link', 'del', HOST_IF]);
  }
  assert.equal(srv.stack.pool.stats.inUse, 0);
});
