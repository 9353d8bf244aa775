import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { tempDir } from './helpers/temp.js'
import { activate } from '../src/model/backend.js'
import { PAPER_CONFIG, resolveTurnConfig, type TurnConfig } from '../src/model/config.js'
import { createTurn, type TurnModel } from '../src/model/turn.js'
import { disposeBatch, plainSgdStep, syntheticBatch } from '../src/model/synthetic.js'
import { loadTurn, saveTurn } from '../src/model/checkpoint.js'
import { describeModel, formatModelDescription } from '../src/model/describe.js'

// Training tests use the tiny preset at batch 2 + 2: the cpu backend takes seconds per step at batch 16.
const TINY = resolveTurnConfig({}, 'tiny')
const BATCH = { sourceSize: 2, intermediateSize: 2 }

/** One plain SGD step (the trainer's AdamW is not this module's) plus the codebook EMA step. */
const trainStep = (model: TurnModel, batch: ReturnType<typeof syntheticBatch>, step: number): Record<string, number> => plainSgdStep(model, batch, 1e-3, step)

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`TURN on the ${backend} backend`, () => {
    before(async () => {
      await activate(backend)
    })

    it('gives boxes [B, 4] in [0, 1] from audio and from text for the tiny preset', () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { ...BATCH, seed: 2 })
      const fromAudio = model.predictBoxes(batch.source.images, { audio: batch.intermediate.logMel })
      const fromText = model.predictBoxes(batch.source.images, { tokens: batch.source.tokens })
      const encoded = model.encodeAudio(batch.intermediate.logMel)
      assert.deepEqual(
        [fromAudio.shape, fromText.shape, encoded.pooled.shape, encoded.query.shape, encoded.codes.shape],
        [[2, 4], [2, 4], [2, TINY.dModel], [2, TINY.dModel], [2, TINY.codebookGroups]],
      )
      assert.ok([...fromAudio.dataSync()].every((v) => v > 0 && v < 1))
      tf.dispose([fromAudio, fromText, encoded.pooled, encoded.query, encoded.codes])
      disposeBatch(batch)
      model.dispose()
    })

    it('gives boxes [1, 4] for the paper preset at batch 1', () => {
      const model = createTurn(PAPER_CONFIG, { seed: 1 })
      const batch = syntheticBatch(PAPER_CONFIG, { sourceSize: 1, intermediateSize: 1, seed: 2 })
      const boxes = model.predictBoxes(batch.source.images, { audio: batch.intermediate.logMel })
      assert.deepEqual(boxes.shape, [1, 4])
      tf.dispose(boxes)
      disposeBatch(batch)
      model.dispose()
    })

    it('computes every loss term as a finite number', () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { ...BATCH, seed: 3 })
      const losses = tf.tidy(() => {
        const out = model.computeLosses(batch)
        return Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0] as number]))
      })
      assert.deepEqual(Object.keys(losses).sort(), ['code', 'contrast', 'giou', 'loc', 'reconAudio', 'reconText', 'smoothL1', 'total'])
      for (const [term, value] of Object.entries(losses)) assert.ok(Number.isFinite(value), `${term} = ${value}`)
      disposeBatch(batch)
      model.dispose()
    })

    it('sends a nonzero gradient to every trainable variable and none to the codebooks', () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { ...BATCH, seed: 4 })
      const { grads } = model.trainingGradients(batch)
      const silent = [...model.trainableParameters.keys()].filter((name) => {
        const grad = grads[name]
        return grad === undefined || tf.tidy(() => tf.sum(tf.abs(grad)).dataSync()[0]) === 0
      })
      const nonTrainable = [...model.parameters].filter(([, v]) => !v.trainable).map(([name]) => name.split('/').pop())
      assert.deepEqual(silent, [])
      assert.deepEqual([...new Set(nonTrainable)].sort(), ['codes', 'ema_cluster_size', 'ema_sum'])
      tf.dispose(Object.values(grads))
      disposeBatch(batch)
      model.dispose()
    })

    it('holds the same number of tensors after step 10 as after step 2', () => {
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { ...BATCH, seed: 5 })
      const counts: number[] = []
      for (let step = 1; step <= 10; step++) {
        trainStep(model, batch, step)
        counts.push(tf.memory().numTensors)
      }
      assert.equal(counts[9], counts[1])
      disposeBatch(batch)
      model.dispose()
    })

    it('gives identical outputs after save and load, codebook state included', async () => {
      const dir = await tempDir()
      const model = createTurn(TINY, { seed: 1 })
      const batch = syntheticBatch(TINY, { ...BATCH, seed: 6 })
      trainStep(model, batch, 1) // moves weights and codebooks away from their seeded start
      await saveTurn(model, dir)
      const loaded = await loadTurn(dir, { config: TINY })
      const before = model.predictBoxes(batch.source.images, { audio: batch.intermediate.logMel })
      const after = loaded.predictBoxes(batch.source.images, { audio: batch.intermediate.logMel })
      assert.deepEqual([...after.dataSync()], [...before.dataSync()])
      for (const [name, variable] of model.parameters) {
        assert.deepEqual([...loaded.parameters.get(name)!.dataSync()], [...variable.dataSync()], name)
      }
      tf.dispose([before, after])
      disposeBatch(batch)
      model.dispose()
      loaded.dispose()
    })
  })
}

