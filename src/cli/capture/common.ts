// What the two capture modes share: the options, the banner and the closing
// summary, worded as tcpdump words them.

import { type Context, warn } from '../context.ts';

export interface CaptureArgs {
  dev: string;
  count: number | undefined;
  file: string | undefined;
  format: 'pcap' | 'pcapng';
  direction: 'in' | 'out' | 'both';
  promisc: boolean;
  protocol: string | undefined;
  durationS: number | undefined;
  rcvbuf: number | undefined;
}

/** The query both routes take for the capture socket. */
export function socketQuery(a: CaptureArgs): Record<string, string | number | undefined> {
  return { direction: a.direction, promisc: a.promisc ? 1 : undefined, protocol: a.protocol, rcvbuf: a.rcvbuf };
}

/** tcpdump's banner, on stderr so stdout holds only packets; scripts wait for it. */
export function announce(ctx: Context, dev: string): void {
  warn(ctx, `listening on ${dev}, link-type EN10MB (Ethernet), snapshot length 262144 bytes`);
}

export function summary(ctx: Context, captured: number, dropped: number): void {
  warn(ctx, `${captured} packet${captured === 1 ? '' : 's'} captured, ${dropped} dropped by socket`);
}

export function dropNotice(ctx: Context, count: number, total: number): void {
  warn(ctx, `netstackctl: ${count} frame${count === 1 ? '' : 's'} dropped by socket (${total} in all)`);
}
