// bridge: Linux's software switch (net/bridge). Ports join with `ip link set
// dev X master br0`: the bridge becomes the port's rx_handler (br_add_if
// sets it, and makes the port promiscuous, since it must see frames for
// every address). A frame received on a port (br_handle_frame):
//   - teaches the forwarding table where its source lives (br_fdb_update);
//   - to the bridge's or a port's own address: goes up the stack on br0;
//   - broadcast or multicast: flooded to every other port, and up on br0;
//   - unicast to a known address: forwarded to that port only;
//   - unicast to an unknown address: flooded to every other port.
// A frame sent on br0 itself (br_dev_xmit) is forwarded or flooded the same
// way. Every port forwards: STP is off (stp_state 0), so there is no
// listening/learning/blocking state and a loop of bridges would loop, as it
// does on Linux with STP off. No VLAN filtering, no multicast snooping
// (multicast floods), no hairpin mode.

import { NetError } from '../../errno.ts';
import { PacketType, type SkBuff } from '../../skb/skbuff.ts';
import { ETH_HLEN } from '../../wire/eth.ts';
import { formatMac, isValidUnicastMac, parseMac, randomMac } from '../../wire/mac.ts';
import { devSetPromiscuity } from '../control.ts';
import { etherOps } from '../ether.ts';
import { ARPHRD } from '../flags.ts';
import { NetDevice } from '../netdevice.ts';
import type { NetdevEvent } from '../notifier.ts';
import { NETDEV_TX_OK, type NetCore, type NetdevTx } from '../ops.ts';
import type { FdbAddRequest, FdbView } from '../fdb.ts';
import { RX_HANDLER_ANOTHER, RX_HANDLER_CONSUMED, RX_HANDLER_PASS, netdevRxHandlerRegister, netdevRxHandlerUnregister, type RxHandlerResult } from '../rx-handler.ts';
import { devQueueXmit } from '../xmit.ts';
import { BR_DEFAULT_AGEING_TIME_S, BridgeFdb } from './bridge-fdb.ts';

export interface BridgePrivate {
  readonly fdb: BridgeFdb;
  /** Ports in the order they joined (flooding order). */
  readonly ports: NetDevice[];
  /** Each port's address as the fdb knows it, to replace its permanent entry when it changes. */
  readonly portAddr: Map<NetDevice, Buffer>;
  brAddr: Buffer;
  unsubscribe: () => void;
}

export function isBridge(dev: NetDevice): boolean {
  return dev.kind === 'bridge';
}

export function bridgePriv(br: NetDevice): BridgePrivate {
  return br.priv as BridgePrivate;
}

/** Link-local group 01:80:c2:00:00:0X (IEEE 802.1D reserved). */
function isLinkLocal(b: Uint8Array, m: number): boolean {
  return b[m] === 0x01 && b[m + 1] === 0x80 && b[m + 2] === 0xc2 && b[m + 3] === 0 && b[m + 4] === 0 && (b[m + 5]! & 0xf0) === 0;
}

/** br_dev_queue_push_xmit: the frame (data at its Ethernet header) leaves by `port`. */
function portXmit(port: NetDevice, skb: SkBuff): void {
  skb.dev = port;
  skb.pktType = PacketType.HOST;
  devQueueXmit(skb);
}

/**
 * br_flood: a copy to every running port but `except`; the original goes to
 * the last one unless `keep` (the caller still needs it). Returns whether
 * the original was used.
 */
function flood(br: NetDevice, skb: SkBuff, except: NetDevice | null, keep: boolean): boolean {
  const targets = bridgePriv(br).ports.filter((p) => p !== except && p.isUp());
  for (let i = 0; i < targets.length; i++) {
    const last = i === targets.length - 1;
    if (last && !keep) {
      portXmit(targets[i]!, skb);
      return true;
    }
    const c = skb.clone();
    if (c === null) {
      // Out of buffer memory: that port misses this copy.
      br.stats.txDropped++;
      continue;
    }
    portXmit(targets[i]!, c);
  }
  return false;
}

/** br_pass_frame_up: the frame goes up the stack on the bridge device. */
function passUp(br: NetDevice, skb: SkBuff): RxHandlerResult {
  br.stats.rxPackets++;
  br.stats.rxBytes += skb.len + ETH_HLEN;
  if (skb.pktType === PacketType.MULTICAST) br.stats.multicast++;
  if (skb.pktType === PacketType.OTHERHOST) skb.pktType = PacketType.HOST;
  skb.dev = br;
  return RX_HANDLER_ANOTHER;
}

