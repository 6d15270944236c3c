// Devices: the `ip -j -s -d link` view the API returns, the body of
// `ip link add` (POST /v1/devices) and of `ip link set` + `tc qdisc netem`
// (PATCH /v1/devices/{name}). Request objects are strict: an unknown field
// is an error, not silently ignored.

import { z } from 'zod';
import { Count, IfName, MacAddress, QueryBool } from './common.ts';

// ---- netem ----

const Percent = z.number().min(0).max(100);
const Millis = z.number().min(0).max(3_600_000);

/** netem settings as the API spells them (tc's words, snake_case). */
export const NetemSettings = z
  .strictObject({
    delay_ms: Millis.optional().describe('Added delay, ms.'),
    jitter_ms: Millis.optional().describe('Random variation of the delay, ms.'),
    loss: Percent.optional().describe('Frames lost, percent.'),
    duplicate: Percent.optional().describe('Frames duplicated, percent.'),
    corrupt: Percent.optional().describe('Frames with one bit flipped, percent.'),
    reorder: Percent.optional().describe('Frames sent ahead of their delay, percent.'),
    rate_bps: z.number().min(0).max(1e12).optional().describe('Line rate in bit/s: 0 = unlimited, else at least 8 (1 byte/s, the least tc can express; less is 400 EINVAL). netem credits senders at once, as Linux does; a link that throttles its senders is a device speed (speed_mbps).'),
    limit: z.number().int().min(1).max(1_000_000).optional().describe('Frames netem may hold (default 1000); more are dropped (qdisc_drop).'),
    seed: z.number().int().min(-2147483648).max(4294967295).optional().describe('Seed of the random source, so a run repeats exactly.'),
  })
  .describe("netem settings; they replace the current ones, and fields left out take netem's defaults.");

export type NetemSettingsBody = z.input<typeof NetemSettings>;

const NetemView = z.object({
  delay_ms: z.number(),
  jitter_ms: z.number(),
  loss: z.number(),
  duplicate: z.number(),
  corrupt: z.number(),
  reorder: z.number(),
  rate_bps: z.number(),
  limit: z.number().int(),
  seed: z.number().int(),
  stats: z.object({
    held: Count,
    sent: Count,
    dropped: Count.describe('Frames refused because netem held `limit` already (qdisc_drop).'),
    lost: Count,
    duplicated: Count,
    corrupted: Count,
    reordered: Count,
  }),
});

// ---- the device view ----

const RxStats = z.object({
  bytes: Count,
  packets: Count,
  errors: Count,
  dropped: Count,
  over_errors: Count,
  multicast: Count,
  length_errors: Count,
  crc_errors: Count,
  frame_errors: Count,
  fifo_errors: Count,
  missed_errors: Count,
  nohandler: Count,
});

const TxStats = z.object({
  bytes: Count,
  packets: Count,
  errors: Count,
  dropped: Count,
  carrier_errors: Count,
  collisions: Count,
  aborted_errors: Count,
  fifo_errors: Count,
  window_errors: Count,
  heartbeat_errors: Count,
  carrier_changes: Count,
  timeouts: Count,
});

