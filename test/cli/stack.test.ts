// netstackctl stats, sysctl, ioctl and sockets against a listening
// netstackd, with what each prints checked against the stack itself.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { createDevice, setLink } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { buildFrame } from '../helpers/frames.ts';
import { ctl, ctlInProcess, getJson, startServer, type TestServer } from './harness.ts';

let srv: TestServer;
let ka: NetDevice;
let kb: NetDevice;
const run = (...args: string[]) => ctl(args, { url: srv.url });

before(async () => {
  srv = await startServer();
  [ka, kb] = (await createDevice(srv.stack, { kind: 'veth', name: 'ka', peer: 'kb', up: true })) as [NetDevice, NetDevice];
  setLink(srv.stack, 'kb', { up: true });
});
after(async () => srv.close());

describe('stats', () => {
  it('prints the skb and backlog counters, the drop reasons that moved, and a row per device', async () => {
    const tx = srv.stack.openPacketSocket({ dev: ka, owner: 'stats test' });
    // Nothing handles this EtherType: each frame ends as an unhandled_proto drop on kb.
    for (let seq = 0; seq < 3; seq++) tx.send(buildFrame({ dst: kb, src: ka, seq }));
    await settle();
    tx.close();
    const r = await run('stats');
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.split('\n');
    const pool = srv.stack.pool.stats;
    assert.equal(out[0], `skbs: ${pool.inUse} in use (${pool.bytes} bytes), ${pool.allocs} allocs, ${pool.frees} frees, ${pool.clones} clones, ${pool.copies} copies, ${pool.allocFailures} alloc failures, ${pool.doubleFrees} double frees`);
    assert.match(out[1]!, /^backlog: 0\/1000 packets, \d+ processed, 0 dropped, 0 time squeeze$/);
    assert.equal(out[2], `drops: ${srv.stack.totalDrops()} in all`);
    assert.ok(out.includes(`    unhandled_proto  ${srv.stack.drops.UNHANDLED_PROTO}`), r.stdout);
    assert.ok(srv.stack.drops.UNHANDLED_PROTO >= 3);
    assert.ok(!out.some((l) => /^ {4}\w+ +0$/.test(l)), 'reasons that did not move are left out without -s');
    const header = out.findIndex((l) => l.startsWith('Iface'));
    assert.match(out[header]!, /^Iface +MTU +RX-OK +RX-BYTES +RX-ERR +RX-DRP +TX-OK +TX-BYTES +TX-ERR +TX-DRP +QLEN +Q-DROP +State$/);
    const row = out.find((l) => l.startsWith('ka '))!.trim().split(/ +/);
    assert.deepEqual(row, ['ka', '1500', '0', '0', '0', '0', String(ka.stats.txPackets), String(ka.stats.txBytes), '0', '0', '0', '0', 'UP']);

    const all = await run('stats', '-s');
    const reasons = Object.keys((await getJson<{ drops: Record<string, number> }>(`${srv.url}/v1/stack`)).drops);
    const width = Math.max(...reasons.map((k) => k.length));
    const listed = all.stdout.split('\n').filter((l) => /^ {4}\w/.test(l));
    assert.equal(listed.length, reasons.length, 'every reason with -s');
    assert.ok(listed.includes(`    ${'socket_rcvbuff'.padEnd(width)}  ${srv.stack.drops.SOCKET_RCVBUFF}`), all.stdout);
  });

  it('-j prints GET /v1/stack as is', async () => {
    const r = await run('-j', 'stats');
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    const direct = await getJson<Record<string, unknown>>(`${srv.url}/v1/stack`);
    // uptime moves between the two requests; everything else is the same.
    delete body.uptime_s;
    delete direct.uptime_s;
    assert.deepEqual(body, direct);
  });
});

