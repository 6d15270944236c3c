// Why a frame was freed without being delivered: Linux's SKB_DROP_REASON_*
// names (include/net/dropreason-core.h), plus NETEM_LOSS, which Linux counts
// only inside the netem qdisc. Every frame that enters the stack ends either
// delivered or counted under exactly one of these.

export const DROP_REASONS = [
  'NOT_SPECIFIED',
  'OTHERHOST',
  'SOCKET_RCVBUFF',
  'SOCKET_CLOSE',
  'CPU_BACKLOG',
  'QDISC_DROP',
  'DEV_READY',
  'PKT_TOO_BIG',
  'PKT_TOO_SMALL',
  'HDR_TRUNC',
  'UNHANDLED_PROTO',
  'NOMEM',
  'FULL_RING',
  'QUEUE_PURGE',
  'NETEM_LOSS',
  'TX_TIMEOUT',
  'VXLAN_INVALID_HDR',
  'VXLAN_VNI_NOT_FOUND',
  'VXLAN_NO_REMOTE',
  'MAC_INVALID_SOURCE',
  'VLAN_FILTER',
  'IP_OUTNOROUTES',
  // The internet layer (net/ipv4, net/core/neighbour.c).
  'NO_SOCKET',
  'IP_CSUM',
  'IP_INHDR',
  'IP_NOPROTO',
  'IP_INADDRERRORS',
  'IP_INNOROUTES',
  'ICMP_CSUM',
  'UDP_CSUM',
  'NEIGH_CREATEFAIL',
  'NEIGH_FAILED',
  'NEIGH_QUEUEFULL',
  'NEIGH_DEAD',
  'FRAG_REASM_TIMEOUT',
  'DUP_FRAG',
  'IP_INVALID_SOURCE',
  // TCP (tcp_v4_rcv, tcp_validate_incoming, tcp_data_queue, tcp_ack).
  'TCP_CSUM',
  'PROTO_MEM',
  'TCP_FLAGS',
  'TCP_ZEROWINDOW',
  'TCP_OLD_DATA',
  'TCP_OVERWINDOW',
  'TCP_OFOMERGE',
  'TCP_RFC7323_PAWS',
  'TCP_OLD_SEQUENCE',
  'TCP_INVALID_SEQUENCE',
  'TCP_INVALID_ACK_SEQUENCE',
  'TCP_RESET',
  'TCP_INVALID_SYN',
  'TCP_CLOSE',
  'TCP_OLD_ACK',
  'TCP_TOO_OLD_ACK',
  'TCP_ACK_UNSENT_DATA',
  'TCP_OFO_QUEUE_PRUNE',
  'TCP_OFO_DROP',
  'SOCKET_BACKLOG',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export function dropReasonLabel(reason: DropReason): string {
  return reason.toLowerCase();
}

/** Frames dropped, by reason. */
export type DropCounts = Record<DropReason, number>;

export function emptyDropCounts(): DropCounts {
  const counts = {} as DropCounts;
  for (const r of DROP_REASONS) counts[r] = 0;
  return counts;
}

export function totalDrops(counts: DropCounts): number {
  let n = 0;
  for (const r of DROP_REASONS) n += counts[r];
  return n;
}
