// 802.1Q VLAN channels: "several logical interfaces over one medium". A
// channel `parent.vid` pushes its tag on transmit and sends through the
// parent; the parent's receive path hands tagged frames with that VID to the
// channel (stack/softirq.ts). Channels come and go while the parent runs.

import { NetError } from '../../errno.ts';
import { IFF } from '../flags.ts';
import { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_OK, type NetCore, type NetdevTx } from '../ops.ts';
import { ethMacAddr, etherOps } from '../ether.ts';
import { devQueueXmit } from '../xmit.ts';
import { netifCarrierOff, netifCarrierOn } from '../control.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { ETH_P_8021Q } from '../../wire/eth.ts';
import { VLAN_HLEN } from '../../wire/vlan.ts';

export interface VlanPrivate {
  vid: number;
}

export function vlanId(dev: NetDevice): number {
  return (dev.priv as VlanPrivate).vid;
}

function vlanXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  const parent = dev.link;
  const core = dev.core;
  if (parent === null) {
    dev.stats.txDropped++;
    core.kfreeSkb(skb, 'DEV_READY');
    return NETDEV_TX_OK;
  }
  // The tag goes between the MAC addresses and the ethertype: 12 bytes move
  // down into the headroom (vlan_insert_tag); the payload stays where it is.
  if (skb.len < 14 || !skb.cow(VLAN_HLEN)) {
    dev.stats.txDropped++;
    core.kfreeSkb(skb, skb.len < 14 ? 'PKT_TOO_SMALL' : 'NOMEM');
    return NETDEV_TX_OK;
  }
  const len = skb.len;
  const at = skb.push(VLAN_HLEN);
  const buf = skb.buf;
  buf.copyWithin(at, at + VLAN_HLEN, at + VLAN_HLEN + 12);
  const tci = vlanId(dev) | ((skb.priority & 7) << 13);
  buf[at + 12] = ETH_P_8021Q >>> 8;
  buf[at + 13] = ETH_P_8021Q & 0xff;
  buf[at + 14] = tci >>> 8;
  buf[at + 15] = tci & 0xff;
  skb.macHeader = at;
  skb.dev = parent;
  dev.stats.txPackets++;
  dev.stats.txBytes += len;
  devQueueXmit(skb);
  return NETDEV_TX_OK;
}

/** The channel's carrier follows its parent (netif_stacked_transfer_operstate). */
export function vlanTransferOperstate(dev: NetDevice): void {
  if (dev.isUp() && dev.link !== null && dev.link.isRunning()) netifCarrierOn(dev);
  else netifCarrierOff(dev);
}

function vlanUninit(dev: NetDevice): void {
  const parent = dev.link;
  if (parent !== null && parent.vlans.get(vlanId(dev)) === dev) parent.vlans.delete(vlanId(dev));
  dev.link = null;
}

/** An unregistered channel for `vid` on `parent`. EEXIST if the VID is taken. */
export function createVlan(core: NetCore, parent: NetDevice, vid: number): NetDevice {
  if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new NetError('ERANGE', `VLAN id ${vid} is outside 1..4094`);
  if (parent.vlans.has(vid)) throw new NetError('EEXIST', `${parent.name} already has VLAN ${vid}`);
  if (parent.kind === 'loopback' || parent.hardHeaderLen !== 14) {
    throw new NetError('EOPNOTSUPP', `${parent.name} cannot carry 802.1Q frames`);
  }
  const dev = new NetDevice(core, {
    kind: 'vlan',
    ops: etherOps({
      hardStartXmit: vlanXmit,
      // open runs before IFF_UP is set, stop after it is cleared.
      open: (d) => (parent.isRunning() ? netifCarrierOn(d) : netifCarrierOff(d)),
      stop: netifCarrierOff,
      init: (d) => {
        parent.vlans.set(vid, d);
      },
      uninit: vlanUninit,
      setMacAddress: ethMacAddr,
      fillInfo: (d) => ({ protocol: '802.1Q', id: vlanId(d) }),
    }),
    mtu: parent.mtu,
    maxMtu: parent.mtu,
    flags: parent.flags & (IFF.BROADCAST | IFF.MULTICAST | IFF.NOARP),
    devAddr: Buffer.from(parent.devAddr),
    noQueue: true,
    carrierFollowsUp: false,
    reportsOperstate: true,
  });
  dev.link = parent;
  dev.priv = { vid } satisfies VlanPrivate;
  return dev;
}
