// Zero-resource localization on an audio-image-boxes dataset: audio -> Θ_a -> codebooks -> query -> box, as the
// paper infers. Each frame is letterboxed to the model's image size (aspect kept) and the predicted box mapped
// back to the stored image; the audio is the first 216 frames (10 s), padded when shorter.
import * as tf from '@tensorflow/tfjs-core'
import { type DataOptions, openDataset } from '../dataset/dataset.js'
import { letterbox, unletterboxBox } from '../image/augment.js'
import { cropOrPadFrames, AUDIO_FRAMES } from './crop.js'
import type { TurnModel } from '../model/turn.js'
import { seededRandom } from '../random.js'
import { scoreItems, summarizeCiou, ciou, predictionMask, groundTruthMap, CORPUS_PROTOCOL, type ScoreReport, type CiouSummary, type ScoredItem } from './score.js'
import type { Row } from '../kinds/record.js'

/** One evaluated item: its ground truth, the predicted box and what overlays need. */
export interface EvaluatedItem extends ScoredItem {
  box: [number, number, number, number]
}

/**
 * Predict one box per item of `dir` with `model` (audio query), `batchSize` items at a time.
 * `keepImages` keeps each item's JPEG for overlays; `data` says how a remote dataset is reached.
 */
export async function predictDataset(
  model: TurnModel,
  dir: string,
  { batchSize = 16, keepImages = false, limit = Infinity, data = {} }: { batchSize?: number; keepImages?: boolean; limit?: number; data?: DataOptions } = {},
): Promise<{ items: EvaluatedItem[]; images: Map<string, Uint8Array> }> {
  const size = model.config.imageSize
  const nMels = model.config.nMels
  const items: EvaluatedItem[] = []
  const images = new Map<string, Uint8Array>()
  let pending: { row: Row; pixels: Float32Array; transform: Awaited<ReturnType<typeof letterbox>>['transform']; logMel: Float32Array }[] = []
  const flush = (): void => {
    if (pending.length === 0) return
    const b = pending.length
    const imageData = new Float32Array(b * size * size * 3)
    const audioData = new Float32Array(b * AUDIO_FRAMES * nMels)
    pending.forEach((p, i) => {
      imageData.set(p.pixels, i * size * size * 3)
      audioData.set(p.logMel, i * AUDIO_FRAMES * nMels)
    })
    const boxes = tf.tidy(() => {
      const out = model.predictBoxes(tf.tensor4d(imageData, [b, size, size, 3]), { audio: tf.tensor3d(audioData, [b, AUDIO_FRAMES, nMels]) })
      return out.dataSync().slice()
    })
    pending.forEach((p, i) => {
      const canvasBox: [number, number, number, number] = [boxes[i * 4]!, boxes[i * 4 + 1]!, boxes[i * 4 + 2]!, boxes[i * 4 + 3]!]
      const box = unletterboxBox(canvasBox, p.transform) as [number, number, number, number]
      items.push({ key: p.row.key as string, corpus: p.row.corpus as string, label: p.row.label as string, boxes: (p.row.boxes as Float32Array[]).map((x) => Array.from(x)), box })
    })
    pending = []
  }
  const dataset = await openDataset(dir, data)
  if (dataset.schema.id !== 'audio-image-boxes') throw new Error(`${dir} holds ${dataset.schema.id} records; evaluation needs an audio-image-boxes dataset`)
  let seen = 0
  for await (const row of dataset.rows()) {
    if (seen++ >= limit) break
    if ((row.n_mels as number) !== nMels) throw new Error(`${dir}: n_mels ${String(row.n_mels)}, the model expects ${nMels}`)
    const { pixels, transform } = await letterbox(row.image_jpeg as Uint8Array, size)
    const { logMel } = cropOrPadFrames(row.log_mel as Float32Array, row.frames as number, nMels, AUDIO_FRAMES, { kind: 'head' })
    if (keepImages) images.set(row.key as string, (row.image_jpeg as Uint8Array).slice())
    pending.push({ row, pixels, transform, logMel })
    if (pending.length >= batchSize) flush()
  }
  flush()
  return { items, images }
}

/** A box of half the image's width and height at its centre: the literature's "centre" baseline. */
export const CENTRE_BOX: [number, number, number, number] = [0.25, 0.25, 0.5, 0.5]

/**
 * Baselines scored with the same protocol: the centre box for every item, and a seeded random box per item
 * (width and height uniform in [0.2, 0.8] of the image, position uniform where it fits).
 */
export function baselineScores(items: readonly ScoredItem[], seed = 0): { centre: CiouSummary; random: CiouSummary } {
  const random = seededRandom(seed)
  const score = (box: readonly number[], item: ScoredItem): number => ciou(predictionMask(box), groundTruthMap(item.boxes, CORPUS_PROTOCOL[item.corpus] ?? 'union'))
  const centre = items.map((item) => score(CENTRE_BOX, item))
  const rand = items.map((item) => {
    const w = 0.2 + 0.6 * random()
    const h = 0.2 + 0.6 * random()
    return score([random() * (1 - w), random() * (1 - h), w, h], item)
  })
  return { centre: summarizeCiou(centre), random: summarizeCiou(rand) }
}

/** Predict and score `dir`: the report, the baselines and the predictions. */
export async function evaluateModel(
  model: TurnModel,
  dir: string,
  options: { batchSize?: number; keepImages?: boolean; seed?: number; data?: DataOptions } = {},
): Promise<{ report: ScoreReport; baselines: { centre: CiouSummary; random: CiouSummary }; items: EvaluatedItem[]; images: Map<string, Uint8Array> }> {
  const { items, images } = await predictDataset(model, dir, options)
  const report = scoreItems(items, new Map(items.map((i) => [i.key, i.box])))
  return { report, baselines: baselineScores(items, options.seed ?? 0), items, images }
}
