// POST /v1/devices/{name}/frames: raw send, as a packet socket's sendto().
// One frame as application/octet-stream, or a batch as JSON strings, each
// hex (only hex digits, even length) or else standard base64.

import { z } from 'zod';
import { Count, QueryBool, queryInt } from './common.ts';

/** Only hex digits, an even number of them: read as hex. */
export const HEX_FRAME = /^(?:[0-9a-fA-F]{2})+$/;
/** Anything else must be canonical base64 (RFC 4648 §4, padded). */
export const BASE64_FRAME = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Hex (an even number of hex digits) first, else padded base64; undefined
 * when it is neither. "" is no bytes. Frames and datagram payloads alike.
 */
export function decodePayload(text: string): Buffer | undefined {
  // Node's hex decoder stops at the first character that is not a hex
  // digit, so a full-length result is exactly HEX_FRAME's test, for free.
  const hex = Buffer.from(text, 'hex');
  if (hex.length * 2 === text.length) return hex;
  if (BASE64_FRAME.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

export const FrameString = z
  .string()
  .min(1)
  .describe(
    'One Ethernet frame from the destination MAC on (no FCS). A string of only hex digits with an even length is hex; ' +
      'anything else must be padded base64. Prefer hex: base64 whose text happens to be all hex digits reads as hex.',
  );

/**
 * The frames of a batch, decoded once into bytes. Checked and decoded for the
 * whole array in one pass: per-element zod transforms cost twice as much on
 * a batch of hundreds.
 */
export const FrameList = z
  .array(FrameString)
  .min(1)
  .transform((texts, ctx) => {
    const frames = new Array<Buffer>(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const frame = decodePayload(texts[i]!);
      if (frame !== undefined) frames[i] = frame;
      else ctx.addIssue({ code: 'custom', path: [i], message: 'a frame is hex (an even number of hex digits) or base64' });
    }
    return frames;
  })
  .describe('Sent in this order, on one socket.');

export const FramesJson = z.strictObject({ frames: FrameList });

export type FramesJsonBody = z.input<typeof FramesJson>;
export type FramesJsonOut = z.output<typeof FramesJson>;

export const FramesQuery = z.object({
  nonblock: QueryBool.optional().describe('1: fail with 503 EAGAIN instead of waiting when the send buffer is full.'),
  timeout_ms: queryInt(3_600_000, 'Wait at most this long for send-buffer space (SO_SNDTIMEO), then 503 EAGAIN. Default: wait as long as the client stays connected.').optional(),
});

export const SendResult = z
  .object({
    sent: Count.describe('Frames queued for transmission.'),
    dropped: Count.describe('Frames the stack dropped and counted under a drop reason (a full qdisc, netem loss).'),
  })
  .meta({ id: 'SendResult' });

export type SendResultOut = z.output<typeof SendResult>;
