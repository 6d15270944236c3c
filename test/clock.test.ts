// RealClock bounds every timer: Node's setTimeout takes at most 2^31-1 ms and
// fires after 1 ms (with a TimeoutOverflowWarning) when given more, which
// spun the event loop for a netem with a tiny rate. setTimeout is replaced
// by a recorder here, so nothing waits and nothing depends on speed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, RealClock } from '../src/clock.ts';

interface Armed {
  fn: () => void;
  ms: number;
  cleared: boolean;
}

function withFakeTimers(body: (armed: Armed[]) => void): void {
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  const armed: Armed[] = [];
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    const a: Armed = { fn, ms, cleared: false };
    armed.push(a);
    return { unref: () => {}, armed: a } as never;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((t: { armed: Armed }) => {
    t.armed.cleared = true;
  }) as unknown as typeof clearTimeout;
  try {
    body(armed);
  } finally {
    globalThis.setTimeout = real.setTimeout;
    globalThis.clearTimeout = real.clearTimeout;
  }
}

test('RealClock: a delay beyond 2^31-1 ms waits in bounded steps and re-arms instead of firing at once', () => {
  withFakeTimers((armed) => {
    const clock = new RealClock();
    let fired = 0;
    const h = clock.setTimer(1e300, () => fired++);
    assert.equal(armed.length, 1);
    assert.equal(armed[0]!.ms, MAX_TIMER_MS, 'the first step is the longest setTimeout takes');
    // The step ends long before the deadline: it re-arms, and the user's function does not run.
    armed[0]!.fn();
    assert.equal(fired, 0);
    assert.equal(armed.length, 2);
    assert.ok(armed[1]!.ms <= MAX_TIMER_MS);
    h.cancel();
    assert.equal(armed[1]!.cleared, true, 'cancel reaches the step that is armed now');
    // A short delay is one plain timer that runs the function.
    clock.setTimer(5, () => fired++);
    assert.equal(armed[2]!.ms, 5);
    armed[2]!.fn();
    assert.equal(fired, 1);
    // Infinity and NaN never fire and arm nothing; negative is 0.
    clock.setTimer(Infinity, () => fired++);
    clock.setTimer(Number.NaN, () => fired++);
    assert.equal(armed.length, 4, 'NaN counts as 0, Infinity arms nothing');
    assert.ok(armed.every((a) => a.ms >= 0 && a.ms <= MAX_TIMER_MS));
  });
});
