// The internet layer's layouts against the real tools, in a network
// namespace this test creates (and removes): Linux's own `ip -j` answers go
// through our formatters and must come out as `ip addr|route|neigh show`
// prints them, byte for byte; ping's and ss's lines likewise from what the
// real ping and ss reported. Only what the stack has no notion of is set
// aside: inet6 addresses, and the `uid N` of `ip route get`.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { DeviceJson, IfAddrJson, NeighJson, PingResultJson, RouteJson, UdpSocketJson } from '../../src/cli/api-types.ts';
import { formatAddr, formatNeigh, formatNstat, formatPingBody, formatPingHeader, formatRoute, formatRouteGet, pingTime } from '../../src/cli/format/inet.ts';
import { formatSs } from '../../src/cli/commands/ss.ts';
import { until } from '../helpers/wait.ts';

const ns = `nsinet${process.pid}`;
let usable: string | null = null;

function canUseNamespaces(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  try {
    execFileSync('ip', ['netns', 'add', ns]);
  } catch {
    return 'cannot create a network namespace here';
  }
  return null;
}

const ip = (...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
const inNs = (cmd: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });

before(() => {
  usable = canUseNamespaces();
  if (usable !== null) return;
  ip('link', 'add', 'name', 'va', 'address', '02:00:00:00:00:0a', 'type', 'veth', 'peer', 'name', 'vb', 'address', '02:00:00:00:00:0b');
  ip('link', 'set', 'lo', 'up');
  ip('link', 'set', 'va', 'up');
  ip('link', 'set', 'vb', 'up');
  // The stack gives an address its broadcast, as `brd +` asks Linux to.
  ip('addr', 'add', '198.51.100.1/24', 'brd', '+', 'dev', 'va');
  ip('addr', 'add', '198.51.100.9/32', 'dev', 'va', 'label', 'va:1');
  ip('addr', 'add', '198.51.100.2/24', 'brd', '+', 'dev', 'vb');
  // The stack's routes are "static" (ip route add's own default, RTPROT_BOOT, is not printed).
  ip('route', 'add', '203.0.113.0/24', 'via', '198.51.100.254', 'metric', '5', 'proto', 'static', 'dev', 'va');
  ip('route', 'add', 'default', 'via', '198.51.100.254', 'proto', 'static', 'dev', 'va');
  ip('neigh', 'add', '198.51.100.254', 'lladdr', '02:00:00:00:00:fe', 'dev', 'va', 'nud', 'permanent');
});

after(() => {
  if (usable === null) execFileSync('ip', ['netns', 'del', ns]);
});

