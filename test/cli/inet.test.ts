// netstackctl addr / route / neigh / ping / ss / nstat against a listening
// netstackd with the real stack: each change checked in the stack itself,
// ip's messages and exit codes for what is refused (1 lookup, 2 refused,
// 255 arguments), ping's exit codes (0 replies, 1 none, 2 error).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctl, ctlInProcess, startServer, type TestServer } from './harness.ts';
import { inetOf, type Inet } from '../../src/inet/control.ts';

let srv: TestServer;
let inet: Inet;
const run = (...args: string[]) => ctlInProcess(args, { url: srv.url });

before(async () => {
  srv = await startServer();
  inet = inetOf(srv.stack)!;
  for (const args of [['link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'], ['link', 'set', 'va', 'up'], ['link', 'set', 'vb', 'up']]) {
    const r = await run(...args);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(async () => {
  await srv.close();
  assert.equal(srv.stack.pool.stats.inUse, 0);
});

const addrsOf = (dev: string): string[] =>
  inet.addrList().find((a) => a.ifname === dev)?.addr_info.map((i) => `${i.local}/${i.prefixlen}`) ?? [];

describe('addr', () => {
  it('add, show, del, with ip\'s errors', async () => {
    let r = await run('addr', 'add', '198.51.100.1/24', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(addrsOf('va'), ['198.51.100.1/24']);
    r = await run('addr', 'add', '198.51.100.1/24', 'dev', 'va');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^RTNETLINK answers: File exists\n/);
    r = await run('addr', 'add', '198.51.100.1/24', 'dev', 'nosuch0');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Cannot find device "nosuch0"\n');
    for (const bad of ['300.1.1.1/24', '198.51.100.1/33']) {
      r = await run('addr', 'add', bad, 'dev', 'va');
      assert.equal(r.code, 255, bad);
      assert.match(r.stderr, /any valid prefix is expected/);
    }
    r = await run('addr', 'add', '198.51.100.9/32', 'dev', 'va', 'label', 'va:1');
    assert.equal(r.code, 0, r.stderr);

    r = await run('a', 'show', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^\d+: va@vb: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000$/);
    assert.deepEqual(lines.slice(2), [
      '    inet 198.51.100.1/24 brd 198.51.100.255 scope global va',
      '       valid_lft forever preferred_lft forever',
      '    inet 198.51.100.9/32 scope global va:1',
      '       valid_lft forever preferred_lft forever',
      '',
    ]);
    r = await run('-j', 'addr', 'show', 'va');
    assert.deepEqual(JSON.parse(r.stdout), inet.addrList().filter((a) => a.ifname === 'va'));

    r = await run('addr', 'del', '198.51.100.9/32', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(addrsOf('va'), ['198.51.100.1/24']);
    r = await run('addr', 'del', '198.51.100.9/32', 'dev', 'va');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^RTNETLINK answers: Cannot assign requested address/);
  });
});

describe('route', () => {
  it('add, show, get, del, with ip\'s errors', async () => {
    let r = await run('route', 'add', '203.0.113.0/24', 'via', '198.51.100.254', 'metric', '5');
    assert.equal(r.code, 0, r.stderr);
    r = await run('route', 'add', '192.0.2.0/24', 'via', '192.0.2.1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^RTNETLINK answers: Network is unreachable/);
    r = await run('route', 'add', '192.0.2.0/24', 'dev', 'nosuch0');
    assert.equal(r.code, 1);
    r = await run('route', 'show');
    assert.equal(r.stdout, '198.51.100.0/24 dev va proto kernel scope link src 198.51.100.1 \n203.0.113.0/24 via 198.51.100.254 dev va proto static metric 5 \n');
    r = await run('route', 'get', '203.0.113.7');
    assert.equal(r.stdout, '203.0.113.7 via 198.51.100.254 dev va src 198.51.100.1 \n    cache \n');
    r = await run('route', 'get', '192.0.2.1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Network is unreachable/);
    r = await run('route', 'del', '203.0.113.0/24');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(inet.routeList().length, 1);
    r = await run('route', 'del', '203.0.113.0/24');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'RTNETLINK answers: No such process\n');
    r = await run('route', 'add', '203.0.113.0/24');
    assert.equal(r.code, 255);
  });
});

describe('neigh', () => {
  it('add (permanent), show, del, flush', async () => {
    let r = await run('neigh', 'add', '198.51.100.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'va', 'nud', 'permanent');
    assert.equal(r.code, 0, r.stderr);
    r = await run('neigh', 'show', 'dev', 'va');
    assert.match(r.stdout, /^198\.51\.100\.2 lladdr 02:00:00:00:00:02 PERMANENT $/m);
    r = await run('neigh', 'add', '198.51.100.3', 'lladdr', '02:00:00:00:00:03', 'dev', 'va', 'nud', 'reachable');
    assert.equal(r.code, 255);
    r = await run('neigh', 'del', '198.51.100.2', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!inet.neighList().some((n) => n.dst === '198.51.100.2'));
    r = await run('neigh', 'del', '198.51.100.2', 'dev', 'va');
    assert.equal(r.code, 2);
    r = await run('neigh', 'flush', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('ping', () => {
  it('prints ping\'s lines and exits 0 with replies (a real process)', async () => {
    const r = await ctl(['ping', '-c', '2', '-i', '0.01', '198.51.100.1'], { url: srv.url });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'PING 198.51.100.1 (198.51.100.1) 56(84) bytes of data.');
    assert.match(lines[1]!, /^64 bytes from 198\.51\.100\.1: icmp_seq=1 ttl=64 time=\d+\.\d+ ms$/);
    assert.match(lines[2]!, /^64 bytes from 198\.51\.100\.1: icmp_seq=2 ttl=64 time=\d+\.\d+ ms$/);
    assert.equal(lines[4], '--- 198.51.100.1 ping statistics ---');
    assert.match(lines[5]!, /^2 packets transmitted, 2 received, 0% packet loss, time \d+ms$/);
    assert.match(lines[6]!, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);
  });

  it('exits 1 without a reply, 2 without a route or with a bad argument', async () => {
    let r = await run('ping', '-c', '1', '-W', '0.05', '198.51.100.77');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /1 packets transmitted, 0 received, 100% packet loss/);
    r = await run('ping', '-c', '1', '192.0.2.1');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'ping: connect: Network is unreachable\n');
    r = await run('ping', '-c', 'x', '192.0.2.1');
    assert.equal(r.code, 2);
    r = await run('ping', 'example.invalid');
    assert.equal(r.code, 2);
  });
});

describe('ss and nstat', () => {
  it('ss -u -a lists the UDP sockets, nstat the counters', async () => {
    const sock = inet.udpOpen({ bind: '0.0.0.0:7', service: 'echo' });
    try {
      let r = await run('ss', '-u', '-a', '-n');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nUNCONN 0      0            0.0.0.0:7         0.0.0.0:*          \n');
      r = await run('ss', '-ua');
      assert.match(r.stdout, /0\.0\.0\.0:echo/);
      r = await run('ss', '-w');
      assert.equal(r.code, 255);
      r = await run('nstat', '-z', 'Udp*');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^#kernel\nUdpInDatagrams {18}\d+ +0\.0\n/);
      r = await run('-j', 'nstat', 'IpInReceives');
      assert.equal(typeof (JSON.parse(r.stdout) as { kernel: Record<string, number> }).kernel.IpInReceives, 'number');
    } finally {
      sock.close();
    }
  });
});
