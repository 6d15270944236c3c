// The API's request and response schemas (zod) and their types. Importing
// this module has no effect beyond building the schemas (and naming a few in
// zod's registry for the OpenAPI document): no fastify, no stack, no I/O.
// The CLI imports its types from here.

import { z } from 'zod';

export * from './common.ts';
export * from './problem.ts';
export * from './device.ts';
export * from './ioctl.ts';
export * from './frames.ts';
export * from './stack.ts';
export * from './stream.ts';
export * from './inet.ts';

export const Health = z.object({ status: z.literal('ok') });
export type HealthOut = z.output<typeof Health>;
