// An audio fingerprint of a stored log-mel (frame-major [frames][nMels], dB, as the datasets' `log_mel` column
// holds it) that finds the same decoded audio in another clip cut at another start (any number of samples, so
// frames do not align) and of another length, without the waveform. Philips-style (Haitsma & Kalker 2002): one
// 32-bit sub-fingerprint per frame from the signs of band-energy differences across frequency and time, compared
// by bit error rate (BER) at one consistent frame offset. What differs from the paper, and why:
//   - bands: the 128 mel bins grouped into 33 bands (power averaged, then dB): 32 difference bits per frame.
//   - time smoothing [1 4 6 4 1] / 16 of each band and a time difference over 3 frames instead of 1: a cut that
//     is not a multiple of the hop moves every STFT window by up to half a hop (23 ms at 1024 / 22,050 Hz) and the
//     frames overlap only 50% (the paper's overlap is 31/32); smoothing makes each band slow next to that shift.
//     Measured on synthetic speech, music, noise and street mixtures cut at 0-1023 extra samples: worst BER
//     0.02-0.05 with it, 0.17-0.41 with the paper's unsmoothed 1-frame difference (unrelated audio: 0.35-0.5).
//   - a reliability mask per bit: a bit counts only when its difference is at least `minDifferenceDb` (a sign
//     decided by rounding, e.g. in digital silence or at the 80 dB floor, would otherwise agree between any two
//     clips) and when one of its four band values is within `dominanceDb` of the loudest band within
//     `dominanceSeconds`: content 30 dB under the foreground is ignored. The fixture corpora need the latter: every
//     clip there is a tone plus the same noise waveform (ffmpeg's random() restarts from the same state in every
//     clip), so two different tones would otherwise share ~30 matching noise bands per frame (measured: BER 0.035
//     between a car's and a bird's clip with a 40 dB window).
//   - edge frames (the zero-padded first and last STFT window, spread by the smoothing and the lag) are masked.
// Two fingerprints match at offset d (frame j of b is frame j + d of a) when the BER over the bits reliable in both
// is low enough for the number of bits compared, and their reliable bits lie in the same places (MatchCriteria).
// Audio without temporal change in its loud bands (silence, a steady hum, a tone whose fast pulses the 93 ms
// windows smooth away) has few or no reliable bits and cannot match anything: callers should report it as
// unmatchable rather than as unique.
//
// The index (FingerprintIndex) finds candidate clips without comparing every pair: every `stride`-th frame with at
// least one reliable bit is filed under its low `keyBits` bits; a query looks up each of its frames' keys and the
// variants with its `probeBits` least reliable key bits flipped (the paper's trick: errors sit in the weak bits),
// votes for (clip, offset), and verifies only the best-voted offsets by BER. With 24-bit keys and 6 flipped bits,
// 6-85% of the frames of a copy cut half a hop off the grid still hit their original exactly (measured on the
// signals above and the fixture tones), so a 10 s copy collects tens of votes at its offset.

import { ConfigError, nonNegativeNumber, positiveInt, positiveNumber, resolveConfig } from '../config.js'

/** Settings of the fingerprint. Both sides of a comparison must use the same ones. */
export interface FingerprintConfig {
  /** Frequency bands the mel bins are grouped into; bands - 1 bits per frame, at most 33. Default 33. */
  bands: number
  /** Time smoothing kernel applied to each band's dB values (normalized by its sum). Default [1, 4, 6, 4, 1]. */
  smoothing: readonly number[]
  /** Frames between the two spectra whose difference gives the time part of a bit. Default 3. */
  lag: number
  /** A bit whose second difference is smaller than this (dB) is unreliable and not compared. Default 1. */
  minDifferenceDb: number
  /** A bit whose bands are all more than this (dB) below the loudest band nearby is not compared. Default 30. */
  dominanceDb: number
  /** "Nearby" for dominanceDb: this many seconds either side. Default 2. */
  dominanceSeconds: number
  /** Frames per second of the log-mel (sample rate / hop). Default 22,050 / 1024. */
  framesPerSecond: number
}

