// Where inet touches the stack's internals, all in one place so it can move
// onto the protocol seam (NetProtocol.attach/close) in one step: the
// ETH_P_IP and ETH_P_ARP handlers in the ptype table, the netdevice notifier
// listener, the net.ipv4 sysctls, socket ids shared with packet sockets, and
// closing with the stack. lo gets 127.0.0.1/8 here.

import { NetError } from '../errno.ts';
import type { NetDevice } from '../dev/netdevice.ts';
import type { PacketHandler } from '../proto/ptype.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetStack } from '../stack/netstack.ts';
import { ETH_P_ARP, ETH_P_IP } from '../wire/eth.ts';
import { InetStack } from './inet.ts';
import { INET_SYSCTLS } from './sysctl.ts';
import { attachTcp, type TcpGlue } from './tcp-glue.ts';

/** The stack's private socket id counter, shared so ids stay unique across families. */
interface SocketIdSource {
  nextSocketId: number;
}

export function attachInetToStack(stack: NetStack): { inet: InetStack; detach: () => void } {
  if (!stack.sysctl.has('net.ipv4.ip_forward')) stack.sysctl.register(INET_SYSCTLS);
  const ids = stack as unknown as SocketIdSource;
  let tcp: TcpGlue | undefined;
  const checkSocketLimit = (): void => {
    if (stack.sockets.size + inet.udp.sockets.size + (tcp?.count() ?? 0) >= stack.limits.maxSockets) {
      throw new NetError('EMFILE', `no more than ${stack.limits.maxSockets} sockets may be open`);
    }
  };
  const inet = new InetStack(stack, { allocSocketId: () => ids.nextSocketId++, checkSocketLimit });
  // TCP registers as protocol 6 (src/inet/tcp-glue.ts); its Tcp/TcpExt counters join
  // /proc/net/snmp and /proc/net/netstat's view, as Linux prints them beside Ip and Udp.
  tcp = attachTcp(inet, { allocSocketId: () => ids.nextSocketId++, checkSocketLimit });
  const ipNetstat = inet.netstat.bind(inet);
  inet.netstat = () => ({ ...ipNetstat(), ...tcp!.proto.netstat() }) as ReturnType<typeof ipNetstat>;
  const ip: PacketHandler = {
    type: ETH_P_IP,
    dev: null,
    func: (skb: SkBuff, dev: NetDevice) => inet.ip.rcv(skb, dev),
  };
  const arp: PacketHandler = {
    type: ETH_P_ARP,
    dev: null,
    func: (skb: SkBuff, dev: NetDevice) => inet.arp.rcv(skb, dev),
  };
  stack.ptypes.add(ip);
  stack.ptypes.add(arp);
  const unsubscribe = stack.notifier.subscribe((event, dev, info) => inet.onDeviceEvent(event, dev, info));
  // Address, route and neighbour changes are told through inet.subscribe();
  // the stack's event bus (GET /v1/events) and state saving listen there.
  // inetdev_event on lo's NETDEV_UP: lo is up before any protocol attaches.
  inet.addrAdd(stack.lo.name, '127.0.0.1/8');
  const detach = (): void => {
    tcp?.shutdown();
    inet.close();
    stack.ptypes.remove(ip);
    stack.ptypes.remove(arp);
    unsubscribe();
  };
  // Until the protocol seam exists, inet closes just before the stack does.
  const stackClose = stack.close.bind(stack);
  stack.close = () => {
    detach();
    stackClose();
  };
  return { inet, detach };
}
