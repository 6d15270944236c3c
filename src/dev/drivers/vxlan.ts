// vxlan (RFC 7348): an Ethernet device whose wire is UDP. Each frame travels
// as one datagram, an 8-byte header (I flag, 24-bit VNI) followed by the inner
// frame; node:dgram builds the outer IP/UDP. The only dev/ driver that does
// real I/O (its socket lives in vxlan/socket.ts).
//
// Forwarding follows Linux's vxlan fdb:
// - the configured remotes are the all-zeros entries (`bridge fdb append
//   00:00:00:00:00:00 dst H port P`): broadcast, multicast and unknown unicast
//   go to every one of them;
// - with learning on, a frame from MAC X arriving from peer R teaches "X is
//   behind R"; later unicast to X goes to R alone, until the entry has not
//   been refreshed for `ageing` (the stack's clock, checked when used, so no
//   timer runs).
// A learned peer is addressed at its configured port when its address matches
// a configured remote, else at `dstport`; never at the UDP source port, which
// Linux picks by hashing the inner flow.
//
// The rooms: vxlan/remotes.ts (remotes and their resolution), vxlan/fdb.ts
// (the forwarding table), vxlan/socket.ts (binding, the in-flight ring);
// this file is the device: receive, transmit, lifecycle, `ip -d link`.
//
// Host names in remotes are resolved with dns.lookup. A peer started later
// (docker compose starts services in any order) must not make creation fail:
// creation waits briefly for the first answer, and a name still unresolved
// after that is retried at send time (at most once a second). Frames meant for
// it meanwhile are counted (tx_errors, tx_carrier_errors, drop reason
// IP_OUTNOROUTES). A resolved name is looked up again every minute in the
// background, so a restarted peer with a new address is followed.
//
// Transmit: the header is pushed into the skb's headroom and the datagram is
// sent straight from the skb's buffer; the skb is freed in the send callback,
// when the kernel has taken the bytes, which also credits the sending socket.
// More than MAX_INFLIGHT sends pending stops the device queue (the qdisc then
// holds or drops, and senders block on their sndbuf); completions wake it.
// Linux's vxlan is queueless and never pushes back; this one has a pfifo_fast
// qdisc so that a fast sender meets flow control instead of silent loss.
//
// Receive: the socket stays bound from creation to deletion; datagrams are
// delivered only while the device is up. Runts and a clear I flag count as
// rx_errors (VXLAN_INVALID_HDR), another VNI as rx_dropped
// (VXLAN_VNI_NOT_FOUND); nothing a peer sends can throw.

