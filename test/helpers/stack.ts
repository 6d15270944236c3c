// Building blocks for stack tests: a stack on virtual time, a veth pair with
// sockets at both ends, a test driver whose readiness the test controls.

import { VirtualClock, settle } from '../../src/clock.ts';
import { NetStack, createDevice, type NetStackOptions } from '../../src/stack/index.ts';
import { NetDevice } from '../../src/dev/netdevice.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type NetdevTx } from '../../src/dev/ops.ts';
import { etherOps } from '../../src/dev/ether.ts';
import { registerNetdevice } from '../../src/dev/register.ts';
import { devOpen } from '../../src/dev/control.ts';
import { netifStopQueue, netifWakeQueue } from '../../src/dev/xmit.ts';
import type { NetemParams } from '../../src/dev/wrappers/netem.ts';
import { devAllocSkbFrom, type SkBuff } from '../../src/skb/skbuff.ts';
import type { PacketSocket, PacketSocketOptions } from '../../src/packet/socket.ts';

export function virtualStack(opts: Omit<NetStackOptions, 'clock'> = {}): { stack: NetStack; clock: VirtualClock } {
  const clock = new VirtualClock();
  return { stack: new NetStack({ ...opts, clock }), clock };
}

export interface VethSetup {
  a: NetDevice;
  b: NetDevice;
  /** Socket bound to `a`, for sending. */
  tx: PacketSocket;
  /** Socket bound to `b`, receiving only. */
  rx: PacketSocket;
}

/** veth0 <-> veth1, both up, tx socket on veth0 and rx socket (direction in) on veth1. */
export async function vethWithSockets(
  stack: NetStack,
  opts: { netem?: Partial<NetemParams>; tx?: PacketSocketOptions; rx?: PacketSocketOptions; txqlen?: number } = {},
): Promise<VethSetup> {
  const [a, b] = await createDevice(stack, {
    kind: 'veth',
    name: 'veth%d',
    peer: 'veth%d',
    up: true,
    ...(opts.netem ? { netem: opts.netem } : {}),
    ...(opts.txqlen !== undefined ? { txqlen: opts.txqlen } : {}),
  });
  const tx = stack.openPacketSocket({ dev: a!, ...opts.tx });
  const rx = stack.openPacketSocket({ dev: b!, direction: 'in', ...opts.rx });
  return { a: a!, b: b!, tx, rx };
}

/** Read (and free) everything queued on a socket; returns the frames' bytes. */
export function drainSocket(sock: PacketSocket): Buffer[] {
  const out: Buffer[] = [];
  for (let f = sock.recvFrame(); f !== null; f = sock.recvFrame()) out.push(f.data);
  return out;
}

/** Send synchronously; fails the test if the socket wanted to wait. */
export function sendNow(sock: PacketSocket, frame: Uint8Array, opts: Parameters<PacketSocket['send']>[1] = {}): string {
  const r = sock.send(frame, opts);
  if (r instanceof Promise) throw new Error('send unexpectedly had to wait');
  return r;
}

export { settle };

/**
 * A driver with a transmit ring of `ring` slots: it stops its queue when the
 * ring is full and wakes it on complete(), as a NIC's tx-completion
 * interrupt does. With `neverReady`, it answers NETDEV_TX_BUSY to everything.
 */
export class TestDriver {
  readonly dev: NetDevice;
  readonly inRing: SkBuff[] = [];
  transmitted: Buffer[] = [];
  timeouts = 0;

  constructor(
    stack: NetStack,
    readonly opts: {
      ring?: number;
      /** Busy for every frame: it stops its queue and only a reset (tx_timeout) wakes it. */
      neverReady?: boolean;
      name?: string;
      watchdogTimeoMs?: number;
      /** Give the driver no tx_timeout method (most virtual drivers have none). */
      noTxTimeout?: boolean;
      /** Filter received frames by destination MAC, as a NIC does. */
      hwAddrFilter?: boolean;
    } = {},
  ) {
    const ring = opts.ring ?? Infinity;
    this.dev = new NetDevice(stack, {
      kind: 'testdrv',
      ops: etherOps({
        hardStartXmit: (dev, skb): NetdevTx => {
          if (opts.neverReady) {
            netifStopQueue(dev);
            return NETDEV_TX_BUSY;
          }
          if (this.inRing.length >= ring) return NETDEV_TX_BUSY;
          this.inRing.push(skb);
          if (this.inRing.length >= ring) netifStopQueue(dev);
          return NETDEV_TX_OK;
        },
        ...(opts.noTxTimeout
          ? {}
          : {
              // A reset: the hardware is told to try again, and the queue runs.
              txTimeout: (dev: NetDevice) => {
                this.timeouts++;
                netifWakeQueue(dev);
              },
            }),
        // Bringing the device down drops what the hardware had not sent yet.
        stop: (dev) => {
          for (const skb of this.inRing.splice(0)) dev.core.kfreeSkb(skb, 'QUEUE_PURGE');
        },
      }),
      devAddr: Buffer.from([0x02, 0, 0, 0, 0x7e, 0x57]),
      hwAddrFilter: opts.hwAddrFilter ?? false,
      ...(opts.watchdogTimeoMs !== undefined ? { watchdogTimeoMs: opts.watchdogTimeoMs } : {}),
    });
    registerNetdevice(stack.devices, this.dev, opts.name ?? 'test%d');
    devOpen(this.dev);
  }

  /** The hardware received a frame from the wire: netif_rx it. */
  receive(frame: Buffer): void {
    const skb = devAllocSkbFrom(this.dev.core.pool, frame.length);
    if (skb === null) throw new Error('no memory for a received frame');
    skb.putData(frame);
    skb.dev = this.dev;
    this.dev.core.netifRx(skb);
  }

  /** The hardware finished sending what is in the ring: free it, wake the queue. */
  complete(): number {
    const n = this.inRing.length;
    for (const skb of this.inRing.splice(0)) {
      this.transmitted.push(Buffer.from(skb.bytes));
      skb.free();
    }
    netifWakeQueue(this.dev);
    return n;
  }
}
