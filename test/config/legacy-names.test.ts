// A state file an older version wrote may hold a device name with a lone
// UTF-16 surrogate (that version let it in). It still loads: the device comes
// back under a repaired name, every reference to it (veth peer, vlan link)
// follows, and the device can then be deleted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetStack, deleteDevice } from '../../src/stack/index.ts';
import { applySetup } from '../../src/config/apply.ts';
import { parseState, type RenamedDevice } from '../../src/config/load.ts';
import { invalidNameReason, repairName } from '../../src/dev/names.ts';

// As JSON.stringify wrote it: the lone surrogates are escapes in the text.
const LEGACY = `{
  "version": 1,
  "saved_at": "2026-12-01T00:00:00.000Z",
  "sysctl": {},
  "devices": [
    { "kind": "dummy", "name": "\\ud800x", "up": true },
    { "kind": "dummy", "name": "_x" },
    { "kind": "veth", "name": "va", "peer": "\\udfffz" },
    { "kind": "vlan", "name": "v\\udc00", "link": "\\udfffz", "id": 7 }
  ]
}`;

test('the core refuses a lone surrogate and counts bytes', () => {
  assert.match(invalidNameReason('\ud800x') ?? '', /UTF-8/);
  assert.equal(invalidNameReason('\u{1F600}'), null);
  assert.equal(invalidNameReason(`${'é'.repeat(7)}a`), null);
  assert.match(invalidNameReason('é'.repeat(8)) ?? '', /longer than 15 bytes/);
  assert.equal(repairName('\ud800x', () => false), '_x');
  assert.equal(repairName('\ud800x', (n) => n === '_x'), 'dev0');
});

test('a legacy state file with such names loads, renamed, and each device can be deleted', async () => {
  let renamed: RenamedDevice[] = [];
  const state = parseState(LEGACY, 'old.json', (r) => {
    renamed = r;
  });
  // "_x" is taken by another device of the file, so \ud800x falls back to dev0.
  assert.deepEqual(
    renamed.map((r) => [r.from, r.to]),
    [
      ['\ud800x', 'dev0'],
      ['\udfffz', '_z'],
      ['v\udc00', 'v_'],
    ],
  );
  const stack = new NetStack({ clock: new VirtualClock() });
  await applySetup(stack, state, 'state old.json');
  assert.deepEqual(stack.devices.list().map((d) => d.name).sort(), ['_x', '_z', 'dev0', 'lo', 'v_', 'va'].sort());
  assert.ok(stack.devices.get('dev0')!.isUp());
  assert.equal(stack.devices.get('va')!.link?.name, '_z');
  assert.equal(stack.devices.get('v_')!.link?.name, '_z');
  for (const name of ['dev0', 'v_', 'va', '_x']) deleteDevice(stack, name);
  assert.deepEqual(stack.devices.list().map((d) => d.name), ['lo']);
  stack.close();
});
