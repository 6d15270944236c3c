// Reading a packet socket from an event loop: sk_data_ready fires once per
// queued frame, but the reader should run once per loop turn and take the
// whole queue in one go (one batch, one write). While the consumer is paused
// (its client is not keeping up) nothing is read: frames wait in the
// socket's receive queue, and once rcvbuf is full the socket drops and counts
// them (SOCKET_RCVBUFF). Memory stays bounded by rcvbuf, whatever the client does.

import type { PacketSocket } from '../packet/socket.ts';

export class SocketDrain {
  private scheduled = false;
  private paused = false;
  private stopped = false;
  private readonly unlisten: () => void;

  constructor(
    sock: PacketSocket,
    private readonly run: () => void,
  ) {
    this.unlisten = sock.sk.addDataReadyListener(this.kick);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Schedule one run for this loop turn, unless one is pending or the consumer is paused. */
  readonly kick = (): void => {
    if (this.scheduled || this.paused || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.fire);
  };

  private readonly fire = (): void => {
    this.scheduled = false;
    if (!this.paused && !this.stopped) this.run();
  };

  /** The consumer is full: stop reading until resume(). */
  pause(): void {
    this.paused = true;
  }

  /** The consumer has room again: run soon, even with nothing queued (drop notices may be due). */
  resume(): void {
    if (this.stopped) return;
    this.paused = false;
    this.kick();
  }

  /** No more runs; the socket stops waking us. */
  stop(): void {
    this.stopped = true;
    this.unlisten();
  }
}