describe('sysctl', () => {
  it('lists every sysctl as sysctl(8) does, reads one, and takes prefixes and slashes', async () => {
    const snap = srv.stack.sysctl.snapshot();
    let r = await run('sysctl');
    assert.equal(r.code, 0, r.stderr);
    // A vector prints as the kernel's file reads: tab-separated.
    const shown = (v: unknown): string => (Array.isArray(v) ? v.join('\t') : String(v));
    const expected = Object.keys(snap).sort().map((k) => `${k} = ${shown(snap[k])}`);
    assert.deepEqual(r.stdout.split('\n').slice(0, -1), expected);
    r = await run('sysctl', 'net.core.rmem_default');
    assert.equal(r.stdout, `net.core.rmem_default = ${snap['net.core.rmem_default']}\n`);
    r = await ctlInProcess(['sysctl', '-n', 'net/core/wmem_max'], { url: srv.url });
    assert.equal(r.stdout, `${snap['net.core.wmem_max']}\n`);
    r = await ctlInProcess(['sysctl', 'net.core'], { url: srv.url });
    assert.equal(r.stdout.split('\n').length - 1, Object.keys(snap).filter((k) => k.startsWith('net.core.')).length);
    r = await ctlInProcess(['sysctl', 'net.ipv4.ip_default_ttl'], { url: srv.url });
    assert.equal(r.stdout, 'net.ipv4.ip_default_ttl = 64\n');
  });

  it('-w sets several at once, or none of them when one is refused', async () => {
    let r = await run('sysctl', '-w', 'net.core.rmem_default=100000', 'net.core.netdev_max_backlog=500');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'net.core.rmem_default = 100000\nnet.core.netdev_max_backlog = 500\n');
    assert.equal(srv.stack.sysctl.get('net.core.rmem_default'), 100000);
    assert.equal(srv.stack.sysctl.get('net.core.netdev_max_backlog'), 500);

    r = await run('sysctl', '-w', 'net.core.rmem_default=120000', 'net.core.wmem_default=1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /wmem_default must be within .* \(Invalid argument, EINVAL\)\n$/);
    assert.equal(srv.stack.sysctl.get('net.core.rmem_default'), 100000, 'the valid one was not applied either');

    r = await ctlInProcess(['sysctl', 'net.core.rmem_default=212992'], { url: srv.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stack.sysctl.get('net.core.rmem_default'), 212992);
  });

  it('reads and writes TCP\'s sysctls with Linux\'s syntax: a vector as one quoted word, a congestion control by name', async () => {
    let r = await run('sysctl', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_congestion_control');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'net.ipv4.tcp_rmem = 4096\t131072\t6291456\nnet.ipv4.tcp_congestion_control = cubic\n');
    r = await run('sysctl', '-w', 'net.ipv4.tcp_rmem=4096 87380 6291456', 'net.ipv4.tcp_congestion_control=reno', 'net.ipv4.ip_local_port_range=40000 40100');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'net.ipv4.tcp_rmem = 4096\t87380\t6291456\nnet.ipv4.tcp_congestion_control = reno\nnet.ipv4.ip_local_port_range = 40000\t40100\n',
    );
    assert.deepEqual(srv.stack.sysctl.getVector('net.ipv4.tcp_rmem'), [4096, 87380, 6291456]);
    // What sysctl(8) prints (tabs) is taken back as it is.
    r = await run('sysctl', '-w', 'net.ipv4.tcp_rmem=4096\t131072\t6291456', 'net.ipv4.tcp_congestion_control=cubic', 'net.ipv4.ip_local_port_range=32768 60999');
    assert.equal(r.code, 0, r.stderr);
    r = await run('sysctl', '-w', 'net.ipv4.tcp_congestion_control=vegas');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /vegas.*\(No such file or directory, ENOENT\)\n$/);
    r = await run('sysctl', '-w', 'net.ipv4.tcp_wmem=4096 16384', 'net.ipv4.tcp_syn_retries=3');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /tcp_wmem takes 3 integers.*\(Invalid argument, EINVAL\)\n$/);
    assert.equal(srv.stack.sysctl.get('net.ipv4.tcp_syn_retries'), 6, 'the valid one was not applied either');
    assert.equal(srv.stack.sysctl.getString('net.ipv4.tcp_congestion_control'), 'cubic');
    // A read-only sysctl is the operation's refusal, not a token matter: no hint about --token.
    r = await run('sysctl', '-w', 'net.ipv4.tcp_available_congestion_control=reno');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /read-only.*EACCES/);
    assert.doesNotMatch(r.stderr, /--token/);
  });

  it('unknown names are exit 1; values that are not integers exit 255', async () => {
    let r = await run('sysctl', '-w', 'net.core.nope=1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /net\.core\.nope.*\(No such file or directory, ENOENT\)\n$/);
    r = await ctlInProcess(['sysctl', 'net.core.nope'], { url: srv.url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot stat sysctl "net\.core\.nope"/);
    r = await ctlInProcess(['sysctl', '-w', 'net.core.rmem_default=lots'], { url: srv.url });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /takes an integer/);
    r = await ctlInProcess(['sysctl', '-w', 'net.core.rmem_default'], { url: srv.url });
    assert.equal(r.code, 255);
  });
});

describe('ioctl', () => {
  it('reads and sets ifreq fields', async () => {
    let r = await run('ioctl', 'dev', 'ka', 'SIOCGIFFLAGS');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `SIOCGIFFLAGS ifr_name ka\nifr_flags 0x${ka.visibleFlags().toString(16)} <BROADCAST,MULTICAST,UP,LOWER_UP>\n`);
    r = await run('ioctl', 'dev', 'ka', 'SIOCSIFMTU', 'ifr_mtu', '1400');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ka.mtu, 1400);
    r = await run('-j', 'ioctl', 'ka', 'SIOCGIFINDEX');
    assert.deepEqual(JSON.parse(r.stdout), { request: 'SIOCGIFINDEX', ifr_name: 'ka', ifr_ifindex: ka.ifindex });
    r = await ctlInProcess(['ioctl', 'dev', 'ka', 'SIOCSIFFLAGS', 'flags', 'BROADCAST,MULTICAST'], { url: srv.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ka.isUp(), false);
  });

  it('errors: unsupported is exit 2, unknown device 1, a missing request 255', async () => {
    let r = await run('ioctl', 'dev', 'ka', 'SIOCSIFMAP', 'irq', '5');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(Operation not supported, EOPNOTSUPP\)\n$/);
    r = await ctlInProcess(['ioctl', 'dev', 'nosuch', 'SIOCGIFMTU'], { url: srv.url });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
    r = await ctlInProcess(['ioctl', 'dev', 'ka'], { url: srv.url });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /which ioctl\?/);
  });
});

describe('sockets', () => {
  it('lists packet sockets as ss -0, with the memory each has charged', async () => {
    const sock = srv.stack.openPacketSocket({ dev: kb, protocol: 0x0806, direction: 'in', owner: 'sockets test' });
    try {
      const r = await run('sockets');
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.split('\n');
      assert.match(out[0]!, /^Netid +State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Id +Dir +Rcvbuf +Sndbuf +Queue +Drops +Rx +Tx +Process$/);
      const row = out.find((l) => l.endsWith('sockets test'))!.split(/ +/);
      assert.deepEqual(row, ['p_raw', 'UNCONN', '0', '0', 'arp:kb', '*', String(sock.id), 'in', String(sock.sk.rcvbuf), String(sock.sk.sndbuf), '0', '0', '0', '0', 'sockets', 'test']);
      const j = await run('-j', 'sockets');
      assert.deepEqual(JSON.parse(j.stdout), await getJson(`${srv.url}/v1/sockets`));
    } finally {
      sock.close();
    }
  });
});
