// netem's parameters as the REST API, the config file and the state file
// spell them (snake_case, tc's units), and as the core does: one mapping,
// both ways, so the three agree. Fields left out stay out; netem fills its
// defaults.

import type { NetemParams } from '../dev/wrappers/netem.ts';

/** tc qdisc netem, as the API and files spell it. */
export interface NetemFields {
  delay_ms?: number;
  jitter_ms?: number;
  loss?: number;
  duplicate?: number;
  corrupt?: number;
  reorder?: number;
  rate_bps?: number;
  limit?: number;
  seed?: number;
}

/** Each wire name and the core's. */
const FIELDS = [
  ['delay_ms', 'delayMs'],
  ['jitter_ms', 'jitterMs'],
  ['loss', 'loss'],
  ['duplicate', 'duplicate'],
  ['corrupt', 'corrupt'],
  ['reorder', 'reorder'],
  ['rate_bps', 'rateBps'],
  ['limit', 'limit'],
  ['seed', 'seed'],
] as const satisfies readonly (readonly [keyof NetemFields, keyof NetemParams])[];

export function netemParamsFromFields(f: NetemFields): Partial<NetemParams> {
  const out: Partial<NetemParams> = {};
  for (const [wire, core] of FIELDS) {
    const v = f[wire];
    if (v !== undefined) out[core] = v;
  }
  return out;
}

export function netemFieldsOf(p: NetemParams): Required<NetemFields> {
  const out = {} as Required<NetemFields>;
  for (const [wire, core] of FIELDS) out[wire] = p[core];
  return out;
}