export const FINGERPRINT_DEFAULTS: FingerprintConfig = {
  bands: 33,
  smoothing: [1, 4, 6, 4, 1],
  lag: 3,
  minDifferenceDb: 1,
  dominanceDb: 30,
  dominanceSeconds: 2,
  framesPerSecond: 22_050 / 1024,
}

/** One clip's fingerprint: per frame, 32 sign bits and which of them are reliable. Edge frames have mask 0. */
export interface AudioFingerprint {
  frames: number
  /** sub-fingerprint of each frame: bit k = sign of the difference of bands k, k+1 across `lag` frames */
  bits: Uint32Array
  /** reliable bits of each frame (see FingerprintConfig) */
  mask: Uint32Array
  /** reliable bits in the whole clip */
  reliableBits: number
}

/** A fingerprint as computed, with what a query needs besides: how far each bit is from flipping. */
export interface QueryFingerprint extends AudioFingerprint {
  /** |second difference| in dB of bit k of frame t at [t * 32 + k]: the smallest are the likeliest to flip */
  strength: Float32Array
}

/** How two fingerprints agree at one offset. */
export interface Alignment {
  /** frame j of b lies on frame j + offset of a */
  offset: number
  /** bit error rate over the bits reliable in both, in [0, 1] (1 when none are) */
  ber: number
  /** bits compared */
  bits: number
  /** aligned frames where both have at least one reliable bit */
  frames: number
  /** frames the two clips overlap at this offset */
  overlap: number
  /** bits reliable in both / bits reliable in either, over the overlap: how alike the two masks are */
  maskAgreement: number
}

/**
 * When an alignment is a match. All must hold. `minSigma` asks the BER to be that many standard deviations below
 * chance (0.5, standard deviation 0.5 / sqrt(bits) for independent bits), so few bits need a lower BER: with the
 * defaults 64 bits need BER <= 0.125, 100 bits or more <= 0.2. `minMaskAgreement` asks the two clips to have their
 * reliable bits in the same places: copies measured 0.42-0.96 (synthetic scenes cut anywhere, fixture tones),
 * the one chance match among 16 million pairs of unrelated synthetic scenes 0.11 (BER 0.19 over 134 bits).
 */
export interface MatchCriteria {
  /** Largest bit error rate of a match. Default 0.2. */
  maxBer: number
  /** Fewest standard deviations below chance. Default 6. */
  minSigma: number
  /** Fewest bits compared. Default 64. */
  minBits: number
  /** Fewest aligned frames with reliable bits in both (43 frames = 2 s at 22,050 / 1024). Default 43. */
  minFrames: number
  /** Least Alignment.maskAgreement. Default 0.25. */
  minMaskAgreement: number
}

export const MATCH_DEFAULTS: MatchCriteria = { maxBer: 0.2, minSigma: 6, minBits: 64, minFrames: 43, minMaskAgreement: 0.25 }

export function resolveFingerprintConfig(config: Partial<FingerprintConfig> = {}): FingerprintConfig {
  const c = resolveConfig('fingerprint', FINGERPRINT_DEFAULTS, config, {
    bands: positiveInt,
    smoothing: (v) =>
      Array.isArray(v) && v.length % 2 === 1 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) && v.some((x) => x > 0)
        ? undefined
        : 'must be an odd-length list of numbers >= 0, not all 0',
    lag: positiveInt,
    minDifferenceDb: nonNegativeNumber,
    dominanceDb: positiveNumber,
    dominanceSeconds: nonNegativeNumber,
    framesPerSecond: positiveNumber,
  })
  if (c.bands < 2 || c.bands > 33) throw new ConfigError(`fingerprint.bands: 2 to 33 (one bit per neighbouring pair), not ${c.bands}`)
  return c
}

