// A seeded pseudo-random generator for everything that must repeat: netem's
// loss, duplication, corruption and reordering decisions for a given seed,
// and the fuzz tests, whose failures are replayed from their seed. Not for
// anything that must be unpredictable. Imports nothing.

/**
 * mulberry32: small, fast, 32 bits of state, and the same sequence for the
 * same seed everywhere. Returns a function giving numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
