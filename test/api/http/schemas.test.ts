// The request schemas' own rules, without a server: how a frame string is
// read (hex, else base64), interface names, MAC addresses, query booleans.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BASE64_FRAME, DevicePatch, FramesJson, FramesQuery, HEX_FRAME, IfName, MacAddress } from '../../../src/api/http/schemas/index.ts';

describe('frame strings', () => {
  it('reads a string of an even number of hex digits as hex, else padded base64, else refuses it', () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg=+/ '.split('')) }),
      fc.uint8Array().map((b) => Buffer.from(b).toString('hex')),
      fc.uint8Array().map((b) => Buffer.from(b).toString('base64')),
    );
    fc.assert(
      fc.property(text, (s) => {
        const r = FramesJson.safeParse({ frames: [s] });
        const hex = s.length > 0 && HEX_FRAME.test(s);
        const b64 = s.length > 0 && !hex && BASE64_FRAME.test(s);
        assert.equal(r.success, hex || b64, JSON.stringify(s));
        if (r.success) assert.deepEqual(r.data.frames[0], Buffer.from(s, hex ? 'hex' : 'base64'));
      }),
      { numRuns: 3000 },
    );
  });

  it('names the failing index', () => {
    const r = FramesJson.safeParse({ frames: ['ffff', 'not hex!', 'AAAA', 'abc'] });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues.map((i) => i.path), [['frames', 1], ['frames', 3]]);
  });

  it('reads nonblock and timeout_ms from the query string', () => {
    assert.deepEqual(FramesQuery.parse({ nonblock: '1', timeout_ms: '250' }), { nonblock: true, timeout_ms: 250 });
    assert.deepEqual(FramesQuery.parse({ nonblock: 'false' }), { nonblock: false });
    for (const q of [{ nonblock: 'yes' }, { timeout_ms: '-1' }, { timeout_ms: '1e3' }, { timeout_ms: '3600001' }]) assert.equal(FramesQuery.safeParse(q).success, false, JSON.stringify(q));
  });
});

describe('names and addresses', () => {
  it('takes interface names of 1..15 bytes without "/", ":" or whitespace', () => {
    for (const ok of ['eth0', 'veth%d', 'a', 'x'.repeat(15), 'é'.repeat(7), 'br-lan.10']) assert.equal(IfName.safeParse(ok).success, true, ok);
    for (const bad of ['', 'x'.repeat(16), 'é'.repeat(8), 'a/b', 'a:b', 'a b', 'a\tb', 'a\nb', 'a\u0000b']) assert.equal(IfName.safeParse(bad).success, false, JSON.stringify(bad));
  });

  it('takes MAC addresses with one separator throughout', () => {
    for (const ok of ['02:00:00:00:00:01', '02-00-00-00-00-01', 'AA:bb:CC:dd:EE:ff']) assert.equal(MacAddress.safeParse(ok).success, true, ok);
    for (const bad of ['02:00:00:00:00', '02:00-00:00:00:01', '0200.0000.0001', 'zz:00:00:00:00:01', '02:00:00:00:00:01:02']) assert.equal(MacAddress.safeParse(bad).success, false, bad);
  });

  it('refuses unknown fields in a change, and netem fields out of range', () => {
    assert.equal(DevicePatch.safeParse({ mtu: 1500, up: true }).success, true);
    assert.equal(DevicePatch.safeParse({ mtu: 1500, colour: 'red' }).success, false);
    assert.equal(DevicePatch.safeParse({ netem: { loss: 100.5 } }).success, false);
    assert.equal(DevicePatch.safeParse({ netem: { delayMs: 5 } }).success, false);
    assert.equal(DevicePatch.safeParse({ netem: null }).success, true);
  });
});
