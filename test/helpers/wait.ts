// Waiting for something that happens on another turn of the event loop (a
// bottom half, a socket, a child process). The bound is a number of polls,
// not a clock comparison: a test that waits must fail rather than hang, but
// it never measures how long anything took (speed belongs in bench/).

export interface WaitOptions {
  /** Milliseconds between polls (default 5). */
  intervalMs?: number;
  /** How long to keep polling before failing, as a number of polls times the interval (default 10 s). */
  timeoutMs?: number;
  /** Extra words for the failure message, computed when it fails. */
  detail?: () => string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `cond` until it holds; throw after the bounded number of polls. */
export async function until(cond: () => boolean, what = 'a condition', opts: WaitOptions = {}): Promise<void> {
  const interval = opts.intervalMs ?? 5;
  const polls = Math.ceil((opts.timeoutMs ?? 10_000) / interval);
  for (let i = 0; !cond(); i++) {
    if (i >= polls) {
      const more = opts.detail?.();
      throw new Error(`timed out waiting for: ${what}${more ? `; ${more}` : ''}`);
    }
    await sleep(interval);
  }
}

/** until() for a condition that must itself wait (reading a file, asking a server). */
export async function untilAsync(cond: () => Promise<boolean>, what = 'a condition', opts: WaitOptions = {}): Promise<void> {
  const interval = opts.intervalMs ?? 5;
  const polls = Math.ceil((opts.timeoutMs ?? 10_000) / interval);
  for (let i = 0; !(await cond()); i++) {
    if (i >= polls) {
      const more = opts.detail?.();
      throw new Error(`timed out waiting for: ${what}${more ? `; ${more}` : ''}`);
    }
    await sleep(interval);
  }
}
