// 802.1Q VLAN channels: "several logical interfaces over one medium". A
// channel `parent.vid` pushes its tag on transmit and sends through the
// parent; the parent's rx handler (vlan/receive.ts) hands it the frames
// tagged with its VID. Channels come and go while the parent runs. All of
// VLAN lives in this room (src/vlan/); the stack knows it only as a
// protocol (vlan/protocol.ts) and the device layer only as an rx handler.

import { NetError } from '../errno.ts';
import { IFF } from '../dev/flags.ts';
import { NetDevice } from '../dev/netdevice.ts';
import { NETDEV_TX_OK, NET_XMIT_SUCCESS, type NetCore, type NetdevTx } from '../dev/ops.ts';
import { ethMacAddr, etherOps } from '../dev/ether.ts';
import { devQueueXmit } from '../dev/xmit.ts';
import { netifCarrierOff, netifCarrierOn } from '../dev/control.ts';
import { devUcAdd, devUcDel } from '../dev/uc.ts';
import { netdevRxHandlerRegister, netdevRxHandlerUnregister } from '../dev/rx-handler.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { ETH_HLEN, readEthType } from '../wire/eth.ts';
import { macEquals } from '../wire/mac.ts';
import { VLAN_HLEN, VLAN_PRIO_SHIFT, VLAN_VID_MAX, VLAN_VID_MIN, isValidVlanId, vlanTagInsert, writeVlanTag } from '../wire/vlan.ts';
import { vlanHandleFrame } from './receive.ts';

export interface VlanPrivate {
  vid: number;
  /** egress-qos-map: skb priority -> 802.1p PCP; a priority not in it sends PCP 0. */
  egressQosMap: Map<number, number>;
  /** This channel's MAC is on the parent's unicast list (vlan_dev_open). */
  ucAdded: Buffer | null;
}

/** The channels on one parent, by VID: the parent's rx_handler_data (struct vlan_info). */
export interface VlanGroup {
  readonly byVid: Map<number, NetDevice>;
}

export function vlanId(dev: NetDevice): number {
  return (dev.priv as VlanPrivate).vid;
}

/** The parent's channel table, or null when it has none. */
export function vlanGroupOf(parent: NetDevice): VlanGroup | null {
  return parent.rxHandler === vlanHandleFrame ? (parent.rxHandlerData as VlanGroup) : null;
}

/** The channel on `parent` for `vid` (vlan_find_dev). */
export function vlanFindDev(parent: NetDevice, vid: number): NetDevice | undefined {
  return vlanGroupOf(parent)?.byVid.get(vid);
}

/** Every channel on `parent`. */
export function vlanChannels(parent: NetDevice): NetDevice[] {
  const g = vlanGroupOf(parent);
  return g === null ? [] : [...g.byVid.values()];
}

/** vlan_dev_get_egress_qos_mask: the PCP bits for this frame's priority, 0 unless mapped. */
function egressPcp(priv: VlanPrivate, priority: number): number {
  if (priv.egressQosMap.size === 0) return 0;
  return priv.egressQosMap.get(priority) ?? 0;
}

/** vlan_dev_hard_start_xmit: tag, send through the parent, count only what it took. */
function vlanXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  const parent = dev.link;
  if (parent === null) {
    dev.stats.txDropped++;
    skb.drop('DEV_READY');
    return NETDEV_TX_OK;
  }
  // The tag goes between the MAC addresses and the ethertype: 12 bytes move
  // down into the headroom (vlan_insert_tag); the payload stays where it is.
  if (skb.len < ETH_HLEN || !skb.cow(VLAN_HLEN)) {
    dev.stats.txDropped++;
    skb.drop(skb.len < ETH_HLEN ? 'PKT_TOO_SMALL' : 'NOMEM');
    return NETDEV_TX_OK;
  }
  const len = skb.len;
  const priv = dev.priv as VlanPrivate;
  const buf = skb.buf;
  const type = readEthType(buf, skb.data);
  const move = vlanTagInsert(skb.data);
  skb.push(VLAN_HLEN);
  buf.copyWithin(move.to, move.from, move.from + move.length);
  writeVlanTag(buf, move.tagOffset, priv.vid | (egressPcp(priv, skb.priority) << VLAN_PRIO_SHIFT), type);
  skb.macHeader = skb.data;
  skb.dev = parent;
  if (devQueueXmit(skb) === NET_XMIT_SUCCESS) {
    dev.stats.txPackets++;
    dev.stats.txBytes += len;
  } else {
    dev.stats.txDropped++;
  }
  return NETDEV_TX_OK;
}

/** The channel's carrier follows its parent (netif_stacked_transfer_operstate). */
export function vlanTransferOperstate(dev: NetDevice): void {
  if (dev.isUp() && dev.link !== null && dev.link.isRunning()) netifCarrierOn(dev);
  else netifCarrierOff(dev);
}

