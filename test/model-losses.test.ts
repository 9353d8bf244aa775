import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { activate } from '../src/model/backend.js'
import { domainLoss, generalizedIou, giouLoss, infoNceLoss, smoothL1Loss } from '../src/model/losses.js'
import { emaUpdate } from '../src/model/codebook.js'
import { Dense, frameConv1d } from '../src/model/layers.js'

const close = (actual: number, expected: number, tolerance = 1e-5): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`)
const value = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] as number
  t.dispose()
  return v
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`TURN losses on the ${backend} backend`, () => {
    before(async () => {
      await activate(backend)
    })

    it('computes SmoothL1 as PyTorch does with beta 1', () => {
      // Differences 0.2, -0.5, 1.5, 0: 0.5·0.04 + 0.5·0.25 + (1.5 - 0.5) + 0 = 1.145, mean over 4.
      const loss = value(smoothL1Loss(tf.tensor2d([[0.2, 0, 2, 0.3]]), tf.tensor2d([[0, 0.5, 0.5, 0.3]])))
      close(loss, 1.145 / 4)
    })

    it('computes GIoU of overlapping and of disjoint [x, y, w, h] boxes', () => {
      // A = [0,0,2,2], B = [1,1,2,2]: intersection 1, union 7, enclosing 9: GIoU = 1/7 - 2/9.
      // A = [0,0,1,1], B = [2,0,1,1]: intersection 0, union 2, enclosing 3: GIoU = -1/3.
      const giou = generalizedIou(tf.tensor2d([[0, 0, 2, 2], [0, 0, 1, 1]]), tf.tensor2d([[1, 1, 2, 2], [2, 0, 1, 1]]))
      const [overlap, disjoint] = [...giou.dataSync()]
      giou.dispose()
      close(overlap!, 1 / 7 - 2 / 9)
      close(disjoint!, -1 / 3)
      close(value(giouLoss(tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]), tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]))), 0)
    })

    it('computes InfoNCE of orthonormal pairs as -log(e^(1/τ) / (e^(1/τ) + n - 1))', () => {
      const eye = tf.eye(3) as tf.Tensor2D
      const expected = -Math.log(Math.exp(10) / (Math.exp(10) + 2))
      close(value(infoNceLoss(eye, eye, 0.1)), expected, 1e-4)
      close(value(infoNceLoss(eye, eye, 0.1, true)), expected, 1e-4)
      eye.dispose()
    })

    it('keeps L_ext finite for logits of ±100 and equal to softplus terms', () => {
      close(value(domainLoss(tf.tensor1d([100, -100]), tf.tensor1d([-100]))), (0 + 100) / 2 + 0, 1e-3)
      close(value(domainLoss(tf.tensor1d([0]), tf.tensor1d([0]))), 2 * Math.log(2))
    })

    it('writes a stride-2 convolution as frame stacking', () => {
      // x = 1, 2, 3, 4; taps (t-1, t, t+1) weighted 1, 10, 100 at t = 0, 2; zero padding.
      const dense = new Dense(tf.variable(tf.tensor2d([[1], [10], [100]])))
      const y = frameConv1d(tf.tensor3d([1, 2, 3, 4], [1, 4, 1]), dense, 3, 2)
      assert.deepEqual([...y.dataSync()], [0 + 10 + 200, 2 + 30 + 400])
      tf.dispose([y, dense.kernel])
    })
  })
}

describe('codebook EMA update', () => {
  const settings = { decay: 0.9, epsilon: 1e-5, deadCodeThreshold: 0, random: () => 0 }

  it('equals the VQ-VAE formula on a 3-code example', () => {
    // Codes of dim 1; vectors 1 and 3 go to code 0, 10 to code 2, nothing to code 1.
    const state = { codes: Float32Array.from([0, 5, 9]), clusterSize: Float32Array.from([1, 1, 1]), sum: Float32Array.from([0, 5, 9]) }
    const next = emaUpdate(state, Float32Array.from([1, 3, 10]), Int32Array.from([0, 0, 2]), 1, settings)
    const n = [0.9 * 1 + 0.1 * 2, 0.9 * 1 + 0.1 * 0, 0.9 * 1 + 0.1 * 1] // 1.1, 0.9, 1.0
    const m = [0.9 * 0 + 0.1 * 4, 0.9 * 5 + 0.1 * 0, 0.9 * 9 + 0.1 * 10] // 0.4, 4.5, 9.1
    const total = n[0]! + n[1]! + n[2]!
    const smoothed = n.map((x) => ((x + 1e-5) / (total + 3 * 1e-5)) * total)
    ;[0, 1, 2].forEach((i) => {
      close(next.clusterSize[i]!, n[i]!)
      close(next.sum[i]!, m[i]!)
      close(next.codes[i]!, m[i]! / smoothed[i]!)
    })
  })

  it('re-initialises a dead code from a batch vector', () => {
    const state = { codes: Float32Array.from([0, 5]), clusterSize: Float32Array.from([1, 0.001]), sum: Float32Array.from([0, 0.005]) }
    const next = emaUpdate(state, Float32Array.from([7, 8]), Int32Array.from([0, 0]), 1, { ...settings, deadCodeThreshold: 0.01, random: () => 0.6 })
    assert.deepEqual([next.codes[1], next.clusterSize[1], next.sum[1]], [8, 1, 8])
  })
})
