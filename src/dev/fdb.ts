// Forwarding-table entries as `bridge -j fdb show` prints them, and what
// `bridge fdb add|del` takes: the shape of the optional device ops
// fdbDump / fdbAdd / fdbDel (the kernel's ndo_fdb_dump/add/del) that a
// bridge and a vxlan device implement.

export type FdbState = 'permanent' | 'static' | 'learned';

export interface FdbView {
  mac: string;
  ifname: string;
  /** The remote peer, host[:port] as configured or learned (vxlan). */
  dst?: string;
  state: FdbState;
  flags: string[];
  /** Seconds since a learned entry was last refreshed. */
  age_s?: number;
}

export interface FdbAddRequest {
  mac: string;
  /** bridge: the port that reaches `mac` (`bridge fdb add MAC dev PORT`). */
  ifname?: string;
  /** vxlan: the peer, "host" or "host:port"; 00:00:00:00:00:00 with a dst appends a flooding remote. */
  dst?: string;
  state?: 'permanent' | 'static';
}
