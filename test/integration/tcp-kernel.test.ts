// TCP against the Linux kernel. One namespace with a kernel vxlan joined to
// the stack (served over HTTP, as netstackd runs) over a veth underlay:
//
//   [ns A] vx0 192.0.2.2/24 ==VNI 44== vx0 192.0.2.1  netstack
//
// socat gets 1 MB back intact from the echo service; 50 MB go into the
// discard service (counted by its tcp_info); the stack connects to a socat listener
// and sends 2 MB then FIN; closed ports are refused both ways; a stalled
// reader makes the kernel sender see zero windows and the transfer ends
// intact once reading resumes; 1 MB echoed with 5% netem loss on the stack's
// device (retransmissions counted); curl gets an HTTP response written by a
// WebSocket client through the socket stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { NetError } from '../../src/errno.ts';
import { createDevice, setLink } from '../../src/stack/index.ts';
import { inetOf } from '../../src/inet/control.ts';
import { tcpOf, type TcpEntry } from '../../src/inet/tcp-glue.ts';
import { TcpState, type TcpSock } from '../../src/inet/tcp/sock.ts';
import { startServer } from '../api/http/server.ts';
import { until } from '../helpers/wait.ts';
import { cannotRun, kernelVxlan, removeStale, run, runAsync, tryRun } from '../helpers/netns.ts';

const PREFIX = 'tcpk-';
const pid = process.pid;
const NS_A = `${PREFIX}${pid}-a`;
const hostIfs = (p: number) => [`tka${p % 1_000_000}`];
const [IF_A] = hostIfs(pid) as [string];
const MAC_A = '02:00:00:00:45:02';
const STACK_MAC = '02:00:00:00:45:01';

const inNs = (cmd: string[], timeoutMs = 60_000) => runAsync('ip', ['netns', 'exec', NS_A, ...cmd], { timeoutMs });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Read everything a connection sends until its FIN. */
async function readAll(e: TcpEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (;;) {
    const b = await e.sk.read(65536);
    if (b === null) return Buffer.concat(chunks);
    chunks.push(b);
  }
}

