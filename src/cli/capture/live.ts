// Live capture: the device's WebSocket stream in JSON, one tcpdump -e -n
// line per frame (describeFrame), until -c N frames, the duration, Ctrl-C,
// or the server closing the stream.

import { Buffer } from 'node:buffer';
import WebSocket from 'ws';
import type { StreamMessage } from '../api-types.ts';
import { problemError, unreachableError } from '../client.ts';
import { CliError, EXIT_LOOKUP, EXIT_SERVICE, describeProblem } from '../errors.ts';
import { type Context, print, warn } from '../context.ts';
import { describeFrame } from '../../wire/describe.ts';
import { devicePath } from '../commands/device.ts';
import { type CaptureArgs, announce, dropNotice, socketQuery, summary } from './common.ts';

/** The stream's close code when its device is deleted (src/api/ws/stream-session.ts CLOSE_CODES.DEVICE_GONE). */
const STREAM_CLOSE_DEVICE_GONE = 4004;
/** How long to wait for the server's close frame after ours. */
const CLOSE_GRACE_MS = 2000;

/** A wall-clock timestamp (ms, µs or ns since the epoch, or an ISO string) as tcpdump's local HH:MM:SS.uuuuuu. */
export function formatTimestamp(ts: number | string): string {
  let ms: number;
  if (typeof ts === 'string') ms = /^[0-9.]+$/.test(ts) ? toMs(Number(ts)) : Date.parse(ts);
  else ms = toMs(ts);
  if (!Number.isFinite(ms)) return '??:??:??.??????';
  // Whole microseconds first, so 0.9 ms stored as 0.89999... still prints .000900.
  const us = Math.round(ms * 1000);
  const d = new Date(Math.floor(us / 1e6) * 1000);
  const micros = us - Math.floor(us / 1e6) * 1e6;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(micros).padStart(6, '0')}`;
}

const toMs = (v: number): number => (v > 1e17 ? v / 1e6 : v > 1e14 ? v / 1e3 : v);

export async function captureLive(ctx: Context, a: CaptureArgs): Promise<void> {
  const url = ctx.client.wsUrl(devicePath(a.dev, '/stream'), { format: 'json', ...socketQuery(a) });
  const ws = new WebSocket(url, { headers: ctx.client.headers() });
  let captured = 0;
  let dropped = 0;
  let closing = false;
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    if (closing) return;
    closing = true;
    if (timer !== undefined) clearTimeout(timer);
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'done');
      // A server busy draining a backed-up stream may answer the close late; do not hang on it.
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    } else {
      ws.terminate();
    }
  };
  const onInterrupt = (): void => stop();
  ctx.interrupt.addEventListener('abort', onInterrupt);
  // Not events.once(): it would reject on the 'error' that terminate() emits before 'close'.
  const closed = new Promise<[number, Buffer]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason])));

  ws.on('unexpected-response', (_req, res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 0;
      void problemError(new Response(body === '' ? null : body, { status }), 'plain').then((err) => {
        failure = err.problem.errno === 'ENODEV' ? new CliError(`Cannot find device "${a.dev}"`, EXIT_LOOKUP) : err;
        closing = true;
        ws.terminate();
      });
    });
  });
  ws.on('error', (err: Error) => {
    if (failure !== undefined) return;
    failure = unreachableError(ctx.client.base, err) ?? new CliError(`netstackctl: stream error: ${err.message}`, EXIT_SERVICE);
  });
  // "listening on ..." waits for the server's ready message (its socket is
  // bound), not the upgrade: a script that starts traffic once it reads the
  // line loses no frame.
  ws.on('open', () => {
    if (a.durationS !== undefined) timer = setTimeout(stop, a.durationS * 1000);
  });
  ws.on('message', (raw, isBinary) => {
    if (closing || isBinary) return;
    let msg: StreamMessage;
    try {
      msg = JSON.parse(raw.toString()) as StreamMessage;
    } catch {
      return;
    }
    if (msg.type === 'ready') {
      announce(ctx, a.dev);
      return;
    }
    if (msg.type === 'drops') {
      dropped = Math.max(dropped, msg.total);
      dropNotice(ctx, msg.count, msg.total);
      if (ctx.opts.json) print(ctx, JSON.stringify(msg) + '\n');
      return;
    }
    if (msg.type === 'error') {
      // The service says why before it closes the stream (e.g. no socket could be opened).
      warn(ctx, describeProblem({ status: 0, errno: msg.errno, detail: msg.detail }, 'plain'));
      return;
    }
    if (msg.type !== 'frame') return;
    captured++;
    if (ctx.opts.json) print(ctx, JSON.stringify(msg) + '\n');
    else print(ctx, `${formatTimestamp(msg.ts)} ${describeFrame(Buffer.from(msg.data, 'hex'))}\n`);
    if (a.count !== undefined && captured >= a.count) stop();
  });

  const [code, reason] = await closed;
  ctx.interrupt.removeEventListener('abort', onInterrupt);
  if (timer !== undefined) clearTimeout(timer);
  if (failure !== undefined) throw failure;
  summary(ctx, captured, dropped);
  if (!closing && code !== 1000 && code !== 1001) {
    const why = reason.length > 0 ? `: ${reason.toString('utf8')}` : '';
    // 4004: the device was deleted under the stream (tcpdump: "The interface disappeared").
    if (code === STREAM_CLOSE_DEVICE_GONE) throw new CliError(`netstackctl: device "${a.dev}" went away${why}`, EXIT_LOOKUP);
    throw new CliError(`netstackctl: the server closed the stream (code ${code}${why})`, EXIT_SERVICE);
  }
}