export const Device = z
  .object({
    ifindex: z.number().int().min(1),
    ifname: z.string(),
    link: z.string().optional().describe('The device this one sits on: the veth peer or the VLAN parent.'),
    master: z.string().optional().describe('The bridge this device is a port of (`ip link set dev X master br0`).'),
    flags: z.array(z.string()).describe('As `ip -j link` prints them, e.g. ["BROADCAST","MULTICAST","UP","LOWER_UP"].'),
    mtu: z.number().int(),
    qdisc: z.string(),
    operstate: z.enum(['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP']),
    linkmode: z.literal('DEFAULT'),
    group: z.literal('default'),
    txqlen: Count,
    link_type: z.string(),
    address: z.string(),
    broadcast: z.string(),
    kind: z.string(),
    promiscuity: Count,
    allmulti: Count,
    min_mtu: z.number().int(),
    max_mtu: z.number().int(),
    linkinfo: z.object({ info_kind: z.string(), info_data: z.record(z.string(), z.unknown()).optional() }),
    multicast: z.array(z.object({ address: z.string(), users: Count })),
    netem: NetemView.nullable(),
    stats64: z.object({ rx: RxStats, tx: TxStats }).optional().describe('Left out with ?stats=0.'),
    queue: z
      .object({
        stopped: z.boolean().describe('The driver holds the transmit queue stopped (busy, or its TX ring full).'),
        qlen: Count.describe('Frames waiting in the root qdisc now (tc\'s qlen).'),
        backlog: Count.describe('Bytes waiting in the root qdisc now (tc\'s backlog).'),
        bytes: Count.describe('Bytes sent through the root qdisc since it was attached (tc\'s "Sent N bytes").'),
        packets: Count.describe('Frames sent through the root qdisc since it was attached (tc\'s "N pkt").'),
        drops: Count.describe('Frames the root qdisc dropped (tc\'s dropped).'),
        overlimits: Count.describe('Frames the root qdisc held back over a limit (tc\'s overlimits).'),
        requeues: Count.describe('Frames put back after a busy driver (tc\'s requeues).'),
      })
      .describe('The root qdisc in `tc -s qdisc` words; frames netem holds are in netem.stats.held.'),
  })
  .meta({ id: 'Device', description: 'A device in the shape of `ip -j -s -d link show`.' });

export type DeviceOut = z.output<typeof Device>;

export const DeviceList = z.array(Device);

export const DeviceListQuery = z.object({
  stats: QueryBool.optional().describe('0 leaves out stats64 (as `ip -j link` without -s); default 1.'),
});

/** The list route's query: the one above plus pagination. */
export const DeviceListPageQuery = DeviceListQuery.extend({
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, { message: 'expected a positive decimal integer' })
    .transform(Number)
    .pipe(z.number().int().max(100_000))
    .optional()
    .describe('At most this many devices (1..100000); without it, every device. A Link rel="next" header names the next page.'),
  after: z
    .string()
    .min(1)
    .max(15 * 3)
    .optional()
    .describe(
      'Start after this device, in ifindex order: an ifindex (digits), or an interface name. ' +
        'Pass the last ifindex of the previous page (the Link header does): it stays valid when that device is deleted meanwhile.',
    ),
});

// ---- ip link add ----

/** Settings any new device may take, as `ip link add ... mtu N address A up`. */
const common = {
  mtu: z.number().int().min(0).max(2147483647).optional(),
  address: MacAddress.optional(),
  txqlen: z.number().int().min(0).max(4294967295).optional(),
  up: z.boolean().optional().describe('Bring the device up once created.'),
  promisc: z.boolean().optional(),
  allmulti: z.boolean().optional(),
  netem: NetemSettings.nullable().optional(),
  multicast: z.strictObject({ add: z.array(MacAddress).max(4096).optional() }).optional(),
};

/** ethtool's speed and TX ring, for the kinds whose driver has a wire of its own. */
const SpeedMbps = z
  .number()
  .min(0)
  .max(10_000_000)
  .describe('Link speed in Mbit/s (ethtool speed; fractions down to 0.000008 = 8 bit/s for slow lab links): each frame takes len*8/speed on the wire and its sender is credited when it has left; 0 = no wire time.');
const TxRing = z
  .number()
  .int()
  .min(1)
  .max(65536)
  .describe('TX ring descriptors (ethtool -g tx, default 256): a full ring stops the device queue until a frame completes.');
const wire = { speed_mbps: SpeedMbps.optional(), tx_ring: TxRing.optional() };

export const DummyCreate = z.strictObject({
  kind: z.literal('dummy'),
  name: IfName.optional().describe('Default dummy%d.'),
  ...common,
  ...wire,
});

