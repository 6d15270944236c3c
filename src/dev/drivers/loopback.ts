// lo: every frame sent comes straight back in. The sender is credited at once
// (skb_orphan), as drivers/net/loopback.c does, so lo never throttles anyone.

import { ARPHRD, IFF } from '../flags.ts';
import { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_OK, NET_RX_SUCCESS, type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import type { SkBuff } from '../../skb/skbuff.ts';

function loopbackXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  skb.orphan();
  const len = skb.len;
  skb.dev = dev;
  if (dev.core.netifRx(skb) === NET_RX_SUCCESS) {
    dev.stats.txPackets++;
    dev.stats.txBytes += len;
  } else {
    dev.stats.txDropped++;
  }
  return NETDEV_TX_OK;
}

export function createLoopback(core: NetCore): NetDevice {
  return new NetDevice(core, {
    kind: 'loopback',
    ops: etherOps({ hardStartXmit: loopbackXmit, setMacAddress: undefined }),
    type: ARPHRD.LOOPBACK,
    mtu: 65536,
    minMtu: 68,
    maxMtu: 65536,
    flags: IFF.LOOPBACK,
    // `ip link` shows lo's broadcast as all zeros, like its address.
    broadcast: Buffer.alloc(6),
    noQueue: true,
    permanent: true,
  });
}