test('TCP against the Linux kernel over VXLAN', async (t) => {
  const why = cannotRun(['socat', 'ethtool', 'tcpdump', 'curl', 'sha256sum']);
  if (why !== null) {
    console.log(`# tcp-kernel: skipped: ${why}`);
    t.skip(why);
    return;
  }
  removeStale(PREFIX, hostIfs);
  const dir = mkdtempSync(join(tmpdir(), 'tcpk-'));
  const server = await startServer();
  const stack = server.stack;
  const inet = inetOf(stack)!;
  const tcp = tcpOf(inet)!;
  try {
    let a;
    try {
      a = kernelVxlan({ ns: NS_A, hostIf: IF_A, nsIf: 'u0', vni: 44, mac: MAC_A, cidr: '192.0.2.2/24', txChecksum: false });
    } catch (err) {
      const reason = `cannot build the namespace: ${(err as Error).message}`;
      console.log(`# tcp-kernel: skipped: ${reason}`);
      t.skip(reason);
      return;
    }
    await createDevice(stack, { kind: 'vxlan', name: 'vx0', vni: 44, local: `${a.host}:4789`, remote: [`${a.nsAddr}:4789`], address: STACK_MAC, up: true });
    inet.addrAdd('vx0', '192.0.2.1/24');
    const oneMb = randomBytes(1 << 20);
    writeFileSync(join(dir, '1m'), oneMb);
    const f1m = join(dir, '1m');

    await t.test('the echo service returns 1 MB intact to socat', async () => {
      await tcp.open({ bind: '0.0.0.0:7', listen: 16, service: 'echo' });
      const r = await inNs(['sh', '-c', `socat -t 30 -T 30 - TCP4:192.0.2.1:7 < ${f1m} | sha256sum`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.split(' ')[0], sha(oneMb));
      assert.equal(tcp.describe(tcp.list().find((e) => e.sk.state === 10 && e.sk.lport === 7)!).service, 'echo');
    });

    await t.test('50 MB from Linux into the discard service, counted by its tcp_info and netstat', async () => {
      const l = await tcp.open({ bind: '0.0.0.0:9', listen: 4, service: 'discard' });
      // The accepted connection, caught as the listener hands it to the service (the glue's
      // drainAccept runs in the same upcall), so its tcp_info can be read after it is gone.
      let child: TcpSock | undefined;
      const drain = l.sk.onAccept;
      l.sk.onAccept = (c) => {
        child ??= c;
        drain?.(c);
      };
      const before = (inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!;
      const t0 = performance.now();
      const r = await inNs(['sh', '-c', 'head -c 52428800 /dev/zero | socat -u - TCP4:192.0.2.1:9'], 120_000);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(child !== undefined, 'the discard service accepted the connection');
      // socat exits once its FIN is sent; the service closes when it reads the FIN.
      await until(() => child!.state !== TcpState.ESTABLISHED && child!.state !== TcpState.CLOSE_WAIT, 'the discard service closed', { timeoutMs: 20_000 });
      const ms = performance.now() - t0;
      const info = child.info();
      assert.equal(info.bytes_received, 50 << 20, 'every byte reached the discard socket');
      assert.equal(child.recvQ, 0, 'and was read');
      const after = (inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!;
      assert.equal(after.PassiveOpens! - before.PassiveOpens!, 1);
      assert.ok(after.InSegs! - before.InSegs! >= (50 << 20) / info.rcv_mss, `InSegs grew by ${after.InSegs! - before.InSegs!}`);
      assert.equal(after.InErrs, before.InErrs);
      console.log(`# tcp-kernel: 50 MB into discard in ${Math.round(ms)} ms (${((50 * 8 * 1.048576) / (ms / 1000)).toFixed(0)} Mbit/s), segs_in ${info.segs_in}, rcv_mss ${info.rcv_mss}`);
      tcp.close(l);
    });

    await t.test('the stack connects to socat and sends 2 MB, then FIN', async () => {
      const two = randomBytes(2 << 20);
      const out = join(dir, 'out2');
      const listener = spawn('ip', ['netns', 'exec', NS_A, 'socat', '-u', 'TCP4-LISTEN:5001,bind=192.0.2.2', `CREATE:${out}`], { stdio: 'ignore' });
      await until(() => run('ip', ['netns', 'exec', NS_A, 'ss', '-tln']).includes('192.0.2.2:5001'), 'socat listening', { timeoutMs: 10_000 });
      const c = await tcp.open({ connect: '192.0.2.2:5001' });
      assert.equal(await c.sk.write(two), two.length);
      tcp.close(c);
      if (listener.exitCode === null) await once(listener, 'exit');
      assert.equal(listener.exitCode, 0);
      assert.equal(run('sha256sum', [out]).split(' ')[0], sha(two));
    });

    await t.test('closed ports: Linux gets "Connection refused" from the stack, the stack ECONNREFUSED from Linux', async () => {
      const rsts = inet.netstat() as unknown as Record<string, Record<string, number>>;
      const before = rsts.Tcp!.OutRsts!;
      const r = await inNs(['socat', '-u', 'STDIN', 'TCP4:192.0.2.1:9999'], 10_000);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Connection refused/);
      assert.equal((inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.OutRsts, before + 1);
      await assert.rejects(tcp.open({ connect: '192.0.2.2:9999' }), (e: unknown) => e instanceof NetError && e.errno === 'ECONNREFUSED');
    });

    await t.test('a stalled reader: Linux sees zero windows; the transfer completes intact once reading resumes', async () => {
      const l = await tcp.open({ bind: '0.0.0.0:5002', listen: 4, rcvbuf: 32768 });
      let child: TcpEntry | undefined;
      tcp.setAcceptHook(l, (e) => {
        child = e;
      });
      const dump = spawn('ip', ['netns', 'exec', NS_A, 'tcpdump', '-l', '-n', '-i', 'vx0', '-c', '1', 'tcp src port 5002 and tcp[14:2] = 0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      dump.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
      let ready = '';
      dump.stderr!.on('data', (d: Buffer) => (ready += d.toString()));
      await until(() => ready.includes('listening on'), 'tcpdump listening', { timeoutMs: 10_000 });
      const sender = inNs(['sh', '-c', `socat -u FILE:${f1m} TCP4:192.0.2.1:5002`]);
      await until(() => seen.includes('win 0'), 'a zero window advertised to Linux', { timeoutMs: 20_000 });
      const ns = inet.netstat() as unknown as Record<string, Record<string, number>>;
      assert.ok(ns.TcpExt!.TCPToZeroWindowAdv! >= 1);
      const got = await readAll(child!);
      assert.equal((await sender).status, 0);
      assert.ok(got.equals(oneMb), 'the bytes arrived intact');
      if (dump.exitCode === null) dump.kill();
      tcp.close(l);
    });

    await t.test('1 MB echoed intact with 5% netem loss on the stack side; retransmissions counted', async () => {
      const before = (inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.RetransSegs!;
      setLink(stack, 'vx0', { netem: { loss: 5 } });
      try {
        const r = await inNs(['sh', '-c', `socat -t 60 -T 60 - TCP4:192.0.2.1:7 < ${f1m} | sha256sum`], 120_000);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.split(' ')[0], sha(oneMb));
      } finally {
        setLink(stack, 'vx0', { netem: null });
      }
      const after = (inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.RetransSegs!;
      assert.ok(after > before, `RetransSegs ${before} -> ${after}`);
    });

    await t.test('curl gets an HTTP response written by a WebSocket client through the socket stream', async () => {
      const res = await server.request('POST', '/v1/sockets', { body: { type: 'tcp', bind: '192.0.2.1:8080', listen: 4 } });
      assert.equal(res.status, 201, res.text);
      const lid = (res.json as { id: number }).id;
      const lws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/sockets/${lid}/stream`);
      const accepted = new Promise<number>((resolve) => {
        lws.on('message', (d: Buffer, binary: boolean) => {
          if (!binary) {
            const m = JSON.parse(d.toString()) as { type: string; socket?: { id: number } };
            if (m.type === 'accept') resolve(m.socket!.id);
          }
        });
      });
      await once(lws, 'open');
      const curl = inNs(['curl', '-s', '-m', '20', 'http://192.0.2.1:8080/hello'], 30_000);
      const cid = await accepted;
      const cws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/sockets/${cid}/stream`);
      let request = '';
      cws.on('message', (d: Buffer, binary: boolean) => {
        if (binary) request += d.toString();
      });
      await once(cws, 'open');
      await until(() => request.includes('\r\n\r\n'), 'the HTTP request');
      assert.match(request, /^GET \/hello HTTP\/1\.1\r\n/);
      const body = 'hello from netstackd\n';
      cws.send(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
      cws.send('{"type":"shutdown"}');
      const r = await curl;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, body);
      cws.close();
      lws.close();
    });
  } finally {
    await server.close();
    assert.equal(stack.pool.stats.inUse, 0, 'every sk_buff freed once the app and the stack are closed');
    tryRun('ip', ['netns', 'del', NS_A]);
    tryRun('ip', ['link', 'del', IF_A]);
    rmSync(dir, { recursive: true, force: true });
  }
});
