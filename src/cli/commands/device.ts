// Device paths and ip's wording when a device does not exist.

import { CliError, EXIT_LOOKUP, ServiceError } from '../errors.ts';

export function devicePath(name: string, sub = ''): string {
  return `/v1/devices/${encodeURIComponent(name)}${sub}`;
}

/**
 * Runs a request about device `name`, turning the service's ENODEV into ip's
 * `Cannot find device "X"` (exit 1).
 */
export async function onDevice<T>(name: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ServiceError && err.problem.errno === 'ENODEV') throw new CliError(`Cannot find device "${name}"`, EXIT_LOOKUP);
    throw err;
  }
}
