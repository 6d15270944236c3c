// Following every configuration change into `--state FILE`: device events
// (netdevice notifier) and sysctl changes mark the state dirty; a short
// debounce folds a burst of changes (a veth pair brought up, a config being
// applied) into one write; writes never overlap; stop() writes what is left.

import type { Logger } from '../logger.ts';
import type { NetStack } from '../stack/index.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { snapshotStack } from './snapshot.ts';

export interface StateSaverOptions {
  /** Quiet time before a write; 50 ms by default. */
  debounceMs?: number;
  /** Wait before trying again after a failed write; 1 s by default. */
  retryMs?: number;
  logger?: Logger;
}

export class StateSaver {
  /** Completed writes, for logs and tests. */
  writes = 0;
  /** The last write's error, cleared by the next success. */
  lastError: Error | null = null;
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly log: Logger | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private unsubscribe: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly stack: NetStack,
    readonly file: string,
    opts: StateSaverOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 50;
    this.retryMs = opts.retryMs ?? 1000;
    this.log = opts.logger;
  }

  /** Write the current state now (so the file exists and is writable), then follow changes. Throws if that first write fails. */
  async start(): Promise<void> {
    this.dirty = true;
    await this.writeIfDirty();
    if (this.lastError !== null) throw this.lastError;
    this.unsubscribe = [
      this.stack.notifier.subscribe(() => this.changed()),
      this.stack.sysctl.subscribe(() => this.changed()),
    ];
  }

  /** Mark the state dirty and schedule a write. */
  changed(): void {
    this.dirty = true;
    this.schedule(this.debounceMs);
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.writeIfDirty();
    }, ms);
  }

  private async writeIfDirty(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    const { state, skipped } = snapshotStack(this.stack);
    if (skipped.length > 0) this.log?.warn({ devices: skipped }, 'devices of these kinds are not saved in the state file');
    const text = `${JSON.stringify(state, null, 2)}\n`;
    this.writing = writeFileAtomic(this.file, text).then(
      () => {
        this.writes++;
        this.lastError = null;
        this.log?.debug({ file: this.file, devices: state.devices.length }, 'state saved');
      },
      (err: unknown) => {
        this.lastError = err instanceof Error ? err : new Error(String(err));
        this.dirty = true;
        this.log?.error({ err: this.lastError, file: this.file }, 'could not save state; will retry');
        this.schedule(this.retryMs);
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
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
    await this.flush();
  }
}
