// The rules a setting must pass, stated once: dev/control.ts applies them
// before it changes a device, and rtnl/link.ts checks a whole request with
// them before it applies any of it (so a request with one bad field changes
// nothing, and both answer the same words).

import { NetError } from '../errno.ts';
import type { NetDevice } from './netdevice.ts';

/** dev_validate_mtu. */
export function checkMtu(dev: NetDevice, mtu: number): void {
  if (!Number.isInteger(mtu)) throw new NetError('EINVAL', 'mtu must be an integer');
  if (mtu < dev.minMtu) throw new NetError('EINVAL', `mtu ${mtu} is less than device minimum ${dev.minMtu}`);
  if (mtu > dev.maxMtu) throw new NetError('EINVAL', `mtu ${mtu} is greater than device maximum ${dev.maxMtu}`);
}

/** dev_change_tx_queue_len's range (an unsigned int). */
export function checkTxQueueLen(len: number): void {
  if (!Number.isInteger(len) || len < 0 || len > 0xffffffff) {
    throw new NetError('EINVAL', 'txqueuelen must be an integer within 0..4294967295');
  }
}
