// POST /v1/devices/{name}/ioctl: the interface ioctls of linux/sockios.h with
// struct ifreq's field names, one request object per ioctl.

import { z } from 'zod';
import type { IoctlRequest } from '../../../rtnl/ioctl.ts';
import { Count, IfName, MacAddress } from './common.ts';

const Hwaddr = z.strictObject({
  sa_family: z.number().int().min(0).max(65535).optional().describe('ARPHRD_ETHER (1) to set the address; AF_UNSPEC (0) for multicast.'),
  sa_data: MacAddress,
});

const MapField = z.number().int().min(-1).max(4294967295);

const get = <R extends IoctlRequest>(request: R) => z.strictObject({ request: z.literal(request) });

export const IoctlBody = z
  .discriminatedUnion('request', [
    get('SIOCGIFFLAGS'),
    z.strictObject({
      request: z.literal('SIOCSIFFLAGS'),
      ifr_flags: z
        .union([z.number().int().min(0).max(0xfffff), z.array(z.string().max(32)).max(32)])
        .describe('IFF_* bits, or their names (["UP","PROMISC"]). Volatile flags (RUNNING, LOWER_UP) are ignored.'),
    }),
    get('SIOCGIFMTU'),
    z.strictObject({ request: z.literal('SIOCSIFMTU'), ifr_mtu: z.number().int().min(0).max(2147483647) }),
    get('SIOCGIFHWADDR'),
    z.strictObject({ request: z.literal('SIOCSIFHWADDR'), ifr_hwaddr: Hwaddr }),
    z.strictObject({ request: z.literal('SIOCADDMULTI'), ifr_hwaddr: Hwaddr }),
    z.strictObject({ request: z.literal('SIOCDELMULTI'), ifr_hwaddr: Hwaddr }),
    get('SIOCGIFTXQLEN'),
    z.strictObject({ request: z.literal('SIOCSIFTXQLEN'), ifr_qlen: z.number().int().min(0).max(4294967295) }),
    z.strictObject({ request: z.literal('SIOCSIFNAME'), ifr_newname: IfName }),
    get('SIOCGIFINDEX'),
    get('SIOCGIFMAP'),
    z.strictObject({
      request: z.literal('SIOCSIFMAP'),
      ifr_map: z
        .strictObject({
          mem_start: MapField.optional(),
          mem_end: MapField.optional(),
          base_addr: MapField.optional(),
          irq: MapField.optional(),
          dma: MapField.optional(),
          port: MapField.optional(),
        })
        .describe('Fields left out (or -1) stay as they are.'),
    }),
  ])
  .describe('One ioctl: `request` names it, the other fields are its struct ifreq members.');

export type IoctlRequestBody = z.input<typeof IoctlBody>;

// The union above must name every request the core implements, and no other.
type Requests = z.input<typeof IoctlBody>['request'];
const everyRequestCovered: [Requests] extends [IoctlRequest] ? ([IoctlRequest] extends [Requests] ? true : false) : false = true;
void everyRequestCovered;

const IfMap = z.object({ mem_start: z.number(), mem_end: z.number(), base_addr: z.number(), irq: z.number(), dma: z.number(), port: z.number() });

export const IoctlResult = z
  .object({
    request: z.string(),
    ifr_name: z.string(),
    ifr_flags: z.number().int().optional(),
    flags: z.array(z.string()).optional().describe('ifr_flags as names.'),
    ifr_mtu: z.number().int().optional(),
    ifr_hwaddr: z.object({ sa_family: z.number().int(), sa_data: z.string() }).optional(),
    ifr_qlen: Count.optional(),
    ifr_newname: z.string().optional(),
    ifr_ifindex: z.number().int().optional(),
    ifr_map: IfMap.optional(),
  })
  .describe('The struct ifreq as the ioctl leaves it.');

export type IoctlResultOut = z.output<typeof IoctlResult>;
