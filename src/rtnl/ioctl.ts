// The interface ioctls (dev_ifsioc), for people who think in struct ifreq:
// the same requests, field names and errnos. The REST resources call the
// same device operations, so both views always agree.

import { NetError } from '../errno.ts';
import { formatMac } from '../wire/mac.ts';
import { flagNames, flagsFromNames } from '../dev/flags.ts';
import type { IfMap, NetDevice } from '../dev/netdevice.ts';
import { devChangeFlags, devChangeName, devMcAdd, devMcDel, devSetConfig, devSetMtu, devSetTxQueueLen } from '../dev/control.ts';
import type { NetStack } from '../stack/netstack.ts';
import { applyLinkChanges, checkLinkChanges } from './link.ts';

export const IOCTL_REQUESTS = [
  'SIOCGIFFLAGS',
  'SIOCSIFFLAGS',
  'SIOCGIFMTU',
  'SIOCSIFMTU',
  'SIOCGIFHWADDR',
  'SIOCSIFHWADDR',
  'SIOCADDMULTI',
  'SIOCDELMULTI',
  'SIOCGIFTXQLEN',
  'SIOCSIFTXQLEN',
  'SIOCSIFNAME',
  'SIOCGIFINDEX',
  'SIOCGIFMAP',
  'SIOCSIFMAP',
] as const;
export type IoctlRequest = (typeof IOCTL_REQUESTS)[number];

/** The request numbers of linux/sockios.h, for display. */
export const IOCTL_NUMBERS: Record<IoctlRequest, number> = {
  SIOCGIFFLAGS: 0x8913,
  SIOCSIFFLAGS: 0x8914,
  SIOCGIFMTU: 0x8921,
  SIOCSIFMTU: 0x8922,
  SIOCSIFNAME: 0x8923,
  SIOCSIFHWADDR: 0x8924,
  SIOCGIFHWADDR: 0x8927,
  SIOCADDMULTI: 0x8931,
  SIOCDELMULTI: 0x8932,
  SIOCGIFINDEX: 0x8933,
  SIOCGIFTXQLEN: 0x8942,
  SIOCSIFTXQLEN: 0x8943,
  SIOCGIFMAP: 0x8970,
  SIOCSIFMAP: 0x8971,
};

export interface SockaddrHw {
  /** ARPHRD_* for SIOCSIFHWADDR (must match the device type); AF_UNSPEC (0) for multicast. */
  sa_family?: number;
  sa_data: string;
}

export interface IfMapFields {
  mem_start: number;
  mem_end: number;
  base_addr: number;
  irq: number;
  dma: number;
  port: number;
}

export interface IfreqIn {
  request: IoctlRequest;
  ifr_flags?: number | string[];
  ifr_mtu?: number;
  ifr_hwaddr?: SockaddrHw;
  ifr_qlen?: number;
  ifr_newname?: string;
  ifr_map?: Partial<IfMapFields>;
}

export interface IfreqOut {
  request: IoctlRequest;
  ifr_name: string;
  ifr_flags?: number;
  flags?: string[];
  ifr_mtu?: number;
  ifr_hwaddr?: { sa_family: number; sa_data: string };
  ifr_qlen?: number;
  ifr_newname?: string;
  ifr_ifindex?: number;
  ifr_map?: IfMapFields;
}

function need<T>(value: T | undefined, field: string, request: string): T {
  if (value === undefined) throw new NetError('EINVAL', `${request} needs ${field}`);
  return value;
}

function mapOut(m: IfMap): IfMapFields {
  return { mem_start: m.memStart, mem_end: m.memEnd, base_addr: m.baseAddr, irq: m.irq, dma: m.dma, port: m.port };
}

function hwaddrOut(dev: NetDevice): { sa_family: number; sa_data: string } {
  return { sa_family: dev.type, sa_data: formatMac(dev.devAddr) };
}