export const VethCreate = z.strictObject({
  kind: z.literal('veth'),
  name: IfName.optional().describe('Default veth%d.'),
  peer: IfName.optional().describe('Name of the other end; default veth%d.'),
  ...wire,
  ...common,
});

export const VlanCreate = z.strictObject({
  kind: z.literal('vlan'),
  name: IfName.optional().describe('Default <link>.<id>.'),
  link: IfName.describe('The parent device.'),
  id: z.number().int().min(0).max(4095).describe('802.1Q VLAN id, 1..4094.'),
  egress_qos_map: z
    .record(z.string().regex(/^\d{1,10}$/), z.number().int().min(0).max(7))
    .optional()
    .describe('skb priority -> 802.1p PCP of frames sent (ip link ... egress-qos-map FROM:TO); an unmapped priority sends PCP 0.'),
  ...common,
});

const Endpoint = z
  .string()
  .min(1)
  .max(300)
  .describe('host:port, host, [v6]:port or [v6]; the host an IP address or a DNS name.');

export const VxlanCreate = z.strictObject({
  kind: z.literal('vxlan'),
  name: IfName.optional().describe('Default vxlan%d.'),
  vni: z.number().int().min(0).max(16777215).describe('VXLAN network identifier.'),
  local: Endpoint.optional().describe('UDP address to bind; default 0.0.0.0:<dstport>. Port 0 takes any free port.'),
  remote: z
    .union([Endpoint, z.array(Endpoint).max(256)])
    .optional()
    .describe('Peer(s), at most 256: frames without a learned destination go to all of them. A peer without a port uses dstport.'),
  dstport: z.number().int().min(1).max(65535).optional().describe('UDP port of peers given without one (default 4789).'),
  learning: z.boolean().optional().describe('Learn source MAC -> peer from received frames (default true).'),
  ageing: z.number().int().min(0).max(4294967295).optional().describe('Seconds a learned entry lives; 0 = forever (default 300).'),
  ...common,
});

export const BridgeCreate = z.strictObject({
  kind: z.literal('bridge'),
  name: IfName.optional().describe('Default br%d.'),
  ageing_time: z.number().int().min(0).max(1_000_000).optional().describe('Seconds a learned address stays in the forwarding table without traffic from it; 0 = forever (default 300).'),
  ...common,
});

export const DeviceCreate = z
  .discriminatedUnion('kind', [DummyCreate, VethCreate, VlanCreate, VxlanCreate, BridgeCreate])
  .describe('ip link add: the kind and its own fields, plus optional common settings.');

export type DeviceCreateBody = z.input<typeof DeviceCreate>;

export const DeviceCreated = z.array(Device).describe('The created devices: both ends for a veth.');

// ---- ip link set ----

export const DevicePatch = z
  .strictObject({
    up: z.boolean().optional(),
    mtu: z.number().int().min(0).max(2147483647).optional(),
    address: MacAddress.optional(),
    promisc: z.boolean().optional(),
    allmulti: z.boolean().optional(),
    txqlen: z.number().int().min(0).max(4294967295).optional(),
    name: IfName.optional().describe('Rename; the device must be down.'),
    netem: NetemSettings.nullable().optional().describe('Replace the netem settings; null removes netem.'),
    speed_mbps: SpeedMbps.optional().describe('ethtool -s X speed N (veth, dummy; other kinds: 501 EOPNOTSUPP).'),
    tx_ring: TxRing.optional().describe('ethtool -G X tx N (veth, dummy).'),
    multicast: z
      .strictObject({ add: z.array(MacAddress).max(4096).optional(), del: z.array(MacAddress).max(4096).optional() })
      .optional()
      .describe('Join or leave link-layer multicast groups.'),
    master: IfName.nullable().optional().describe('Join this bridge as a port (`ip link set dev X master br0`); null leaves it (`nomaster`).'),
  })
  .describe('ip link set: every field is checked before any is applied, so a bad one changes nothing.');

