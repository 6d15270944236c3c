// Config and state files: JSON and YAML, schema errors that name the place,
// unreadable or corrupt files refused without being touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfigFile, loadStateFile, parseConfig, parseState } from '../../src/config/load.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The ConfigError's first line, after the file prefix. */
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('the same config reads the same from JSON and YAML', () => {
  const json = parseConfig(
    JSON.stringify({
      devices: [
        { kind: 'veth', name: 'a0', peer: 'b0', mtu: 9000, up: true },
        { kind: 'vlan', link: 'a0', id: 10, multicast: ['01:00:5e:00:00:01'] },
        { kind: 'dummy', netem: { delay_ms: 10, loss: 1.5 } },
      ],
      sysctl: { 'net.core.rmem_default': 65536 },
    }),
    'lab.json',
  );
  const yaml = parseConfig(
    [
      'devices:',
      '  - kind: veth',
      '    name: a0',
      '    peer: b0',
      '    mtu: 9000',
      '    up: true',
      '  - kind: vlan',
      '    link: a0',
      '    id: 10',
      '    multicast: ["01:00:5e:00:00:01"]',
      '  - kind: dummy',
      '    netem: { delay_ms: 10, loss: 1.5 }',
      'sysctl:',
      '  net.core.rmem_default: 65536',
    ].join('\n'),
    'lab.yaml',
  );
  assert.deepEqual(yaml, json);
  assert.equal(json.devices.length, 3);
  assert.deepEqual(json.sysctl, { 'net.core.rmem_default': 65536 });
});

test('the format follows the extension, or the content when the extension says nothing', () => {
  // YAML text in a .json file is a JSON error, not silently read as YAML.
  const e = errorOf(() => parseConfig('devices: []', 'x.json'));
  assert.match(e.message, /^config x\.json: not valid JSON/);
  assert.deepEqual(parseConfig('devices: []', 'x.conf'), { devices: [] });
  assert.deepEqual(parseConfig('{"devices": []}', 'x.conf'), { devices: [] });
  assert.deepEqual(parseConfig('{}', 'x.json'), { devices: [] });
  const y = errorOf(() => parseConfig('devices: [\n  - kind: dummy', 'x.yml'));
  assert.match(y.message, /^config x\.yml: not valid YAML/);
});

test('schema errors name the offending path', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ devices: [{ kind: 'dummy' }, { kind: 'dummy' }, { kind: 'dummy', mtu: 70000 }] }, 'devices[2].mtu', /must be <= 65535/],
    [{ devices: [{ kind: 'dummy', mtu: 1500.5 }] }, 'devices[0].mtu', /must be an integer/],
    [{ devices: [{ kind: 'dummy', mtu: '1500' }] }, 'devices[0].mtu', /must be a number, not string "1500"/],
    [{ devices: [{ kind: 'router' }] }, 'devices[0].kind', /must be one of "dummy", "veth", "vlan", "vxlan", "bridge", "loopback"/],
    [{ devices: [{ name: 'x' }] }, 'devices[0].kind', /must be one of/],
    [{ devices: [{ kind: 'dummy', mtuu: 1500 }] }, 'devices[0].mtuu', /unknown key/],
    [{ devices: [{ kind: 'vlan', link: 'eth0', id: 4095 }] }, 'devices[0].id', /must be <= 4094/],
    [{ devices: [{ kind: 'vlan', id: 5 }] }, 'devices[0].link', /is required/],
    [{ devices: [{ kind: 'vxlan', vni: 1, remote: ['10.0.0.1:4789', 'not a host:1'] }] }, 'devices[0].remote[1]', /neither an IP address nor a host name/],
    [{ devices: [{ kind: 'vxlan', vni: 1, remote: ['10.0.0.1:0'] }] }, 'devices[0].remote[0]', /port 0 is outside 1\.\.65535/],
    [{ devices: [{ kind: 'vxlan', vni: 1, local: '0.0.0.0:70000' }] }, 'devices[0].local', /port 70000 is outside 0\.\.65535/],
    [{ devices: [{ kind: 'vxlan', vni: 1, dstport: 0 }] }, 'devices[0].dstport', /must be >= 1/],
    [{ devices: [{ kind: 'vxlan', vni: 2 ** 24 }] }, 'devices[0].vni', /must be <= 16777215/],
    [{ devices: [{ kind: 'dummy', address: 'zz:00:00:00:00:01' }] }, 'devices[0].address', /MAC address/],
    [{ devices: [{ kind: 'dummy', name: 'a/b' }] }, 'devices[0].name', /contains "\/"/],
    [{ devices: [{ kind: 'dummy', name: 'averyveryverylongname' }] }, 'devices[0].name', /longer than 15 bytes/],
    [{ devices: [{ kind: 'dummy', netem: { loss: 150 } }] }, 'devices[0].netem.loss', /must be <= 100/],
    [{ devices: [{ kind: 'dummy', netem: { delay: 5 } }] }, 'devices[0].netem.delay', /unknown key/],
    [{ devices: [{ kind: 'dummy', multicast: ['not-a-mac'] }] }, 'devices[0].multicast[0]', /MAC address/],
    [{ devices: [{ kind: 'dummy', flags: ['UP'] }] }, 'devices[0].flags[0]', /must be one of/],
    [{ devices: [{ kind: 'veth', peer_settings: { mtu: 10 } }] }, 'devices[0].peer_settings.mtu', /must be >= 68/],
    [{ devices: [{ kind: 'loopback' }, { kind: 'loopback' }] }, 'devices[1].kind', /only one loopback/],
    [{ devices: [{ kind: 'loopback', mtu: 65537 }] }, 'devices[0].mtu', /must be <= 65536/],
    [{ sysctl: { 'net.core.rmem_default': 10 } }, 'sysctl["net.core.rmem_default"]', /must be within 2304\.\./],
    [{ sysctl: { 'net.core.nope': 10 } }, 'sysctl["net.core.nope"]', /unknown sysctl/],
    [{ devices: {} }, 'devices', /must be an array/],
    [{ device: [] }, 'device', /unknown key/],
    [[], '(top level)', /must be an object/],
  ];
  for (const [doc, where, text] of cases) {
    const e = errorOf(() => parseConfig(JSON.stringify(doc), 'c.json'));
    assert.equal(e.where, where, `${JSON.stringify(doc)} -> ${e.message}`);
    const first = e.message.split('\n')[0]!;
    assert.ok(first.startsWith(`config c.json: ${where}: `), first);
    assert.match(first, text);
  }
});

