// SpecAugment for the intermediate domain's log-mels at train time (docs/method.md: "time masks of length 64 with
// stride 64, frequency masks of length 8").
//
// Interpretation. The numbers are those of PANNs' torchlibrosa `SpecAugmentation(time_drop_width=64,
// time_stripes_num=2, freq_drop_width=8, freq_stripes_num=2)`, the augmentation of the CNN14 audio encoders used
// by the audio-text retrieval systems TURN's intermediate domain comes from (Clotho / AudioCaps retrieval). Its
// `DropStripes` draws, per clip and per stripe, a width uniform in [0, drop_width) and a start uniform in
// [0, total − width), and sets that stripe to 0. We read "length 64" and "length 8" as those maximum widths and,
// by default, draw 2 stripes per axis as torchlibrosa does. "Stride 64" has no exact counterpart there; the
// other plausible reading (one time mask per 64-frame stride, as torchaudio TimeMasking(64) applied per stride)
// is available as `timeMasks: { perFrames: 64 }` (4 masks on 216 frames: about twice the masked frames of the default).
//
// Fill value. torchlibrosa zeroes *after* the model's BatchNorm over mel bands, i.e. masks take the band's
// running mean. Stored log-mels are raw dB (the model normalizes), so the default fill is the clip's mean dB,
// which is what a zero after normalization approximates; a fixed number can be given instead.
//
// Masks are a pure function of (seed, epoch, record key, frames, nMels): replays and resumed runs see the same.

import { positiveInt, resolveConfig } from '../config.js'
import { rngFor } from '../random.js'

/** Settings of SpecAugment (defaults: TURN's, read as above). */
export interface SpecAugmentConfig {
  /** largest time mask, frames (exclusive: widths are 0..63); default 64 */
  timeMaskWidth: number
  /** time masks per clip: a number (default 2), or one per `perFrames` frames (ceil(frames / perFrames)) */
  timeMasks: number | { perFrames: number }
  /** largest frequency mask, mel bands (exclusive: widths 0..7); default 8 */
  freqMaskWidth: number
  /** frequency masks per clip; default 2 */
  freqMasks: number
  /** value of masked cells: 'clip-mean' (mean dB of the clip before masking, default) or a number (dB) */
  fill: 'clip-mean' | number
}

/** TURN's SpecAugment settings (see the interpretation at the top of this file). */
export const SPEC_AUGMENT_DEFAULTS: SpecAugmentConfig = { timeMaskWidth: 64, timeMasks: 2, freqMaskWidth: 8, freqMasks: 2, fill: 'clip-mean' }

/** Masks of one clip: `[start, length]` pairs along time (frames) and frequency (mel bands). Lengths may be 0. */
export interface SpecAugmentMasks {
  timeMasks: [start: number, length: number][]
  freqMasks: [start: number, length: number][]
}

/** Identity of one draw: the run's seed, the epoch and the record key. */
export interface SpecAugmentDraw {
  seed: number
  epoch: number
  key: string
}

/** Validate and complete a SpecAugment config. Throws a ConfigError naming a bad or unknown field. */
export function resolveSpecAugmentConfig(config: Partial<SpecAugmentConfig> = {}): SpecAugmentConfig {
  const count = (v: unknown): string | undefined => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'must be an integer >= 0')
  return resolveConfig('specAugment', SPEC_AUGMENT_DEFAULTS, config, {
    timeMaskWidth: positiveInt,
    freqMaskWidth: positiveInt,
    freqMasks: count,
    timeMasks: (v) => (typeof v === 'number' ? count(v) : positiveInt(v?.perFrames) === undefined ? undefined : 'perFrames must be a positive integer'),
    fill: (v) => (v === 'clip-mean' || (typeof v === 'number' && Number.isFinite(v)) ? undefined : "must be 'clip-mean' or a finite number"),
  })
}

/**
 * The masks of one clip of `frames` x `nMels`, drawn from rngFor(seed, epoch, key, 'spec-augment'): first the
 * time masks, then the frequency masks, each as torchlibrosa's DropStripes (width uniform in [0, maxWidth),
 * clamped to the axis; start uniform in [0, size − width)). Throws on a bad config or non-positive sizes.
 */
export function specAugmentMasks(frames: number, nMels: number, draw: SpecAugmentDraw, config: Partial<SpecAugmentConfig> = {}): SpecAugmentMasks {
  if (!Number.isInteger(frames) || frames < 1 || !Number.isInteger(nMels) || nMels < 1) {
    throw new Error(`specAugmentMasks: frames ${frames} and nMels ${nMels} must be positive integers`)
  }
  const c = resolveSpecAugmentConfig(config)
  const random = rngFor(draw.seed, draw.epoch, draw.key, 'spec-augment')
  const stripes = (count: number, maxWidth: number, size: number): [number, number][] => {
    const out: [number, number][] = []
    for (let i = 0; i < count; i++) {
      const width = Math.min(size, Math.floor(random() * maxWidth))
      const start = Math.floor(random() * (size - width)) // size - width >= 0; width = size gives start 0
      out.push([start, width])
    }
    return out
  }
  const timeCount = typeof c.timeMasks === 'number' ? c.timeMasks : Math.ceil(frames / c.timeMasks.perFrames)
  const timeMasks = stripes(timeCount, c.timeMaskWidth, frames)
  const freqMasks = stripes(c.freqMasks, c.freqMaskWidth, nMels)
  return { timeMasks, freqMasks }
}

/** The fill value for `logMel` under `fill`: the clip's mean for 'clip-mean' (0 for an empty clip), else the number. */
export function specAugmentFill(logMel: Float32Array, fill: SpecAugmentConfig['fill']): number {
  if (typeof fill === 'number') return fill
  if (logMel.length === 0) return 0
  let sum = 0
  for (let i = 0; i < logMel.length; i++) sum += logMel[i]
  return sum / logMel.length
}

/**
 * A copy of the frame-major log-mel `logMel` ([frames][nMels]) with every masked frame row and mel column set
 * to `fillValue`. Masks running past the edge are clipped. Throws when the array length is not frames x nMels.
 */
export function applySpecAugment(logMel: Float32Array, frames: number, nMels: number, masks: SpecAugmentMasks, fillValue: number): Float32Array {
  if (logMel.length !== frames * nMels) throw new Error(`applySpecAugment: ${logMel.length} values, frames ${frames} x nMels ${nMels} needs ${frames * nMels}`)
  const out = logMel.slice()
  for (const [start, length] of masks.timeMasks) {
    const end = Math.min(frames, start + length)
    if (end > start) out.fill(fillValue, Math.max(0, start) * nMels, end * nMels)
  }
  for (const [start, length] of masks.freqMasks) {
    const from = Math.max(0, start)
    const to = Math.min(nMels, start + length)
    if (to <= from) continue
    for (let t = 0; t < frames; t++) out.fill(fillValue, t * nMels + from, t * nMels + to)
  }
  return out
}

/**
 * Masks and application in one call, for the batch assembler: draws the masks of (seed, epoch, key) and
 * returns the masked copy, filled as `config.fill` says (the clip mean is taken before masking).
 */
export function specAugment(logMel: Float32Array, frames: number, nMels: number, draw: SpecAugmentDraw, config: Partial<SpecAugmentConfig> = {}): Float32Array {
  const c = resolveSpecAugmentConfig(config)
  return applySpecAugment(logMel, frames, nMels, specAugmentMasks(frames, nMels, draw, c), specAugmentFill(logMel, c.fill))
}