describe('TURN checkpoints and configs', () => {
  before(async () => {
    await activate('cpu')
  })

  it('refuses a checkpoint whose config differs, naming the keys', async () => {
    const dir = await tempDir()
    const model = createTurn(TINY, { seed: 1 })
    await saveTurn(model, dir)
    model.dispose()
    const requested = resolveTurnConfig({ beta: 0.5, textLayers: 2 }, 'tiny')
    await assert.rejects(loadTurn(dir, { config: requested }), /different config \(beta: checkpoint 0\.25, requested 0\.5; textLayers: checkpoint 1, requested 2\)/)
  })

  it('refuses an unknown config key, naming it', () => {
    assert.throws(() => resolveTurnConfig({ dModle: 64 }), /unknown setting 'dModle'/)
  })

  it('refuses heads that do not divide d', () => {
    assert.throws(() => resolveTurnConfig({ dModel: 33 }, 'tiny'), /textHeads = 2 must divide dModel = 33/)
  })

  it('overrides any number of a preset', () => {
    const config: TurnConfig = resolveTurnConfig({ vocabSize: 30_522, codebookDecay: 0.9, contrastSymmetric: true }, 'tiny')
    assert.deepEqual([config.vocabSize, config.codebookDecay, config.contrastSymmetric, config.dModel], [30_522, 0.9, true, 16])
  })

  it('holds the appendix numbers in the paper preset', () => {
    const c = resolveTurnConfig({}, 'paper')
    assert.deepEqual(
      [c.dModel, c.visualLayers, c.visualHeads, c.textLayers, c.textHeads, c.audioLayers, c.audioHeads, c.textDecoderLayers,
        c.textDecoderHeads, c.audioDecoderLayers, c.audioDecoderHeads, c.ffnMultiplier, c.audioFrames, c.audioEncodedFrames,
        c.nMels, c.textLength, c.vocabSize, c.codebookGroups, c.codebookSize, c.beta, c.contrastTemperature,
        c.lambdaSmoothL1, c.lambdaGiou, c.lambdaCode, c.lambdaRecon, c.lambdaContrast, c.maskRatioStart, c.maskRatioEnd, c.imageSize],
      [256, 3, 4, 6, 8, 6, 8, 6, 8, 6, 8, 4, 216, 54, 128, 30, 30_522, 2, 512, 0.25, 0.1, 1, 1, 1, 0.1, 0.1, 0.5, 1, 384],
    )
  })

  it('counts the parameters of the paper preset by module', () => {
    const description = describeModel(PAPER_CONFIG)
    const codebook = description.modules.find((m) => m.module === 'codebook')!
    // 2 groups x 256 codes x 128 dims, three times (codes, EMA sums) plus 2 x 256 cluster sizes.
    assert.deepEqual(codebook, { module: 'codebook', trainable: 0, nonTrainable: 2 * (2 * 256 * 128 + 256) })
    const tokens = description.modules.find((m) => m.module === 'token_embedding')!
    assert.equal(tokens.trainable, 30_522 * 256)
    assert.match(formatModelDescription(description), /Θ_t text encoder/)
  })
})

describe('selectBackend', () => {
  it('falls back to wasm when neither tfjs-node package is installed, and logs one line', async (t) => {
    const { selectBackend } = await import('../src/model/backend.js')
    const optional = '@tensorflow/tfjs-node' // a variable: the package's types are absent where it is
    const installed = await import(optional).then(() => true, () => false)
    if (installed) return t.skip('tfjs-node is installed here')
    const lines: string[] = []
    const selected = await selectBackend({ env: {}, log: (line) => lines.push(line) })
    assert.deepEqual([selected, lines.length], [{ choice: 'wasm', name: 'wasm' }, 1])
    assert.match(lines[0]!, /tfjs backend 'wasm'.*skipped node-gpu/)
  })

  it('uses the backend TURNKIT_BACKEND forces', async () => {
    const { selectBackend } = await import('../src/model/backend.js')
    assert.deepEqual(await selectBackend({ env: { TURNKIT_BACKEND: 'cpu' }, log: () => {} }), { choice: 'cpu', name: 'cpu' })
  })

  it('refuses an unknown TURNKIT_BACKEND value', async () => {
    const { selectBackend } = await import('../src/model/backend.js')
    await assert.rejects(selectBackend({ env: { TURNKIT_BACKEND: 'webgl' }, log: () => {} }), /TURNKIT_BACKEND = 'webgl' is not one of/)
  })

  it('says how many threads wasm multiplies matrices on, and refuses a TURNKIT_MATMUL_THREADS that is no count', async () => {
    const { selectBackend } = await import('../src/model/backend.js')
    const { MATMUL_THREADS_DEFAULT } = await import('../src/model/wasm-kernels.js')
    const lines: string[] = []
    await selectBackend({ env: { TURNKIT_BACKEND: 'wasm', TURNKIT_MATMUL_THREADS: '1' }, log: (line) => lines.push(line) })
    assert.match(lines[0]!, /'wasm' \(wasm, forced by TURNKIT_BACKEND, 1 thread for large matrix products/)
    await selectBackend({ env: { TURNKIT_BACKEND: 'wasm' }, log: (line) => lines.push(line) })
    assert.match(lines[1]!, new RegExp(`${MATMUL_THREADS_DEFAULT} threads? for large matrix products`))
    await assert.rejects(selectBackend({ env: { TURNKIT_MATMUL_THREADS: '0' }, log: () => {} }), /TURNKIT_MATMUL_THREADS = '0' is not a whole number/)
  })
})
