// Descriptions for the fields the zod schemas leave undescribed, filled into
// the OpenAPI document by name (a name means one thing across the API: `mtu`
// is always the MTU) or, where a name means different things, by name within
// its parent object (`rx.bytes`, `queue.bytes`). A field that has a
// description in its schema keeps it. test/api/http/openapi-examples.test.ts
// checks that no field is left without one.

import { DROP_REASONS } from '../../skb/drop-reason.ts';

const BY_NAME: Readonly<Record<string, string>> = {
  ifindex: 'Interface index, unique while the device exists.',
  ifname: 'Device name.',
  flags: 'Interface flags as `ip -j link` prints them.',
  mtu: 'Maximum transmission unit, bytes of payload after the link header.',
  qdisc: 'Root queueing discipline (pfifo_fast, noqueue).',
  operstate: 'RFC 2863 operational state (UP, DOWN, LOWERLAYERDOWN, UNKNOWN...).',
  linkmode: 'Link mode; always DEFAULT.',
  group: 'Device group; always default.',
  txqlen: 'Transmit queue length, frames (the qdisc limit).',
  link_type: 'Link-layer type, e.g. ether or loopback.',
  address: 'Link-layer (MAC) address.',
  broadcast: 'Link-layer broadcast address.',
  kind: 'Device kind: loopback, dummy, veth, vlan, vxlan or bridge.',
  promiscuity: 'Promiscuity count: users (taps, bridges, the user flag) that asked for promiscuous mode.',
  allmulti: 'Receive all multicast: the user flag (requests) or its count (device view).',
  promisc: 'Promiscuous mode: receive frames for every address.',
  min_mtu: 'Smallest MTU the device takes.',
  max_mtu: 'Largest MTU the device takes.',
  linkinfo: 'Kind-specific details, as `ip -d link` shows them.',
  info_kind: 'The device kind.',
  info_data: 'The kind\'s own settings (vlan id, vxlan VNI and endpoints, bridge ageing_time and stp_state).',
  users: 'How many times the address was added (SIOCADDMULTI counts).',
  netem: 'netem settings and statistics; null when the device has none.',
  delay_ms: 'Added delay, ms.',
  jitter_ms: 'Random variation of the delay, ms.',
  loss: 'Frames lost, percent.',
  duplicate: 'Frames duplicated, percent.',
  corrupt: 'Frames with one bit flipped, percent.',
  reorder: 'Frames sent ahead of their delay, percent.',
  rate_bps: 'Line rate, bit/s; 0 = unlimited.',
  limit: 'Frames netem may hold.',
  seed: 'Seed of netem\'s random source.',
  stats: 'netem\'s counters.',
  held: 'Frames netem holds now.',
  lost: 'Frames netem dropped as lost.',
  duplicated: 'Frames netem duplicated.',
  corrupted: 'Frames netem corrupted.',
  reordered: 'Frames netem sent out of order.',
  rx: 'Receive counters.',
  tx: 'Transmit counters.',
  errors: 'Frames with errors.',
  over_errors: 'Receive ring overruns.',
  length_errors: 'Frames with a bad length (too short for a link header).',
  crc_errors: 'Frames with a bad CRC.',
  frame_errors: 'Frame alignment errors.',
  fifo_errors: 'FIFO overruns or underruns.',
  missed_errors: 'Frames the hardware missed.',
  nohandler: 'Frames no protocol handler took (exact-match delivery only).',
  carrier_errors: 'Carrier errors.',
  collisions: 'Collisions.',
  aborted_errors: 'Aborted transmissions.',
  window_errors: 'Window errors.',
  heartbeat_errors: 'Heartbeat errors.',
  carrier_changes: 'Times the carrier went up or down.',
  timeouts: 'Transmit watchdog timeouts.',
  stopped: 'The driver stopped the queue (it is full or the link is busy).',
  length: 'Frames waiting in the queue now.',
  requeues: 'Frames the driver handed back (busy) and the qdisc queued again.',
  drops: 'Frames dropped.',
  up: 'Administrative state: true brings the device up (IFF_UP).',
  add: 'Addresses to add.',
  del: 'Addresses to remove.',
  request: 'The ioctl request, e.g. SIOCGIFMTU.',
  ifr_name: 'ifreq: the device name.',
  ifr_flags: 'ifreq: interface flags, a number (IFF_*).',
  ifr_mtu: 'ifreq: the MTU.',
  ifr_qlen: 'ifreq: the transmit queue length.',
  ifr_hwaddr: 'ifreq: the hardware address as a sockaddr.',
  ifr_newname: 'ifreq: the new name (SIOCSIFNAME).',
  ifr_ifindex: 'ifreq: the interface index.',
  ifr_map: 'ifreq: the device\'s I/O map (SIOCGIFMAP/SIOCSIFMAP).',
  sa_family: 'Address family (ARPHRD_ETHER = 1).',
  sa_data: 'The address, aa:bb:cc:dd:ee:ff.',
  mem_start: 'Shared memory start.',
  mem_end: 'Shared memory end.',
  base_addr: 'I/O base address.',
  irq: 'Interrupt line.',
  dma: 'DMA channel.',
  port: 'Port (media) selection.',
  id: 'Socket id (as in `ss -0`).',
  direction: 'Frames the socket sees: in, out or both.',
  rcvbuf: 'Receive buffer size, bytes.',
  sndbuf: 'Send buffer size, bytes.',
  received: 'Frames queued to the socket.',
  skb: 'sk_buff counters.',
  allocs: 'sk_buffs allocated.',
  frees: 'sk_buffs freed.',
  clones: 'sk_buffs cloned (data shared).',
  copies: 'sk_buffs copied (data duplicated).',
  alloc_failures: 'Allocations refused for lack of memory.',
  double_frees: 'Frees of an already freed buffer (bugs, reported).',
  backlog: 'The softnet backlog (netif_rx queue).',
  processed: 'Frames the bottom half processed.',
  time_squeeze: 'Bottom-half runs that stopped with work left (budget used up).',
  drops_total: 'All drops, every reason.',
  devices: 'Devices that exist.',
  sockets: 'Packet sockets that exist.',
  path: 'Where the input was wrong, e.g. body/mtu.',
  message: 'What was wrong there.',
  protocol: 'Ethertype (skb->protocol).',
  count: 'Frames lost since the last notice.',
  total: 'Frames lost since the stream opened.',
  errno: 'The errno name, e.g. ENOBUFS.',
  detail: 'What went wrong.',
  type: 'Message type.',
  multicast: 'Link-layer multicast addresses.',
  sent: 'Frames sent.',
  status: 'Status.',
  bytes: 'Bytes.',
  packets: 'Frames.',
  dropped: 'Frames dropped.',
  'net.core.rmem_default': 'Default socket receive buffer, bytes.',
  'net.core.rmem_max': 'Largest receive buffer a socket may ask for, bytes.',
  'net.core.wmem_default': 'Default socket send buffer, bytes.',
  'net.core.wmem_max': 'Largest send buffer a socket may ask for, bytes.',
  'net.core.netdev_max_backlog': 'Frames the backlog holds before netif_rx drops (cpu_backlog).',
  'net.core.netdev_budget': 'Frames one bottom-half run may process.',
  'net.core.netdev_budget_usecs': 'Microseconds one bottom-half run may take.',
  'net.core.dev_weight': 'Frames the backlog may give one run before others get a turn.',
};

