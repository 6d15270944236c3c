// The library entry point, `import { NetStack, createDevice } from 'netstackd'`:
// the core stack for people who test packet code in-process, without the
// service around it. Only the core is exported here (no fastify, ws, zod or
// prom-client is loaded by importing it); the service is the `netstackd` bin.
export * from './stack/index.ts';
export { NetError, isNetError, type ErrnoName } from './errno.ts';
export { SkBuff } from './skb/skbuff.ts';
export { DROP_REASONS, type DropReason } from './skb/drop-reason.ts';
export type { NetDevice } from './dev/netdevice.ts';
export type { PacketSocket, PacketFrame, PacketSocketOptions } from './packet/socket.ts';
export { RealClock, VirtualClock, type Clock } from './clock.ts';
export { describeFrame } from './wire/describe.ts';
export { parseMac, formatMac } from './wire/mac.ts';
// IPv4 (ARP, ICMP, UDP, TCP) on the protocol seam: the service attaches it at
// start; an embedded stack takes it with attachInet(stack) or
// new NetStack({ protocols: [...defaultProtocols(), new InetProtocol()] }).
export { attachInet, inetOf, type Inet } from './inet/control.ts';
export { InetProtocol } from './inet/protocol.ts';
