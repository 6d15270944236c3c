// Raw HTTP over a TCP socket, for what fetch will not send: malformed
// framing, pipelining, trickled bodies, connections that say nothing.

import net from 'node:net';
import { until } from './wait.ts';

export interface RawConnection {
  socket: net.Socket;
  /** Everything received so far, as latin1 text. */
  received(): string;
  closed(): boolean;
  /** Wait (bounded) until the server has closed the connection; returns what it sent. */
  waitClosed(timeoutMs?: number): Promise<string>;
}

export function rawConnect(port: number, opts: { localAddress?: string } = {}): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...opts });
    let text = '';
    let closed = false;
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => text,
        closed: () => closed,
        async waitClosed(timeoutMs = 10_000) {
          await until(() => closed, 'the server to close the connection', { timeoutMs, intervalMs: 10, detail: () => `received ${JSON.stringify(text.slice(0, 300))}` });
          return text;
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** Send `request` (and half-close), wait for the server to close, return what it sent. */
export async function rawExchange(port: number, request: string | Buffer, opts: { localAddress?: string } = {}): Promise<string> {
  const c = await rawConnect(port, opts);
  c.socket.end(request);
  return c.waitClosed();
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Split a byte stream into the HTTP/1.1 responses it holds (Content-Length framed). */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}