export function resolveMatchCriteria(criteria: Partial<MatchCriteria> = {}): MatchCriteria {
  const c = resolveConfig('match', MATCH_DEFAULTS, criteria, { maxBer: nonNegativeNumber, minSigma: nonNegativeNumber, minBits: positiveInt, minFrames: positiveInt, minMaskAgreement: nonNegativeNumber })
  if (c.maxBer >= 0.5) throw new ConfigError(`match.maxBer: below 0.5 (unrelated audio agrees on half the bits), not ${c.maxBer}`)
  return c
}

/**
 * The fingerprint of a log-mel in dB, frame-major (`logMel[t * nMels + m]`). Throws when the sizes do not agree
 * or there are fewer mel bins than bands.
 */
export function audioFingerprint(logMel: Float32Array, frames: number, nMels: number, config: Partial<FingerprintConfig> = {}): QueryFingerprint {
  const { bands, smoothing, lag, minDifferenceDb, dominanceDb, dominanceSeconds, framesPerSecond } = resolveFingerprintConfig(config)
  if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(nMels) || nMels <= 0 || logMel.length !== frames * nMels) {
    throw new Error(`fingerprint: a log-mel of ${logMel.length} values is not ${frames} frames x ${nMels} bands`)
  }
  if (nMels < bands) throw new Error(`fingerprint: ${nMels} mel bands, fewer than the ${bands} it groups them into`)
  // Band energies: mean power of each group of mel bins, in dB.
  const energy = new Float64Array(frames * bands)
  const edges = Array.from({ length: bands + 1 }, (_, b) => Math.floor((b * nMels) / bands))
  const DB_TO_LN = Math.LN10 / 10 // 10^(dB / 10) = e^(dB * ln 10 / 10), and back
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bands; b++) {
      let sum = 0
      for (let m = edges[b]!; m < edges[b + 1]!; m++) sum += Math.exp(logMel[t * nMels + m]! * DB_TO_LN)
      energy[t * bands + b] = Math.log(sum / (edges[b + 1]! - edges[b]!) + 1e-30) / DB_TO_LN
    }
  }
  // Smoothing in time (edge frames repeat the first and last value; they are masked below anyway).
  const half = (smoothing.length - 1) / 2
  const total = smoothing.reduce((a, b) => a + b, 0)
  const smooth = new Float64Array(frames * bands)
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bands; b++) {
      let s = 0
      for (let k = 0; k < smoothing.length; k++) s += smoothing[k]! * energy[Math.min(frames - 1, Math.max(0, t + k - half)) * bands + b]!
      smooth[t * bands + b] = s / total
    }
  }
  // The loudest band nearby (a sliding maximum of each frame's loudest band).
  const loudest = new Float64Array(frames)
  for (let t = 0; t < frames; t++) {
    let m = -Infinity
    for (let b = 0; b < bands; b++) m = Math.max(m, smooth[t * bands + b]!)
    loudest[t] = m
  }
  const context = Math.round(dominanceSeconds * framesPerSecond)
  const nearby = slidingMax(loudest, context)
  const bits = new Uint32Array(frames)
  const mask = new Uint32Array(frames)
  const strength = new Float32Array(frames * 32)
  // Frame 0 and the last frame hold STFT padding; smoothing spreads them by `half`, the difference by `lag`.
  const edge = 1 + half + lag
  let reliableBits = 0
  for (let t = Math.max(lag, edge); t < frames - edge; t++) {
    const now = t * bands
    const before = (t - lag) * bands
    const floor = Math.max(nearby[t]!, nearby[t - lag]!) - dominanceDb
    let word = 0
    let sure = 0
    for (let b = 0; b < bands - 1; b++) {
      const a0 = smooth[now + b]!, a1 = smooth[now + b + 1]!, p0 = smooth[before + b]!, p1 = smooth[before + b + 1]!
      const d = (a0 - a1) - (p0 - p1)
      if (d > 0) word |= 1 << b
      strength[t * 32 + b] = Math.abs(d)
      if (Math.abs(d) >= minDifferenceDb && Math.max(a0, a1, p0, p1) >= floor) sure |= 1 << b
    }
    bits[t] = word >>> 0
    mask[t] = sure >>> 0
    reliableBits += popcount32(sure)
  }
  return { frames, bits, mask, reliableBits, strength }
}

