// Small helpers shared by the views: number formats and frame header parsing
// for the list's columns (the Info column is the service's own decoder).

export function fmtBytes(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function fmtRate(bytesPerS) {
  if (!bytesPerS) return '0 bit/s';
  const bits = bytesPerS * 8;
  if (bits < 1e3) return `${bits.toFixed(0)} bit/s`;
  if (bits < 1e6) return `${(bits / 1e3).toFixed(1)} kbit/s`;
  if (bits < 1e9) return `${(bits / 1e6).toFixed(1)} Mbit/s`;
  return `${(bits / 1e9).toFixed(2)} Gbit/s`;
}

export function fmtTime(ts) {
  const d = new Date(ts);
  const two = (n) => String(n).padStart(2, '0');
  const ms = String(Math.floor(ts % 1000)).padStart(3, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${ms}`;
}

const hexByte = (hex, i) => parseInt(hex.substr(i * 2, 2), 16);
const mac = (hex, i) => hex.substr(i * 2, 12).match(/../g).join(':');
const ipv4 = (hex, i) => [0, 1, 2, 3].map((k) => hexByte(hex, i + k)).join('.');

const ETHERTYPES = { 0x0800: 'IPv4', 0x0806: 'ARP', 0x86dd: 'IPv6', 0x8100: '802.1Q', 0x88cc: 'LLDP' };
const IPPROTO = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };

/**
 * The columns of a frame row and the header lengths the anatomy draws:
 * Ethernet (+802.1Q tags), then IPv4 with its IHL, then ICMP/UDP (8) or TCP (doff).
 */
export function parseFrame(hex) {
  const len = hex.length / 2;
  const out = { src: '', dst: '', proto: 'Ethernet', headers: [] };
  if (len < 14) return out;
  out.dst = mac(hex, 0);
  out.src = mac(hex, 6);
  let off = 12;
  let type = (hexByte(hex, off) << 8) | hexByte(hex, off + 1);
  let l2 = 14;
  while (type === 0x8100 && len >= l2 + 4) {
    type = (hexByte(hex, l2 + 2) << 8) | hexByte(hex, l2 + 3);
    l2 += 4;
  }
  out.headers.push({ name: l2 > 14 ? 'Ethernet + 802.1Q' : 'Ethernet', len: l2 });
  if (type < 0x0600) {
    out.proto = '802.3';
    return out;
  }
  out.proto = ETHERTYPES[type] ?? `0x${type.toString(16).padStart(4, '0')}`;
  if (type === 0x0806 && len >= l2 + 28) out.headers.push({ name: 'ARP', len: 28 });
  if (type === 0x0800 && len >= l2 + 20) {
    const ihl = (hexByte(hex, l2) & 0x0f) * 4;
    const proto = hexByte(hex, l2 + 9);
    out.src = ipv4(hex, l2 + 12);
    out.dst = ipv4(hex, l2 + 16);
    out.headers.push({ name: 'IPv4', len: ihl });
    const l4 = l2 + ihl;
    out.proto = IPPROTO[proto] ?? `IP proto ${proto}`;
    if ((proto === 1 || proto === 17) && len >= l4 + 8) out.headers.push({ name: out.proto, len: 8 });
    if (proto === 6 && len >= l4 + 20) out.headers.push({ name: 'TCP', len: (hexByte(hex, l4 + 12) >> 4) * 4 });
    if (proto === 17 && len >= l4 + 8) {
      const dport = (hexByte(hex, l4 + 2) << 8) | hexByte(hex, l4 + 3);
      if (dport === 4789) out.proto = 'VXLAN';
    }
  }
  return out;
}

/** Minimal pcapng (SHB, one IDB for Ethernet, an EPB per frame), little-endian. */
export function buildPcapng(frames, ifname) {
  const enc = new TextEncoder();
  const blocks = [];
  const pad4 = (n) => (n + 3) & ~3;
  const block = (type, body) => {
    const total = 12 + body.byteLength;
    const b = new DataView(new ArrayBuffer(total));
    b.setUint32(0, type, true);
    b.setUint32(4, total, true);
    new Uint8Array(b.buffer, 8, body.byteLength).set(new Uint8Array(body.buffer ?? body, body.byteOffset ?? 0, body.byteLength));
    b.setUint32(total - 4, total, true);
    blocks.push(new Uint8Array(b.buffer));
  };
  const shb = new DataView(new ArrayBuffer(16));
  shb.setUint32(0, 0x1a2b3c4d, true);
  shb.setUint16(4, 1, true);
  shb.setUint16(6, 0, true);
  shb.setBigInt64(8, -1n, true);
  block(0x0a0d0d0a, shb);
  const name = enc.encode(ifname);
  const idb = new DataView(new ArrayBuffer(8 + 4 + pad4(name.length) + 4));
  idb.setUint16(0, 1, true); // LINKTYPE_ETHERNET
  idb.setUint32(4, 262144, true);
  idb.setUint16(8, 2, true); // if_name
  idb.setUint16(10, name.length, true);
  new Uint8Array(idb.buffer, 12, name.length).set(name);
  block(0x00000001, idb);
  for (const f of frames) {
    const data = new Uint8Array(f.data.length / 2);
    for (let i = 0; i < data.length; i++) data[i] = parseInt(f.data.substr(i * 2, 2), 16);
    const epb = new DataView(new ArrayBuffer(20 + pad4(data.length)));
    const us = BigInt(Math.round(f.ts * 1000));
    epb.setUint32(0, 0, true);
    epb.setUint32(4, Number(us >> 32n), true);
    epb.setUint32(8, Number(us & 0xffffffffn), true);
    epb.setUint32(12, data.length, true);
    epb.setUint32(16, data.length, true);
    new Uint8Array(epb.buffer, 20, data.length).set(data);
    block(0x00000006, epb);
  }
  return new Blob(blocks, { type: 'application/vnd.tcpdump.pcap' });
}
