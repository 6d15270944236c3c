// Packet sockets: the memory charged to each (the seed's rmem/wmem
// accounting) and the frames each lost at its own receive queue. Every
// WebSocket stream and capture is one of these sockets, so a slow client
// shows up here. Series exist only for open sockets (at most
// limits.maxSockets), which bounds the label cardinality.

import type { NetStack } from '../stack/index.ts';
import type { StackSocket } from '../sock/table.ts';
import type { FamilySet, Emit } from './family.ts';
import { socketLabels } from './labels.ts';

type SocketLabel = 'socket' | 'device';

interface SocketNumber {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  read(sock: StackSocket): number;
}

const SOCKET_FAMILIES: readonly SocketNumber[] = [
  {
    name: 'netstack_socket_rmem_bytes',
    help: 'Receive memory charged to this packet socket now (truesize of the frames queued for its reader); frames arriving beyond rcvbuf are dropped.',
    kind: 'gauge',
    read: (s) => s.sk.rmemAlloc,
  },
  {
    name: 'netstack_socket_wmem_bytes',
    help: 'Send memory charged to this packet socket now (truesize of its frames not yet freed after transmission); senders wait beyond sndbuf.',
    kind: 'gauge',
    read: (s) => s.sk.wmemAlloc,
  },
  {
    name: 'netstack_socket_rcvbuf_bytes',
    help: 'Receive buffer limit of this packet socket (SO_RCVBUF as the kernel stores it, doubled for bookkeeping).',
    kind: 'gauge',
    read: (s) => s.sk.rcvbuf,
  },
  {
    name: 'netstack_socket_sndbuf_bytes',
    help: 'Send buffer limit of this packet socket (SO_SNDBUF as the kernel stores it, doubled for bookkeeping).',
    kind: 'gauge',
    read: (s) => s.sk.sndbuf,
  },
  {
    name: 'netstack_socket_receive_queue_packets',
    help: 'Frames queued on this packet socket waiting for its reader now.',
    kind: 'gauge',
    read: (s) => s.sk.receiveQueue.length,
  },
  {
    name: 'netstack_socket_drops_total',
    help: 'Frames this packet socket lost because its receive memory would have exceeded rcvbuf (drop reason socket_rcvbuff).',
    kind: 'counter',
    read: (s) => s.sk.drops,
  },
  {
    name: 'netstack_socket_received_packets_total',
    help: 'Frames queued to this packet socket for its reader.',
    kind: 'counter',
    read: (s) => s.received,
  },
  {
    name: 'netstack_socket_sent_packets_total',
    help: 'Frames this packet socket handed to its device for transmission (the device may still drop them).',
    kind: 'counter',
    read: (s) => s.sent,
  },
];

export function registerSocketMetrics(set: FamilySet, stack: NetStack): void {
  for (const f of SOCKET_FAMILIES) {
    const read = (emit: Emit<SocketLabel>): void => {
      for (const sock of stack.sockets.values()) emit(socketLabels(sock), f.read(sock));
    };
    const spec = { name: f.name, help: f.help, labelNames: ['socket', 'device'] as const, read };
    if (f.kind === 'counter') set.counter(spec);
    else set.gauge(spec);
  }
}
