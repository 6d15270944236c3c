// TCP in the config and state files: its sysctls in Linux's syntax (a
// vector as the text sysctl prints or as an array, the congestion control by
// name), checked like every other entry and refused with the place they are
// at; a state file keeps them and brings them back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack } from '../../src/stack/index.ts';
import { applySetup } from '../../src/config/apply.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig, parseState } from '../../src/config/load.ts';
import { snapshotStack } from '../../src/config/snapshot.ts';

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

  it('refuses a bad value, naming the sysctl', () => {
    const bad: [string, RegExp][] = [
      ['net.ipv4.tcp_congestion_control: bbr', /sysctl\["net\.ipv4\.tcp_congestion_control"\].*"bbr" is not available \(reno, cubic\)/],
      ['net.ipv4.tcp_congestion_control: 1', /sysctl\["net\.ipv4\.tcp_congestion_control"\]/],
      ['net.ipv4.tcp_rmem: 4096 131072', /sysctl\["net\.ipv4\.tcp_rmem"\].*takes 3 integers/],
      ['net.ipv4.tcp_rmem: [4096, 8388608, 6291456]', /sysctl\["net\.ipv4\.tcp_rmem"\].*decreases/],
      ['net.ipv4.tcp_wmem: 16384', /sysctl\["net\.ipv4\.tcp_wmem"\]/],
      ['net.ipv4.ip_local_port_range: 60999 32768', /sysctl\["net\.ipv4\.ip_local_port_range"\].*decreases/],
      ['net.ipv4.tcp_syn_retries: 200', /sysctl\["net\.ipv4\.tcp_syn_retries"\].*within 1\.\.127/],
      ['net.ipv4.tcp_sack: "1"', /sysctl\["net\.ipv4\.tcp_sack"\].*takes an integer/],
      ['net.ipv4.tcp_nope: 1', /sysctl\["net\.ipv4\.tcp_nope"\].*unknown sysctl/],
    ];
    for (const [line, re] of bad) assert.match(refusal(`sysctl:\n  net.ipv4.tcp_timestamps: 0\n  ${line}\n`), re, line);
  });
});