/** vlan_dev_open: a MAC of its own goes on the parent's unicast list, so the parent accepts it. */
function vlanOpen(dev: NetDevice): void {
  const parent = dev.link;
  syncUnicast(dev, true);
  if (parent !== null && parent.isRunning()) netifCarrierOn(dev);
  else netifCarrierOff(dev);
}

function vlanStop(dev: NetDevice): void {
  syncUnicast(dev, false);
  netifCarrierOff(dev);
}

/** Keep the parent's unicast list holding this channel's address while it is up and differs. */
function syncUnicast(dev: NetDevice, up: boolean): void {
  const priv = dev.priv as VlanPrivate;
  const parent = dev.link;
  if (priv.ucAdded !== null) {
    if (parent !== null) devUcDel(parent, priv.ucAdded);
    priv.ucAdded = null;
  }
  if (up && parent !== null && !macEquals(dev.devAddr, 0, parent.devAddr, 0)) {
    priv.ucAdded = Buffer.from(dev.devAddr);
    devUcAdd(parent, priv.ucAdded);
  }
}

/** vlan_dev_set_mac_address: while up, the parent's unicast entry follows. */
function vlanSetMac(dev: NetDevice, addr: Buffer): void {
  ethMacAddr(dev, addr);
  if (dev.isUp()) syncUnicast(dev, true);
}

function vlanInit(dev: NetDevice): void {
  const parent = dev.link!;
  let group = vlanGroupOf(parent);
  if (group === null) {
    group = { byVid: new Map() };
    netdevRxHandlerRegister(parent, vlanHandleFrame, group);
  }
  group.byVid.set(vlanId(dev), dev);
}

function vlanUninit(dev: NetDevice): void {
  const parent = dev.link;
  if (parent !== null) {
    syncUnicast(dev, false);
    const group = vlanGroupOf(parent);
    if (group !== null && group.byVid.get(vlanId(dev)) === dev) {
      group.byVid.delete(vlanId(dev));
      if (group.byVid.size === 0) netdevRxHandlerUnregister(parent);
    }
  }
  dev.link = null;
}

export interface VlanOptions {
  /** skb priority -> PCP (0..7), as `ip link add ... type vlan egress-qos-map FROM:TO`. */
  egressQosMap?: Record<string, number> | Map<number, number>;
}

/** The egress map in `ip -d link`'s order: [[from, to], ...] sorted by priority. */
export function vlanEgressQosMap(dev: NetDevice): [number, number][] {
  return [...(dev.priv as VlanPrivate).egressQosMap].sort((a, b) => a[0] - b[0]);
}

function checkQosMap(map: VlanOptions['egressQosMap']): Map<number, number> {
  const out = new Map<number, number>();
  if (map === undefined) return out;
  for (const [k, v] of map instanceof Map ? map : Object.entries(map)) {
    const from = Number(k);
    if (!Number.isInteger(from) || from < 0 || from > 0xffffffff) throw new NetError('EINVAL', `egress-qos-map: bad priority "${k}"`);
    if (!Number.isInteger(v) || v < 0 || v > 7) throw new NetError('EINVAL', `egress-qos-map: PCP ${v} is outside 0..7`);
    out.set(from, v);
  }
  return out;
}

/** An unregistered channel for `vid` on `parent`. EEXIST if the VID is taken. */
export function createVlan(core: NetCore, parent: NetDevice, vid: number, opts: VlanOptions = {}): NetDevice {
  if (!isValidVlanId(vid)) throw new NetError('ERANGE', `VLAN id ${vid} is outside ${VLAN_VID_MIN}..${VLAN_VID_MAX}`);
  if (vlanFindDev(parent, vid) !== undefined) throw new NetError('EEXIST', `${parent.name} already has VLAN ${vid}`);
  if (parent.kind === 'loopback' || parent.hardHeaderLen !== ETH_HLEN) {
    throw new NetError('EOPNOTSUPP', `${parent.name} cannot carry 802.1Q frames`);
  }
  if (parent.rxHandler !== null && vlanGroupOf(parent) === null) {
    throw new NetError('EBUSY', `${parent.name} already has a receive handler (a bridge port?)`);
  }
  const egressQosMap = checkQosMap(opts.egressQosMap);
  const dev = new NetDevice(core, {
    kind: 'vlan',
    ops: etherOps({
      hardStartXmit: vlanXmit,
      // open runs before IFF_UP is set, stop after it is cleared.
      open: vlanOpen,
      stop: vlanStop,
      init: vlanInit,
      uninit: vlanUninit,
      setMacAddress: vlanSetMac,
      fillInfo: (d) => ({
        protocol: '802.1Q',
        id: vlanId(d),
        ...(egressQosMap.size > 0 ? { egress_qos: vlanEgressQosMap(d).map(([from, to]) => ({ from, to })) } : {}),
      }),
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
  dev.priv = { vid, egressQosMap, ucAdded: null } satisfies VlanPrivate;
  return dev;
}
