// What every socket stream session (a UDP socket's datagrams, a TCP socket's
// byte stream) shares: the WebSocket it serves, the heartbeat, and closing
// once. A session subclass releases its own hold on the socket in release().

import type { RawData, WebSocket } from 'ws';

/** A message's payload as one Buffer, whatever shape ws delivered it in. */
export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export abstract class SocketSession {
  closed = false;
  onClosed: ((s: this) => void) | null = null;
  /** Answered the last ping (heartbeat). */
  protected alive = true;
  /** A send waits for socket room: the client is not read meanwhile. */
  protected txBusy = false;

  constructor(protected readonly ws: WebSocket) {
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.dispose());
  }

  /** Heartbeat: false when the last ping went unanswered (the caller terminates). */
  ping(): boolean {
    // While a send waits the client is not read, so its pong could not be seen.
    if (this.txBusy) return true;
    if (!this.alive) return false;
    this.alive = false;
    this.ws.ping();
    return true;
  }

  /** Drop a dead client without a closing handshake. */
  terminate(): void {
    this.dispose();
    this.ws.terminate();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.dispose();
    this.ws.close(code, reason);
  }

  protected dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.onClosed?.(this);
  }

  /** Let go of the socket: listeners, pending sends, the message handler. */
  protected abstract release(): void;
}