/** Bits set in a 32-bit integer. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
}

/** How a and b agree when frame j of b lies on frame j + offset of a. */
export function alignAt(a: AudioFingerprint, b: AudioFingerprint, offset: number): Alignment {
  let errors = 0
  let bits = 0
  let either = 0
  let frames = 0
  const from = Math.max(0, -offset)
  const to = Math.min(b.frames, a.frames - offset)
  for (let j = from; j < to; j++) {
    const ma = a.mask[j + offset]!
    const mb = b.mask[j]!
    if ((ma | mb) === 0) continue
    either += popcount32(ma | mb)
    const m = ma & mb
    if (m === 0) continue
    errors += popcount32((a.bits[j + offset]! ^ b.bits[j]!) & m)
    bits += popcount32(m)
    frames++
  }
  return { offset, ber: bits === 0 ? 1 : errors / bits, bits, frames, overlap: Math.max(0, to - from), maskAgreement: either === 0 ? 0 : bits / either }
}

/** Whether an alignment meets the criteria. */
export function isMatch(alignment: Alignment, criteria: MatchCriteria = MATCH_DEFAULTS): boolean {
  return alignment.ber <= criteria.maxBer && alignment.bits >= criteria.minBits && alignment.frames >= criteria.minFrames && sigmaBelowChance(alignment) >= criteria.minSigma && alignment.maskAgreement >= criteria.minMaskAgreement
}

/** How many standard deviations below chance (0.5) the alignment's BER is, for independent bits. */
export function sigmaBelowChance({ ber, bits }: Pick<Alignment, 'ber' | 'bits'>): number {
  return (0.5 - ber) * 2 * Math.sqrt(bits)
}

/**
 * The best alignment of b on a among `offsets` (default: every offset with at least criteria.minFrames frames of
 * overlap): the one furthest below chance (`sigmaBelowChance`) among those with enough bits and frames; null when
 * no offset has enough of them.
 */
export function bestAlignment(a: AudioFingerprint, b: AudioFingerprint, criteria: Partial<MatchCriteria> = {}, offsets?: Iterable<number>): Alignment | null {
  const c = resolveMatchCriteria(criteria)
  let best: Alignment | null = null
  const consider = (offset: number): void => {
    const x = alignAt(a, b, offset)
    if (x.bits < c.minBits || x.frames < c.minFrames) return
    if (best === null || sigmaBelowChance(x) > sigmaBelowChance(best)) best = x
  }
  if (offsets !== undefined) for (const d of offsets) consider(d)
  else for (let d = -(b.frames - c.minFrames); d <= a.frames - c.minFrames; d++) consider(d)
  return best
}

/** The best alignment of b on a if it is a match (see `bestAlignment`, `isMatch`), else null. */
export function matchFingerprints(a: AudioFingerprint, b: AudioFingerprint, criteria: Partial<MatchCriteria> = {}): Alignment | null {
  const c = resolveMatchCriteria(criteria)
  const best = bestAlignment(a, b, c)
  return best !== null && isMatch(best, c) ? best : null
}

// Sliding maximum over [t - radius, t + radius] (monotone deque).
function slidingMax(values: Float64Array, radius: number): Float64Array {
  const n = values.length
  const out = new Float64Array(n)
  const deque = new Int32Array(n)
  let head = 0
  let tail = 0
  let next = 0
  for (let t = 0; t < n; t++) {
    for (; next < n && next <= t + radius; next++) {
      while (tail > head && values[deque[tail - 1]!]! <= values[next]!) tail--
      deque[tail++] = next
    }
    while (deque[head]! < t - radius) head++
    out[t] = values[deque[head]!]!
  }
  return out
}

