// IPv4 on the protocol seam (stack/protocol.ts): attaching registers the
// ETH_P_IP and ETH_P_ARP handlers in the ptype table, the netdevice notifier
// listener and the net.ipv4 sysctls, takes socket ids from the stack's socket
// table so they stay unique across families, and gives lo 127.0.0.1/8
// (inetdev_event on lo's NETDEV_UP: lo is up before any protocol attaches).
// TCP rides on it as IP protocol 6. Closing with the stack closes every
// socket and timer of the family.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { PacketHandler } from '../proto/ptype.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetStack } from '../stack/netstack.ts';
import type { NetProtocol } from '../stack/protocol.ts';
import { ETH_P_ARP, ETH_P_IP } from '../wire/eth.ts';
import { InetStack } from './inet.ts';
import { INET_SYSCTLS } from './sysctl.ts';
import { attachTcp } from './tcp-glue.ts';

export class InetProtocol implements NetProtocol {
  readonly name = 'inet';
  private attached: { inet: InetStack; detach: () => void } | null = null;

  /** The family's state; EAFNOSUPPORT before attach. */
  get inet(): InetStack {
    if (this.attached === null) throw new NetError('EAFNOSUPPORT', 'inet is not attached to a stack');
    return this.attached.inet;
  }

  attach(stack: NetStack): void {
    if (!stack.sysctl.has('net.ipv4.ip_forward')) stack.sysctl.register(INET_SYSCTLS);
    // UDP and TCP sockets are entries of the stack's socket table: its ids, its limit (EMFILE).
    const inet: InetStack = new InetStack(stack, {
      allocSocketId: () => stack.sockets.reserveId(),
      checkSocketLimit: () => stack.sockets.checkLimit(),
    });
    // TCP registers as IP protocol 6 (src/inet/tcp-glue.ts); its Tcp/TcpExt counters join
    // /proc/net/snmp and /proc/net/netstat's view, as Linux prints them beside Ip and Udp.
    const glue = attachTcp(inet);
    const ipNetstat = inet.netstat.bind(inet);
    inet.netstat = () => ({ ...ipNetstat(), ...glue.proto.netstat() }) as ReturnType<typeof ipNetstat>;
    const ip: PacketHandler = { type: ETH_P_IP, dev: null, func: (skb: SkBuff, dev: NetDevice) => inet.ip.rcv(skb, dev) };
    const arp: PacketHandler = { type: ETH_P_ARP, dev: null, func: (skb: SkBuff, dev: NetDevice) => inet.arp.rcv(skb, dev) };
    stack.ptypes.add(ip);
    stack.ptypes.add(arp);
    const unsubscribe = stack.notifier.subscribe((event, dev, info) => inet.onDeviceEvent(event, dev, info));
    // Address, route and neighbour changes reach the stack's event bus (GET /v1/events).
    const unsubscribeEvents = inet.subscribe((e) => {
      if (stack.events.listening) stack.events.publish(e.type, e.action, e.object);
    });
    inet.addrAdd(stack.lo.name, '127.0.0.1/8');
    this.attached = {
      inet,
      detach: () => {
        glue.shutdown();
        inet.close();
        stack.ptypes.remove(ip);
        stack.ptypes.remove(arp);
        unsubscribe();
        unsubscribeEvents();
      },
    };
  }

  close(): void {
    this.attached?.detach();
    this.attached = null;
  }
}
