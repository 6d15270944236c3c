// dummy: swallows every frame and counts it, the seed's "null device". It
// keeps whatever ifmap it is given, so SIOCSIFMAP can be tried on it.

import { IFF } from '../flags.ts';
import { NetDevice, type IfMap } from '../netdevice.ts';
import { type NetCore, type NetdevTx } from '../ops.ts';
import { etherOps } from '../ether.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { randomMac } from '../../wire/mac.ts';
import { linkInfo, Wire } from './wire.ts';

function dummyXmit(dev: NetDevice, skb: SkBuff): NetdevTx {
  return wireOf(dev).xmit(dev, skb);
}

/** The frame has left the (imaginary) wire: count it and free it, crediting its sender. */
function dummyComplete(dev: NetDevice, skb: SkBuff): void {
  dev.stats.txPackets++;
  dev.stats.txBytes += skb.len;
  skb.free();
}

interface DummyPrivate {
  wire: Wire;
}

function wireOf(dev: NetDevice): Wire {
  return (dev.priv as DummyPrivate).wire;
}

function dummySetConfig(dev: NetDevice, map: Partial<IfMap>): void {
  for (const key of Object.keys(dev.map) as (keyof IfMap)[]) {
    const v = map[key];
    if (v !== undefined && v !== -1) dev.map[key] = v;
  }
}

/**
 * One method table for every dummy: its methods take the device and find
 * their state in dev.priv, so 10,000 dummies do not carry 10,000 copies of
 * the table and its closures (~400 bytes each).
 */
const dummyOps = etherOps({
  hardStartXmit: dummyXmit,
  setConfig: dummySetConfig,
  // An empty set_rx_mode, as dummy.c has: it filters nothing, so any
  // multicast list is accepted.
  setRxMode: () => {},
  stop: (d) => wireOf(d).flush(),
  getLinkSettings: (d) => wireOf(d).settings(),
  setLinkSettings: (d, ls) => wireOf(d).set(ls),
  fillInfo: (d) => linkInfo(wireOf(d)),
});

export function createDummy(core: NetCore): NetDevice {
  const dev = new NetDevice(core, {
    kind: 'dummy',
    ops: dummyOps,
    flags: IFF.BROADCAST | IFF.NOARP,
    devAddr: randomMac(),
    noQueue: true,
  });
  dev.priv = { wire: new Wire(dev, dummyComplete) } satisfies DummyPrivate;
  return dev;
}
