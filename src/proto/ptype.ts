// The protocol handler table: ptype_base (by ethertype) and ptype_all (taps
// that see every frame). The stack never knows a protocol's internals; a
// protocol, or a packet socket, registers a handler here.

import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';

import { ETH_P_ALL } from '../wire/eth.ts';

export { ETH_P_ALL };

export interface PacketHandler {
  /** Ethertype, or ETH_P_ALL for a tap. */
  readonly type: number;
  /** Only frames of this device (by identity), or every device when null. */
  dev: NetDevice | null;
  /** Receives a buffer it now owns (a clone when others get the frame too). */
  func(skb: SkBuff, dev: NetDevice, pt: PacketHandler, origDev: NetDevice): void;
  /** Wants frames received (default true). */
  readonly incoming?: boolean;
  /** Wants frames transmitted, as PACKET_OUTGOING. */
  readonly outgoing?: boolean;
  /** The socket behind the handler: it does not see its own transmissions. */
  readonly owner?: unknown;
}

/**
 * A header the stack strips before demultiplexing, as __netif_receive_skb_core
 * untags 802.1Q frames (skb_vlan_untag) that no upper device took. `claims`
 * looks without touching the frame: true when a handler waits for what is
 * inside. `strip` removes the header and sets skb.protocol to the inner type;
 * false when memory is short (the caller drops the frame as NOMEM).
 */
export interface EncapHandler {
  claims(skb: SkBuff, table: ProtocolTable): boolean;
  strip(skb: SkBuff): boolean;
}

export class ProtocolTable {
  /** Encapsulations stripped before the handlers of a type run, by outer ethertype. */
  readonly encap = new Map<number, EncapHandler>();
  /** Incoming taps (ETH_P_ALL). */
  readonly all: PacketHandler[] = [];
  readonly base = new Map<number, PacketHandler[]>();
  /**
   * Taps (ETH_P_ALL) that asked for outgoing frames. dev_queue_xmit_nit walks
   * ptype_all only: a socket bound to one ethertype never sees what the host
   * sends, whatever it asked for.
   */
  readonly outgoing: PacketHandler[] = [];

  add(pt: PacketHandler): void {
    if (pt.incoming !== false) {
      if (pt.type === ETH_P_ALL) this.all.push(pt);
      else {
        const list = this.base.get(pt.type);
        if (list) list.push(pt);
        else this.base.set(pt.type, [pt]);
      }
    }
    if (pt.outgoing === true && pt.type === ETH_P_ALL) this.outgoing.push(pt);
  }

  remove(pt: PacketHandler): void {
    drop(this.all, pt);
    drop(this.outgoing, pt);
    const list = this.base.get(pt.type);
    if (list) {
      drop(list, pt);
      if (list.length === 0) this.base.delete(pt.type);
    }
  }
}

function drop(list: PacketHandler[], pt: PacketHandler): void {
  const i = list.indexOf(pt);
  if (i >= 0) list.splice(i, 1);
}
