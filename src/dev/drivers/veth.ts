// veth: a pair of Ethernet devices joined back to back. What one end sends,
// the other receives through its own backlog. Each end has carrier only when
// both are up, so `ip link` shows LOWERLAYERDOWN for a lone end, as Linux does.

import { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_OK, NET_RX_SUCCESS, type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import { netifCarrierOff, netifCarrierOn } from '../control.ts';
import { PacketType, type SkBuff } from '../../skb/skbuff.ts';
import { randomMac } from '../../wire/mac.ts';

function vethXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  const peer = dev.link;
  if (peer === null || !peer.isUp()) {
    dev.stats.txDropped++;
    dev.core.kfreeSkb(skb, 'DEV_READY');
    return NETDEV_TX_OK;
  }
  const len = skb.len;
  // __dev_forward_skb scrubs what belonged to the sending side.
  skb.priority = 0;
  skb.pktType = PacketType.HOST;
  skb.dev = peer;
  if (peer.core.netifRx(skb) === NET_RX_SUCCESS) {
    dev.stats.txPackets++;
    dev.stats.txBytes += len;
  } else {
    dev.stats.txDropped++;
  }
  return NETDEV_TX_OK;
}

function vethOpen(dev: NetDevice): void {
  const peer = dev.link;
  if (peer !== null && peer.isUp()) {
    netifCarrierOn(dev);
    netifCarrierOn(peer);
  }
}

function vethStop(dev: NetDevice): void {
  netifCarrierOff(dev);
  if (dev.link !== null) netifCarrierOff(dev.link);
}

export interface VethPrivate {
  /** Deleting one end deletes the other; set by the stack that registered them. */
  unregisterPeer: ((peer: NetDevice) => void) | null;
}

function vethUninit(dev: NetDevice): void {
  const peer = dev.link;
  dev.link = null;
  if (peer !== null && peer.link === dev) {
    peer.link = null;
    (dev.priv as VethPrivate).unregisterPeer?.(peer);
  }
}

/** Two unregistered ends, linked to each other. */
export function createVethPair(core: NetCore): [NetDevice, NetDevice] {
  const make = (): NetDevice =>
    new NetDevice(core, {
      kind: 'veth',
      ops: etherOps({ hardStartXmit: vethXmit, open: vethOpen, stop: vethStop, uninit: vethUninit }),
      devAddr: randomMac(),
      carrierFollowsUp: false,
      reportsOperstate: true,
    });
  const a = make();
  const b = make();
  a.link = b;
  b.link = a;
  a.priv = { unregisterPeer: null } satisfies VethPrivate;
  b.priv = { unregisterPeer: null } satisfies VethPrivate;
  return [a, b];
}