export type DevicePatchBody = z.input<typeof DevicePatch>;

export const DeviceDeleted = z
  .object({ deleted: z.array(z.string()).describe('Every device removed: a veth takes its peer, a parent its VLANs.') })
  .meta({ id: 'DeviceDeleted' });

export type DeviceDeletedOut = z.output<typeof DeviceDeleted>;

// ---- tc qdisc ----

export const QdiscKindName = z.enum(['pfifo_fast', 'pfifo', 'bfifo', 'noqueue']);

export const QdiscOut = z
  .object({
    kind: QdiscKindName,
    handle: z.string().describe('tc\'s handle: "0:" for the default qdisc, "8001:" and up for one attached with PUT.'),
    dev: z.string().describe('The device it is attached to.'),
    parent: z.literal('root').describe('Where it sits: always the root here (no classful qdiscs).'),
    root: z.literal(true).describe('tc -j\'s flag for a root qdisc.'),
    refcnt: Count.describe('As tc shows it: 2 for the default qdisc, 3 for one attached with PUT.'),
    options: z.record(z.string(), z.unknown()).describe('The kind\'s options: {limit} for pfifo (frames) and bfifo (bytes), {bands, priomap, multiqueue} for pfifo_fast.'),
    bytes: Count.describe('Bytes sent through it.'),
    packets: Count.describe('Frames sent through it.'),
    drops: Count.describe('Frames it dropped.'),
    overlimits: Count.describe('Frames held back over a rate or limit (the fifos count none).'),
    requeues: Count.describe('Frames put back after a busy driver.'),
    backlog: Count.describe('Bytes waiting now.'),
    qlen: Count.describe('Frames waiting now.'),
  })
  .meta({ id: 'Qdisc', description: 'The root qdisc of a device, as one entry of `tc -s -j qdisc show dev X`.' });

export const QdiscReplace = z
  .strictObject({
    kind: QdiscKindName.describe('The root qdisc to attach.'),
    limit: z.number().int().min(0).max(4294967295).optional().describe('pfifo: frames; bfifo: bytes. Default: txqlen frames, or txqlen * (mtu + 14) bytes. Not for pfifo_fast or noqueue.'),
  })
  .meta({ id: 'QdiscReplace', description: '`tc qdisc replace dev X root KIND [limit N]`.', example: { kind: 'pfifo', limit: 100 } });

// ---- bridge fdb ----

export const FdbEntry = z
  .object({
    mac: z.string().describe('The address, aa:bb:cc:dd:ee:ff.'),
    ifname: z.string().describe('The port frames to this address leave by (a bridge), or the device itself (vxlan).'),
    dst: z.string().optional().describe('vxlan: the remote host:port frames to this address are sent to.'),
    state: z.enum(['permanent', 'static', 'learned']).describe('permanent: a device\'s own address (frames go up the stack); static: added by hand; learned: seen as a source.'),
    flags: z.array(z.string()).describe('As `bridge -j fdb show` prints them; empty here.'),
    age_s: z.number().int().optional().describe('Learned entries: seconds since a frame from this address was last seen.'),
  })
  .meta({ id: 'FdbEntry', description: 'One forwarding-table entry in the shape of `bridge -j fdb show`.' });

export const FdbList = z.array(FdbEntry);

export const FdbAdd = z
  .strictObject({
    mac: MacAddress.describe('The unicast address to add.'),
    ifname: IfName.describe('The bridge port that reaches it (or the vxlan device itself).'),
    dst: z.string().min(1).max(300).optional().describe('vxlan only: the remote host:port.'),
    state: z.literal('static').optional().describe('Entries added by hand are static.'),
  })
  .describe('bridge fdb add MAC dev PORT [dst IP]: a static entry.');

export const FdbDeleteQuery = z.object({
  mac: MacAddress.describe('The address of the entry to remove.'),
  dst: z.string().min(1).max(300).optional().describe('vxlan only: the remote of the entry.'),
});
