// Micro-batched gradients (TurnModel.trainingGradients with microBatch) must equal the whole batch's: the
// per-item terms are split by weighting and InfoNCE by GradCache, so only float rounding may differ.
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { activate, savedTensorsInternals } from '../src/model/backend.js'
import { resolveTurnConfig } from '../src/model/config.js'
import { createTurn } from '../src/model/turn.js'
import { disposeBatch, plainSgdStep, syntheticBatch } from '../src/model/synthetic.js'

const TINY = resolveTurnConfig({}, 'tiny')

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`micro-batched gradients on the ${backend} backend`, () => {
    before(async () => {
      await activate(backend)
    })

    it('keeps what the backward pass needs without cloning it: the same gradients bit for bit, far fewer Identity kernels', async () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { sourceSize: 4, intermediateSize: 4, seed: 3 })
      const run = async (share: boolean): Promise<{ grads: Record<string, Float32Array>; identities: number }> => {
        savedTensorsInternals.share = share
        try {
          let grads: Record<string, Float32Array> = {}
          const profile = await tf.profile(() => {
            const out = model.trainingGradients(batch)
            grads = Object.fromEntries(Object.entries(out.grads).map(([name, g]) => [name, g.dataSync() as Float32Array]))
            tf.dispose(Object.values(out.grads))
          })
          return { grads, identities: profile.kernels.filter((k) => k.name === 'Identity').length }
        } finally {
          savedTensorsInternals.share = true
        }
      }
      const cloned = await run(false)
      const shared = await run(true)
      assert.ok(cloned.identities > 100, `tfjs-core's own path clones: ${cloned.identities} Identity kernels`)
      // Only custom gradients (tf.customGrad's own save) still clone what they keep.
      assert.ok(shared.identities * 5 < cloned.identities, `${shared.identities} Identity kernels shared against ${cloned.identities} cloned`)
      assert.deepEqual(Object.keys(shared.grads), Object.keys(cloned.grads))
      for (const [name, g] of Object.entries(cloned.grads)) assert.ok(Buffer.from(shared.grads[name]!.buffer).equals(Buffer.from(g.buffer)), name)
      disposeBatch(batch)
      model.dispose()
    })

    it('leaves no tensor behind: numTensors after step 5 equals after step 1', () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { sourceSize: 4, intermediateSize: 4, seed: 2 })
      const counts: number[] = []
      for (let step = 0; step < 5; step++) {
        plainSgdStep(model, batch, 1e-3, step, { microBatch: 2 })
        counts.push(tf.memory().numTensors)
      }
      assert.equal(counts[4], counts[0], `numTensors per step: ${counts.join(', ')}`)
      disposeBatch(batch)
      model.dispose()
    })

    for (const [sourceSize, intermediateSize, microBatch] of [[4, 4, 2], [5, 3, 1]] as const) {
      it(`equal the whole batch's at ${sourceSize} + ${intermediateSize} items, slices of ${microBatch}`, () => {
        const model = createTurn(TINY, { seed: 1 })
        const batch = syntheticBatch(TINY, { sourceSize, intermediateSize, seed: 7 })
        const whole = model.trainingGradients(batch)
        const sliced = model.trainingGradients(batch, { microBatch })
        for (const [term, value] of Object.entries(whole.losses)) {
          const got = sliced.losses[term as keyof typeof whole.losses]
          assert.ok(Math.abs(got - value) <= 1e-5 * Math.max(1, Math.abs(value)), `${term}: sliced ${got}, whole ${value}`)
        }
        assert.deepEqual(Object.keys(sliced.grads).sort(), Object.keys(whole.grads).sort())
        for (const [name, grad] of Object.entries(whole.grads)) {
          const [error, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(grad, sliced.grads[name]!))).dataSync()[0]!, tf.max(tf.abs(grad)).dataSync()[0]!])
          assert.ok(error <= 1e-4 * Math.max(scale, 1e-3), `${name}: max |difference| ${error}, max |gradient| ${scale}`)
        }
        // The same items reach the codebooks: one vector per text and per clip.
        const rows = (a: typeof whole.assignments): number => a.reduce((n, x) => n + x.count, 0)
        assert.equal(rows(sliced.assignments), rows(whole.assignments))
        tf.dispose([...Object.values(whole.grads), ...Object.values(sliced.grads)])
        disposeBatch(batch)
        model.dispose()
      })
    }
  })
}
