// Following every configuration change into `--state FILE`: device events
// (netdevice notifier), address, route and permanent neighbour events of the
// internet layer, and sysctl changes mark the state dirty. The text is kept
// one device at a time (state-text.ts): a change serializes again only the
// device it concerns; the write itself is of the whole file.
//
// Two ways a change reaches the disk:
// - commit(): the HTTP routes call it before answering 2xx, so that an
//   acknowledged change survives a crash (kill -9, power loss). It resolves
//   once a write that includes every change made before the call has been
//   fsync'd, file and directory (writeFileAtomic). Group commit: while one
//   write is in flight, the changes and commit() calls that arrive meanwhile
//   wait for the next write, which takes them all; so a burst of N
//   concurrent requests costs about two writes, not N.
// - a short debounce for changes nobody waits for (a capture that sets
//   promiscuous mode, a config being applied): they are folded into one write.
// Writes never overlap; stop() writes what is left.

import type { Logger } from '../logger.ts';
import type { NetStack } from '../stack/index.ts';
import { inetInternals } from '../inet/control.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { StateText } from './state-text.ts';

export interface StateSaverOptions {
  /** Quiet time before a write nobody waits for; 50 ms by default. */
  debounceMs?: number;
  /** Wait before trying again after a failed write; 1 s by default. */
  retryMs?: number;
  logger?: Logger;
  /** Writes the file; writeFileAtomic (fsync'd) by default. Tests and benchmarks swap it. */
  write?: (file: string, text: string) => Promise<void>;
}

interface Waiter {
  /** The change sequence number that must be on disk. */
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class StateSaver {
  /** Completed writes, for logs and tests. */
  writes = 0;
  /** The last write's error, cleared by the next success. */
  lastError: Error | null = null;
  /** The file's text, kept per device. */
  readonly text: StateText;
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly log: Logger | undefined;
  private readonly write: (file: string, text: string) => Promise<void>;
  /** Bumped by every change; a write saves every change up to the number it read before its snapshot. */
  private changeSeq = 0;
  /** Every change up to this number is on disk. */
  private savedSeq = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private unsubscribe: (() => void)[] = [];
  /** The service sockets last left out of the state file (see Snapshot.skippedSockets), to warn once per change. */
  private lastSkippedSockets = '';
  private stopped = false;

  constructor(
    private readonly stack: NetStack,
    readonly file: string,
    opts: StateSaverOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 50;
    this.retryMs = opts.retryMs ?? 1000;
    this.log = opts.logger;
    this.write = opts.write ?? writeFileAtomic;
    this.text = new StateText(stack);
  }

  /** Changes not yet on disk. */
  get dirty(): boolean {
    return this.changeSeq > this.savedSeq;
  }

  /** Write the current state now (so the file exists and is writable), then follow changes. Throws if that first write fails. */
  async start(): Promise<void> {
    // Following first: a change made while the first write is on its way must
    // reach the kept text (a device's share is only made again when told).
    this.unsubscribe = [
      this.stack.notifier.subscribe((event, dev) => {
        this.text.deviceEvent(event, dev);
        this.changed();
      }),
      this.stack.sysctl.subscribe(() => {
        this.text.sysctlChanged();
        this.changed();
      }),
    ];
    const inet = inetInternals(this.stack);
    if (inet !== undefined) {
      // Addresses, routes and permanent neighbours, whoever changed them (HTTP also calls changed()).
      this.unsubscribe.push(inet.subscribe((e) => {
        if (this.text.inetEvent(e)) this.changed();
      }));
    }
    this.changeSeq++;
    await this.writeIfDirty();
    if (this.lastError !== null) {
      for (const off of this.unsubscribe) off();
      this.unsubscribe = [];
      throw this.lastError;
    }
  }

  /** Mark the state dirty and schedule a write. */
  changed(): void {
    this.changeSeq++;
    this.schedule(this.debounceMs);
  }

  /**
   * Resolves when every change made before this call is on disk (fsync'd);
   * rejects with the write's error when that write failed. Resolves at once
   * when nothing is pending.
   */
  commit(): Promise<void> {
    const seq = this.changeSeq;
    if (this.savedSeq >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      // A write in flight may have snapshotted before this change: the loop
      // in writeIfDirty starts the next one as soon as it ends.
      if (this.writing === null) this.writeNow();
    });
  }

  private writeNow(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    void this.writeIfDirty();
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.writeIfDirty();
    }, ms);
  }

  /** Settle the waiters this write answers: those whose changes it holds. */
  private settle(seq: number, err: Error | null): void {
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.seq > seq) keep.push(w);
      else if (err === null) w.resolve();
      else w.reject(err);
    }
    this.waiters = keep;
  }

  private async writeIfDirty(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (!this.dirty) {
      this.settle(this.savedSeq, null);
      return;
    }
    // Read before the snapshot: every change numbered up to seq is in it.
    const seq = this.changeSeq;
    let failed = false;
    const { text, devices, skipped, skippedSockets } = this.text.build();
    if (skipped.length > 0) this.log?.warn({ devices: skipped }, 'devices of these kinds are not saved in the state file');
    // Said once per new set, not on every save: the socket stays open and says nothing until its address returns.
    const unsaved = skippedSockets.join(', ');
    if (unsaved !== this.lastSkippedSockets) {
      this.lastSkippedSockets = unsaved;
      if (unsaved !== '') this.log?.warn({ sockets: skippedSockets }, 'service sockets bound to an address this host no longer has are not saved in the state file');
    }
    this.writing = this.write(this.file, text).then(
      () => {
        this.writes++;
        this.lastError = null;
        this.savedSeq = Math.max(this.savedSeq, seq);
        this.settle(seq, null);
        this.log?.debug({ file: this.file, devices }, 'state saved');
      },
      (err: unknown) => {
        failed = true;
        this.lastError = err instanceof Error ? err : new Error(String(err));
        this.settle(seq, this.lastError);
        this.log?.error({ err: this.lastError, file: this.file }, 'could not save state; will retry');
        this.schedule(this.retryMs);
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
    // Group commit: whoever waited during this write is served by the next one, now.
    if (!failed && this.waiters.length > 0) this.writeNow();
  }

  /** A change is waiting to be written, or a write is scheduled. */
  get pending(): boolean {
    return this.dirty || this.timer !== null;
  }

  /** Write pending changes now. Throws the error if that write failed. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.writeIfDirty();
    if (this.dirty && this.lastError !== null) throw this.lastError;
  }

  /**
   * Stop following changes and write what is pending. Call it before the
   * stack is closed: closing removes every device, which is not a change
   * anyone wants saved.
   */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    // Stopped first, so a failing final write schedules no retry.
    this.stopped = true;
    try {
      await this.flush();
    } finally {
      // No retry comes after stop: whoever still waits hears of the failure.
      if (this.waiters.length > 0) this.settle(Number.POSITIVE_INFINITY, this.lastError ?? new Error('state saver stopped'));
    }
  }
}
