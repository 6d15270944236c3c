// The wire layer: pure codecs, one module per format, re-exported for callers
// that want the lot. Every name is unique across modules so `export *` is safe.
// imports: every module in src/wire

export * from './checksum.ts';
export * from './mac.ts';
export * from './eth.ts';
export * from './vlan.ts';
export * from './arp.ts';
export * from './ipv4.ts';
export * from './icmp.ts';
export * from './udp.ts';
export * from './vxlan.ts';
export * from './pcap.ts';
export * from './pcapng.ts';
export * from './describe.ts';
export * from './ipv6.ts';
