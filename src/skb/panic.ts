// The kernel panics when a buffer operation would run past either end of the
// data area (skb_over_panic / skb_under_panic). We throw instead, carrying the
// offsets, so the bug is loud but the bytes of other buffers are never touched.

export class SkbOverPanic extends Error {
  constructor(
    readonly op: string,
    readonly requested: number,
    readonly offsets: SkbOffsets,
  ) {
    super(
      `skb_over_panic: ${op}(${requested}) past end: head=${offsets.head} data=${offsets.data} ` +
        `tail=${offsets.tail} end=${offsets.end} len=${offsets.tail - offsets.data}`,
    );
    this.name = 'SkbOverPanic';
  }
}

export class SkbUnderPanic extends Error {
  constructor(
    readonly op: string,
    readonly requested: number,
    readonly offsets: SkbOffsets,
  ) {
    super(
      `skb_under_panic: ${op}(${requested}) before head: head=${offsets.head} data=${offsets.data} ` +
        `tail=${offsets.tail} end=${offsets.end} len=${offsets.tail - offsets.data}`,
    );
    this.name = 'SkbUnderPanic';
  }
}

/**
 * A buffer used after its last reference was freed, or shared data written
 * without cow(). The kernel would corrupt memory silently (use-after-free,
 * a clone seeing its twin's bytes change); we throw at the first touch.
 */
export class SkbStateBug extends Error {
  constructor(
    readonly bug: 'use_after_free' | 'write_shared',
    detail: string,
  ) {
    super(`${bug}: ${detail}`);
    this.name = 'SkbStateBug';
  }
}

export interface SkbOffsets {
  head: number;
  data: number;
  tail: number;
  end: number;
}

/** What a misuse of the buffer API (double free, free while queued) reports. */
export type SkbBug = 'double_free' | 'free_while_listed' | 'enqueue_while_listed' | 'unlink_foreign';
