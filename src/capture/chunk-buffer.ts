// Output for the capture writers: records are written straight into a large
// slab, and a batch of them leaves as ONE Buffer (a view into the slab), so a
// write to a socket carries many frames and no frame allocates anything.
// A view handed out is never written again: the slab only moves forward, and
// when it is used up a new one takes over (the old one lives on while views
// of it are still queued for a socket, then the GC takes it).
//
// Slabs grow as data flows: the first is small (an idle capture holds a few
// KiB, not a full slab: a thousand idle captures once held 256 MB), and each
// new one doubles, up to the full slab size, which busy captures reach fast.

const DEFAULT_SLAB_BYTES = 256 * 1024;
const FIRST_SLAB_BYTES = 4 * 1024;

export class ChunkBuffer {
  /** Where the current chunk is being written; valid until the next reserve(). */
  buf: Buffer;
  /** Write position in `buf`. */
  pos = 0;
  private start = 0;

  constructor(private readonly slabBytes = DEFAULT_SLAB_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.min(slabBytes, FIRST_SLAB_BYTES));
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos - this.start;
  }

  /**
   * Make room for `n` more bytes at `pos`. When the slab is full, the chunk
   * written so far moves to a fresh slab (at least twice what is needed).
   * Callers re-read `buf` after this.
   */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(Math.min(this.slabBytes, this.buf.length * 2), (pending + n) * 2));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Append bytes (headers and the like; frames are copied by the writers). */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The chunk written since the last take(), or null when there is none. */
  take(): Buffer | null {
    if (this.pos === this.start) return null;
    const chunk = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return chunk;
  }
}
