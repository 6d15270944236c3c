// IFF_* interface flags (linux/if.h), how `ip link` names them, and RFC 2863
// operational states.

export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOTRAILERS: 0x20,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  MASTER: 0x400,
  SLAVE: 0x800,
  MULTICAST: 0x1000,
  PORTSEL: 0x2000,
  AUTOMEDIA: 0x4000,
  DYNAMIC: 0x8000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
  ECHO: 0x40000,
} as const;

export type IffName = keyof typeof IFF;

/** Flags a user may change with SIOCSIFFLAGS; the rest belong to the kernel or driver. */
export const IFF_USER_SETTABLE =
  IFF.UP | IFF.DEBUG | IFF.NOTRAILERS | IFF.NOARP | IFF.PROMISC | IFF.ALLMULTI | IFF.MULTICAST |
  IFF.PORTSEL | IFF.AUTOMEDIA | IFF.DYNAMIC | IFF.ECHO;

/** The order in which iproute2's print_link_flags() prints them. */
const PRINT_ORDER: IffName[] = [
  'LOOPBACK', 'BROADCAST', 'POINTOPOINT', 'MULTICAST', 'NOARP', 'ALLMULTI', 'PROMISC',
  'NOTRAILERS', 'DEBUG', 'DYNAMIC', 'AUTOMEDIA', 'PORTSEL', 'MASTER', 'SLAVE', 'UP',
  'LOWER_UP', 'DORMANT', 'ECHO',
];

/** Flag names as `ip -j link` prints them, NO-CARRIER first when up without carrier. */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  if ((flags & IFF.UP) !== 0 && (flags & IFF.RUNNING) === 0) out.push('NO-CARRIER');
  for (const name of PRINT_ORDER) if ((flags & IFF[name]) !== 0) out.push(name);
  return out;
}

/** Parse names back into bits (for SIOCSIFFLAGS given as names). Unknown names yield undefined. */
export function flagsFromNames(names: readonly string[]): number | undefined {
  let flags = 0;
  for (const n of names) {
    if (!Object.hasOwn(IFF, n)) return undefined;
    flags |= IFF[n as IffName];
  }
  return flags;
}

export type OperState = 'UNKNOWN' | 'NOTPRESENT' | 'DOWN' | 'LOWERLAYERDOWN' | 'TESTING' | 'DORMANT' | 'UP';

/** ARPHRD_* link types (linux/if_arp.h) and their iproute2 names. */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772, VOID: 0xffff } as const;
export function linkTypeName(type: number): string {
  switch (type) {
    case ARPHRD.ETHER:
      return 'ether';
    case ARPHRD.LOOPBACK:
      return 'loopback';
    default:
      return 'void';
  }
}
