// netdev_rx_handler_register: one hook per device that sees every frame the
// device receives after the taps and before the protocol handlers. An upper
// device (a VLAN channel's parent, a bridge port) takes frames here, as
// __netif_receive_skb_core calls dev->rx_handler.

import { NetError } from '../errno.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from './netdevice.ts';

/**
 * RX_HANDLER_CONSUMED: the handler owns the buffer now (freed, queued or sent on).
 * RX_HANDLER_ANOTHER: the handler changed skb.dev (and maybe skb.protocol);
 *   receive runs again for that device, taps included.
 * RX_HANDLER_PASS: not for this handler; the frame goes on to the protocols.
 */
export const RX_HANDLER_CONSUMED = 0;
export const RX_HANDLER_ANOTHER = 1;
export const RX_HANDLER_PASS = 2;
export type RxHandlerResult = typeof RX_HANDLER_CONSUMED | typeof RX_HANDLER_ANOTHER | typeof RX_HANDLER_PASS;

export type RxHandler = (skb: SkBuff) => RxHandlerResult;

/** Claim the device's hook; EBUSY when another upper device has it (as Linux answers). */
export function netdevRxHandlerRegister(dev: NetDevice, handler: RxHandler, data: unknown): void {
  if (dev.rxHandler !== null) throw new NetError('EBUSY', `${dev.name} already has a receive handler`);
  dev.rxHandler = handler;
  dev.rxHandlerData = data;
}

export function netdevRxHandlerUnregister(dev: NetDevice): void {
  dev.rxHandler = null;
  dev.rxHandlerData = null;
}