/** ioctl(fd, request, &ifr) on device `name`. Returns the ifreq as the kernel leaves it. */
export function devIoctl(stack: NetStack, name: string, req: IfreqIn): IfreqOut {
  const dev = stack.devices.require(name);
  const r = req.request;
  const base = (): IfreqOut => ({ request: r, ifr_name: dev.name });
  switch (r) {
    case 'SIOCGIFFLAGS': {
      const f = dev.visibleFlags();
      return { ...base(), ifr_flags: f, flags: flagNames(f) };
    }
    case 'SIOCSIFFLAGS': {
      const given = need(req.ifr_flags, 'ifr_flags', r);
      const flags = typeof given === 'number' ? given : flagsFromNames(given);
      if (flags === undefined) throw new NetError('EINVAL', 'ifr_flags names an unknown flag');
      if (!Number.isInteger(flags) || flags < 0 || flags > 0xfffff) throw new NetError('EINVAL', 'ifr_flags is out of range');
      devChangeFlags(dev, flags);
      const f = dev.visibleFlags();
      return { ...base(), ifr_flags: f, flags: flagNames(f) };
    }
    case 'SIOCGIFMTU':
      return { ...base(), ifr_mtu: dev.mtu };
    case 'SIOCSIFMTU':
      devSetMtu(dev, need(req.ifr_mtu, 'ifr_mtu', r));
      return { ...base(), ifr_mtu: dev.mtu };
    case 'SIOCGIFHWADDR':
      return { ...base(), ifr_hwaddr: hwaddrOut(dev) };
    case 'SIOCSIFHWADDR': {
      const hw = need(req.ifr_hwaddr, 'ifr_hwaddr', r);
      if (hw.sa_family !== undefined && hw.sa_family !== dev.type) {
        throw new NetError('EINVAL', `sa_family ${hw.sa_family} does not match the device type ${dev.type}`);
      }
      applyLinkChanges(dev, checkLinkChanges(stack, dev, { address: hw.sa_data }), stack);
      return { ...base(), ifr_hwaddr: hwaddrOut(dev) };
    }
    case 'SIOCADDMULTI':
    case 'SIOCDELMULTI': {
      const hw = need(req.ifr_hwaddr, 'ifr_hwaddr', r);
      if (hw.sa_family !== undefined && hw.sa_family !== 0) throw new NetError('EINVAL', 'multicast addresses take sa_family AF_UNSPEC (0)');
      const checked = checkLinkChanges(stack, dev, { multicast: r === 'SIOCADDMULTI' ? { add: [hw.sa_data] } : { del: [hw.sa_data] } });
      for (const m of checked.mcAdd) devMcAdd(dev, m);
      for (const m of checked.mcDel) devMcDel(dev, m);
      return { ...base(), ifr_hwaddr: { sa_family: 0, sa_data: hw.sa_data.toLowerCase() } };
    }
    case 'SIOCGIFTXQLEN':
      return { ...base(), ifr_qlen: dev.txQueueLen };
    case 'SIOCSIFTXQLEN':
      devSetTxQueueLen(dev, need(req.ifr_qlen, 'ifr_qlen', r));
      return { ...base(), ifr_qlen: dev.txQueueLen };
    case 'SIOCSIFNAME': {
      const newName = need(req.ifr_newname, 'ifr_newname', r);
      if (newName !== dev.name && stack.devices.has(newName)) throw new NetError('EEXIST', `device "${newName}" already exists`);
      devChangeName(stack.devices, dev, newName);
      return { ...base(), ifr_newname: dev.name };
    }
    case 'SIOCGIFINDEX':
      return { ...base(), ifr_ifindex: dev.ifindex };
    case 'SIOCGIFMAP':
      return { ...base(), ifr_map: mapOut(dev.map) };
    case 'SIOCSIFMAP': {
      const m = need(req.ifr_map, 'ifr_map', r);
      const changes: Partial<IfMap> = {};
      const pairs: [keyof IfMapFields, keyof IfMap][] = [
        ['mem_start', 'memStart'], ['mem_end', 'memEnd'], ['base_addr', 'baseAddr'],
        ['irq', 'irq'], ['dma', 'dma'], ['port', 'port'],
      ];
      for (const [from, to] of pairs) {
        const v = m[from];
        if (v === undefined) continue;
        if (!Number.isInteger(v) || v < -1 || v > 0xffffffff) throw new NetError('EINVAL', `ifr_map.${from} is out of range`);
        changes[to] = v;
      }
      devSetConfig(dev, changes);
      return { ...base(), ifr_map: mapOut(dev.map) };
    }
  }
}

