// Building blocks the resource schemas share: interface names, MAC
// addresses, query-string booleans and integers. Only zod is imported here,
// so the CLI can take these (and their types) without the core or fastify.

import { z } from 'zod';

/** IFNAMSIZ - 1: interface names are at most 15 bytes. */
export const IFNAME_MAX_BYTES = 15;

/**
 * An interface name as dev_valid_name() accepts it: 1..15 bytes of valid
 * UTF-8, no '/', ':', whitespace or control characters. `%d` asks for the lowest free
 * number (`eth%d`), as `ip link add name eth%d` does.
 */
export const IfName = z
  .string()
  .min(1)
  .max(IFNAME_MAX_BYTES)
  .regex(/^[^/:\s\u0000-\u001f\u007f]+$/u, { message: "interface names cannot contain '/', ':', whitespace or control characters" })
  // A lone UTF-16 surrogate has no UTF-8 bytes: such a name could not be put in a URL, so never let it in.
  .refine((name) => !/[\uD800-\uDFFF]/u.test(name), { message: 'interface names must be valid UTF-8 (no lone UTF-16 surrogate)' })
  .refine((name) => Buffer.byteLength(name, 'utf8') <= IFNAME_MAX_BYTES, {
    message: `interface names are at most ${IFNAME_MAX_BYTES} bytes`,
  })
  .describe("Interface name: 1..15 bytes, no '/', ':' or whitespace (IFNAMSIZ rules).");

/** The `{name}` path parameter of every per-device route. */
export const DeviceParams = z.object({ name: IfName });

/** 02:00:00:00:00:01 or 02-00-00-00-00-01; the core decides whether it fits the use. */
export const MacAddress = z
  .string()
  .regex(/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/, { message: 'expected a MAC address such as 02:00:00:00:00:01' })
  .describe('48-bit MAC address, six hex octets separated by ":" (or "-").');

/** ?flag=1 / ?flag=0 (also true/false), as a boolean. */
export const QueryBool = z
  .enum(['0', '1', 'true', 'false'])
  .transform((v) => v === '1' || v === 'true')
  .describe('1 or 0 (true or false).');

/** A non-negative decimal integer in a query string, at most `max`. */
export function queryInt(max: number, description: string) {
  return z
    .string()
    .regex(/^[0-9]{1,10}$/, { message: 'expected a non-negative decimal integer' })
    .transform(Number)
    .pipe(z.number().int().max(max))
    .describe(description);
}

/** Non-negative integer counters and sizes in responses. */
export const Count = z.number().int().min(0);
