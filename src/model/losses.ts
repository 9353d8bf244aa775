// TURN's loss terms (docs/method.md, "Losses"). Boxes are [x, y, w, h] normalized to [0, 1] with
// (x, y) the top-left corner, as COCO and MUSIC-Solo's normbox. Every function returns a tf.Scalar that is a mean
// over the batch, so term sizes do not depend on the batch size.

import * as tf from '@tensorflow/tfjs-core'
import { matMul, oneHotFloat } from './ops.js'

const EPS = 1e-7

/** PyTorch's smooth_l1_loss (mean over all B·4 coordinates): 0.5 d² / β where |d| < β, else |d| - 0.5 β. */
export function smoothL1Loss(predicted: tf.Tensor2D, target: tf.Tensor2D, beta = 1): tf.Scalar {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(predicted, target))
    const quadratic = tf.div(tf.mul(0.5, tf.square(d)), beta)
    const linearPart = tf.sub(d, 0.5 * beta)
    return tf.mean(tf.where(tf.less(d, beta), quadratic, linearPart)) as tf.Scalar
  })
}

/** Generalized IoU per pair of [x, y, w, h] boxes [B, 4] -> [B] (Rezatofighi et al. 2019). */
export function generalizedIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [ax, ay, aw, ah] = tf.unstack(a, 1) as tf.Tensor1D[]
    const [bx, by, bw, bh] = tf.unstack(b, 1) as tf.Tensor1D[]
    const ax2 = tf.add(ax!, aw!)
    const ay2 = tf.add(ay!, ah!)
    const bx2 = tf.add(bx!, bw!)
    const by2 = tf.add(by!, bh!)
    const iw = tf.relu(tf.sub(tf.minimum(ax2, bx2), tf.maximum(ax!, bx!)))
    const ih = tf.relu(tf.sub(tf.minimum(ay2, by2), tf.maximum(ay!, by!)))
    const inter = tf.mul(iw, ih)
    const union = tf.sub(tf.add(tf.mul(aw!, ah!), tf.mul(bw!, bh!)), inter)
    const iou = tf.div(inter, tf.add(union, EPS))
    const cw = tf.sub(tf.maximum(ax2, bx2), tf.minimum(ax!, bx!))
    const ch = tf.sub(tf.maximum(ay2, by2), tf.minimum(ay!, by!))
    const enclosing = tf.mul(cw, ch)
    return tf.sub(iou, tf.div(tf.sub(enclosing, union), tf.add(enclosing, EPS))) as tf.Tensor1D
  })
}

/** mean(1 - GIoU) over the batch; 0 for identical boxes, up to 2. */
export function giouLoss(predicted: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(1, generalizedIou(predicted, target))) as tf.Scalar)
}

const l2Normalize = (x: tf.Tensor2D): tf.Tensor2D =>
  tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), EPS))) as tf.Tensor2D

/**
 * InfoNCE over a batch of pairs (row i of `text` belongs with row i of `audio`), cosine similarity over
 * `temperature`. Text -> audio (each text picks its audio among the batch) as in the paper; `symmetric` averages
 * it with audio -> text.
 */
export function infoNceLoss(text: tf.Tensor2D, audio: tf.Tensor2D, temperature: number, symmetric = false): tf.Scalar {
  return tf.tidy(() => {
    const t = l2Normalize(text)
    const a = l2Normalize(audio)
    const logits = tf.div(matMul(t, tf.transpose(a)), temperature) as tf.Tensor2D
    const eye = tf.eye(text.shape[0])
    const direction = (l: tf.Tensor2D): tf.Scalar => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(l), eye), 1))) as tf.Scalar
    const textToAudio = direction(logits)
    return symmetric ? (tf.mul(0.5, tf.add(textToAudio, direction(tf.transpose(logits)))) as tf.Scalar) : textToAudio
  })
}

/** Mean cross-entropy of `logits` [M, V] against `targets` (M ids); 0 when M = 0. */
export function tokenCrossEntropy(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    if (targets.length === 0) return tf.scalar(0)
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), oneHotFloat(tf.tensor1d(targets, 'int32'), logits.shape[1])), 1)
    return tf.neg(tf.mean(picked)) as tf.Scalar
  })
}

/** Mean |predicted - target| over the frames where `frameMask` [B, T] is 1 (and all bands); 0 when none is. */
export function maskedL1Loss(predicted: tf.Tensor3D, target: tf.Tensor3D, frameMask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const bands = predicted.shape[2]
    const error = tf.sum(tf.mul(tf.abs(tf.sub(predicted, target)), tf.expandDims(frameMask, 2)))
    return tf.div(error, tf.mul(tf.maximum(tf.sum(frameMask), 1), bands)) as tf.Scalar
  })
}

/**
 * L_ext of the domain classifier Φ, as a mean per domain instead of the paper's sum (so it does not grow with
 * the batch): mean(-log σ(Φ(t^s))) + mean(-log(1 - σ(Φ(t^m)))), written stably as
 * mean(softplus(-Φ(t^s))) + mean(softplus(Φ(t^m))). Source text is the positive class.
 */
export function domainLoss(sourceLogits: tf.Tensor1D, intermediateLogits: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(sourceLogits))), tf.mean(tf.softplus(intermediateLogits))) as tf.Scalar)
}