/** Settings of the index. */
export interface IndexConfig {
  /** Low bits of a frame's sub-fingerprint that form its key (bands 0..keyBits, up to ~3 kHz with 33 bands). Default 24. */
  keyBits: number
  /** File every stride-th frame of an indexed clip (every frame of a query is looked up). Default 2. */
  stride: number
  /** Per query frame, also look up the keys with any of its this many weakest key bits flipped (2^n lookups). Default 6. */
  probeBits: number
  /** A key filed more often than this is too common to tell clips apart (silence-like): not used for votes. Default 4096. */
  maxPostings: number
  /** Fewest votes for one (clip, offset +-1) to be verified. Default 2. */
  minVotes: number
}

export const INDEX_DEFAULTS: IndexConfig = { keyBits: 24, stride: 2, probeBits: 6, maxPostings: 4096, minVotes: 2 }

/** A clip of the index that matches a query. */
export interface IndexMatch {
  /** the clip's number, as `add` returned it */
  clip: number
  /** frame j of the query lies on frame j + offset of the clip */
  alignment: Alignment
}

/** What the index has done, for reports. */
export interface IndexStats {
  clips: number
  frames: number
  postings: number
  /** lookups made by queries, and (clip, offset) candidates verified by BER */
  lookups: number
  verified: number
  /** keys skipped as too common (see maxPostings) */
  stopKeys: number
}

/**
 * An inverted index of fingerprints: `add` clips, `seal`, then `query` with other clips. Memory: 8 bytes per
 * frame (its bits and mask) and 8 per filed frame (key and frame number), so a 10 s clip costs about 2.6 kB (its
 * log-mel is 110 kB); the key table is sized to the postings. Not thread-safe; deterministic.
 */
export class FingerprintIndex {
  readonly config: IndexConfig
  private bits = new GrowableUint32()
  private mask = new GrowableUint32()
  private starts = new GrowableUint32()
  private postKey = new GrowableUint32()
  private postFrame = new GrowableUint32()
  private heads: Uint32Array | null = null
  private sortedKey: Uint32Array | null = null
  private sortedFrame: Uint32Array | null = null
  private shift = 0
  private lookups = 0
  private verified = 0
  private stopKeys = 0

  constructor(config: Partial<IndexConfig> = {}) {
    const c = resolveConfig('index', INDEX_DEFAULTS, config, { keyBits: positiveInt, stride: positiveInt, probeBits: (v) => (Number.isInteger(v) && v >= 0 && v <= 12 ? undefined : 'must be an integer 0..12'), maxPostings: positiveInt, minVotes: positiveInt })
    if (c.keyBits > 32 || c.probeBits > c.keyBits) throw new ConfigError(`index: keyBits at most 32 and probeBits at most keyBits (${c.keyBits}, ${c.probeBits})`)
    this.config = c
  }

  /** Clips added. */
  get size(): number {
    return this.starts.length
  }

  get stats(): IndexStats {
    return { clips: this.size, frames: this.bits.length, postings: this.sortedKey?.length ?? this.postKey.length, lookups: this.lookups, verified: this.verified, stopKeys: this.stopKeys }
  }

  /** Bytes held by the index's arrays. */
  get bytes(): number {
    return this.bits.bytes + this.mask.bytes + this.starts.bytes + this.postKey.bytes + this.postFrame.bytes + (this.heads?.byteLength ?? 0) + (this.sortedKey?.byteLength ?? 0) + (this.sortedFrame?.byteLength ?? 0)
  }

