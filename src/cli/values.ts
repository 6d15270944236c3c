// Parsing the values users type, in the notations iproute2 and tc accept:
// integers (decimal or 0x hex), on|off, MAC addresses, interface names, tc
// times ("100ms"), rates ("1mbit") and percentages ("1%"), and frames in hex.
// Each parser throws ArgError (exit 255) with the offending word.

import { Buffer } from 'node:buffer';
import { parseMac } from '../wire/mac.ts';
import { ArgError } from './errors.ts';

function wrong(value: string, what: string, topic: string | null, why?: string): never {
  throw new ArgError(`argument "${value}" is wrong: ${why ?? `invalid "${what}" value`}`, topic);
}

/** A non-negative integer in decimal or 0x hex, at most `max`. */
export function parseUint(value: string, what: string, topic: string | null, max = 0xffff_ffff): number {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) wrong(value, what, topic);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > max) wrong(value, what, topic, `"${what}" must be within 0..${max}`);
  return n;
}

export function parseOnOff(value: string | undefined, what: string, topic: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ArgError(`argument of "${what}" must be "on" or "off", not "${value ?? ''}"`, topic);
}

/** A MAC address, normalised to lower case with colons; ip's message otherwise. */
export function parseLladdr(value: string, topic: string): string {
  const mac = parseMac(value);
  if (mac === undefined) throw new ArgError(`"${value}" is invalid lladdr`, topic);
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** IFNAMSIZ rules (dev_valid_name): 1..15 bytes, no '/', ':' or whitespace, not "." or "..". */
export function parseIfname(value: string, what: string, topic: string): string {
  const bad =
    value.length === 0 ||
    Buffer.byteLength(value, 'utf8') > 15 ||
    value === '.' ||
    value === '..' ||
    /[/:\s\x00-\x1f]/u.test(value);
  if (bad) wrong(value, what, topic, `"${what}" not a valid ifname`);
  return value;
}

const TIME_UNITS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000,
  ms: 1, msec: 1, msecs: 1,
  us: 0.001, usec: 0.001, usecs: 0.001,
};

/**
 * A tc time in milliseconds. As in tc's get_time(), a bare number counts
 * microseconds: `delay 100` is 100us, `delay 100ms` is 100ms.
 */
export function parseTimeMs(value: string, what: string, topic: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-z]*)$/i.exec(value);
  if (m === null) wrong(value, what, topic);
  const unit = m[2]!.toLowerCase();
  const scale = unit === '' ? 0.001 : TIME_UNITS[unit];
  if (scale === undefined) wrong(value, what, topic, `unknown time unit "${m[2]}" (use s, ms or us)`);
  return Number(m[1]) * scale;
}

const RATE_UNITS: Record<string, number> = {
  bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, tibit: 1024 ** 4,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
  kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3, tibps: 8 * 1024 ** 4,
};

/** A tc rate in bits per second: "1mbit", "100kbit", "10Mbps" (bytes), a bare number is bit/s. */
export function parseRateBps(value: string, what: string, topic: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-z]*)$/i.exec(value);
  if (m === null) wrong(value, what, topic);
  const unit = m[2]!.toLowerCase();
  const scale = unit === '' ? 1 : RATE_UNITS[unit];
  if (scale === undefined) wrong(value, what, topic, `unknown rate unit "${m[2]}" (use bit, kbit, mbit, gbit or bps, kbps, ...)`);
  return Math.round(Number(m[1]) * scale);
}

/** A percentage 0..100, with or without the % sign, as tc takes it. */
export function parsePercent(value: string, what: string, topic: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)%?$/.exec(value);
  if (m === null) wrong(value, what, topic);
  const n = Number(m[1]);
  if (n > 100) wrong(value, what, topic, `"${what}" must be a percentage within 0..100`);
  return n;
}

/**
 * One frame written as hex; ':', '-', '.' and '_' between digits are allowed
 * ("02:00:00:00:00:01...") and ignored. Returns the canonical lower-case hex.
 */
export function parseHexFrame(value: string, topic: string): string {
  const hex = value.replace(/^0x/i, '').replace(/[:\-._]/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) {
    throw new ArgError(`"${value}" is not a frame in hex (an even number of hex digits)`, topic);
  }
  return hex.toLowerCase();
}
