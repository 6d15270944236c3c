// The vxlan device's UDP socket: binding it (errors as errnos, before the
// device is registered), the local address, and the ring of skbs whose
// datagrams the socket still holds.

import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { NetError, isErrnoName } from '../../../errno.ts';
import type { SkBuff } from '../../../skb/skbuff.ts';
import type { DropReason } from '../../../skb/drop-reason.ts';

/** Asked of SO_RCVBUF/SO_SNDBUF; the kernel caps it at net.core.[rw]mem_max (x2). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The skbs whose datagrams are with the socket, oldest first. dgram completes
 * the sends of one socket in order (libuv queues a send whenever an earlier
 * one is still pending), so one shared callback can free them first-in,
 * first-out, instead of a closure per frame.
 */
export class InflightRing {
  private items: (SkBuff | null)[] = new Array<SkBuff | null>(1024).fill(null);
  private head = 0;
  length = 0;

  push(skb: SkBuff): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & (this.items.length - 1)] = skb;
    this.length++;
  }

  shift(): SkBuff | null {
    if (this.length === 0) return null;
    const skb = this.items[this.head]!;
    this.items[this.head] = null;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    return skb;
  }

  private grow(): void {
    const next = new Array<SkBuff | null>(this.items.length * 2).fill(null);
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)]!;
    this.items = next;
    this.head = 0;
  }
}

/** Where a send error leaves the frame, in drop-reason terms. */
export function sendErrorReason(err: Error): DropReason {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EMSGSIZE') return 'PKT_TOO_BIG';
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'EADDRNOTAVAIL') return 'IP_OUTNOROUTES';
  return 'NOT_SPECIFIED';
}

/** dgram's own lookup would defer every send by a tick; our addresses are already literals. */
function literalLookup(
  address: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // Only literals reach here (names are resolved by the driver), so a colon means IPv6.
  callback(null, address, address.includes(':') ? 6 : 4);
}

function bindError(err: NodeJS.ErrnoException, where: string): NetError {
  const code = err.code ?? '';
  const errno = isErrnoName(code) ? code : 'EINVAL';
  const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
  return new NetError(errno, `vxlan cannot bind ${where}: ${why}`);
}

/** Resolve the local host (a literal needs no lookup) to the address to bind. */
export async function localAddress(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const literal = net.isIP(host);
  if (literal !== 0) return { address: host, family: literal as 4 | 6 };
  try {
    const { address, family } = await dns.promises.lookup(host);
    return { address, family: family as 4 | 6 };
  } catch (err) {
    throw new NetError('EADDRNOTAVAIL', `vxlan local address "${host}" does not resolve: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

export function bindSocket(address: string, family: 4 | 6, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    lookup: literalLookup,
    recvBufferSize: SOCKET_BUFFER_BYTES,
    sendBufferSize: SOCKET_BUFFER_BYTES,
  });
  const where = family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      reject(bindError(err, where));
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      // The device, not the socket, decides whether the process has work to do.
      socket.unref();
      resolve(socket);
    });
  });
}

