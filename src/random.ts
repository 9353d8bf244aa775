// Seeded randomness. Data code never calls Math.random(): every draw comes from an explicit seed, so fixtures,
// shuffles and augmentations replay exactly.

/** mulberry32: a small, fast 32-bit PRNG. Returns a function giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** An integer in [0, n). */
export const randomInt = (random: () => number, n: number): number => Math.floor(random() * n)

/** One element of a non-empty array. */
export const pick = <T>(random: () => number, items: readonly T[]): T => {
  if (items.length === 0) throw new Error('pick: empty array')
  return items[randomInt(random, items.length)] as T
}

// Randomness in training is a pure function of named parts: (seed, epoch, record key, purpose). A resumed run, a
// replay on another machine or a different worker count then draws exactly the same crops, masks and captions,
// because no draw depends on how many draws came before it in some shared generator.

const encoder = new TextEncoder()

/**
 * A 32-bit hash of `parts`, well mixed: FNV-1a over each part's UTF-8 bytes, then murmur3's fmix32 finalizer
 * (FNV-1a alone leaves nearby inputs such as epochs 1 and 2 with correlated low bits, and mulberry32 seeded with
 * correlated seeds gives correlated first draws). Each part is preceded by a type tag and followed by a 0xff
 * separator (never a UTF-8 byte), so `('ab', 'c')`, `('a', 'bc')`, `(1)` and `('1')` all hash differently.
 * Numbers are hashed by their shortest decimal string (`String(n)`), so 1 and 1.0 are the same part.
 * Returns an unsigned 32-bit integer.
 */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5 // FNV-1a 32-bit offset basis
  const feed = (byte: number): void => {
    h ^= byte
    h = Math.imul(h, 0x01000193) // FNV prime
  }
  for (const part of parts) {
    feed(typeof part === 'number' ? 0x6e : 0x73) // 'n' or 's'
    for (const byte of encoder.encode(typeof part === 'number' ? String(part) : part)) feed(byte)
    feed(0xff)
  }
  // murmur3 fmix32: every input bit affects every output bit.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A mulberry32 generator (floats in [0, 1)) seeded with `hashSeed(...parts)`. */
export function rngFor(...parts: (string | number)[]): () => number {
  return seededRandom(hashSeed(...parts))
}

/** Shuffle `items` in place with Fisher-Yates driven by `random`; returns `items`. */
export function shuffleInPlace<T, A extends { [index: number]: T; length: number }>(items: A, random: () => number): A {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = items[i]
    items[i] = items[j]
    items[j] = t
  }
  return items
}
