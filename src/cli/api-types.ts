// The parts of the REST bodies the CLI reads (DESIGN §3). Declared here, as
// the client's own expectations, so the CLI never loads the service's code;
// every field the contract does not promise is optional, and `-j` prints the
// bodies untouched whatever else they carry. Only types come from the API's
// schemas (erased at run time), to check that the two still agree.

import type { z } from 'zod';
import type {
  DeviceOut,
  IfAddrOut,
  NeighbourOut,
  PingResultOut,
  RouteOut,
  SendResultOut,
  StreamDropsMessage,
  StreamFrameMessage,
  UdpSocketOut,
} from '../api/http/schemas/index.ts';

export interface DeviceStats64 {
  rx: {
    bytes: number; packets: number; errors: number; dropped: number; multicast: number;
    over_errors?: number; length_errors?: number; crc_errors?: number; frame_errors?: number;
    fifo_errors?: number; missed_errors?: number; nohandler?: number; compressed?: number;
  };
  tx: {
    bytes: number; packets: number; errors: number; dropped: number; collisions: number;
    carrier_errors?: number; aborted_errors?: number; fifo_errors?: number; window_errors?: number;
    heartbeat_errors?: number; carrier_changes?: number; compressed?: number;
  };
}

/** netem settings as the service reports them; both spellings are read. */
export interface NetemJson {
  delay_ms?: number; jitter_ms?: number; loss?: number; duplicate?: number; corrupt?: number;
  reorder?: number; rate_bps?: number; limit?: number; seed?: number;
  delayMs?: number; jitterMs?: number; rateBps?: number;
}

/** One element of `GET /v1/devices`: `ip -j -s -d link` field names. */
export interface DeviceJson {
  ifindex: number;
  ifname: string;
  link?: string | null;
  master?: string;
  flags: string[];
  mtu: number;
  qdisc?: string;
  operstate: string;
  linkmode?: string;
  group?: string;
  txqlen: number;
  link_type: string;
  address: string;
  broadcast: string;
  kind?: string;
  promiscuity?: number;
  allmulti?: number;
  min_mtu?: number;
  max_mtu?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  multicast?: { address: string; users?: number }[];
  netem?: NetemJson | null;
  stats64?: DeviceStats64;
  /** The root qdisc in tc's words: qlen/backlog wait now; bytes/packets were sent. */
  queue?: { stopped?: boolean; qlen?: number; backlog?: number; bytes?: number; packets?: number; drops?: number; overlimits?: number; requeues?: number };
}

/** `POST /v1/devices/{name}/frames` answer. */
export interface SendResult {
  sent: number;
  dropped: number;
}

/** WebSocket JSON messages of `/v1/devices/{name}/stream`. */
export type StreamMessage =
  | { type: 'ready'; ifname?: string; socket?: number }
  | { type: 'frame'; ts: number | string; ifname?: string; protocol?: number | string; pkt_type?: number | string; len?: number; info?: string; data: string }
  | { type: 'drops'; count: number; total: number }
  | { type: 'error'; errno: string; detail: string };

/** One element of `GET /v1/addresses` (`ip -j addr`). */
export interface IfAddrJson {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address: string;
  addr_info: { family: string; local: string; prefixlen: number; broadcast?: string; scope: string; label: string; secondary?: boolean }[];
}

/** One element of `GET /v1/routes` (`ip -j route`). */
export interface RouteJson {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  type?: string;
}

/** One element of `GET /v1/neighbours` (`ip -j neigh`). */
export interface NeighJson {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
}

/** `POST /v1/ping`. */
export interface PingResultJson {
  dst: string;
  transmitted: number;
  received: number;
  loss_percent: number;
  rtt_ms: { min: number; avg: number; max: number; mdev: number } | null;
  replies: { seq: number; from: string; ttl: number; time_ms: number }[];
  errors: { seq: number; from: string; message: string }[];
}

/** A UDP socket of `GET /v1/sockets` (`ss -u -a`). */
export interface UdpSocketJson {
  id: number;
  family: 'inet';
  type: string;
  state: string;
  local: string;
  peer: string;
  recv_q: number;
  send_q: number;
  rmem?: number;
  rcvbuf?: number;
  wmem?: number;
  sndbuf?: number;
  drops?: number;
}

// The service's own body types must still fit what the CLI reads: a change
// to the API that would break the CLI fails the type check here.
type Fits<T extends U, U> = T;
export type DeviceOutFits = Fits<DeviceOut, DeviceJson>;
export type SendResultFits = Fits<SendResultOut, SendResult>;
export type StreamFrameFits = Fits<z.output<typeof StreamFrameMessage>, Extract<StreamMessage, { type: 'frame' }>>;
export type StreamDropsFits = Fits<z.output<typeof StreamDropsMessage>, Extract<StreamMessage, { type: 'drops' }>>;

/** One row of GET /v1/devices/{name}/fdb (`bridge -j fdb show`). */
export interface FdbJson {
  mac: string;
  ifname: string;
  dst?: string;
  state: string;
  flags: string[];
  age_s?: number;
}
export type IfAddrFits = Fits<IfAddrOut, IfAddrJson>;
export type RouteFits = Fits<RouteOut, RouteJson>;
export type NeighFits = Fits<NeighbourOut, NeighJson>;
export type PingResultFits = Fits<PingResultOut, PingResultJson>;
export type UdpSocketFits = Fits<UdpSocketOut, UdpSocketJson>;
