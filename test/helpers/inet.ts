// Two (or more) stacks joined by a simulated cable, on one virtual clock,
// with inet attached: for tests of ARP, IPv4, ICMP and UDP between hosts.
// A frame sent on one end is copied into the other stack's pool and received
// there; the sender's buffer is freed (which credits its socket), as a NIC
// does once the frame is on the wire.

import { VirtualClock } from '../../src/clock.ts';
import { NetStack } from '../../src/stack/netstack.ts';
import { NetDevice } from '../../src/dev/netdevice.ts';
import { NETDEV_TX_OK, type NetdevTx } from '../../src/dev/ops.ts';
import { etherOps } from '../../src/dev/ether.ts';
import { registerNetdevice } from '../../src/dev/register.ts';
import { devOpen } from '../../src/dev/control.ts';
import { devAllocSkbFrom } from '../../src/skb/skbuff.ts';
import { attachInet, inetInternals } from '../../src/inet/control.ts';
import type { InetStack } from '../../src/inet/inet.ts';

export interface Host {
  stack: NetStack;
  inet: InetStack;
}

export function host(clock: VirtualClock): Host {
  const stack = new NetStack({ clock });
  attachInet(stack);
  return { stack, inet: inetInternals(stack)! };
}

export interface Cable {
  /** Frames that left each end, as bytes (for assertions). */
  sent: Buffer[];
  /** Return false to lose a frame on the wire (counted as the sender's tx drop). */
  filter: (frame: Buffer, from: NetDevice) => boolean;
}

let macSeq = 1;

/** A device `name` in each stack, joined back to back; both up. */
export function cable(a: Host, b: Host, name = 'eth0', names: [string, string] = [name, name]): { da: NetDevice; db: NetDevice; cable: Cable } {
  const c: Cable = { sent: [], filter: () => true };
  const make = (h: Host): NetDevice =>
    new NetDevice(h.stack, {
      kind: 'wire',
      ops: etherOps({
        hardStartXmit: (dev, skb): NetdevTx => {
          const peer = dev.link!;
          const frame = Buffer.from(skb.bytes);
          dev.stats.txPackets++;
          dev.stats.txBytes += frame.length;
          skb.free();
          c.sent.push(frame);
          if (!peer.isUp() || !c.filter(frame, dev)) return NETDEV_TX_OK;
          const copy = devAllocSkbFrom(peer.core.pool, frame.length);
          if (copy === null) return NETDEV_TX_OK;
          copy.putData(frame);
          copy.dev = peer;
          peer.core.netifRx(copy);
          return NETDEV_TX_OK;
        },
      }),
      devAddr: Buffer.from([0x02, 0x00, 0x5e, 0x00, 0x53, macSeq++ & 0xff]),
    });
  const da = make(a);
  const db = make(b);
  da.link = db;
  db.link = da;
  registerNetdevice(a.stack.devices, da, names[0]);
  registerNetdevice(b.stack.devices, db, names[1]);
  devOpen(da);
  devOpen(db);
  return { da, db, cable: c };
}

/** Hand `frame` (a whole Ethernet frame) to `dev` as if it came off the wire. */
export function injectFrame(h: Host, devName: string, frame: Uint8Array): void {
  const dev = h.stack.getDevice(devName);
  const skb = devAllocSkbFrom(h.stack.pool, frame.length);
  if (skb === null) throw new Error('no memory for an injected frame');
  skb.putData(frame);
  skb.dev = dev;
  h.stack.netifRx(skb);
}

/** An Ethernet frame to `dev`'s MAC carrying `ip`. */
export function ethFor(dev: NetDevice, ip: Uint8Array, type = 0x0800): Buffer {
  const f = Buffer.alloc(14 + ip.length);
  dev.devAddr.copy(f, 0);
  Buffer.from([0x02, 0x00, 0x5e, 0x00, 0x53, 0xee]).copy(f, 6);
  f.writeUInt16BE(type, 12);
  f.set(ip, 14);
  return f;
}

/** Resolve a promise while the virtual clock runs. */
export async function runFor<T>(clock: VirtualClock, p: Promise<T>): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then((v) => { value = v; done = true; }, (e) => { error = e; done = true; });
  await clock.runUntil(() => done);
  if (!done) throw new Error('the promise never settled and no timer is left');
  if (error !== undefined) throw error;
  return value as T;
}
