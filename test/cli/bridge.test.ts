// netstackctl link add ... type bridge, link set ... master|nomaster and
// bridge fdb show|add|del against a listening netstackd: bridge(8)'s line
// layout, every change checked in the stack, errors with ip's exit codes.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctl, ctlInProcess, startServer, type TestServer } from './harness.ts';
import { formatMac } from '../../src/wire/mac.ts';

let srv: TestServer;
let url: string;
// In process (runCli), as the table-driven CLI tests do; one real process
// below checks the exit status plumbing of the bridge object.
const run = (...args: string[]) => ctlInProcess(args, { url });

before(async () => {
  srv = await startServer();
  url = srv.url;
});
after(async () => srv.close());

it('builds a bridge with two ports, learns from traffic and shows the table as bridge fdb show', async () => {
  for (const args of [
    ['link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '12000'],
    ['link', 'set', 'dev', 'br0', 'up'],
    ['link', 'add', 'h0', 'address', '02:00:00:00:00:01', 'up', 'type', 'veth', 'peer', 'name', 'p0'],
    ['link', 'add', 'h1', 'up', 'type', 'veth', 'peer', 'name', 'p1'],
    ['link', 'set', 'dev', 'p0', 'up', 'master', 'br0'],
    ['link', 'set', 'p1', 'up', 'master', 'br0'],
    ['send', 'dev', 'h0', 'ffffffffffff02000000000188b5' + '00'.repeat(46)],
    ['bridge', 'fdb', 'add', '02:00:00:00:00:aa', 'dev', 'p1', 'master', 'static'],
  ]) {
    const r = await run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const br = srv.stack.devices.require('br0');
  assert.equal(br.ops.fillInfo!(br)?.['ageing_time'], 12000, 'ageing_time in centiseconds, as ip-link(8) takes it');
  assert.equal(srv.stack.devices.require('p0').master, br);
  srv.stack.drain();
  const mac = (n: string): string => formatMac(srv.stack.devices.require(n).devAddr);
  let r = await run('bridge', 'fdb', 'show');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n'), [
    `${mac('br0')} dev br0 master br0 permanent`,
    ...[`02:00:00:00:00:01 dev p0 master br0`, `${mac('p0')} dev p0 master br0 permanent`].sort(),
    ...[`02:00:00:00:00:aa dev p1 master br0 static`, `${mac('p1')} dev p1 master br0 permanent`].sort(),
    '',
  ]);
  r = await run('bridge', 'fdb', 'show', 'dev', 'p1');
  assert.deepEqual(r.stdout.trim().split('\n').sort(), [`02:00:00:00:00:aa dev p1 master br0 static`, `${mac('p1')} dev p1 master br0 permanent`].sort());
  r = await run('link', 'show', 'dev', 'p0');
  assert.match(r.stdout, /qdisc noqueue master br0 state UP /);
  r = await run('-j', 'bridge', 'fdb', 'show', 'dev', 'p0');
  assert.deepEqual((JSON.parse(r.stdout) as { master: string }[]).map((e) => e.master), ['br0', 'br0']);

  r = await run('bridge', 'fdb', 'del', '02:00:00:00:00:aa', 'dev', 'p1');
  assert.equal(r.code, 0, r.stderr);
  r = await run('bridge', 'fdb', 'del', '02:00:00:00:00:aa', 'dev', 'p1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^RTNETLINK answers: No such file or directory/);
  r = await run('link', 'set', 'dev', 'p1', 'nomaster');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.stack.devices.require('p1').master, null);
  r = await run('link', 'set', 'dev', 'p1', 'master', 'nosuch');
  assert.notEqual(r.code, 0);
  r = await run('bridge', 'fdb', 'add', 'zz', 'dev', 'p0');
  assert.equal(r.code, 255);
  r = await ctl(['bridge', 'fdb', 'show', 'dev', 'nosuch'], { url });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot find device "nosuch"/);
});