/** br_handle_frame + br_handle_frame_finish, for a frame received on `port`. */
function brHandleFrame(port: NetDevice, skb: SkBuff): RxHandlerResult {
  const br = port.master;
  if (br === null) return RX_HANDLER_PASS;
  const core = br.core;
  const b = skb.buf;
  const m = skb.macHeader;
  // A port of a bridge that is down is disabled: it neither forwards nor learns.
  if (!br.isUp()) {
    skb.drop('DEV_READY');
    return RX_HANDLER_CONSUMED;
  }
  if ((b[m + 6]! & 1) !== 0) {
    skb.drop('MAC_INVALID_SOURCE');
    return RX_HANDLER_CONSUMED;
  }
  // 01:80:c2:00:00:0X are for this link only (pause, LACP, LLDP...); with
  // STP off the kernel forwards STP's own group (00) and passes the rest up
  // on the port.
  if (isLinkLocal(b, m) && b[m + 5] !== 0) return RX_HANDLER_PASS;
  const priv = bridgePriv(br);
  priv.fdb.learn(b, m + 6, port);
  // From here the frame is handled with its Ethernet header in front, as it is sent.
  const hlen = skb.data - m;
  if ((b[m]! & 1) !== 0) {
    skb.push(hlen);
    flood(br, skb, port, true);
    skb.pull(hlen);
    return passUp(br, skb);
  }
  const dst = priv.fdb.lookup(b, m);
  if (dst !== undefined && (dst.port === null || dst.state === 'permanent')) {
    skb.pktType = PacketType.HOST;
    return passUp(br, skb);
  }
  if (dst !== undefined) {
    if (dst.port === port) {
      // should_deliver() refuses to send a frame back out of the port it came
      // in by; br_forward then frees it without a reason.
      skb.drop('NOT_SPECIFIED');
      return RX_HANDLER_CONSUMED;
    }
    skb.push(hlen);
    portXmit(dst.port!, skb);
    return RX_HANDLER_CONSUMED;
  }
  // Unknown unicast: every other port; up on br0 too when it is promiscuous.
  skb.push(hlen);
  if (br.promiscuity > 0) {
    flood(br, skb, port, true);
    skb.pull(hlen);
    return passUp(br, skb);
  }
  if (!flood(br, skb, port, false)) skb.drop('NOT_SPECIFIED');
  return RX_HANDLER_CONSUMED;
}

/** br_dev_xmit: a frame sent on the bridge itself (data at the Ethernet header). */
function brDevXmit(br: NetDevice, skb: SkBuff): NetdevTx {
  br.stats.txPackets++;
  br.stats.txBytes += skb.len;
  const b = skb.buf;
  const m = skb.data;
  if (skb.len < ETH_HLEN) {
    br.stats.txDropped++;
    skb.drop('PKT_TOO_SMALL');
    return NETDEV_TX_OK;
  }
  const dst = (b[m]! & 1) === 0 ? bridgePriv(br).fdb.lookup(b, m) : undefined;
  if (dst !== undefined && dst.port !== null && dst.state !== 'permanent') portXmit(dst.port, skb);
  else if (dst !== undefined) skb.drop('NOT_SPECIFIED'); // to ourselves: nowhere to send it
  else if (!flood(br, skb, null, false)) skb.drop('NOT_SPECIFIED');
  return NETDEV_TX_OK;
}

/** br_add_if's checks, alone, so a request can be refused before anything of it is applied. */
export function brCheckAddIf(br: NetDevice, port: NetDevice): void {
  if (!isBridge(br)) throw new NetError('EOPNOTSUPP', `${br.name} is not a bridge`);
  // The kernel answers ELOOP to both; the errno table here has no ELOOP.
  if (port === br) throw new NetError('EINVAL', `${br.name} cannot be a port of itself`);
  if (isBridge(port)) throw new NetError('EINVAL', `${port.name} is a bridge: a bridge cannot be a port of another`);
  if (port.master === br) return;
  if (port.master !== null) throw new NetError('EBUSY', `${port.name} is already a port of ${port.master.name}`);
  if (port.type !== ARPHRD.ETHER || port.addrLen !== 6) throw new NetError('EINVAL', `${port.name} is not an Ethernet device`);
  if (port.rxHandler !== null) throw new NetError('EBUSY', `${port.name} already has a receive handler`);
}

/** br_add_if: `ip link set dev PORT master BR`. Checks everything before changing anything. */
export function brAddIf(br: NetDevice, port: NetDevice): void {
  brCheckAddIf(br, port);
  if (port.master === br) return;
  const priv = bridgePriv(br);
  port.master = br;
  netdevRxHandlerRegister(port, (skb: SkBuff) => brHandleFrame(port, skb), br);
  priv.ports.push(port);
  const addr = Buffer.from(port.devAddr);
  priv.portAddr.set(port, addr);
  priv.fdb.replaceLocal(null, addr, port);
  devSetPromiscuity(port, 1);
  br.core.log.info({ ifname: port.name, master: br.name }, 'port joined bridge');
  br.core.notifier.emit('CHANGE', port);
}

