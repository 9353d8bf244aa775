// A perceptual hash of a stored image (the datasets' `image_jpeg` bytes): the same picture re-encoded at another
// JPEG quality, rescaled, or decoded by another libjpeg gives a hash a few bits away; different pictures give
// hashes about 32 bits apart. The classic DCT pHash (Zauner 2010; the `imagehash` Python package's phash):
// grey levels, resized to 32 x 32 (aspect ratio dropped), 2-D DCT-II, the 8 x 8 lowest frequencies, each bit =
// coefficient above the median of the 63 AC coefficients. The DC coefficient's bit is always 1 and is kept so the
// hash is 64 bits as usual. A picture with next to no contrast at 32 x 32 (a black or grey frame, a blank slide)
// has a hash decided by rounding: it is flagged `flat` and callers should not match on it.
//
// HashIndex finds every hash within a Hamming distance of a query without comparing all pairs (multi-index
// hashing: the 64 bits as four 16-bit chunks; two hashes within distance d agree within floor(d / 4) bits on at
// least one chunk, so each chunk's table is probed with every variant that close).

import sharp from 'sharp'

/** A 64-bit perceptual hash. */
export interface PerceptualHash {
  /** the 64 bits as 16 hex digits, most significant first (bit 63 = DCT coefficient (0, 0)) */
  hex: string
  /** high and low 32 bits, for fast comparison */
  hi: number
  lo: number
  /** the picture has next to no contrast at 32 x 32: the hash says nothing about it */
  flat: boolean
}

/** Standard deviation of the 32 x 32 grey levels (0-255) below which a picture is flat. */
export const FLAT_STDDEV = 2

const SIZE = 32
const LOW = 8
// COS[u * SIZE + x] = cos(pi * (2x + 1) * u / (2 * SIZE)), for the LOW lowest frequencies.
const COS = (() => {
  const table = new Float64Array(LOW * SIZE)
  for (let u = 0; u < LOW; u++) for (let x = 0; x < SIZE; x++) table[u * SIZE + x] = Math.cos((Math.PI * (2 * x + 1) * u) / (2 * SIZE))
  return table
})()

/**
 * The perceptual hash of an encoded image (JPEG, PNG, WebP: whatever sharp decodes), after its EXIF orientation.
 * Throws naming sharp's reason when the bytes are not an image.
 */
export async function perceptualHash(image: Uint8Array): Promise<PerceptualHash> {
  let pixels: Buffer
  try {
    // Grey as libvips computes it, then resized to 32 x 32 with the aspect ratio dropped: a box shrink, then a
    // linear kernel. Not JPEG shrink-on-load: it decodes at 1/2, 1/4 or 1/8 scale depending on the stored size,
    // and so moved hashes of the same picture stored at 480 and 384 px by up to 8 bits (2 without it).
    pixels = await sharp(image, { failOn: 'error' }).rotate().greyscale().resize(SIZE, SIZE, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false }).raw().toBuffer()
  } catch (error) {
    throw new Error(`perceptual hash: the image cannot be decoded: ${(error as Error).message}`)
  }
  if (pixels.length !== SIZE * SIZE) throw new Error(`perceptual hash: expected ${SIZE * SIZE} grey pixels, sharp gave ${pixels.length} bytes`)
  return hashOfGrey(pixels)
}

/** The hash of 32 x 32 grey levels (row-major): what `perceptualHash` computes after decoding. */
export function hashOfGrey(pixels: ArrayLike<number>): PerceptualHash {
  let sum = 0
  let sumSq = 0
  for (let i = 0; i < SIZE * SIZE; i++) {
    sum += pixels[i]!
    sumSq += pixels[i]! * pixels[i]!
  }
  const mean = sum / (SIZE * SIZE)
  const flat = Math.sqrt(Math.max(0, sumSq / (SIZE * SIZE) - mean * mean)) < FLAT_STDDEV
  // Rows first: rowDct[y * LOW + u] = sum_x p[y][x] cos(u, x); then columns for v < LOW.
  const rowDct = new Float64Array(SIZE * LOW)
  for (let y = 0; y < SIZE; y++) {
    for (let u = 0; u < LOW; u++) {
      let s = 0
      for (let x = 0; x < SIZE; x++) s += pixels[y * SIZE + x]! * COS[u * SIZE + x]!
      rowDct[y * LOW + u] = s
    }
  }
  const coefficients = new Float64Array(LOW * LOW) // [v * LOW + u]: v vertical, u horizontal frequency
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      let s = 0
      for (let y = 0; y < SIZE; y++) s += rowDct[y * LOW + u]! * COS[v * SIZE + y]!
      coefficients[v * LOW + u] = s
    }
  }
  const ac = Array.from(coefficients.subarray(1)).sort((a, b) => a - b)
  const median = ac[(ac.length - 1) / 2]! // 63 values: the middle one
  let hi = 0
  let lo = 0
  for (let i = 0; i < 64; i++) {
    const bit = i === 0 || coefficients[i]! > median ? 1 : 0
    if (!bit) continue
    const position = 63 - i // coefficient 0 is the most significant bit
    if (position >= 32) hi |= 1 << (position - 32)
    else lo |= 1 << position
  }
  hi >>>= 0
  lo >>>= 0
  return { hex: hex32(hi) + hex32(lo), hi, lo, flat }
}

