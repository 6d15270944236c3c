// `netstackctl send dev X HEX...` and `send dev X -f FILE [--pace]`: raw
// frames through POST /v1/devices/X/frames, in batches small enough for the
// service's body limit. With --pace a file replays at its recorded pace;
// frames that fall due together still travel in one request.

import { readFile } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import { Words } from '../args.ts';
import type { SendResult } from '../api-types.ts';
import { CliError, EXIT_LOOKUP } from '../errors.ts';
import { type Context, print, printJson, warn } from '../context.ts';
import { SEND_HELP } from '../help.ts';
import { readSavefile, type SavedFrame } from '../savefile.ts';
import { parseHexFrame, parseUint } from '../values.ts';
import { devicePath, onDevice } from './device.ts';

const TOPIC = 'send';
/** Frames per request, and hex characters per request (a JSON body well under fastify's 1 MiB default). */
const BATCH_FRAMES = 256;
const BATCH_HEX_CHARS = 256 * 1024;

interface SendArgs {
  dev: string;
  hex: string[];
  file: string | undefined;
  pace: boolean;
  nonblock: boolean;
  timeoutMs: number | undefined;
}

function parseSendArgs(words: Words): SendArgs {
  let dev: string | undefined;
  let file: string | undefined;
  let pace = false;
  let nonblock = false;
  let timeoutMs: number | undefined;
  const hex: string[] = [];
  while (!words.done) {
    const w = words.next()!;
    if (w === 'dev') dev = words.value(w);
    else if (w === '-f' || w === '--file' || w === 'file') file = words.value(w);
    else if (w === '--pace' || w === 'pace') pace = true;
    else if (w === '--nonblock' || w === 'nonblock') nonblock = true;
    else if (w === '--timeout' || w === 'timeout') timeoutMs = parseUint(words.value(w), 'timeout', TOPIC);
    else if (w.startsWith('-')) words.fail(`unknown option "${w}"`);
    else hex.push(parseHexFrame(w, TOPIC));
  }
  if (dev === undefined) words.fail('Not enough information: "dev" argument is required.');
  if (file === undefined && hex.length === 0) words.fail('nothing to send: give frames in hex or "-f FILE"');
  if (file !== undefined && hex.length > 0) words.fail('give frames in hex or "-f FILE", not both');
  if (pace && file === undefined) words.fail('"--pace" applies to "-f FILE" only');
  return { dev, hex, file, pace, nonblock, timeoutMs };
}

export async function sendCommand(ctx: Context, args: string[]): Promise<void> {
  if (args[0] === 'help') {
    print(ctx, SEND_HELP);
    return;
  }
  const a = parseSendArgs(new Words(args, TOPIC));
  const total: SendResult = { sent: 0, dropped: 0 };
  const post = async (frames: string[]): Promise<void> => {
    if (frames.length === 0) return;
    const query = { nonblock: a.nonblock ? 1 : undefined, timeout_ms: a.timeoutMs };
    const r = await onDevice(a.dev, ctx.client.post<SendResult>(devicePath(a.dev, '/frames'), { body: { frames }, query }));
    total.sent += r.sent;
    total.dropped += r.dropped;
  };
  let interrupted = false;
  try {
    if (a.file === undefined) {
      await sendBatched(a.hex, post);
    } else {
      const saved = await loadFile(ctx, a.file);
      if (a.pace) {
        interrupted = await sendPaced(ctx, saved, post);
      } else {
        await sendBatched(saved.map(hexOf), post, ctx.interrupt);
        interrupted = ctx.interrupt.aborted;
      }
    }
  } catch (err) {
    // Say how far it got before the error, so a partial replay is not mistaken for none.
    if (total.sent + total.dropped > 0) warn(ctx, `netstackctl: stopped after ${total.sent} frames sent, ${total.dropped} dropped`);
    throw err;
  }
  if (ctx.opts.json) printJson(ctx, total);
  else print(ctx, `${total.sent} frames sent, ${total.dropped} dropped\n`);
  if (interrupted) throw new CliError('netstackctl: interrupted', 130);
}

const hexOf = (f: SavedFrame): string => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('hex');

async function loadFile(ctx: Context, file: string): Promise<SavedFrame[]> {
  let buf: Buffer;
  try {
    buf = file === '-' ? await readStdin() : await readFile(file);
  } catch (err) {
    throw new CliError(`netstackctl: cannot read ${file}: ${(err as Error).message}`, EXIT_LOOKUP);
  }
  const saved = readSavefile(buf, file === '-' ? 'stdin' : file);
  if (saved.truncated) warn(ctx, `netstackctl: ${file}: the file ends inside a packet; sending the ${saved.frames.length} complete ones`);
  if (saved.skipped > 0) warn(ctx, `netstackctl: ${file}: ${saved.skipped} packets from non-Ethernet interfaces left out`);
  if (saved.snapped > 0) warn(ctx, `netstackctl: ${file}: ${saved.snapped} packets were cut by the snaplen; sending what was captured`);
  return saved.frames;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sendBatched(frames: readonly string[], post: (batch: string[]) => Promise<void>, stop?: AbortSignal): Promise<void> {
  let batch: string[] = [];
  let chars = 0;
  for (const hex of frames) {
    if (stop?.aborted) return;
    if (batch.length > 0 && (batch.length >= BATCH_FRAMES || chars + hex.length > BATCH_HEX_CHARS)) {
      await post(batch);
      batch = [];
      chars = 0;
    }
    batch.push(hex);
    chars += hex.length;
  }
  await post(batch);
}

/** Sends each frame when its recorded offset from the first one has passed; returns true if interrupted. */
async function sendPaced(ctx: Context, frames: readonly SavedFrame[], post: (batch: string[]) => Promise<void>): Promise<boolean> {
  if (frames.length === 0) return false;
  const t0 = frames[0]!.tsNs;
  const start = performance.now();
  let due: string[] = [];
  for (const f of frames) {
    const at = start + Number(f.tsNs - t0) / 1e6;
    const wait = at - performance.now();
    if (wait > 0) {
      await post(due);
      due = [];
      try {
        await sleep(wait, undefined, { signal: ctx.interrupt });
      } catch {
        return true;
      }
    }
    if (ctx.interrupt.aborted) return true;
    due.push(hexOf(f));
    if (due.length >= BATCH_FRAMES) {
      await post(due);
      due = [];
    }
  }
  await post(due);
  return false;
}