/** br_del_if: `ip link set dev PORT nomaster`. */
export function brDelIf(br: NetDevice, port: NetDevice): void {
  if (port.master !== br) return;
  const priv = bridgePriv(br);
  priv.fdb.flushPort(port);
  const i = priv.ports.indexOf(port);
  if (i >= 0) priv.ports.splice(i, 1);
  priv.portAddr.delete(port);
  port.master = null;
  netdevRxHandlerUnregister(port);
  devSetPromiscuity(port, -1);
  br.core.log.info({ ifname: port.name, master: br.name }, 'port left bridge');
  br.core.notifier.emit('CHANGE', port);
}

function onEvent(br: NetDevice, event: NetdevEvent, dev: NetDevice): void {
  const priv = bridgePriv(br);
  if (dev.master === br) {
    if (event === 'UNREGISTER') brDelIf(br, dev);
    else if (event === 'CHANGEADDR') {
      const next = Buffer.from(dev.devAddr);
      priv.fdb.replaceLocal(priv.portAddr.get(dev) ?? null, next, dev);
      priv.portAddr.set(dev, next);
    } else if (event === 'DOWN') priv.fdb.flushPort(dev, true);
  } else if (dev === br && event === 'CHANGEADDR') {
    const next = Buffer.from(br.devAddr);
    priv.fdb.replaceLocal(priv.brAddr, next, null);
    priv.brAddr = next;
  }
}

function brUninit(br: NetDevice): void {
  const priv = bridgePriv(br);
  for (const port of [...priv.ports]) brDelIf(br, port);
  priv.unsubscribe();
  priv.fdb.close();
}

function parseFdbMac(text: string): Buffer {
  const mac = parseMac(text);
  if (mac === undefined) throw new NetError('EINVAL', `"${text}" is not a MAC address`);
  return mac;
}

function brFdbAdd(br: NetDevice, entry: FdbAddRequest): void {
  if (entry.dst !== undefined) throw new NetError('EINVAL', 'dst is a vxlan entry\'s remote; a bridge entry names a port');
  const mac = parseFdbMac(entry.mac);
  // br_fdb_add: is_valid_ether_addr (multicast entries belong to the mdb).
  if (!isValidUnicastMac(mac)) throw new NetError('EINVAL', `${entry.mac} is not a unicast, non-zero address`);
  const priv = bridgePriv(br);
  const port = priv.ports.find((p) => p.name === entry.ifname);
  if (port === undefined) throw new NetError('EINVAL', `${entry.ifname} is not a port of ${br.name}`);
  // `bridge fdb add` asks with NLM_F_EXCL: an entry already there is EEXIST (use del first).
  if (priv.fdb.lookup(mac, 0) !== undefined) throw new NetError('EEXIST', `${formatMac(mac)} is already in ${br.name}'s forwarding table`);
  priv.fdb.set(mac, port, 'static');
}

function brFdbDel(br: NetDevice, mac: string, dst?: string): void {
  if (dst !== undefined) throw new NetError('EINVAL', 'dst is a vxlan entry\'s remote; a bridge entry is named by its address alone');
  const addr = parseFdbMac(mac);
  const fdb = bridgePriv(br).fdb;
  if (fdb.lookup(addr, 0) === undefined || !fdb.delete(addr)) throw new NetError('ENOENT', `${mac} is not in ${br.name}'s forwarding table`);
}

function brFdbDump(br: NetDevice): FdbView[] {
  return bridgePriv(br).fdb.dump();
}

/** The bridge's ageing_time, seconds (ip link ... type bridge ageing_time, in s here). */
export function setBridgeAgeing(br: NetDevice, seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 1_000_000) throw new NetError('EINVAL', 'ageing_time must be an integer within 0..1000000 s');
  bridgePriv(br).fdb.ageingMs = seconds * 1000;
}

export function bridgeAgeing(br: NetDevice): number {
  return bridgePriv(br).fdb.ageingMs / 1000;
}

/** An unregistered bridge device (br_dev_setup): no queue, a random address, STP off. */
export function createBridge(core: NetCore): NetDevice {
  const br = new NetDevice(core, {
    kind: 'bridge',
    ops: etherOps({
      hardStartXmit: brDevXmit,
      uninit: brUninit,
      fdbDump: brFdbDump,
      fdbAdd: brFdbAdd,
      fdbDel: brFdbDel,
      // rtnl bridge info_data: ageing_time in centiseconds as `ip -j -d link` shows it.
      fillInfo: (dev) => ({ ageing_time: Math.round(bridgeAgeing(dev) * 100), stp_state: 0 }),
      setRxMode: () => {},
    }),
    devAddr: randomMac(),
    noQueue: true,
    reportsOperstate: true,
  });
  const brAddr = Buffer.from(br.devAddr);
  const fdb = new BridgeFdb(core.clock, br);
  fdb.ageingMs = BR_DEFAULT_AGEING_TIME_S * 1000;
  fdb.replaceLocal(null, brAddr, null);
  const priv: BridgePrivate = { fdb, ports: [], portAddr: new Map(), brAddr, unsubscribe: () => {} };
  br.priv = priv;
  priv.unsubscribe = core.notifier.subscribe((event, dev) => onEvent(br, event, dev));
  return br;
}
