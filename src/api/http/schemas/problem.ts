// RFC 9457 problem details, as every error of the API is sent
// (application/problem+json), with the errno name as an extension member.

import { z } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const Problem = z
  .object({
    type: z.string().describe('urn:netstack:errno:<ERRNO>'),
    title: z.string().describe('strerror() of the errno, e.g. "No such device".'),
    status: z.number().int().min(400).max(599),
    detail: z.string().describe('What was wrong, in words a user can act on.'),
    errno: z.string().describe('The errno name, e.g. "ENODEV", as the kernel would return it.'),
    instance: z.string().describe('The request path and query.'),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Validation failures, one per offending field (400 EINVAL from input validation).'),
    sent: z.number().int().min(0).optional().describe('Frame send: frames of the request already queued before the error.'),
    dropped: z.number().int().min(0).optional().describe('Frame send: frames of the request dropped by the stack before the error.'),
    at: z.number().int().min(0).optional().describe('Frame send: index of the frame that failed.'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with the errno name.' });

export type ProblemBody = z.output<typeof Problem>;

const WHY: Record<number, string> = {
  400: 'Invalid input (EINVAL, ERANGE, ...), or an operation refused for this device (EOPNOTSUPP)',
  401: 'Missing or wrong bearer token (EACCES)',
  403: 'Operation not permitted (EPERM)',
  404: 'No such device (ENODEV), route or entry (ENOENT)',
  409: 'Conflicts with the current state (EEXIST, EBUSY, ENETDOWN)',
  413: 'Too large (EMSGSIZE): a frame over mtu + link header, or a body over the limit',
  415: 'Unsupported content type (EINVAL)',
  422: 'Address not usable here (EADDRNOTAVAIL)',
  429: 'A configured limit is reached (EMFILE, ENFILE, ENOSPC)',
  501: 'The device kind does not implement the operation (EOPNOTSUPP)',
  503: 'Try again later (EAGAIN, ENOBUFS); Retry-After is set',
};

/** The error responses of a route, for the OpenAPI document: problem+json with the usual cause. */
export function problemResponses<const C extends readonly number[]>(...codes: C) {
  const out = {} as Record<C[number], { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof Problem } } }>;
  for (const code of codes as readonly C[number][]) {
    out[code] = { description: WHY[code] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } };
  }
  return out;
}
