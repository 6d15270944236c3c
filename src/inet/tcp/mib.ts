// The counters of /proc/net/snmp "Tcp:" and /proc/net/netstat "TcpExt:" that
// this TCP moves, by their Linux names (include/uapi/linux/snmp.h). CurrEstab
// is a gauge, as in Linux. Plain objects of numbers: the hot path adds to
// them, the API copies them.

export const TCP_MIB_NAMES = [
  'ActiveOpens',
  'PassiveOpens',
  'AttemptFails',
  'EstabResets',
  'CurrEstab',
  'InSegs',
  'OutSegs',
  'RetransSegs',
  'InErrs',
  'OutRsts',
  'InCsumErrors',
] as const;

export const TCP_EXT_MIB_NAMES = [
  'SyncookiesSent',
  'SyncookiesRecv',
  'SyncookiesFailed',
  'EmbryonicRsts',
  'TW',
  'PAWSEstab',
  'DelayedACKs',
  'DelayedACKLost',
  'ListenOverflows',
  'ListenDrops',
  'TCPTimeouts',
  'TCPLossProbes',
  'TCPLossProbeRecovery',
  'TCPRenoRecovery',
  'TCPSackRecovery',
  'TCPSACKReneging',
  'TCPFastRetrans',
  'TCPSlowStartRetrans',
  'TCPLostRetransmit',
  'TCPRenoFailures',
  'TCPSackFailures',
  'TCPAbortOnData',
  'TCPAbortOnClose',
  'TCPAbortOnTimeout',
  'TCPAbortOnLinger',
  'TCPRcvQDrop',
  'TCPOFOQueue',
  'TCPOFODrop',
  'TCPOFOMerge',
  'TCPChallengeACK',
  'TCPSYNChallenge',
  'TCPReqQFullDrop',
  'TCPReqQFullDoCookies',
  'TCPToZeroWindowAdv',
  'TCPFromZeroWindowAdv',
  'TCPWantZeroWindowAdv',
  'TCPZeroWindowDrop',
  'TCPSackShifted',
  'TCPDSACKRecv',
  'TCPDSACKOldSent',
  'TCPDSACKOfoSent',
  'TCPDSACKUndo',
  'TCPFullUndo',
  'TCPLossUndo',
  'TCPSpuriousRTOs',
  'TCPHystartDelayDetect',
  'TCPHystartDelayCwnd',
  'TCPPureAcks',
  'TCPHPAcks',
  'TCPOrigDataSent',
  'TCPKeepAlive',
  'TCPWinProbe',
  'TCPRcvCoalesce',
  'TCPRcvCollapsed',
  'PruneCalled',
  'OfoPruned',
  'TCPACKSkippedSeq',
] as const;

export type TcpMibName = (typeof TCP_MIB_NAMES)[number];
export type TcpExtMibName = (typeof TCP_EXT_MIB_NAMES)[number];

export class TcpMib {
  readonly tcp = Object.fromEntries(TCP_MIB_NAMES.map((n) => [n, 0])) as Record<TcpMibName, number>;
  readonly ext = Object.fromEntries(TCP_EXT_MIB_NAMES.map((n) => [n, 0])) as Record<TcpExtMibName, number>;

  /** /proc/net/snmp's constants for the Reno-era RTO algorithm line. */
  snapshot(): { Tcp: Record<string, number>; TcpExt: Record<string, number> } {
    return {
      Tcp: { RtoAlgorithm: 1, RtoMin: 200, RtoMax: 120000, MaxConn: -1, ...this.tcp },
      TcpExt: { ...this.ext },
    };
  }
}
