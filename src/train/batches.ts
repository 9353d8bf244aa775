// Batch assembly as the paper builds it (docs/method.md, "Inputs" and "Optimisation"): rows from the shard streams
// become plain typed arrays in the model's layouts (src/model/turn.ts SourceBatch / IntermediateBatch); the
// trainer turns them into tensors. Every random choice is drawn from rngFor(seed, epoch, key, purpose), so a
// replayed or resumed step sees the same crop, SpecAugment masks, image augmentation and caption.

import { resolveSpecAugmentConfig, specAugment, type SpecAugmentConfig } from '../audio/spec-augment.js'
import type { BoxXywh } from '../image/boxes.js'
import { type AugmentConfig, augmentImage, clipToCanvas, letterbox, transformBox } from '../image/augment.js'
import { AUDIO_FRAMES, cropOrPadFrames } from './crop.js'
import { rngFor } from '../random.js'
import type { Cursor, ShardStream } from '../dataset/stream.js'
import type { Row } from '../kinds/record.js'

/** An epoch for the whole batch, or one per row (a batch may straddle an epoch boundary). */
export type Epochs = number | readonly number[]

/** Source-domain batch arrays (image, text, box), in src/model/turn.ts SourceBatch layouts. */
export interface SourceBatchArrays {
  /** [B, size, size, 3] RGB in [0, 1] */
  images: Float32Array
  /** [B, maxTokens] token ids, padded with padId */
  tokens: Int32Array
  /** [B, 4] normalized [x, y, w, h] on the canvas */
  boxes: Float32Array
  keys: string[]
  /** [B] which of the row's expressions was used */
  expressionIndex: Int32Array
  size: number
  maxTokens: number
}

/** Settings of `assembleSourceBatch`. */
export interface SourceBatchOptions {
  /** canvas side, pixels (model imageSize: 384 paper) */
  size: number
  /** false: letterbox (evaluation); true or settings: random scale / crop / translate (training) */
  augment: boolean | Partial<AugmentConfig>
  seed: number
  epoch: Epochs
  /** token length of the batch (model textLength, 30) */
  maxTokens: number
  /** default 0 */
  padId?: number
}

/**
 * Assemble a source batch from image-text-box rows (`key`, `image_jpeg`, `box` normalized [x, y, w, h],
 * `token_ids` one Int32Array per expression). Per row and epoch, one expression is drawn with
 * rngFor(seed, epoch, key, 'text') in training; evaluation (augment false) always uses expression 0. Images are
 * augmented with rngFor(seed, epoch, key, 'image') or letterboxed; boxes go through the same transform.
 * Throws naming the key when a row has no expressions or a token list longer than maxTokens.
 */
export async function assembleSourceBatch(rows: readonly Row[], options: SourceBatchOptions): Promise<SourceBatchArrays> {
  const { size, augment, seed, maxTokens, padId = 0 } = options
  const b = rows.length
  const images = new Float32Array(b * size * size * 3)
  const tokens = new Int32Array(b * maxTokens).fill(padId)
  const boxes = new Float32Array(b * 4)
  const keys: string[] = []
  const expressionIndex = new Int32Array(b)
  await Promise.all(
    rows.map(async (row, i) => {
      const key = row.key as string
      const epoch = epochOf(options.epoch, i)
      keys[i] = key
      const ids = row.token_ids as Int32Array[]
      if (ids.length === 0) throw new Error(`assembleSourceBatch: row '${key}' has no expressions`)
      const pick = augment === false ? 0 : drawIndex(rngFor(seed, epoch, key, 'text'), ids.length, key, 'token_ids')
      expressionIndex[i] = pick
      copyTokens(ids[pick], tokens, i * maxTokens, maxTokens, key)
      const box = Array.from(row.box as Float32Array) as BoxXywh
      const jpeg = row.image_jpeg as Uint8Array
      let canvasBox: BoxXywh
      if (augment === false) {
        const out = await letterbox(jpeg, size)
        images.set(out.pixels, i * size * size * 3)
        canvasBox = clipToCanvas(transformBox(box, out.transform))
      } else {
        const out = await augmentImage(jpeg, box, size, rngFor(seed, epoch, key, 'image'), augment === true ? {} : augment)
        images.set(out.pixels, i * size * size * 3)
        canvasBox = out.box
      }
      boxes.set(canvasBox, i * 4)
    }),
  )
  return { images, tokens, boxes, keys, expressionIndex, size, maxTokens }
}

