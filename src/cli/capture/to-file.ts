// Capture to a file: the HTTP capture route's pcapng (or pcap) body, written
// whole block by whole block, so a file cut by Ctrl-C or -c is still valid;
// "-w -" writes to stdout unless it is a terminal, as tcpdump refuses to.

import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { CliError, EXIT_LOOKUP, EXIT_SERVICE } from '../errors.ts';
import type { Context } from '../context.ts';
import { devicePath, onDevice } from '../commands/device.ts';
import { type CaptureArgs, announce, dropNotice, socketQuery, summary } from './common.ts';
import { CaptureSplitter, CorruptCaptureError } from './splitter.ts';

export async function captureToFile(ctx: Context, a: CaptureArgs): Promise<void> {
  const toStdout = a.file === '-';
  if (toStdout && ctx.stdout.isTTY) {
    throw new CliError('netstackctl: refusing to write binary capture data to a terminal; redirect stdout or use -w FILE', EXIT_LOOKUP);
  }
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort();
  ctx.interrupt.addEventListener('abort', onInterrupt);
  let timer: NodeJS.Timeout | undefined;
  const query = { format: a.format, count: a.count, duration_s: a.durationS, ...socketQuery(a) };
  let out: WriteStream | NodeJS.WritableStream | undefined;
  const splitter = new CaptureSplitter(a.format);
  let reportedDrops = 0;
  try {
    const res = await onDevice(a.dev, ctx.client.fetch('GET', devicePath(a.dev, '/capture'), { query, signal: controller.signal }));
    out = toStdout ? ctx.stdout : createWriteStream(a.file!);
    if (!toStdout) await once(out as WriteStream, 'open');
    announce(ctx, a.dev);
    if (a.durationS !== undefined) timer = setTimeout(() => controller.abort(), a.durationS * 1000 + 1000);
    if (res.body !== null) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        for (const unit of splitter.push(chunk)) {
          if (!out.write(unit)) await once(out, 'drain');
        }
        if (splitter.drops > reportedDrops) {
          dropNotice(ctx, splitter.drops - reportedDrops, splitter.drops);
          reportedDrops = splitter.drops;
        }
        if (a.count !== undefined && splitter.packets >= a.count) break;
      }
    }
  } catch (err) {
    if (err instanceof CorruptCaptureError) throw new CliError(`netstackctl: the capture stream is corrupt: ${err.message}`, EXIT_SERVICE);
    // Ctrl-C (or the duration) ended the body: what was written is a valid file.
    if (!controller.signal.aborted) throw err;
  } finally {
    ctx.interrupt.removeEventListener('abort', onInterrupt);
    if (timer !== undefined) clearTimeout(timer);
    controller.abort();
    if (out !== undefined && !toStdout) {
      const file = out as WriteStream;
      file.end();
      await once(file, 'close');
    }
  }
  summary(ctx, splitter.packets, splitter.drops);
}
