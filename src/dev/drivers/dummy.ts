// dummy: swallows every frame and counts it, the seed's "null device". It
// keeps whatever ifmap it is given, so SIOCSIFMAP can be tried on it.

import { IFF } from '../flags.ts';
import { NetDevice, type IfMap } from '../netdevice.ts';
import { NETDEV_TX_OK, type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { randomMac } from '../../wire/mac.ts';

function dummyXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  dev.stats.txPackets++;
  dev.stats.txBytes += skb.len;
  skb.free();
  return NETDEV_TX_OK;
}

function dummySetConfig(dev: NetDevice, map: Partial<IfMap>): void {
  for (const key of Object.keys(dev.map) as (keyof IfMap)[]) {
    const v = map[key];
    if (v !== undefined && v !== -1) dev.map[key] = v;
  }
}

export function createDummy(core: NetCore): NetDevice {
  return new NetDevice(core, {
    kind: 'dummy',
    // An empty set_rx_mode, as dummy.c has: it filters nothing, so any
    // multicast list is accepted.
    ops: etherOps({ hardStartXmit: dummyXmit, setConfig: dummySetConfig, setRxMode: () => {} }),
    flags: IFF.BROADCAST | IFF.NOARP,
    devAddr: randomMac(),
    noQueue: true,
  });
}