/** Intermediate-domain batch arrays (text, audio), in src/model/turn.ts IntermediateBatch layouts. */
export interface IntermediateBatchArrays {
  /** [B, frames, nMels] log-mel dB (SpecAugment applied when training) */
  logMel: Float32Array
  /** [B, maxTokens] caption token ids, padded with padId */
  tokens: Int32Array
  keys: string[]
  /** [B] which caption was used */
  captionIndex: Int32Array
  frames: number
  nMels: number
  maxTokens: number
}

/** Settings of `assembleIntermediateBatch`. */
export interface IntermediateBatchOptions {
  /** model input frames (default 216) */
  frames?: number
  /** training: random crop, drawn caption, SpecAugment; evaluation: first frames, caption 0, no SpecAugment */
  train: boolean
  /** SpecAugment settings (default TURN's), or false to switch it off in training */
  specAugment?: Partial<SpecAugmentConfig> | false
  seed: number
  epoch: Epochs
  maxTokens: number
  padId?: number
}

/**
 * Assemble an intermediate batch from audio-text rows (`key`, `log_mel` frame-major, `frames`, `n_mels`,
 * `token_ids`). Training: crop offset from rngFor(seed, epoch, key, 'crop'), caption from (…, 'text'),
 * SpecAugment masks from (…, 'spec-augment') applied after cropping, filled with the mean dB of the clip's
 * valid frames (SpecAugment's 'clip-mean'). Evaluation: the first `frames` frames ("first 10 s"), caption 0.
 * Throws naming the key on rows with different n_mels, no captions, or too many tokens.
 */
export function assembleIntermediateBatch(rows: readonly Row[], options: IntermediateBatchOptions): IntermediateBatchArrays {
  const { frames = AUDIO_FRAMES, train, seed, maxTokens, padId = 0 } = options
  const spec = train && options.specAugment !== false ? resolveSpecAugmentConfig(options.specAugment ?? {}) : null
  const b = rows.length
  const nMels = b === 0 ? 0 : (rows[0].n_mels as number)
  const logMel = new Float32Array(b * frames * nMels)
  const tokens = new Int32Array(b * maxTokens).fill(padId)
  const keys: string[] = []
  const captionIndex = new Int32Array(b)
  for (const [i, row] of rows.entries()) {
    const key = row.key as string
    const epoch = epochOf(options.epoch, i)
    keys.push(key)
    if (row.n_mels !== nMels) throw new Error(`assembleIntermediateBatch: row '${key}' has n_mels ${String(row.n_mels)}, the batch ${nMels}`)
    const crop = cropOrPadFrames(
      row.log_mel as Float32Array,
      row.frames as number,
      nMels,
      frames,
      train ? { kind: 'random', rng: rngFor(seed, epoch, key, 'crop') } : { kind: 'head' },
    )
    let mel = crop.logMel
    if (spec !== null) {
      const fill = spec.fill === 'clip-mean' ? mean(mel, crop.validFrames * nMels) : spec.fill
      mel = specAugment(mel, frames, nMels, { seed, epoch, key }, { ...spec, fill })
    }
    logMel.set(mel, i * frames * nMels)
    const ids = row.token_ids as Int32Array[]
    if (ids.length === 0) throw new Error(`assembleIntermediateBatch: row '${key}' has no captions`)
    const pick = train ? drawIndex(rngFor(seed, epoch, key, 'text'), ids.length, key, 'token_ids') : 0
    captionIndex[i] = pick
    copyTokens(ids[pick], tokens, i * maxTokens, maxTokens, key)
  }
  return { logMel, tokens, keys, captionIndex, frames, nMels, maxTokens }
}

