// Data-parallel steps (ModelReplicas): slices on worker-thread replicas give exactly the bits of the same
// micro-batches on one thread (gradients, losses, codebook assignments, and the parameters after several steps),
// leave no tensor behind, and fail with errors that name the replica.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import * as tf from '@tensorflow/tfjs-core'
import { activate } from '../src/model/backend.js'
import { resolveTurnConfig } from '../src/model/config.js'
import { createTurn, type TrainingGradients, type TurnModel } from '../src/model/turn.js'
import { applySgd, disposeBatch, syntheticBatch } from '../src/model/synthetic.js'
import { ModelReplicas } from '../src/model/replicas.js'

const TINY = resolveTurnConfig({}, 'tiny')

/** The plain SGD update and the codebook step that plainSgdStep makes. */
const apply = (model: TurnModel, out: TrainingGradients, seed: number): void => void applySgd(model, out, 1e-2, seed)

const digest = (model: TurnModel): string => {
  const h = createHash('sha256')
  for (const [name, v] of model.parameters) h.update(name).update(Buffer.from(v.dataSync().buffer))
  return h.digest('hex')
}

describe('data-parallel replicas on the wasm backend', () => {
  before(async () => {
    await activate('wasm')
  })

  for (const [replicas, size, microBatch, slices] of [[2, 6, null, 2], [2, 8, 2, 4], [3, 5, null, 3]] as const) {
    it(`${replicas} replicas, ${size} + ${size} items, micro-batch ${microBatch ?? 'none'}: the bits of ${slices} slices on one thread`, async () => {
      const one = createTurn(TINY, { seed: 3 })
      const many = createTurn(TINY, { seed: 3 })
      const pool = await ModelReplicas.start(many, replicas)
      const batch = syntheticBatch(TINY, { sourceSize: size, intermediateSize: size, seed: 4 })
      const sameSlices = Math.ceil(size / slices)
      try {
        for (let step = 0; step < 3; step++) {
          const want = one.trainingGradients(batch, { microBatch: sameSlices })
          const got = await pool.trainingGradients(batch, { microBatch })
          assert.deepEqual(got.losses, want.losses, `step ${step}: every loss term`)
          assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(want.grads).sort())
          for (const [name, grad] of Object.entries(want.grads)) {
            assert.ok(Buffer.from(got.grads[name]!.dataSync().buffer).equals(Buffer.from(grad.dataSync().buffer)), `step ${step}: gradient of ${name}`)
          }
          assert.deepEqual(got.assignments, want.assignments)
          apply(one, want, step)
          apply(many, got, step)
        }
      } finally {
        await pool.close()
      }
      assert.equal(digest(many), digest(one), 'every parameter after 3 steps')
      disposeBatch(batch)
      one.dispose()
      many.dispose()
    })
  }

  it('leaves no tensor behind, and the worker keeps up with the parameters this thread changes', async () => {
    const model = createTurn(TINY, { seed: 5 })
    const pool = await ModelReplicas.start(model, 2)
    const batch = syntheticBatch(TINY, { sourceSize: 4, intermediateSize: 4, seed: 6 })
    const counts: number[] = []
    const totals: number[] = []
    for (let step = 0; step < 4; step++) {
      const out = await pool.trainingGradients(batch)
      totals.push(out.losses.total)
      apply(model, out, step)
      counts.push(tf.memory().numTensors)
    }
    assert.equal(counts[3], counts[0], `numTensors per step: ${counts.join(', ')}`)
    assert.ok(totals[3]! < totals[0]!, `the loss goes down as both replicas follow the updates: ${totals.join(', ')}`)
    await pool.close()
    await assert.rejects(pool.trainingGradients(batch), /replica 1 closed/)
    disposeBatch(batch)
    model.dispose()
  })

  it('fails a step that fails on a replica with an error naming it, and closes the pool for good', async () => {
    const model = createTurn(TINY, { seed: 1 })
    const pool = await ModelReplicas.start(model, 2)
    const batch = syntheticBatch(TINY, { sourceSize: 4, intermediateSize: 4, seed: 2 })
    // A token id past the vocabulary in the intermediate rows of slice 1 only: slice 0 (this thread) is fine, the
    // worker's embedding gather is not.
    const ids = batch.intermediate.tokens.arraySync()
    ids[3]![1] = TINY.vocabSize + 7
    const bad = { ...batch, intermediate: { ...batch.intermediate, tokens: tf.tensor2d(ids, batch.intermediate.tokens.shape, 'int32') } }
    await assert.rejects(pool.trainingGradients(bad), /^Error: replica 1: gatherRows: index 1007 outside \[0, 1000\)/)
    // The pool is closed, and every later step says why.
    await assert.rejects(pool.trainingGradients(batch), /^Error: replica 1: gatherRows: index 1007 outside/)
    bad.intermediate.tokens.dispose()
    disposeBatch(batch)
    model.dispose()
  })

  it('refuses one replica and a frozen backbone, saying why', async () => {
    const model = createTurn(TINY, { seed: 1 })
    await assert.rejects(ModelReplicas.start(model, 1), /need an integer >= 2/)
    const frozen = { ...model, config: { ...TINY, backbone: 'frozen' as const } } as unknown as TurnModel
    await assert.rejects(ModelReplicas.start(frozen, 2), /backbone 'frozen' runs on one thread only/)
    model.dispose()
  })
})
