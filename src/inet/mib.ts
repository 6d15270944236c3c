// SNMP counters by their /proc/net/snmp and /proc/net/netstat names (Ip,
// Icmp, IcmpMsg, Udp, IpExt), so `nstat` users read them without a glossary.
// Plain numbers on the hot path; netstat() copies them out.

export function ipMib() {
  return {
    InReceives: 0, InHdrErrors: 0, InAddrErrors: 0, ForwDatagrams: 0, InUnknownProtos: 0,
    InDiscards: 0, InDelivers: 0, OutRequests: 0, OutDiscards: 0, OutNoRoutes: 0,
    ReasmTimeout: 0, ReasmReqds: 0, ReasmOKs: 0, ReasmFails: 0, FragOKs: 0, FragFails: 0, FragCreates: 0,
    OutTransmits: 0,
  };
}

export function ipExtMib() {
  return {
    InNoRoutes: 0, InTruncatedPkts: 0, InMcastPkts: 0, OutMcastPkts: 0, InBcastPkts: 0, OutBcastPkts: 0,
    InOctets: 0, OutOctets: 0, InMcastOctets: 0, OutMcastOctets: 0, InBcastOctets: 0, OutBcastOctets: 0,
    InCsumErrors: 0,
  };
}

export function icmpMib() {
  return {
    InMsgs: 0, InErrors: 0, InCsumErrors: 0, InDestUnreachs: 0, InTimeExcds: 0, InParmProbs: 0,
    InSrcQuenchs: 0, InRedirects: 0, InEchos: 0, InEchoReps: 0, InTimestamps: 0, InTimestampReps: 0,
    InAddrMasks: 0, InAddrMaskReps: 0, OutMsgs: 0, OutErrors: 0, OutRateLimitGlobal: 0, OutRateLimitHost: 0,
    OutDestUnreachs: 0, OutTimeExcds: 0, OutParmProbs: 0, OutSrcQuenchs: 0, OutRedirects: 0, OutEchos: 0,
    OutEchoReps: 0, OutTimestamps: 0, OutTimestampReps: 0, OutAddrMasks: 0, OutAddrMaskReps: 0,
  };
}

export function udpMib() {
  return {
    InDatagrams: 0, NoPorts: 0, InErrors: 0, OutDatagrams: 0, RcvbufErrors: 0, SndbufErrors: 0,
    InCsumErrors: 0, IgnoredMulti: 0, MemErrors: 0,
  };
}

/** netstat() by group, each field by its Linux name. */
export type InetSnmp = {
  Ip: { Forwarding: number; DefaultTTL: number } & ReturnType<typeof ipMib>;
  Icmp: ReturnType<typeof icmpMib>;
  IcmpMsg: Record<string, number>;
  Udp: ReturnType<typeof udpMib>;
  IpExt: ReturnType<typeof ipExtMib>;
};

export class InetMib {
  readonly ip = ipMib();
  readonly ipExt = ipExtMib();
  readonly icmp = icmpMib();
  readonly udp = udpMib();
  /** IcmpMsg: InTypeN / OutTypeN, only the types seen (as /proc/net/snmp prints). */
  readonly icmpIn = new Uint32Array(256);
  readonly icmpOut = new Uint32Array(256);

  icmpInType(type: number): void {
    this.icmp.InMsgs++;
    this.icmpIn[type]!++;
    switch (type) {
      case 0: this.icmp.InEchoReps++; break;
      case 3: this.icmp.InDestUnreachs++; break;
      case 4: this.icmp.InSrcQuenchs++; break;
      case 5: this.icmp.InRedirects++; break;
      case 8: this.icmp.InEchos++; break;
      case 11: this.icmp.InTimeExcds++; break;
      case 12: this.icmp.InParmProbs++; break;
      case 13: this.icmp.InTimestamps++; break;
      case 14: this.icmp.InTimestampReps++; break;
    }
  }

  icmpOutType(type: number): void {
    this.icmp.OutMsgs++;
    this.icmpOut[type]!++;
    switch (type) {
      case 0: this.icmp.OutEchoReps++; break;
      case 3: this.icmp.OutDestUnreachs++; break;
      case 8: this.icmp.OutEchos++; break;
      case 11: this.icmp.OutTimeExcds++; break;
      case 12: this.icmp.OutParmProbs++; break;
    }
  }

  snapshot(forwarding: boolean, defaultTtl: number): InetSnmp {
    const icmpMsg: Record<string, number> = {};
    for (let t = 0; t < 256; t++) if (this.icmpIn[t]! > 0) icmpMsg[`InType${t}`] = this.icmpIn[t]!;
    for (let t = 0; t < 256; t++) if (this.icmpOut[t]! > 0) icmpMsg[`OutType${t}`] = this.icmpOut[t]!;
    return {
      // Forwarding is 1 for a router and 2 for a host (RFC 1213's ipForwarding).
      Ip: { Forwarding: forwarding ? 1 : 2, DefaultTTL: defaultTtl, ...this.ip },
      Icmp: { ...this.icmp },
      IcmpMsg: icmpMsg,
      Udp: { ...this.udp },
      IpExt: { ...this.ipExt },
    };
  }
}