import type dgram from 'node:dgram';
import net from 'node:net';
import { NetError } from '../../errno.ts';
import { NetDevice } from '../netdevice.ts';
import { NETDEV_TX_OK, type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import { netifStopQueue, netifWakeQueue } from '../xmit.ts';
import { devAllocSkbFrom, type SkBuff } from '../../skb/skbuff.ts';
import type { DropReason } from '../../skb/drop-reason.ts';
import { ETH_ALEN, ETH_HLEN } from '../../wire/eth.ts';
import { isZeroMac, parseMac, randomMac } from '../../wire/mac.ts';
import type { FdbAddRequest, FdbView } from '../fdb.ts';
import { encodeVxlanHeader, parseVxlanHeader, VXLAN_HLEN } from '../../wire/vxlan.ts';
import { parseLiteralEndpoint, Remote, refreshRemote, resolveAll, socketForm, type ResolverHost } from './vxlan/remotes.ts';
import { keyToMac, macKey, VxlanFdb } from './vxlan/fdb.ts';
import { bindSocket, InflightRing, localAddress, sendErrorReason } from './vxlan/socket.ts';

export const VXLAN_DEFAULT_MTU = 1450;
export const VXLAN_DEFAULT_AGEING_S = 300;
/** Sends handed to the socket and not yet completed before the queue stops. */
export const VXLAN_MAX_INFLIGHT = 1024;
/** ...and the level completions must bring them down to before it runs again. */
const WAKE_INFLIGHT = VXLAN_MAX_INFLIGHT / 2;
/** Learned entries kept at most (Linux's `maxaddress`); a fuzzer cannot grow the table past it. */
export const VXLAN_FDB_MAX_LEARNED = 4096;
/** Outer IP + UDP + VXLAN + inner Ethernet header: what the underlay adds to the MTU. */
const HEADROOM_V4 = 20 + 8 + VXLAN_HLEN + ETH_HLEN;
const HEADROOM_V6 = 40 + 8 + VXLAN_HLEN + ETH_HLEN;
/** Largest IP datagram (IP_MAX_MTU). */
const IP_MAX_MTU = 0xffff;

export interface VxlanEndpoint {
  /** An IP literal or a host name. */
  host: string;
  port: number;
}

/** A validated configuration (the kind in src/rtnl/vxlan-kind.ts builds it from the spec). */
export interface VxlanConfig {
  vni: number;
  /** Where to bind; host is an IP literal or a name of this machine. Port 0 picks a free one. */
  local: VxlanEndpoint;
  /** The all-zeros fdb entries. */
  remotes: VxlanEndpoint[];
  /** Port for learned peers that match no configured remote. */
  dstport: number;
  learning: boolean;
  ageingMs: number;
}

/** What the driver needs from the stack: the NetCore, plus counting a drop that has no skb. */
export interface VxlanCore extends NetCore {
  countDrop(reason: DropReason): void;
}

export class Vxlan {
  readonly remotes: Remote[];
  readonly fdb: VxlanFdb;
  /** Sends not yet completed. */
  inflight = 0;
  closed = false;
  /** Set when this driver (not netem) stopped the queue, so only it wakes it. */
  private stoppedQueue = false;
  private readonly ring = new InflightRing();
  private readonly boundAddress: string;
  readonly boundPort: number;

  constructor(
    readonly dev: NetDevice,
    readonly core: VxlanCore,
    readonly socket: dgram.Socket,
    readonly family: 4 | 6,
    readonly cfg: VxlanConfig,
  ) {
    this.fdb = new VxlanFdb(cfg.ageingMs, VXLAN_FDB_MAX_LEARNED);
    this.remotes = cfg.remotes.map((r) => {
      const literal = net.isIP(r.host) !== 0;
      const remote = new Remote(r.host, r.port, !literal, true);
      if (literal) remote.address = socketForm(family, r.host, net.isIP(r.host) as 4 | 6);
      return remote;
    });
    const a = socket.address();
    this.boundAddress = a.address;
    this.boundPort = a.port;
    socket.on('message', this.onMessage);
    // Errors reported by the socket itself (not by a send) must not crash the service.
    socket.on('error', (err) => core.log.warn({ ifname: dev.name, err: err.message }, 'vxlan socket error'));
  }

  get local(): string {
    return this.family === 6 ? `[${this.boundAddress}]:${this.boundPort}` : `${this.boundAddress}:${this.boundPort}`;
  }

  /** What resolving a remote's name needs from the device (made once, kept current). */
  private resolver: { -readonly [K in keyof ResolverHost]: ResolverHost[K] } | null = null;

  /** At creation: give every name a first chance, bounded so that slow DNS cannot stall `ip link add`. */
  resolveAll(): Promise<void> {
    return resolveAll(this.resolverHost(), this.remotes);
  }

  private resolverHost(): ResolverHost {
    const r = (this.resolver ??= { family: this.family, closed: false, now: () => this.core.clock.now(), log: this.core.log, ifname: '' });
    r.closed = this.closed;
    r.ifname = this.dev.name;
    return r;
  }

  // ---- receive ----

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const dev = this.dev;
    const core = this.core;
    if (this.closed) return;
    const h = parseVxlanHeader(msg, 0);
    if (!h.ok) {
      dev.stats.rxErrors++;
      if (h.error === 'runt') dev.stats.rxLengthErrors++;
      else dev.stats.rxFrameErrors++;
      core.pool.countDrop('VXLAN_INVALID_HDR');
      return;
    }
    if (h.vni !== this.cfg.vni) {
      dev.stats.rxDropped++;
      core.pool.countDrop('VXLAN_VNI_NOT_FOUND');
      return;
    }
    if (!dev.isUp()) {
      dev.stats.rxDropped++;
      core.pool.countDrop('DEV_READY');
      return;
    }
    const off = h.payloadOffset;
    if (this.cfg.learning) {
      const src = off + ETH_ALEN;
      // vxlan_snoop: a multicast or all-zeros source cannot be learned, and Linux drops the frame.
      if ((msg[src]! & 1) !== 0 || macKey(msg, src) === 0) {
        dev.stats.rxDropped++;
        core.pool.countDrop('MAC_INVALID_SOURCE');
        return;
      }
      this.fdb.learn(macKey(msg, src), rinfo.address, rinfo.port, core.clock.now(), this.remoteFor);
    }
    const len = msg.length - off;
    const skb = devAllocSkbFrom(core.pool, len);
    if (skb === null) {
      dev.stats.rxDropped++;
      core.pool.countDrop('NOMEM');
      return;
    }
    // The whole datagram goes in, its header into the headroom, which is then
    // left behind (as a NIC's DMA and a pull would): a plain set() is cheaper
    // than a ranged copy. dev_alloc_skb's NET_SKB_PAD (16) has room for the 8 bytes.
    skb.buf.set(msg, skb.put(len) - off);
    skb.dev = dev;
    core.netifRx(skb);
  };

  /** The configured remote this datagram came from (same address and port, else same address), or a new peer at dstport. */
  private readonly remoteFor = (address: string, port: number): Remote => {
    let sameAddress: Remote | null = null;
    for (const r of this.remotes) {
      if (r.address !== address) continue;
      if (r.port === port) return r;
      sameAddress ??= r;
    }
    if (sameAddress !== null) return sameAddress;
    const peer = new Remote(address, this.cfg.dstport, false, false);
    peer.address = address;
    return peer;
  };

  // ---- transmit ----

  xmit(skb: SkBuff): NetdevTx {
    const dev = this.dev;
    const core = this.core;
    const len = skb.len;
    if (this.closed) {
      dev.stats.txDropped++;
      skb.drop('DEV_READY');
      return NETDEV_TX_OK;
    }
    if (len < ETH_HLEN) {
      dev.stats.txDropped++;
      skb.drop('PKT_TOO_SMALL');
      return NETDEV_TX_OK;
    }
    let only: Remote | null = null;
    if ((skb.buf[skb.data]! & 1) === 0 && this.fdb.size > 0) only = this.fdb.lookup(macKey(skb.buf, skb.data), core.clock.now());
    if (only === null && this.remotes.length === 0) {
      dev.stats.txDropped++;
      skb.drop('VXLAN_NO_REMOTE');
      return NETDEV_TX_OK;
    }
    // The header goes into the headroom; a shared block is copied first (a tap may hold a clone).
    if (!skb.cow(VXLAN_HLEN)) {
      dev.stats.txDropped++;
      skb.drop('NOMEM');
      return NETDEV_TX_OK;
    }
    const at = skb.push(VXLAN_HLEN);
    encodeVxlanHeader(skb.buf, at, this.cfg.vni);
    const datagram = skb.buf.subarray(at, skb.tail);
    let failed: DropReason | null = null;
    let handed = 0;
    const targets = only !== null ? 1 : this.remotes.length;
    for (let i = 0; i < targets; i++) {
      const why = this.sendCopy(skb, datagram, only ?? this.remotes[i]!, len);
      if (why === null) handed++;
      else failed = why;
    }
    // Each copy handed to the socket holds its own reference; this drops the
    // caller's. A frame no copy of which left is a drop of that frame; a
    // failed extra copy (flooding to several remotes) is counted on its own.
    if (handed === 0) skb.drop(failed ?? 'NOT_SPECIFIED');
    else {
      if (failed !== null) core.pool.countDrop(failed);
      skb.free();
    }
    if (this.inflight >= VXLAN_MAX_INFLIGHT && !dev.queueStopped) {
      netifStopQueue(dev);
      this.stoppedQueue = true;
    }
    return NETDEV_TX_OK;
  }

  /** Hand one copy to the socket; the drop reason when it could not be. */
  private sendCopy(skb: SkBuff, datagram: Buffer, r: Remote, len: number): DropReason | null {
    const dev = this.dev;
    if (r.isName) refreshRemote(this.resolverHost(), r);
    const address = r.address;
    if (address === null) {
      dev.stats.txErrors++;
      dev.stats.txCarrierErrors++;
      return 'IP_OUTNOROUTES';
    }
    try {
      this.socket.send(datagram, r.port, address, this.afterSend);
    } catch {
      // dgram throws only for a closed socket or bad arguments, which creation rules out.
      dev.stats.txErrors++;
      return 'NOT_SPECIFIED';
    }
    this.ring.push(skb.get());
    this.inflight++;
    dev.stats.txPackets++;
    dev.stats.txBytes += len;
    return null;
  }

  private readonly afterSend = (err: Error | null): void => {
    const skb = this.ring.shift();
    if (skb === null) return;
    this.inflight--;
    if (err !== null) {
      this.dev.stats.txErrors++;
      skb.drop(sendErrorReason(err));
    } else {
      skb.free();
    }
    if (this.stoppedQueue && this.inflight <= WAKE_INFLIGHT) {
      this.stoppedQueue = false;
      if (this.dev.queueStopped && this.dev.isUp()) netifWakeQueue(this.dev);
    }
  };

  // ---- lifecycle ----

  /** Close the socket; sends still pending are freed as they complete or when it has closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('message', this.onMessage);
    this.socket.close(() => {
      // Sends the close cancelled may never call back: their skbs go now.
      for (let skb = this.ring.shift(); skb !== null; skb = this.ring.shift()) {
        this.inflight--;
        skb.drop('QUEUE_PURGE');
      }
    });
  }

  // ---- the forwarding table (bridge fdb show|add|del) ----

  fdbDump(): FdbView[] {
    const now = this.core.clock.now();
    this.fdb.expire(now);
    const ifname = this.dev.name;
    const out: FdbView[] = this.remotes.map((r) => ({ mac: '00:00:00:00:00:00', ifname, dst: endpointText(r.host, r.port), state: 'permanent', flags: [] }));
    for (const [key, e] of this.fdb.entries) {
      const dst = endpointText(e.remote.address ?? e.remote.host, e.remote.port);
      out.push(e.static === true
        ? { mac: keyToMac(key), ifname, dst, state: 'static', flags: [] }
        : { mac: keyToMac(key), ifname, dst, state: 'learned', flags: [], age_s: Math.floor((now - e.updated) / 1000) });
    }
    return out;
  }

  /** bridge fdb add MAC dev X dst HOST[:PORT]: all-zeros appends a flooding remote, another MAC a static entry. */
  fdbAdd(req: FdbAddRequest): void {
    const mac = parseMac(req.mac);
    if (mac === undefined) throw new NetError('EINVAL', `"${req.mac}" is not a MAC address`);
    if (req.dst === undefined) throw new NetError('EINVAL', 'a vxlan fdb entry needs a dst');
    const ep = parseLiteralEndpoint(req.dst, this.cfg.dstport);
    if (ep === null) throw new NetError('EINVAL', `dst "${req.dst}" is not an IP address with an optional port`);
    const family = net.isIP(ep.host) as 4 | 6;
    if (family === 6 && this.family === 4) throw new NetError('EAFNOSUPPORT', `dst ${ep.host} is IPv6 but the socket is IPv4`);
    const address = socketForm(this.family, ep.host, family);
    if (isZeroMac(mac)) {
      if (this.remotes.some((r) => r.address === address && r.port === ep.port)) throw new NetError('EEXIST', `${req.dst} is a remote already`);
      const r = new Remote(ep.host, ep.port, false, true);
      r.address = address;
      this.remotes.push(r);
      return;
    }
    if ((mac[0]! & 1) !== 0) throw new NetError('EINVAL', `${req.mac} is not a unicast address`);
    const key = macKey(mac, 0);
    if (this.fdb.entries.get(key)?.static === true) throw new NetError('EEXIST', `${req.mac} has a static entry already`);
    const remote = this.remoteFor(address, ep.port);
    this.fdb.entries.set(key, { remote, srcAddress: address, srcPort: ep.port, updated: this.core.clock.now(), static: true });
  }

  /** bridge fdb del MAC dev X [dst HOST[:PORT]]. */
  fdbDel(macText: string, dst?: string): void {
    const mac = parseMac(macText);
    if (mac === undefined) throw new NetError('EINVAL', `"${macText}" is not a MAC address`);
    if (isZeroMac(mac)) {
      const ep = dst === undefined ? null : parseLiteralEndpoint(dst, this.cfg.dstport);
      if (ep === null) throw new NetError('EINVAL', 'removing a remote needs its dst');
      const i = this.remotes.findIndex((r) => (r.host === ep.host || r.address === ep.host) && r.port === ep.port);
      if (i < 0) throw new NetError('ENOENT', `${dst} is not a remote of ${this.dev.name}`);
      this.remotes.splice(i, 1);
      return;
    }
    if (!this.fdb.entries.delete(macKey(mac, 0))) throw new NetError('ENOENT', `${macText} is not in ${this.dev.name}'s forwarding table`);
  }

  /** The `ip -d link` details (rtnl fill_info), with the fdb as `bridge fdb show` would list it. */
  info(): Record<string, unknown> {
    const now = this.core.clock.now();
    this.fdb.expire(now);
    const fdb: Record<string, unknown>[] = this.remotes.map((r) => ({
      mac: '00:00:00:00:00:00',
      dst: r.host,
      port: r.port,
      state: 'permanent',
      ...(r.isName ? { resolved: r.address, ...(r.lastError !== null ? { error: r.lastError } : {}) } : {}),
    }));
    for (const [key, e] of this.fdb.entries) {
      fdb.push({
        mac: keyToMac(key),
        dst: e.remote.address ?? e.remote.host,
        port: e.remote.port,
        state: 'dynamic',
        age_s: Math.floor((now - e.updated) / 1000),
      });
    }
    return {
      id: this.cfg.vni,
      local: this.local,
      remote: this.remotes.map((r) => (net.isIPv6(r.host) ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`)),
      dstport: this.cfg.dstport,
      learning: this.cfg.learning,
      ageing: Number.isFinite(this.cfg.ageingMs) ? Math.round(this.cfg.ageingMs / 1000) : 0,
      fdb,
    };
  }
}

/** host:port, an IPv6 host in brackets. */
function endpointText(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export function vxlanOf(dev: NetDevice): Vxlan {
  return dev.priv as Vxlan;
}

/**
 * An unregistered vxlan device with its socket already bound (EADDRINUSE and
 * friends surface here, before registration). Release it with releaseVxlan
 * if it never gets registered; once registered, deleting the device closes it.
 */
export async function createVxlan(core: VxlanCore, cfg: VxlanConfig): Promise<NetDevice> {
  const local = await localAddress(cfg.local.host);
  for (const r of cfg.remotes) {
    if (net.isIP(r.host) === 6 && local.family === 4) {
      throw new NetError('EAFNOSUPPORT', `remote ${r.host} is IPv6 but the local address ${cfg.local.host} is IPv4`);
    }
  }
  const socket = await bindSocket(local.address, local.family, cfg.local.port);
  const maxMtu = IP_MAX_MTU - (local.family === 6 ? HEADROOM_V6 : HEADROOM_V4);
  const dev = new NetDevice(core, {
    kind: 'vxlan',
    ops: etherOps({
      hardStartXmit: (d, skb) => vxlanOf(d).xmit(skb),
      uninit: (d) => vxlanOf(d).close(),
      fillInfo: (d) => vxlanOf(d).info(),
      fdbDump: (d) => vxlanOf(d).fdbDump(),
      fdbAdd: (d, entry) => vxlanOf(d).fdbAdd(entry),
      fdbDel: (d, mac, dst) => vxlanOf(d).fdbDel(mac, dst),
    }),
    mtu: VXLAN_DEFAULT_MTU,
    maxMtu,
    devAddr: randomMac(),
  });
  const vx = new Vxlan(dev, core, socket, local.family, cfg);
  dev.priv = vx;
  await vx.resolveAll();
  return dev;
}

/** Undo createVxlan for a device that was never registered. */
export function releaseVxlan(dev: NetDevice): void {
  vxlanOf(dev).close();
}

