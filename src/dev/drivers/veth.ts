// veth: a pair of Ethernet devices joined back to back. What one end sends,
// the other receives through its own backlog. Each end has carrier only when
// both are up, so `ip link` shows LOWERLAYERDOWN for a lone end, as Linux does.
// Like every virtual device in Linux it is IFF_NO_QUEUE: its root qdisc is
// noqueue unless the user attaches one (tc qdisc replace).

import { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_OK, NET_RX_SUCCESS, type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import { netifCarrierOff, netifCarrierOn } from '../control.ts';
import { PacketType, type SkBuff } from '../../skb/skbuff.ts';
import { randomMac } from '../../wire/mac.ts';
import { VLAN_HLEN } from '../../wire/vlan.ts';
import { linkInfo, Wire } from './wire.ts';

function vethXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  return (dev.priv as VethPrivate).wire.xmit(dev, skb);
}

/** The frame has left our wire: the peer receives it (veth_forward_skb). */
function vethForward(dev: NetDevice, skb: SkBuff): void {
  const peer = dev.link;
  if (peer === null || !peer.isUp()) {
    dev.stats.txDropped++;
    skb.drop('DEV_READY');
    return;
  }
  const len = skb.len;
  // is_skb_forwardable: the peer takes at most its mtu + link header + one
  // VLAN tag; a longer frame is dropped and counted as the peer's rx_dropped
  // (____dev_forward_skb) and as our tx_dropped (veth_xmit's priv->dropped).
  if (len > peer.mtu + peer.hardHeaderLen + VLAN_HLEN) {
    peer.stats.rxDropped++;
    dev.stats.txDropped++;
    skb.drop('PKT_TOO_BIG');
    return;
  }
  // __dev_forward_skb scrubs what belonged to the sending side; within one
  // namespace the frame stays charged to its sender (skb_scrub_packet does
  // not orphan) until a receiver takes it over or it is freed.
  skb.priority = 0;
  skb.pktType = PacketType.HOST;
  skb.dev = peer;
  // Bottom halves off around netif_rx and on again after, as dev_queue_xmit
  // holds them (rcu_read_lock_bh): the peer receives the frame at the enable.
  const core = peer.core;
  core.localBhDisable();
  try {
    if (core.netifRx(skb) === NET_RX_SUCCESS) {
      dev.stats.txPackets++;
      dev.stats.txBytes += len;
    } else {
      dev.stats.txDropped++;
    }
  } finally {
    core.localBhEnable();
  }
}

function vethOpen(dev: NetDevice): void {
  const peer = dev.link;
  if (peer !== null && peer.isUp()) {
    netifCarrierOn(dev);
    netifCarrierOn(peer);
  }
}

function vethStop(dev: NetDevice): void {
  (dev.priv as VethPrivate).wire.flush();
  netifCarrierOff(dev);
  if (dev.link !== null) netifCarrierOff(dev.link);
}

export interface VethPrivate {
  /** Deleting one end deletes the other; set by the stack that registered them. */
  unregisterPeer: ((peer: NetDevice) => void) | null;
  /** This end's transmit wire: speed and TX ring (0 Mbit/s by default: no wire time). */
  wire: Wire;
}

function vethUninit(dev: NetDevice): void {
  const peer = dev.link;
  dev.link = null;
  if (peer !== null && peer.link === dev) {
    peer.link = null;
    (dev.priv as VethPrivate).unregisterPeer?.(peer);
  }
}

/** One method table for every veth end (state is in dev.priv), not a copy per device. */
const vethOps = etherOps({
  hardStartXmit: vethXmit,
  open: vethOpen,
  stop: vethStop,
  uninit: vethUninit,
  getLinkSettings: (d) => (d.priv as VethPrivate).wire.settings(),
  setLinkSettings: (d, ls) => (d.priv as VethPrivate).wire.set(ls),
  fillInfo: (d) => linkInfo((d.priv as VethPrivate).wire),
});

/**
 * Two unregistered ends, linked to each other. `peerCore` puts the second end
 * in another stack of this process, as `ip link add ... peer netns B` puts it
 * in another namespace of one kernel: the skb itself crosses (veth_forward_skb
 * copies nothing), so its memory stays with the pool it came from until the
 * receiver frees it, and a drop on the far side (a full backlog) is counted
 * with that pool's drop reasons: sum both stacks' counters to account for
 * every frame.
 */
export function createVethPair(core: NetCore, peerCore: NetCore = core): [NetDevice, NetDevice] {
  const make = (home: NetCore): NetDevice =>
    new NetDevice(home, {
      kind: 'veth',
      ops: vethOps,
      devAddr: randomMac(),
      carrierFollowsUp: false,
      reportsOperstate: true,
      noQueue: true,
    });
  const a = make(core);
  const b = make(peerCore);
  a.link = b;
  b.link = a;
  a.priv = { unregisterPeer: null, wire: new Wire(a, vethForward) } satisfies VethPrivate;
  b.priv = { unregisterPeer: null, wire: new Wire(b, vethForward) } satisfies VethPrivate;
  return [a, b];
}