  /** Add a clip (only its bits and mask are kept); returns its number (0, 1, ...). Throws after `seal`. */
  add(fp: AudioFingerprint): number {
    if (this.heads !== null) throw new Error('FingerprintIndex.add after seal()')
    const clip = this.starts.length
    const start = this.bits.length
    this.starts.push(start)
    const keyMask = keyMaskOf(this.config.keyBits)
    for (let t = 0; t < fp.frames; t++) {
      this.bits.push(fp.bits[t]!)
      this.mask.push(fp.mask[t]!)
      if (fp.mask[t] !== 0 && t % this.config.stride === 0) {
        this.postKey.push((fp.bits[t]! & keyMask) >>> 0)
        this.postFrame.push(start + t)
      }
    }
    return clip
  }

  /** The stored fingerprint of clip `clip` (views into the index; reliableBits recounted). */
  fingerprint(clip: number): AudioFingerprint {
    const start = this.starts.view()[clip]
    if (start === undefined) throw new Error(`FingerprintIndex: no clip ${clip} (it holds ${this.size})`)
    const end = clip + 1 < this.starts.length ? this.starts.view()[clip + 1]! : this.bits.length
    const mask = this.mask.view().subarray(start, end)
    let reliableBits = 0
    for (const m of mask) reliableBits += popcount32(m)
    return { frames: end - start, bits: this.bits.view().subarray(start, end), mask, reliableBits }
  }

  /** Build the key table; after this, `query` and no more `add`. Frees the unsorted postings. */
  seal(): void {
    if (this.heads !== null) return
    const n = this.postKey.length
    const keyBits = this.config.keyBits
    const tableBits = Math.max(1, Math.min(keyBits, Math.ceil(Math.log2(Math.max(2, n))) - 1))
    this.shift = keyBits - tableBits
    const heads = new Uint32Array((1 << tableBits) + 1)
    const keys = this.postKey.view()
    const frames = this.postFrame.view()
    for (let i = 0; i < n; i++) heads[(keys[i]! >>> this.shift) + 1]!++
    for (let b = 1; b < heads.length; b++) heads[b]! += heads[b - 1]!
    const fill = heads.slice(0, heads.length - 1)
    const sortedKey = new Uint32Array(n)
    const sortedFrame = new Uint32Array(n)
    for (let i = 0; i < n; i++) {
      const at = fill[keys[i]! >>> this.shift]!++
      sortedKey[at] = keys[i]!
      sortedFrame[at] = frames[i]!
    }
    this.heads = heads
    this.sortedKey = sortedKey
    this.sortedFrame = sortedFrame
    this.postKey = new GrowableUint32()
    this.postFrame = new GrowableUint32()
    this.bits.trim()
    this.mask.trim()
    this.starts.trim()
  }