test('every problem in a file is reported, one per line', () => {
  const e = errorOf(() =>
    parseConfig(JSON.stringify({ devices: [{ kind: 'dummy', mtu: 1 }, { kind: 'vlan', link: 'x', id: 0 }] }), 'c.json'),
  );
  assert.deepEqual(e.message.split('\n'), [
    'config c.json: devices[0].mtu: must be >= 68',
    'config c.json: devices[1].id: must be >= 1',
  ]);
});

test('deploy/netstackd-a.json and deploy/netstackd-b.json are valid configs', async () => {
  for (const rel of ['deploy/netstackd-a.json', 'deploy/netstackd-b.json']) {
    const cfg = await loadConfigFile(path.join(root, rel));
    const vx = cfg.devices.find((d) => d.kind === 'vxlan');
    assert.ok(vx !== undefined && vx.kind === 'vxlan', `${rel} has a vxlan device`);
    assert.equal(vx.vni, 42);
    assert.equal(vx.up, true);
  }
});

test('a missing or unreadable config file is a ConfigError naming it', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(loadConfigFile(path.join(dir, 'none.json')), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^config .*none\.json: cannot read: ENOENT/);
    return true;
  });
});

test('a state file that does not exist yet is no state', async (t) => {
  const dir = tempDir(t);
  assert.equal(await loadStateFile(path.join(dir, 'state.json')), null);
});

test('a corrupt state file is refused with the reason, and left as it was', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'state.json');
  const valid = { version: 1, saved_at: '2026-01-01T00:00:00.000Z', sysctl: {}, devices: [{ kind: 'dummy', name: 'd0' }] };
  const cases: [string, RegExp][] = [
    ['{"version": 1, "devices": [', /^state .*: not valid JSON/],
    ['', /^state .*: the file is empty/],
    [JSON.stringify({ ...valid, version: 2 }), /^state .*: version: must be 1/],
    [JSON.stringify({ ...valid, devices: [{ kind: 'dummy', mtu: -1 }] }), /^state .*: devices\[0\]\.mtu: must be >= 68/],
    [JSON.stringify({ devices: [] }), /^state .*: version: is required/],
  ];
  for (const [text, why] of cases) {
    writeFileSync(file, text);
    const before = statSync(file);
    await assert.rejects(loadStateFile(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, why);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), text, 'content untouched');
    assert.equal(statSync(file).ino, before.ino, 'same file, not replaced');
  }
  writeFileSync(file, JSON.stringify(valid));
  const state = await loadStateFile(file);
  assert.equal(state?.devices[0]?.name, 'd0');
});

test('a state file is JSON only, whatever its name', () => {
  const e = errorOf(() => parseState('version: 1\nsaved_at: x\nsysctl: {}\ndevices: []\n', 'state.yaml'));
  assert.match(e.message, /not valid JSON/);
});