/** `parent.name` for names whose meaning depends on where they are. */
const BY_PARENT: Readonly<Record<string, string>> = {
  'rx.bytes': 'Bytes received.',
  'rx.packets': 'Frames received.',
  'rx.dropped': 'Received frames dropped.',
  'rx.multicast': 'Multicast frames received.',
  'tx.bytes': 'Bytes sent.',
  'tx.packets': 'Frames sent.',
  'tx.dropped': 'Frames dropped on transmit.',
  'queue.bytes': 'Bytes waiting in the queue now (backlog).',
  'queue.packets': 'Frames the queue has sent in all (a running total).',
  'backlog.dropped': 'Frames dropped because the backlog was full (cpu_backlog).',
  'stats.sent': 'Frames netem has sent on.',
  'Socket.sent': 'Frames the socket has sent.',
  'Device.multicast': 'The link-layer multicast list (ip maddr).',
  'Device.address': 'Link-layer (MAC) address.',
  'multicast.address': 'A link-layer multicast address.',
  'Problem.status': 'The HTTP status.',
  'Socket.promisc': 'The socket holds the device in promiscuous mode.',
};

for (const reason of DROP_REASONS) {
  (BY_PARENT as Record<string, string>)[`drops.${reason.toLowerCase()}`] =
    `Frames dropped with reason ${reason.toLowerCase()} (SKB_DROP_REASON_${reason}).`;
}

function describeFor(name: string, parent: string): string | undefined {
  return BY_PARENT[`${parent}.${name}`] ?? BY_NAME[name];
}

type Json = Record<string, unknown>;

/** Fills missing property descriptions in a JSON schema, recursively; `parent` names the object holding them. */
export function describeFields(schema: unknown, parent: string): void {
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Json;
  const props = s['properties'];
  if (typeof props === 'object' && props !== null) {
    for (const [name, sub] of Object.entries(props as Json)) {
      if (typeof sub !== 'object' || sub === null) continue;
      const p = sub as Json;
      if (p['description'] === undefined && p['$ref'] === undefined) {
        const text = describeFor(name, parent);
        if (text !== undefined) p['description'] = text;
      }
      describeFields(p, name);
    }
  }
  for (const key of ['items', 'additionalProperties', 'not']) describeFields(s[key], parent);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
    const list = s[key];
    if (Array.isArray(list)) for (const x of list) describeFields(x, parent);
  }
}