  /**
   * The indexed clips that `fp` matches (see MatchCriteria), best first; `accept(clip)` may rule clips out before
   * any BER is computed. Seals the index if needed.
   */
  query(fp: QueryFingerprint, criteria: Partial<MatchCriteria> = {}, accept?: (clip: number) => boolean): IndexMatch[] {
    this.seal()
    const c = resolveMatchCriteria(criteria)
    const { keyBits, probeBits, maxPostings, minVotes } = this.config
    const keyMask = keyMaskOf(keyBits)
    const heads = this.heads!
    const sortedKey = this.sortedKey!
    const sortedFrame = this.sortedFrame!
    const starts = this.starts.view()
    const votes = new Map<number, number>()
    const weakest = new Int32Array(probeBits)
    const OFFSETS = 1 << 20 // offsets are stored shifted by half of this: clips of up to 2^19 frames
    for (let j = 0; j < fp.frames; j++) {
      if (fp.mask[j] === 0) continue
      const key = (fp.bits[j]! & keyMask) >>> 0
      chooseWeakest(fp.strength, j * 32, keyBits, weakest)
      for (let subset = 0; subset < 1 << probeBits; subset++) {
        let probe = key
        for (let k = 0; k < probeBits; k++) if (subset & (1 << k)) probe ^= 1 << weakest[k]!
        probe >>>= 0
        this.lookups++
        const bucket = probe >>> this.shift
        const from = heads[bucket]!
        const to = heads[bucket + 1]!
        if (to - from > maxPostings) {
          let same = 0
          for (let e = from; e < to; e++) if (sortedKey[e] === probe) same++
          if (same > maxPostings) {
            this.stopKeys++
            continue
          }
        }
        for (let e = from; e < to; e++) {
          if (sortedKey[e] !== probe) continue
          const frame = sortedFrame[e]!
          const clip = clipOf(starts, frame)
          if (accept !== undefined && !accept(clip)) continue
          const at = clip * OFFSETS + (frame - starts[clip]! - j + OFFSETS / 2)
          votes.set(at, (votes.get(at) ?? 0) + 1)
        }
      }
    }
    // Per clip, the offsets with the most votes (counting the neighbours +-1: a cut between frames votes for both).
    const perClip = new Map<number, { offset: number; votes: number }[]>()
    for (const [at, n] of votes) {
      const clip = Math.floor(at / OFFSETS)
      const offset = (at % OFFSETS) - OFFSETS / 2
      const total = n + (votes.get(at - 1) ?? 0) + (votes.get(at + 1) ?? 0)
      if (total < minVotes) continue
      const list = perClip.get(clip) ?? []
      list.push({ offset, votes: total })
      perClip.set(clip, list)
    }
    // The best-voted offset first: votes count whole keys, background bits included, so for an exact copy they
    // peak at the true offset even where the foreground alone repeats (a steady pulse matches at every period).
    const matches: IndexMatch[] = []
    for (const [clip, list] of perClip) {
      list.sort((x, y) => y.votes - x.votes || x.offset - y.offset)
      const tried = new Set<number>()
      const ref = this.fingerprint(clip)
      for (const { offset } of list.slice(0, 3)) {
        let best: Alignment | null = null
        for (const d of [offset, offset - 1, offset + 1]) {
          if (tried.has(d)) continue
          tried.add(d)
          this.verified++
          const x = alignAt(ref, fp, d)
          if (isMatch(x, c) && (best === null || sigmaBelowChance(x) > sigmaBelowChance(best))) best = x
        }
        if (best !== null) {
          matches.push({ clip, alignment: best })
          break
        }
      }
    }
    return matches.sort((x, y) => sigmaBelowChance(y.alignment) - sigmaBelowChance(x.alignment) || x.clip - y.clip)
  }
}

const keyMaskOf = (keyBits: number): number => (keyBits >= 32 ? 0xffffffff : (1 << keyBits) - 1) >>> 0

// The `out.length` key bits of frame `at` with the smallest strength (partial selection sort; ties by bit order).
function chooseWeakest(strength: Float32Array, at: number, keyBits: number, out: Int32Array): void {
  const n = out.length
  let filled = 0
  for (let k = 0; k < keyBits; k++) {
    const s = strength[at + k]!
    if (filled < n) {
      let i = filled++
      while (i > 0 && strength[at + out[i - 1]!]! > s) {
        out[i] = out[i - 1]!
        i--
      }
      out[i] = k
    } else if (s < strength[at + out[n - 1]!]!) {
      let i = n - 1
      while (i > 0 && strength[at + out[i - 1]!]! > s) {
        out[i] = out[i - 1]!
        i--
      }
      out[i] = k
    }
  }
}

// The clip holding global frame `frame`: the last start <= frame.
function clipOf(starts: Uint32Array, frame: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= frame) lo = mid
    else hi = mid - 1
  }
  return lo
}

// A Uint32Array that grows by doubling.
class GrowableUint32 {
  private data = new Uint32Array(1024)
  length = 0
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = value
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length)
  }
  trim(): void {
    this.data = this.data.slice(0, Math.max(1, this.length))
  }
  get bytes(): number {
    return this.data.byteLength
  }
}
