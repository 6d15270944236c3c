// netstackctl qdisc: the layout is tc's, checked against the real tc in a
// network namespace this test creates (tc's own JSON fed to our formatter
// must print exactly what tc prints), and the commands against a listening
// netstackd.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { formatQdisc, formatSize, type QdiscJson } from '../../src/cli/format/qdisc.ts';
import { ctl, ctlInProcess, startServer, type TestServer } from './harness.ts';

function tcUsable(): boolean {
  try {
    execFileSync('tc', ['-V'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

describe('qdisc layout', () => {
  it('prints what tc -s qdisc show prints, from tc -s -j qdisc show', (t) => {
    if (!tcUsable()) return t.skip('needs root and tc to create a network namespace');
    const ns = `nsqd${process.pid}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
    } catch {
      return t.skip('cannot create a network namespace here');
    }
    try {
      const ip = (...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
      const tc = (...args: string[]): string => execFileSync('tc', ['-n', ns, ...args], { encoding: 'utf8' });
      // No IPv6: its router solicitations would change the counters between two reads.
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      ip('link', 'add', 'qa', 'type', 'veth', 'peer', 'name', 'qb');
      ip('link', 'add', 'qc', 'type', 'veth', 'peer', 'name', 'qd');
      for (const d of ['lo', 'qa', 'qb', 'qc', 'qd']) ip('link', 'set', 'dev', d, 'up');
      tc('qdisc', 'replace', 'dev', 'qa', 'root', 'pfifo', 'limit', '50');
      tc('qdisc', 'replace', 'dev', 'qb', 'root', 'bfifo', 'limit', '3000');
      tc('qdisc', 'replace', 'dev', 'qc', 'root', 'pfifo_fast');
      for (const s of [[], ['-s']]) {
        const all = JSON.parse(tc(...s, '-j', 'qdisc', 'show')) as QdiscJson[];
        const mine = all.map((q) => formatQdisc(q, { stats: s.length > 0, withDev: true })).join('');
        assert.equal(mine, tc(...s, 'qdisc', 'show'), `tc ${s.join(' ')} qdisc show`);
        for (const dev of ['lo', 'qa', 'qb', 'qc', 'qd']) {
          const one = JSON.parse(tc(...s, '-j', 'qdisc', 'show', 'dev', dev)) as QdiscJson[];
          assert.equal(one.map((q) => formatQdisc(q, { stats: s.length > 0, withDev: false })).join(''), tc(...s, 'qdisc', 'show', 'dev', dev), `tc qdisc show dev ${dev}`);
        }
      }
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it('prints sizes as tc does', () => {
    assert.equal(formatSize(0), '0b');
    assert.equal(formatSize(3000), '3000b');
    assert.equal(formatSize(64 * 1024), '64Kb');
    assert.equal(formatSize(2 * 1024 * 1024), '2Mb');
  });
});

describe('qdisc commands', () => {
  let srv: TestServer;
  let url: string;
  // In this process (the exit-status plumbing of a real child is checked once below).
  const run = (...args: string[]) => ctlInProcess(args, { url });
  before(async () => {
    srv = await startServer();
    url = srv.url;
  });
  after(async () => srv.close());

  it('replace attaches a root qdisc and show prints it in tc layout; bad words and kinds change nothing', async () => {
    let r = await run('link', 'add', 'qv0', 'type', 'veth', 'peer', 'name', 'qv1');
    assert.equal(r.code, 0, r.stderr);
    r = await run('link', 'set', 'dev', 'qv0', 'up');
    r = await run('link', 'set', 'dev', 'qv1', 'up');
    r = await run('qdisc', 'show', 'dev', 'qv0');
    assert.equal(r.stdout, 'qdisc noqueue 0: root refcnt 2 \n');
    r = await ctl(['qdisc', 'replace', 'dev', 'qv0', 'root', 'pfifo', 'limit', '50'], { url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'tc prints nothing');
    const dev = srv.stack.devices.get('qv0')!;
    assert.equal(dev.qdisc?.kind, 'pfifo');
    r = await run('-s', 'qdisc', 'show', 'dev', 'qv0');
    assert.match(r.stdout, /^qdisc pfifo [0-9a-f]+: root refcnt 3 limit 50p\n Sent 0 bytes 0 pkt \(dropped 0, overlimits 0 requeues 0\) \n backlog 0b 0p requeues 0\n$/);
    r = await run('qdisc', 'show');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^qdisc noqueue 0: dev lo root refcnt 2 \n/);
    assert.match(r.stdout, /\nqdisc pfifo [0-9a-f]+: dev qv0 root refcnt 3 limit 50p\nqdisc noqueue 0: dev qv1 root refcnt 2 \n$/);
    r = await run('-j', 'qdisc', 'show', 'dev', 'qv0');
    assert.equal((JSON.parse(r.stdout) as QdiscJson[])[0]!.kind, 'pfifo');
    r = await run('qdisc', 'replace', 'dev', 'qv0', 'root', 'pfifo_fast', 'limit', '5');
    assert.equal(r.code, 2, 'refused by the service: pfifo_fast takes no limit');
    assert.match(r.stderr, /EINVAL|takes no limit/);
    r = await run('qdisc', 'replace', 'dev', 'qv0', 'root', 'sfq');
    assert.equal(r.code, 255);
    r = await run('qdisc', 'replace', 'dev', 'nope0', 'root', 'pfifo');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot find device "nope0"/);
    assert.equal(dev.qdisc?.kind, 'pfifo', 'nothing changed');
  });
});

describe('stats table', () => {
  it('QLEN is the root qdisc\'s qlen (tc\'s word), not a running total', async () => {
    const { formatDeviceCounters } = await import('../../src/cli/commands/stats.ts');
    const out = formatDeviceCounters([
      { ifindex: 2, ifname: 'q0', mtu: 1500, operstate: 'UP', queue: { qlen: 7, backlog: 420, packets: 99, bytes: 5940, drops: 3 } } as never,
    ]).split('\n');
    assert.match(out[1]!, /^q0 +1500 +0 +0 +0 +0 +0 +0 +0 +0 +7 +3 +UP$/);
  });
});
