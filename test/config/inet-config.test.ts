// The internet layer in the config and state files: addresses, static
// routes, permanent neighbours, service sockets and net.ipv4 sysctls are
// read and checked like everything else in the file, and a bad entry is
// refused with the place it is at.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig, parseState } from '../../src/config/load.ts';

const GOOD = {
  devices: [{ kind: 'dummy', name: 'd0', up: true }],
  sysctl: { 'net.ipv4.ip_forward': 1, 'net.ipv4.ip_default_ttl': 32, 'net.core.rmem_default': 65536 },
  addresses: [{ dev: 'd0', address: '198.51.100.1/24' }, { dev: 'd0', address: '203.0.113.9', label: 'd0' }],
  routes: [{ dst: 'default', gateway: '198.51.100.254', metric: 100 }, { dst: '192.0.2.0/24', dev: 'd0' }],
  neighbours: [{ dst: '198.51.100.2', dev: 'd0', lladdr: '02:00:00:00:00:02' }],
  sockets: [{ bind: '0.0.0.0:7', service: 'echo' }],
};

function refusal(doc: unknown): string {
  try {
    parseConfig(JSON.stringify(doc), 'lab.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config was accepted');
}

describe('config: the internet layer', () => {
  it('reads addresses, routes, neighbours, service sockets and net.ipv4 sysctls', () => {
    const c = parseConfig(JSON.stringify(GOOD), 'lab.json');
    assert.equal(c.addresses?.length, 2);
    assert.deepEqual(c.routes?.[0], { dst: 'default', gateway: '198.51.100.254', metric: 100 });
    assert.deepEqual(c.sockets, [{ type: 'udp', bind: '0.0.0.0:7', service: 'echo' }]);
    assert.equal(c.sysctl?.['net.ipv4.ip_forward'], 1);
  });

  it('refuses bad entries, naming where they are', () => {
    assert.match(refusal({ ...GOOD, addresses: [{ dev: 'd0', address: '300.1.1.1/24' }] }), /addresses\[0\]\.address/);
    assert.match(refusal({ ...GOOD, addresses: [{ dev: 'd0', address: '198.51.100.1/33' }] }), /addresses\[0\]\.address/);
    assert.match(refusal({ ...GOOD, routes: [{ dst: '198.51.100.0/24', via: '198.51.100.1' }] }), /routes\[0\]/);
    assert.match(refusal({ ...GOOD, neighbours: [{ dst: '198.51.100.2', dev: 'd0', lladdr: 'nope' }] }), /neighbours\[0\]\.lladdr/);
    assert.match(refusal({ ...GOOD, sockets: [{ bind: '0.0.0.0:7' }] }), /sockets\[0\]\.service/);
    assert.match(refusal({ ...GOOD, sockets: [{ bind: '0.0.0.0:70000', service: 'echo' }] }), /sockets\[0\]\.bind/);
    assert.match(refusal({ ...GOOD, sysctl: { 'net.ipv4.ip_default_ttl': 0 } }), /net\.ipv4\.ip_default_ttl/);
    assert.match(refusal({ ...GOOD, sysctl: { 'net.ipv4.no_such_knob': 1 } }), /net\.ipv4\.no_such_knob/);
  });

  it('a state file without the internet keys (saved before IPv4) still loads', () => {
    const s = parseState(JSON.stringify({ version: 1, saved_at: 'x', sysctl: {}, devices: [] }), 'state.json');
    assert.equal(s.addresses, undefined);
  });
});
