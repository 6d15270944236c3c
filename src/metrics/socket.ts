// Packet sockets: the memory charged to each (the seed's rmem/wmem
// accounting) and the frames each lost at its own receive queue. Every
// WebSocket stream and capture is one of these sockets, so a slow client
// shows up here. Series exist only for open packet sockets (at most
// limits.maxSockets), which bounds the label cardinality.
//
// Every family: netstack_sockets{family,type,state} counts the socket
// table's entries as ss -s sums them, and netstack_sockets_{rmem,wmem}_bytes
// {family,type} the memory they hold. TCP connections come from the network
// (a listener's children), so they are summed rather than given a series
// each; one socket's numbers are GET /v1/sockets/{id}.

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

type TableLabel = 'family' | 'type';

/** Sums over the socket table by (family, type[, state]); the keys are few (ss's State names). */
function sumBy(stack: NetStack, withState: boolean, read: (s: StackSocket) => number): Map<string, { labels: Record<string, string>; value: number }> {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const sock of stack.sockets.values()) {
    const state = withState ? sock.state : '';
    const key = `${sock.family}/${sock.type}/${state}`;
    let e = out.get(key);
    if (e === undefined) {
      e = { labels: withState ? { family: sock.family, type: sock.type, state } : { family: sock.family, type: sock.type }, value: 0 };
      out.set(key, e);
    }
    e.value += read(sock);
  }
  return out;
}

export function registerSocketMetrics(set: FamilySet, stack: NetStack): void {
  set.gauge({
    name: 'netstack_sockets',
    help: 'Open sockets in the stack\'s socket table by family (packet, inet), type (raw, dgram, stream) and ss state (UNCONN, LISTEN, ESTAB, TIME-WAIT, ...).',
    labelNames: ['family', 'type', 'state'] as const,
    read: (emit: Emit<TableLabel | 'state'>) => {
      for (const e of sumBy(stack, true, () => 1).values()) emit(e.labels as Record<TableLabel | 'state', string>, e.value);
    },
  });
  for (const [name, what, read] of [
    ['netstack_sockets_rmem_bytes', 'Receive memory charged to the sockets of this family and type now (truesize queued for readers, TCP\'s out-of-order queue included).', (s: StackSocket) => s.sk.rmemAlloc],
    ['netstack_sockets_wmem_bytes', 'Send memory charged to the sockets of this family and type now (truesize sent and not yet freed, TCP\'s unacknowledged data included).', (s: StackSocket) => s.sk.wmemAlloc],
  ] as const) {
    set.gauge({
      name,
      help: what,
      labelNames: ['family', 'type'] as const,
      read: (emit: Emit<TableLabel>) => {
        for (const e of sumBy(stack, false, read).values()) emit(e.labels as Record<TableLabel, string>, e.value);
      },
    });
  }
  for (const f of SOCKET_FAMILIES) {
    const read = (emit: Emit<SocketLabel>): void => {
      for (const sock of stack.sockets.values()) if (sock.family === 'packet') emit(socketLabels(sock), f.read(sock));
    };
    const spec = { name: f.name, help: f.help, labelNames: ['socket', 'device'] as const, read };
    if (f.kind === 'counter') set.counter(spec);
    else set.gauge(spec);
  }
}
