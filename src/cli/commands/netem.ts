// tc-netem's words after `netem` in `link set dev X netem ...`, turned into
// the PATCH body's snake_case netem object. Reading stops at the first word
// that is not netem's, so `netem delay 10ms up mtu 1400` mixes freely with
// the other `link set` keywords in one request.

import type { NetemFields } from '../../rtnl/netem-fields.ts';
import type { Words } from '../args.ts';
import { SeenKeywords } from '../args.ts';
import { parsePercent, parseRateBps, parseTimeMs, parseUint } from '../values.ts';

/** The PATCH body's netem object: the API's spelling, declared once in rtnl (a type only, erased at run time). */
export type NetemBody = NetemFields;

const OFF_WORDS = new Set(['off', 'none', 'delete', 'del']);
const PERCENT_KEYS = ['loss', 'duplicate', 'corrupt', 'reorder'] as const;

const looksLikeTime = (w: string | undefined): w is string => w !== undefined && /^[0-9]+(\.[0-9]+)?[a-z]*$/i.test(w);

/** Parses after the `netem` keyword; `null` means "remove netem" (`netem off`). */
export function parseNetem(words: Words): NetemBody | null {
  const topic = words.topic;
  if (words.peek() !== undefined && OFF_WORDS.has(words.peek()!)) {
    words.next();
    return null;
  }
  const body: NetemBody = {};
  const seen = new SeenKeywords(topic);
  for (;;) {
    const key = words.peek();
    if (key === undefined) break;
    if (key === 'delay' || key === 'latency') {
      words.next();
      const v = words.value(key);
      seen.once('delay', v);
      body.delay_ms = parseTimeMs(v, 'delay', topic);
      // tc's `delay TIME [JITTER]`: a second time right after is the jitter.
      if (looksLikeTime(words.peek())) {
        const j = words.next()!;
        seen.once('jitter', j);
        body.jitter_ms = parseTimeMs(j, 'jitter', topic);
      }
    } else if (key === 'jitter') {
      words.next();
      const v = words.value(key);
      seen.once('jitter', v);
      body.jitter_ms = parseTimeMs(v, 'jitter', topic);
    } else if ((PERCENT_KEYS as readonly string[]).includes(key) || key === 'drop') {
      words.next();
      const field = key === 'drop' ? 'loss' : (key as (typeof PERCENT_KEYS)[number]);
      // tc writes `loss random 1%`; random is the only loss model here.
      if (field === 'loss' && words.peek() === 'random') words.next();
      const v = words.value(key);
      seen.once(field, v);
      body[field] = parsePercent(v, field, topic);
    } else if (key === 'rate') {
      words.next();
      const v = words.value(key);
      seen.once('rate', v);
      body.rate_bps = parseRateBps(v, 'rate', topic);
    } else if (key === 'limit') {
      words.next();
      const v = words.value(key);
      seen.once('limit', v);
      body.limit = parseUint(v, 'limit', topic);
    } else if (key === 'seed') {
      words.next();
      const v = words.value(key);
      seen.once('seed', v);
      body.seed = parseUint(v, 'seed', topic);
    } else {
      break;
    }
  }
  if (Object.keys(body).length === 0) {
    words.fail('"netem" needs "off" or at least one of delay, jitter, loss, duplicate, corrupt, reorder, rate, limit, seed');
  }
  return body;
}
