// Assertions on NetError: which errno, not which message.

import assert from 'node:assert/strict';
import { NetError, type ErrnoName } from '../../src/errno.ts';

function matcher(errno: ErrnoName): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof NetError, `expected NetError ${errno}, got ${String(err)}`);
    assert.equal(err.errno, errno, `expected ${errno}, got ${err.errno}: ${err.message}`);
    return true;
  };
}

export function throwsErrno(fn: () => unknown, errno: ErrnoName): void {
  assert.throws(fn, matcher(errno));
}

export async function rejectsErrno(p: Promise<unknown> | (() => Promise<unknown>), errno: ErrnoName): Promise<void> {
  await assert.rejects(p, matcher(errno));
}