/** Bits that differ between two hashes (objects or their hex strings). Throws on a hex string that is not 16 digits. */
export function hammingDistance(a: PerceptualHash | string, b: PerceptualHash | string): number {
  const [ah, al] = words(a)
  const [bh, bl] = words(b)
  return popcount32((ah ^ bh) >>> 0) + popcount32((al ^ bl) >>> 0)
}

/**
 * Default largest distance of a match. Measured on the grounding fixtures' pictures (36 pictures of one wall, one
 * floor and three shapes, so more alike than photographs): the same picture re-encoded at quality 95, 60 or 30,
 * rescaled to 200-600 px, or re-encoded at 60 and 95 and then prepared (384 px, quality 90): 0-4 bits apart;
 * different pictures: 10 bits or more (median 28). A hash has 32 bits set (the DC bit and the 31 AC coefficients
 * above the median) unless coefficients tie at the median, so distances are nearly always even.
 */
export const MAX_HASH_DISTANCE = 6

/** One hash of the index within the distance asked for. */
export interface HashMatch {
  /** its number, as `add` returned it */
  id: number
  distance: number
}

/** Hashes by number, searchable by Hamming distance (see the file comment). */
export class HashIndex {
  private hi: number[] = []
  private lo: number[] = []
  private tables: Map<number, number[]>[] = [new Map(), new Map(), new Map(), new Map()]

  get size(): number {
    return this.hi.length
  }

  /** Add a hash; returns its number (0, 1, ...). */
  add(hash: Pick<PerceptualHash, 'hi' | 'lo'>): number {
    const id = this.hi.length
    this.hi.push(hash.hi >>> 0)
    this.lo.push(hash.lo >>> 0)
    for (let c = 0; c < 4; c++) {
      const chunk = chunkOf(hash.hi >>> 0, hash.lo >>> 0, c)
      const list = this.tables[c]!.get(chunk)
      if (list === undefined) this.tables[c]!.set(chunk, [id])
      else list.push(id)
    }
    return id
  }

  /** Every hash within `maxDistance` bits of `hash`, nearest first (ties by number). */
  query(hash: Pick<PerceptualHash, 'hi' | 'lo'>, maxDistance: number = MAX_HASH_DISTANCE): HashMatch[] {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 64) throw new Error(`HashIndex.query: maxDistance must be an integer 0..64, not ${maxDistance}`)
    const hi = hash.hi >>> 0
    const lo = hash.lo >>> 0
    const radius = Math.floor(maxDistance / 4)
    const seen = new Set<number>()
    const out: HashMatch[] = []
    for (let c = 0; c < 4; c++) {
      const table = this.tables[c]!
      for (const variant of variantsWithin(chunkOf(hi, lo, c), radius)) {
        for (const id of table.get(variant) ?? []) {
          if (seen.has(id)) continue
          seen.add(id)
          const distance = popcount32((this.hi[id]! ^ hi) >>> 0) + popcount32((this.lo[id]! ^ lo) >>> 0)
          if (distance <= maxDistance) out.push({ id, distance })
        }
      }
    }
    return out.sort((x, y) => x.distance - y.distance || x.id - y.id)
  }
}

const chunkOf = (hi: number, lo: number, c: number): number => (c < 2 ? hi >>> (16 * (1 - c)) : lo >>> (16 * (3 - c))) & 0xffff

// Every 16-bit value within `radius` bits of `value` (radius 0..3 is what queries need; 0 gives just the value).
function variantsWithin(value: number, radius: number): number[] {
  const out = [value]
  const flip = (v: number, from: number, left: number): void => {
    if (left === 0) return
    for (let k = from; k < 16; k++) {
      const next = v ^ (1 << k)
      out.push(next)
      flip(next, k + 1, left - 1)
    }
  }
  flip(value, 0, Math.min(radius, 16))
  return out
}

function words(h: PerceptualHash | string): [number, number] {
  if (typeof h !== 'string') return [h.hi >>> 0, h.lo >>> 0]
  if (!/^[0-9a-fA-F]{16}$/.test(h)) throw new Error(`hammingDistance: '${h}' is not a 64-bit hash in 16 hex digits`)
  return [Number.parseInt(h.slice(0, 8), 16) >>> 0, Number.parseInt(h.slice(8), 16) >>> 0]
}

const hex32 = (x: number): string => (x >>> 0).toString(16).padStart(8, '0')

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}
