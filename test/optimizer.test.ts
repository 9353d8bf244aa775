import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { AdamW, learningRateAt } from '../src/train/optimizer.js'

describe('learningRateAt', () => {
  const schedule = { peakLr: 1e-4, warmupSteps: 10, totalSteps: 110 }
  it('rises linearly over the warm-up to the peak', () => {
    assert.equal(learningRateAt(0, schedule), 1e-5)
    assert.equal(learningRateAt(9, schedule), 1e-4)
  })
  it('anneals by a cosine to zero at the last step', () => {
    assert.ok(Math.abs(learningRateAt(60, schedule) - 5e-5) < 1e-12)
    assert.ok(learningRateAt(110, schedule) < 1e-12)
  })
})

describe('AdamW', () => {
  it('takes the decoupled-decay step of the formula on one parameter', async () => {
    await tf.setBackend('cpu')
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'w')
    const opt = new AdamW({ weightDecay: 0.1, epsilon: 1e-8 })
    const g = tf.tensor1d([0.5, 0.25])
    opt.apply(new Map([['w', w]]), { w: g }, 0.01)
    // Step 1: m̂ = g, v̂ = g², update = g / (|g| + ε) ≈ sign(g); θ -= lr · (update + wd · θ).
    const expected = [1 - 0.01 * (0.5 / (0.5 + 1e-8) + 0.1 * 1), -2 - 0.01 * (0.25 / (0.25 + 1e-8) + 0.1 * -2)]
    const got = Array.from(w.dataSync())
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${v} vs ${expected[i]}`))
    opt.dispose()
    w.dispose()
    g.dispose()
  })

  it('resumes from its saved state to the same weights as an uninterrupted run', async () => {
    await tf.setBackend('cpu')
    const run = (steps: number, restoreAt: number | null): number[] => {
      const w = tf.variable(tf.tensor1d([0.3, -0.7, 1.1]), true, 'w')
      let opt = new AdamW()
      for (let s = 0; s < steps; s++) {
        if (s === restoreAt) {
          const saved = opt.state()
          const copy = { step: saved.step, tensors: Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, t.clone()])) }
          opt.dispose()
          opt = new AdamW()
          opt.load(copy)
          Object.values(copy.tensors).forEach((t) => t.dispose())
        }
        const g = tf.tidy(() => tf.mul(w, 2 + s)) // d/dw of (1 + s/2)·w²
        opt.apply(new Map([['w', w]]), { w: g }, 1e-2)
        g.dispose()
      }
      const out = Array.from(w.dataSync())
      opt.dispose()
      w.dispose()
      return out
    }
    assert.deepEqual(run(6, 3), run(6, null))
  })
})
