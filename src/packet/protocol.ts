// AF_PACKET as a protocol of the stack: socket(AF_PACKET, SOCK_RAW, proto)
// opens an entry of the socket table; closing the stack closes them all.

import { NetError } from '../errno.ts';
import type { NetProtocol } from '../stack/protocol.ts';
import type { NetStack } from '../stack/netstack.ts';
import { PacketSocket, type PacketSocketOptions } from './socket.ts';

export class PacketProtocol implements NetProtocol {
  readonly name = 'packet';
  private stack: NetStack | null = null;
  private closed = false;

  attach(stack: NetStack): void {
    this.stack = stack;
  }

  /** socket(AF_PACKET, SOCK_RAW, protocol) + bind + options. */
  open(opts: PacketSocketOptions = {}): PacketSocket {
    const stack = this.stack;
    if (stack === null) throw new NetError('EAFNOSUPPORT', 'AF_PACKET is not attached to a stack');
    if (this.closed) throw new NetError('ESHUTDOWN', 'the stack is shutting down');
    if (opts.dev && !opts.dev.registered) throw new NetError('ENODEV', 'device is not registered');
    return new PacketSocket(stack, stack.sockets.reserveId(), opts);
  }

  close(): void {
    this.closed = true;
    for (const sock of this.stack?.sockets.list('packet') ?? []) sock.close();
  }
}