describe('layouts against iproute2, ping and ss in a namespace', () => {
  it('ip addr show (the inet lines; inet6 set aside)', (t) => {
    if (usable !== null) return t.skip(usable);
    for (const dev of ['va', 'vb', 'lo']) {
      const json = (JSON.parse(ip('-j', 'addr', 'show', 'dev', dev)) as (IfAddrJson & DeviceJson)[]).map((a) => ({
        ...a,
        addr_info: a.addr_info.filter((i) => i.family === 'inet'),
      }));
      const byName = new Map<string, DeviceJson>(json.map((d) => [d.ifname, d]));
      const theirs = ip('addr', 'show', 'dev', dev).replace(/ {4}inet6 .*\n {7}valid_lft .*\n/g, '');
      assert.equal(json.map((a) => formatAddr(a, a, byName)).join(''), theirs, `ip addr show dev ${dev}`);
    }
  });

  it('ip route show and ip route get', (t) => {
    if (usable !== null) return t.skip(usable);
    const routes = JSON.parse(ip('-j', 'route', 'show')) as RouteJson[];
    assert.equal(routes.map(formatRoute).join(''), ip('route', 'show'));
    for (const dst of ['203.0.113.5', '198.51.100.7', '192.0.2.1', '198.51.100.1']) {
      const [r] = JSON.parse(ip('-j', 'route', 'get', dst)) as RouteJson[];
      assert.equal(formatRouteGet(dst, r!), ip('route', 'get', dst).replace(/ uid \d+/, ''), `ip route get ${dst}`);
    }
  });

  it('ip neigh show, with and without dev', (t) => {
    if (usable !== null) return t.skip(usable);
    const all = JSON.parse(ip('-j', 'neigh', 'show')) as NeighJson[];
    assert.equal(all.map((n) => formatNeigh(n, true)).join(''), ip('neigh', 'show'));
    const one = JSON.parse(ip('-j', 'neigh', 'show', 'dev', 'va')) as NeighJson[];
    assert.equal(one.map((n) => formatNeigh({ ...n, dev: 'va' }, false)).join(''), ip('neigh', 'show', 'dev', 'va'));
  });

  it("ping's lines, rebuilt from what the real ping reported", (t) => {
    if (usable !== null) return t.skip(usable);
    for (const [dst, size] of [['198.51.100.2', 56], ['198.51.100.1', 1000]] as const) {
      const theirs = inNs('ping', '-c', '3', '-i', '0.2', '-s', String(size), dst);
      const replies = [...theirs.matchAll(/^\d+ bytes from (\S+): icmp_seq=(\d+) ttl=(\d+) time=(\S+) ms$/gm)].map((m) => ({
        from: m[1]!,
        seq: Number(m[2]),
        ttl: Number(m[3]),
        time_ms: Number(m[4]),
      }));
      assert.equal(replies.length, 3, theirs);
      for (const r of replies) assert.equal(pingTime(r.time_ms), theirs.match(new RegExp(`icmp_seq=${r.seq} ttl=\\d+ time=(\\S+) ms`))![1]);
      const summary = /time (\d+)ms\nrtt min\/avg\/max\/mdev = (\S+)\/(\S+)\/(\S+)\/(\S+) ms/.exec(theirs)!;
      const res: PingResultJson = {
        dst,
        transmitted: 3,
        received: 3,
        loss_percent: 0,
        rtt_ms: { min: Number(summary[2]), avg: Number(summary[3]), max: Number(summary[4]), mdev: Number(summary[5]) },
        replies,
        errors: [],
      };
      assert.equal(formatPingHeader({ dst, size }) + formatPingBody(res, size, Number(summary[1])), theirs);
    }
  });

  it('ss -u -a [-n], from sockets socat holds (one bound, one connected)', async (t) => {
    if (usable !== null) return t.skip(usable);
    const socats: ChildProcess[] = [];
    try {
      socats.push(spawn('ip', ['netns', 'exec', ns, 'socat', '-u', 'UDP-RECV:7,bind=0.0.0.0', '-'], { stdio: 'ignore' }));
      socats.push(spawn('ip', ['netns', 'exec', ns, 'socat', '-u', '-', 'UDP:198.51.100.2:9000,bind=198.51.100.1:52994'], { stdio: ['pipe', 'ignore', 'ignore'] }));
      let theirs = '';
      await until(() => {
        theirs = inNs('ss', '-u', '-a', '-n');
        return theirs.includes(':7 ') && theirs.includes(':52994 ');
      }, 'socat bound to port 7 and connected from 52994');
      const sockets: UdpSocketJson[] = [
        { id: 1, family: 'inet', type: 'dgram', state: 'UNCONN', local: '0.0.0.0:7', peer: '0.0.0.0:*', recv_q: 0, send_q: 0 },
        { id: 2, family: 'inet', type: 'dgram', state: 'ESTAB', local: '198.51.100.1:52994', peer: '198.51.100.2:9000', recv_q: 0, send_q: 0 },
      ];
      // ss lists sockets in its hash table's order: compare the header, then the lines as a set.
      const lines = (text: string): [string, string[]] => {
        const [head, ...rest] = text.split('\n');
        return [head!, rest.filter((l) => l !== '').sort()];
      };
      assert.deepEqual(lines(formatSs(sockets, true, false)), lines(theirs));
      assert.deepEqual(lines(formatSs(sockets, false, false)), lines(inNs('ss', '-u', '-a')));
    } finally {
      for (const c of socats) c.kill();
    }
  });

  it("nstat's columns", (t) => {
    if (usable !== null) return t.skip(usable);
    const theirs = inNs('nstat', '-a', '-z', 'UdpInDatagrams', 'IpInReceives');
    const values = Object.fromEntries([...theirs.matchAll(/^(\w+)\s+(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
    assert.equal(formatNstat({ Ip: { InReceives: values.IpInReceives! }, Udp: { InDatagrams: values.UdpInDatagrams! } }, true), theirs);
  });
});

describe('ping layout without a namespace', () => {
  it('errors and no reply: iputils 20221126 "From ..." lines, "+N errors", no rtt line', () => {
    const res: PingResultJson = {
      dst: '198.51.100.1',
      transmitted: 2,
      received: 0,
      loss_percent: 100,
      rtt_ms: null,
      replies: [],
      errors: [
        { seq: 2, from: '198.51.100.2', message: 'Destination Host Unreachable' },
        { seq: 1, from: '198.51.100.2', message: 'Destination Host Unreachable' },
      ],
    };
    // As iputils printed it here (its ", pipe N" aside: the service does not report the pipe).
    assert.equal(
      formatPingHeader({ dst: '198.51.100.1', size: 56 }) + formatPingBody(res, 56, 203),
      'PING 198.51.100.1 (198.51.100.1) 56(84) bytes of data.\n' +
        'From 198.51.100.2 icmp_seq=1 Destination Host Unreachable\n' +
        'From 198.51.100.2 icmp_seq=2 Destination Host Unreachable\n' +
        '\n--- 198.51.100.1 ping statistics ---\n' +
        '2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 203ms\n' +
        '\n',
    );
  });

  it("reply times with iputils' precision", () => {
    assert.deepEqual([0.0456, 1.234, 12.345, 123.4].map(pingTime), ['0.046', '1.23', '12.3', '123']);
  });
});
