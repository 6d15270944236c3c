// Both capture formats store snaplen as a u32, and 0 would keep no byte of
// any frame: the writers take 1..2^32-1 and refuse the rest with EINVAL.

import { NetError } from '../errno.ts';

export function checkSnaplen(snaplen: number): number {
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0xffffffff) {
    throw new NetError('EINVAL', `snaplen must be an integer within 1..4294967295, not ${snaplen}`);
  }
  return snaplen;
}
