// The device registry against a plain model: whatever the order of adds and
// removes (and an index counter that wraps), list() is every device in
// ifindex order, page(after, limit) the slice of it after `after`, and a
// removed device is held by nothing in the registry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceRegistry } from '../../src/dev/registry.ts';
import { NetStack } from '../../src/stack/index.ts';
import { createDummy } from '../../src/dev/drivers/dummy.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';

type Op = { op: 'add' } | { op: 'remove'; pick: number } | { op: 'page'; pick: number; limit: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ op: 'add' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('page' as const), pick: fc.nat(), limit: fc.integer({ min: 1, max: 8 }) }) },
);

test('list and page match a sorted model through adds, removes and a wrapping index counter', () => {
  const stack = new NetStack();
  try {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.boolean(), (ops, wrap) => {
        const reg = new DeviceRegistry();
        // Start a few indexes short of the top, so that some runs wrap to 1.
        if (wrap) (reg as unknown as { lastIndex: number }).lastIndex = 0x7fffffff - 5;
        let model: NetDevice[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.op === 'add') {
            const dev = createDummy(stack);
            dev.name = `r${n++}`;
            dev.ifindex = reg.newIndex();
            reg.add(dev);
            model = [...model, dev].sort((a, b) => a.ifindex - b.ifindex);
          } else if (o.op === 'remove') {
            if (model.length === 0) continue;
            const dev = model[o.pick % model.length]!;
            reg.remove(dev);
            model = model.filter((d) => d !== dev);
          } else {
            const after = model.length === 0 ? o.pick : (model[o.pick % model.length]!.ifindex - (o.pick % 2));
            const want = model.filter((d) => d.ifindex > after);
            const got = reg.page(after, o.limit);
            assert.deepEqual(got.devices, want.slice(0, o.limit));
            assert.equal(got.more, want.length > o.limit);
          }
          assert.equal(reg.size, model.length);
        }
        assert.deepEqual(reg.list(), model);
        assert.deepEqual(reg.page(0, Infinity).devices, model);
        // Nothing removed is still held: the registry's own arrays hold the model only.
        const held = (reg as unknown as { ordered: (NetDevice | null)[] }).ordered.filter((d) => d !== null);
        assert.deepEqual(held, model);
      }),
      { numRuns: 200 },
    );
  } finally {
    stack.close();
  }
});
