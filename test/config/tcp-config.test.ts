// TCP in the config and state files: its sysctls in Linux's syntax (a
// vector as the text sysctl prints or as an array, the congestion control by
// name), checked like every other entry and refused with the place they are
// at; a state file keeps them and brings them back. TCP listeners running a
// service are configuration too (client connections are not).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack } from '../../src/stack/index.ts';
import { applySetup } from '../../src/config/apply.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig, parseState } from '../../src/config/load.ts';
import { snapshotStack } from '../../src/config/snapshot.ts';
import { attachInet, inetOf } from '../../src/inet/control.ts';
import { tcpOf, type TcpGlue } from '../../src/inet/tcp-glue.ts';
import { runFor } from '../helpers/inet.ts';

function refusal(text: string, file = 'lab.yaml'): string {
  try {
    parseConfig(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config was accepted');
}

const SYSCTL_YAML = [
  'sysctl:',
  '  net.ipv4.tcp_rmem: 4096 87380 6291456',
  '  net.ipv4.tcp_wmem: [8192, 32768, 4194304]',
  '  net.ipv4.tcp_congestion_control: reno',
  '  net.ipv4.ip_local_port_range: "40000\t50000"',
  '  net.ipv4.tcp_syncookies: 0',
  '  net.ipv4.tcp_keepalive_time: 600',
  '  net.ipv4.tcp_max_syn_backlog: 512',
].join('\n');

describe('config: TCP sysctls', () => {
  it('are read in Linux\'s syntax, applied, saved in the state file and brought back', async () => {
    const c = parseConfig(SYSCTL_YAML, 'lab.yaml');
    const a = new NetStack({ clock: new VirtualClock() });
    await applySetup(a, c, 'config lab.yaml');
    assert.deepEqual(a.sysctl.getVector('net.ipv4.tcp_rmem'), [4096, 87380, 6291456]);
    assert.deepEqual(a.sysctl.getVector('net.ipv4.tcp_wmem'), [8192, 32768, 4194304]);
    assert.equal(a.sysctl.getString('net.ipv4.tcp_congestion_control'), 'reno');
    assert.deepEqual(a.sysctl.getVector('net.ipv4.ip_local_port_range'), [40000, 50000]);
    assert.equal(a.sysctl.get('net.ipv4.tcp_syncookies'), 0);

    const { state } = snapshotStack(a);
    assert.deepEqual(state.sysctl['net.ipv4.tcp_rmem'], [4096, 87380, 6291456], 'a vector is saved as an array');
    assert.equal(state.sysctl['net.ipv4.tcp_congestion_control'], 'reno');
    assert.equal(state.sysctl['net.ipv4.tcp_available_congestion_control'], undefined, 'a read-only sysctl is not configuration');
    const b = new NetStack({ clock: new VirtualClock() });
    await applySetup(b, parseState(JSON.stringify(state), 'state.json'), 'state state.json');
    assert.deepEqual(b.sysctl.snapshot(), a.sysctl.snapshot());
    a.close();
    b.close();
  });

  it('a state file of an older version, with the port range as two sysctls, still loads', async () => {
    const old = { version: 1, saved_at: 'x', devices: [], sysctl: { 'net.ipv4.ip_local_port_range_min': 61000, 'net.ipv4.ip_local_port_range_max': 62000 } };
    const s = new NetStack({ clock: new VirtualClock() });
    await applySetup(s, parseState(JSON.stringify(old), 'state.json'), 'state state.json');
    assert.deepEqual(s.sysctl.getVector('net.ipv4.ip_local_port_range'), [61000, 62000]);
    assert.equal(snapshotStack(s).state.sysctl['net.ipv4.ip_local_port_range_min'], undefined, 'saved again under Linux\'s one name');
    s.close();
  });

  it('an older state file whose port range Linux would refuse still loads, with the default range, and says so', async () => {
    for (const [min, max] of [[50000, 40000], [7, 60999]] as const) {
      const old = { version: 1, saved_at: 'x', devices: [], sysctl: { 'net.ipv4.ip_local_port_range_min': min, 'net.ipv4.ip_local_port_range_max': max, 'net.ipv4.tcp_sack': 0 } };
      let said: string[] = [];
      const state = parseState(JSON.stringify(old), 'state.json', { sysctls: (d) => (said = d) });
      assert.match(said.join(), new RegExp(`ip_local_port_range ${min} ${max}.*default applies`));
      const s = new NetStack({ clock: new VirtualClock() });
      await applySetup(s, state, 'state state.json');
      assert.deepEqual(s.sysctl.getVector('net.ipv4.ip_local_port_range'), [32768, 60999]);
      assert.equal(s.sysctl.get('net.ipv4.tcp_sack'), 0, 'the rest of the file applies');
      s.close();
    }
  });

  it('a config holding GET /v1/stack\'s whole map, read-only entries included, applies', async () => {
    const a = new NetStack({ clock: new VirtualClock() });
    attachInet(a);
    const copied = { ...a.sysctl.snapshot(), 'net.ipv4.tcp_congestion_control': 'reno' };
    const c = parseConfig(JSON.stringify({ sysctl: copied }), 'lab.json');
    const b = new NetStack({ clock: new VirtualClock() });
    await applySetup(b, c, 'config lab.json');
    assert.equal(b.sysctl.getString('net.ipv4.tcp_congestion_control'), 'reno');
    assert.throws(() => b.sysctl.set({ 'net.ipv4.tcp_available_congestion_control': 'reno' }), /read-only/, 'a different value is still refused');
    a.close();
    b.close();
  });

  it('refuses a bad value, naming the sysctl', () => {
    const bad: [string, RegExp][] = [
      ['net.ipv4.tcp_congestion_control: bbr', /sysctl\["net\.ipv4\.tcp_congestion_control"\].*"bbr" is not available \(reno, cubic\)/],
      ['net.ipv4.tcp_congestion_control: 1', /sysctl\["net\.ipv4\.tcp_congestion_control"\]/],
      ['net.ipv4.tcp_rmem: 4096 131072', /sysctl\["net\.ipv4\.tcp_rmem"\].*takes 3 integers/],
      ['net.ipv4.tcp_rmem: [4096, 8388608, 6291456]', /sysctl\["net\.ipv4\.tcp_rmem"\].*decreases/],
      ['net.ipv4.tcp_wmem: 16384', /sysctl\["net\.ipv4\.tcp_wmem"\]/],
      ['net.ipv4.ip_local_port_range: 60999 32768', /sysctl\["net\.ipv4\.ip_local_port_range"\].*decreases/],
      ['net.ipv4.ip_local_port_range: 7 7', /sysctl\["net\.ipv4\.ip_local_port_range"\].*at least 1024/],
      ['net.ipv4.tcp_syn_retries: 200', /sysctl\["net\.ipv4\.tcp_syn_retries"\].*within 1\.\.127/],
      ['net.ipv4.tcp_sack: "1"', /sysctl\["net\.ipv4\.tcp_sack"\].*takes an integer/],
      ['net.ipv4.tcp_nope: 1', /sysctl\["net\.ipv4\.tcp_nope"\].*unknown sysctl/],
      ['net.ipv4.tcp_available_congestion_control: cubic', /sysctl\["net\.ipv4\.tcp_available_congestion_control"\].*read-only/],
    ];
    for (const [line, re] of bad) assert.match(refusal(`sysctl:\n  net.ipv4.tcp_timestamps: 0\n  ${line}\n`), re, line);
  });
});

const SOCKETS_YAML = [
  'sockets:',
  '  - { bind: "0.0.0.0:7", service: echo }',
  '  - { type: tcp, bind: "0.0.0.0:7", service: echo, backlog: 16, rcvbuf: 65536, nodelay: true }',
  '  - { type: tcp, bind: "127.0.0.1:9", service: discard }',
].join('\n');

/** A fresh stack with IPv4 and TCP, on a virtual clock. */
function freshStack(): { stack: NetStack; clock: VirtualClock } {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  attachInet(stack);
  return { stack, clock };
}

function tcp(stack: NetStack): TcpGlue {
  return tcpOf(inetOf(stack)!)!;
}

/** Connect over lo, send `text`, and read what comes back (the echo service answers). */
async function echoed(clock: VirtualClock, t: TcpGlue, to: string, text: string): Promise<string> {
  const c = await runFor(clock, t.open({ connect: to }));
  void c.sk.write(Buffer.from(text));
  let got = '';
  while (got.length < text.length) {
    const r = await runFor(clock, c.sk.read(65536));
    assert.ok(r !== null, 'the echo service closed before answering');
    got += r.toString();
  }
  t.close(c, true);
  return got;
}

describe('config: TCP service listeners', () => {
  it('are opened from the file, saved in the state file with their options (client connections are not), and come back answering', async () => {
    const c = parseConfig(SOCKETS_YAML, 'lab.yaml');
    assert.deepEqual(c.sockets, [
      { type: 'udp', bind: '0.0.0.0:7', service: 'echo' },
      { type: 'tcp', bind: '0.0.0.0:7', service: 'echo', backlog: 16, rcvbuf: 65536, nodelay: true },
      { type: 'tcp', bind: '127.0.0.1:9', service: 'discard' },
    ]);
    const a = freshStack();
    await applySetup(a.stack, c, 'config lab.yaml');
    const ta = tcp(a.stack);
    const listeners = ta.list().map((e) => ta.describe(e));
    assert.deepEqual(listeners.map((l) => [l.state, l.local, l.service]), [['LISTEN', '0.0.0.0:7', 'echo'], ['LISTEN', '127.0.0.1:9', 'discard']]);
    assert.equal(listeners[0]!.rcvbuf, 131072, 'SO_RCVBUF 65536, stored doubled');
    assert.equal(await echoed(a.clock, ta, '127.0.0.1:7', 'hello'), 'hello');
    // A client connection stays open while the state is taken: it is not configuration.
    const client = await runFor(a.clock, ta.open({ connect: '127.0.0.1:9' }));

    const { state } = snapshotStack(a.stack);
    assert.deepEqual(state.sockets, [
      { type: 'udp', bind: '0.0.0.0:7', service: 'echo' },
      { type: 'tcp', bind: '0.0.0.0:7', service: 'echo', backlog: 16, rcvbuf: 65536, nodelay: true },
      { type: 'tcp', bind: '127.0.0.1:9', service: 'discard', backlog: 128 },
    ]);
    ta.close(client, true);

    const b = freshStack();
    await applySetup(b.stack, parseState(JSON.stringify(state), 'state.json'), 'state state.json');
    const tb = tcp(b.stack);
    assert.deepEqual(tb.serviceListeners(), ta.serviceListeners());
    assert.deepEqual(snapshotStack(b.stack).state.sockets, state.sockets, 'the snapshot is a fixed point');
    assert.equal(await echoed(b.clock, tb, '127.0.0.1:7', 'restored'), 'restored');
    a.stack.close();
    b.stack.close();
  });

  it('refuses a bad TCP entry, naming where it is; a listener that cannot open is refused when applied', async () => {
    const bad: [string, RegExp][] = [
      ['{ type: tcp, bind: "0.0.0.0:0", service: echo }', /sockets\[0\]\.bind: a listener needs a port/],
      ['{ type: tcp, bind: "0.0.0.0:7" }', /sockets\[0\]\.service/],
      ['{ type: tcp, bind: "0.0.0.0:7", service: echo, connect: "192.0.2.1:7" }', /sockets\[0\]\.connect: unknown key/],
      ['{ type: tcp, bind: "0.0.0.0:7", service: echo, backlog: -1 }', /sockets\[0\]\.backlog/],
      ['{ type: tcp, bind: "0.0.0.0:7", service: ssh }', /sockets\[0\]\.service/],
      ['{ type: sctp, bind: "0.0.0.0:7", service: echo }', /sockets\[0\]\.type/],
    ];
    for (const [entry, re] of bad) assert.match(refusal(`sockets:\n  - ${entry}\n`), re, entry);

    const twice = parseConfig('sockets:\n  - { type: tcp, bind: "0.0.0.0:7", service: echo }\n  - { type: tcp, bind: "127.0.0.1:7", service: discard }\n', 'lab.yaml');
    const s = freshStack();
    await assert.rejects(applySetup(s.stack, twice, 'config lab.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /sockets\[1\] \(tcp 127\.0\.0\.1:7 discard\): EADDRINUSE/);
      return true;
    });
    const elsewhere = parseConfig('sockets:\n  - { type: tcp, bind: "198.51.100.1:7", service: echo }\n', 'lab.yaml');
    await assert.rejects(applySetup(s.stack, elsewhere, 'config lab.yaml'), /sockets\[0\].*EADDRNOTAVAIL/);
    s.stack.close();
  });
});

describe('state: service sockets whose address is gone', () => {
  it('are left out of the state file (it would never load again) while they stay open, and come back into it with the address', async () => {
    const setup = parseConfig(
      [
        'devices:',
        '  - { kind: dummy, name: lab0, up: true }',
        'addresses:',
        '  - { dev: lab0, address: 198.51.100.1/24 }',
        'sockets:',
        '  - { bind: "198.51.100.1:7", service: echo }',
        '  - { type: tcp, bind: "198.51.100.1:9", service: discard }',
        '  - { type: tcp, bind: "0.0.0.0:7", service: echo }',
      ].join('\n'),
      'lab.yaml',
    );
    const a = freshStack();
    await applySetup(a.stack, setup, 'config lab.yaml');
    assert.equal(snapshotStack(a.stack).state.sockets!.length, 3);

    inetOf(a.stack)!.addrDel('lab0', '198.51.100.1/24');
    const { state, skippedSockets } = snapshotStack(a.stack);
    assert.deepEqual(skippedSockets, ['udp 198.51.100.1:7 echo', 'tcp 198.51.100.1:9 discard']);
    assert.deepEqual(state.sockets, [{ type: 'tcp', bind: '0.0.0.0:7', service: 'echo', backlog: 128 }]);
    assert.equal(tcp(a.stack).serviceListeners().length, 2, 'the listener itself stays open, as Linux keeps it');
    // The file without them loads: before, it named 198.51.100.1 and the next start exited 2 (EADDRNOTAVAIL).
    const b = freshStack();
    await applySetup(b.stack, parseState(JSON.stringify(state), 'state.json'), 'state state.json');
    assert.deepEqual(tcp(b.stack).serviceListeners(), [{ bind: '0.0.0.0:7', service: 'echo', backlog: 128 }]);

    inetOf(a.stack)!.addrAdd('lab0', '198.51.100.1/24');
    assert.equal(snapshotStack(a.stack).state.sockets!.length, 3, 'saved again once the address is back');
    a.stack.close();
    b.stack.close();
  });
});
