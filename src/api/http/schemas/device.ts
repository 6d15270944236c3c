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
    rate_bps: z.number().min(0).max(1e12).optional().describe('Line rate in bit/s; 0 = unlimited. A low rate makes a slow link that throttles its senders.'),
    limit: z.number().int().min(1).max(1_000_000).optional().describe('Frames netem may hold (default 1000).'),
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
      .object({ stopped: z.boolean(), length: Count, bytes: Count, packets: Count, drops: Count, requeues: Count })
      .describe('The transmit queue (qdisc, plus frames netem holds).'),
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

export const DummyCreate = z.strictObject({
  kind: z.literal('dummy'),
  name: IfName.optional().describe('Default dummy%d.'),
  ...common,
});

export const VethCreate = z.strictObject({
  kind: z.literal('veth'),
  name: IfName.optional().describe('Default veth%d.'),
  peer: IfName.optional().describe('Name of the other end; default veth%d.'),
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
