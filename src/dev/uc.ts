// The secondary unicast address list (dev_uc_add / dev_uc_del). An upper
// device with its own MAC (a VLAN channel) asks its parent to accept frames
// for that address. A device without a unicast filter (IFF_UNICAST_FLT; no
// driver here has one) does so by going promiscuous while the list is not
// empty, as __dev_set_rx_mode does: counted in promiscuity, not in the
// user's PROMISC flag.

import { formatMac } from '../wire/mac.ts';
import type { NetDevice } from './netdevice.ts';
import { devSetPromiscuity } from './control.ts';

export function devUcAdd(dev: NetDevice, addr: Uint8Array): void {
  const key = formatMac(addr);
  const e = dev.uc.get(key);
  if (e !== undefined) e.users++;
  else dev.uc.set(key, { addr: Buffer.from(addr), users: 1, global: false });
  syncUcPromisc(dev);
}

export function devUcDel(dev: NetDevice, addr: Uint8Array): void {
  const key = formatMac(addr);
  const e = dev.uc.get(key);
  if (e === undefined) return;
  if (--e.users === 0) dev.uc.delete(key);
  syncUcPromisc(dev);
}

function syncUcPromisc(dev: NetDevice): void {
  const want = dev.uc.size > 0;
  if (want === dev.ucPromisc) return;
  dev.ucPromisc = want;
  devSetPromiscuity(dev, want ? 1 : -1);
}
