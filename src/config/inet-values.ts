// IPv4 addresses, prefixes, route destinations and socket endpoints as users
// write them, checked with zod before anything reaches the stack. Shared by
// the config file schema and the HTTP API's schemas (which re-export them),
// so a file and a request accept exactly the same spellings.

import { z } from 'zod';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const PREFIX = '(?:3[0-2]|[12]?[0-9])';

/** Dotted quad, each octet 0..255 in decimal without leading zeros (inet_pton's rule). */
export const Ipv4Address = z
  .string()
  .regex(IPV4_RE, { message: 'expected an IPv4 address such as 198.51.100.1 (four decimal octets 0..255)' })
  .describe('IPv4 address, dotted quad.');

/** A.B.C.D/N with N 0..32; a bare A.B.C.D means /32, as `ip addr add` reads it. */
export const Ipv4Prefix = z
  .string()
  .regex(new RegExp(`^${OCTET}(?:\\.${OCTET}){3}(?:/${PREFIX})?$`), {
    message: 'expected A.B.C.D/N with octets 0..255 and a prefix length 0..32',
  })
  .describe('IPv4 address with prefix length, e.g. 198.51.100.1/24 (no /N means /32).');

/** A route destination: `default`, A.B.C.D/N, or a host A.B.C.D. */
export const RouteDst = z
  .union([z.literal('default'), Ipv4Prefix])
  .describe('"default" (0.0.0.0/0), A.B.C.D/N, or a host address A.B.C.D (/32).');

const PORT = '(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)';

/** ADDR:PORT for a socket; 0.0.0.0 is any address, port 0 an ephemeral port. */
export const SocketAddress = z
  .string()
  .regex(new RegExp(`^${OCTET}(?:\\.${OCTET}){3}:${PORT}$`), { message: 'expected ADDR:PORT such as 198.51.100.1:7 (port 0..65535)' })
  .describe('ADDR:PORT; 0.0.0.0 means any address and port 0 an ephemeral port (bind).');

