// Random batches of the right shapes and ranges, drawn from a seed: for tests, the bench and smoke runs of the
// trainer. Not data: nothing here resembles real images, captions or audio.

import * as tf from '@tensorflow/tfjs-core'
import { seededRandom } from '../random.js'
import type { TurnConfig } from './config.js'
import { reconstructionMasks, type TrainingGradients, type TurnBatch, type TurnModel } from './turn.js'

/**
 * A TurnBatch with `sourceSize` and `intermediateSize` items: images uniform in [0, 1], texts of 3..textLength
 * tokens then [PAD], log-mel uniform in [-80, 0] dB, boxes inside the image, masks at `maskRatio`. Caller
 * disposes (disposeBatch).
 */
export function syntheticBatch(
  config: TurnConfig,
  { sourceSize, intermediateSize, seed = 0, maskRatio = config.maskRatioStart }: { sourceSize: number; intermediateSize: number; seed?: number; maskRatio?: number },
): TurnBatch {
  const random = seededRandom(seed)
  const uniform = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * random())
  const tokens = (b: number): tf.Tensor2D => {
    const l = config.textLength
    const ids = new Int32Array(b * l).fill(config.padId)
    for (let r = 0; r < b; r++) {
      const length = 3 + Math.floor(random() * (l - 2))
      for (let i = 0; i < length; i++) {
        let id = Math.floor(random() * config.vocabSize)
        if (id === config.padId) id = (id + 1) % config.vocabSize
        ids[r * l + i] = id
      }
    }
    return tf.tensor2d(ids, [b, l], 'int32')
  }
  const boxes = new Float32Array(sourceSize * 4)
  for (let r = 0; r < sourceSize; r++) {
    const w = 0.1 + 0.8 * random()
    const h = 0.1 + 0.8 * random()
    boxes.set([random() * (1 - w), random() * (1 - h), w, h], r * 4)
  }
  const s = config.imageSize
  const sourceTokens = tokens(sourceSize)
  const intermediateTokens = tokens(intermediateSize)
  const masks = reconstructionMasks(config, { sourceTokens, intermediateTokens, ratio: maskRatio, seed: seed + 1 })
  return {
    source: {
      images: tf.tensor4d(uniform(sourceSize * s * s * 3, 0, 1), [sourceSize, s, s, 3]),
      tokens: sourceTokens,
      boxes: tf.tensor2d(boxes, [sourceSize, 4]),
      textMask: masks.sourceTextMask,
    },
    intermediate: {
      logMel: tf.tensor3d(uniform(intermediateSize * config.audioFrames * config.nMels, -80, 0), [intermediateSize, config.audioFrames, config.nMels]),
      tokens: intermediateTokens,
      textMask: masks.intermediateTextMask,
      audioMask: masks.audioMask,
    },
  }
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: TurnBatch): void {
  tf.dispose([...Object.values(batch.source), ...Object.values(batch.intermediate)])
}

/**
 * One plain SGD step (θ -= lr · ∇) plus the codebook EMA step, for tests and benchmarks that exercise the model
 * without the trainer's AdamW. Returns the step's loss values.
 */
export function plainSgdStep(model: TurnModel, batch: TurnBatch, lr: number, seed: number, { microBatch = null }: { microBatch?: number | null } = {}): Record<string, number> {
  return applySgd(model, model.trainingGradients(batch, { microBatch }), lr, seed)
}

/** plainSgdStep's update from gradients computed elsewhere (ModelReplicas); disposes them, returns the losses. */
export function applySgd(model: TurnModel, { grads, losses, assignments }: TrainingGradients, lr: number, seed: number): Record<string, number> {
  tf.tidy(() => {
    for (const [name, grad] of Object.entries(grads)) {
      const variable = model.parameters.get(name)!
      variable.assign(tf.sub(variable, tf.mul(grad, lr)))
    }
  })
  tf.dispose(Object.values(grads))
  model.updateCodebooks(assignments, seed)
  return losses
}
