// ether_setup and the eth_* default methods: what an Ethernet-like device gets
// unless its driver fills in its own.

import { NetError } from '../errno.ts';
import { ETH_ALEN, ETH_HLEN } from '../wire/eth.ts';
import { isValidUnicastMac } from '../wire/mac.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from './netdevice.ts';
import type { DeviceOps } from './ops.ts';

/** eth_header: write the 14-byte header into the headroom. */
export function ethHeader(
  dev: NetDevice,
  skb: SkBuff,
  type: number,
  daddr: Uint8Array | null,
  saddr: Uint8Array | null,
): number {
  const buf = skb.writableHeader();
  const at = skb.push(ETH_HLEN);
  buf.set(daddr ?? dev.broadcast, at);
  buf.set(saddr ?? dev.devAddr, at + ETH_ALEN);
  buf[at + 12] = (type >>> 8) & 0xff;
  buf[at + 13] = type & 0xff;
  skb.macHeader = at;
  return ETH_HLEN;
}

/** eth_mac_addr / eth_prepare_mac_addr_change. */
export function ethMacAddr(dev: NetDevice, addr: Buffer): void {
  if (!dev.liveAddrChange && dev.isUp()) throw new NetError('EBUSY', `${dev.name} cannot change its address while up`);
  if (addr.length !== ETH_ALEN || !isValidUnicastMac(addr)) {
    throw new NetError('EADDRNOTAVAIL', 'a device address must be a unicast, non-zero MAC');
  }
  addr.copy(dev.devAddr);
}

/** The generic change_mtu: within the device's min..max. */
export function ethChangeMtu(dev: NetDevice, mtu: number): void {
  if (mtu < dev.minMtu) throw new NetError('EINVAL', `mtu ${mtu} is less than device minimum ${dev.minMtu}`);
  if (mtu > dev.maxMtu) throw new NetError('EINVAL', `mtu ${mtu} is greater than device maximum ${dev.maxMtu}`);
  dev.mtu = mtu;
}

/** Fill the methods a driver left out with the Ethernet defaults. */
export function etherOps(driver: DeviceOps): DeviceOps {
  return {
    hardHeader: ethHeader,
    setMacAddress: ethMacAddr,
    changeMtu: ethChangeMtu,
    ...driver,
  };
}