/**
 * The intermediate batch size "balanced to the corpus sizes": round(b_s · |D^m| / |D^s|), at least 1, so both
 * domains go through their data at the same pace (one source epoch is about one intermediate epoch).
 * Throws on a non-positive batch or corpus size.
 */
export function intermediateBatchSize(sourceBatch: number, sourceSize: number, intermediateSize: number): number {
  if (!(sourceBatch >= 1) || !(sourceSize >= 1) || !(intermediateSize >= 1)) {
    throw new Error(`intermediateBatchSize: batch ${sourceBatch}, source size ${sourceSize} and intermediate size ${intermediateSize} must be >= 1`)
  }
  return Math.max(1, Math.round((sourceBatch * intermediateSize) / sourceSize))
}

/** Settings of MixedBatches. */
export interface MixedBatchesOptions {
  /** b_s (default 64, the paper's) */
  sourceBatch?: number
  /** b_m; default intermediateBatchSize(b_s, source rows, intermediate rows) (epoch lengths, with counts) */
  intermediateBatch?: number
  seed: number
  train: boolean
  /** canvas side (model imageSize) */
  size: number
  maxTokens: number
  frames?: number
  augment?: boolean | Partial<AugmentConfig>
  specAugment?: Partial<SpecAugmentConfig> | false
}

/** One training step's data: both domains' arrays and the cursors to checkpoint after this step. */
export interface MixedBatch {
  source: SourceBatchArrays
  intermediate: IntermediateBatchArrays
  cursors: { source: Cursor; intermediate: Cursor }
}

/**
 * Every step draws b_s source items and b_m intermediate items from two ShardStreams (each crossing into its
 * next epoch on its own) and assembles both batches. Each item's randomness uses the epoch it was read in.
 */
export class MixedBatches {
  readonly sourceBatch: number
  readonly intermediateBatch: number
  private readonly options: MixedBatchesOptions

  constructor(
    readonly source: ShardStream,
    readonly intermediate: ShardStream,
    options: MixedBatchesOptions,
  ) {
    this.options = options
    this.sourceBatch = options.sourceBatch ?? 64
    this.intermediateBatch =
      options.intermediateBatch ?? intermediateBatchSize(this.sourceBatch, source.epochLength(source.cursor.epoch), intermediate.epochLength(intermediate.cursor.epoch))
  }

  /** The next step's batches. Throws what the streams and assemblers throw. */
  async next(): Promise<MixedBatch> {
    const o = this.options
    const [s, m] = await Promise.all([this.source.take(this.sourceBatch), this.intermediate.take(this.intermediateBatch)])
    const [source, intermediate] = await Promise.all([
      assembleSourceBatch(
        s.map((x) => x.row),
        { size: o.size, augment: o.train ? (o.augment ?? true) : false, seed: o.seed, epoch: s.map((x) => x.epoch), maxTokens: o.maxTokens },
      ),
      Promise.resolve().then(() =>
        assembleIntermediateBatch(
          m.map((x) => x.row),
          { frames: o.frames, train: o.train, specAugment: o.specAugment, seed: o.seed, epoch: m.map((x) => x.epoch), maxTokens: o.maxTokens },
        ),
      ),
    ])
    return { source, intermediate, cursors: { source: this.source.cursor, intermediate: this.intermediate.cursor } }
  }
}

function epochOf(epoch: Epochs, i: number): number {
  return typeof epoch === 'number' ? epoch : epoch[i]
}

function drawIndex(random: () => number, n: number, key: string, field: string): number {
  if (n === 0) throw new Error(`batches: row '${key}' has an empty ${field}`)
  return Math.min(n - 1, Math.floor(random() * n))
}

function copyTokens(ids: Int32Array, into: Int32Array, offset: number, maxTokens: number, key: string): void {
  if (ids.length > maxTokens) throw new Error(`batches: row '${key}' has ${ids.length} tokens, the model takes ${maxTokens} (check the dataset's text.maxTokens)`)
  into.set(ids, offset)
}

function mean(values: Float32Array, count: number): number {
  if (count === 0) return 0
  let sum = 0
  for (let i = 0; i < count; i++) sum += values[i]
  return sum / count
}
