import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { activate } from '../src/model/backend.js'
import { resolveTurnConfig } from '../src/model/config.js'
import { type FrozenBackbone, loadFrozenBackbone } from '../src/model/backbone.js'
import { writeTfjsArtifacts } from '../src/model/checkpoint-io.js'
import { createTurn } from '../src/model/turn.js'
import { disposeBatch, syntheticBatch } from '../src/model/synthetic.js'

/** A tfjs layers model (one 16x16 stride-16 convolution: 64x64 images -> [4, 4, 8]) written to a directory. */
async function writeLayersBackbone(dir: string): Promise<void> {
  const model = tfl.sequential({
    layers: [tfl.layers.conv2d({ inputShape: [64, 64, 3], filters: 8, kernelSize: 16, strides: 16, kernelInitializer: 'ones' })],
  })
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const tensors = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, artifacts.weightSpecs!)
      await writeTfjsArtifacts(dir, tensors, { format: 'layers-model', modelTopology: artifacts.modelTopology })
      tf.dispose(Object.values(tensors))
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }),
  )
  model.dispose()
}

/**
 * A tfjs graph model as tensorflowjs_converter writes one from a SavedModel: a GraphDef in JSON (Placeholder ->
 * Conv2D with a Const filter -> Relu) plus the Const's weights in the manifest. 64x64 images -> [B, 4, 4, 8].
 */
async function writeGraphBackbone(dir: string): Promise<void> {
  const dims = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) })
  const text = (s: string) => ({ s: Buffer.from(s).toString('base64') })
  const ints = (...i: number[]) => ({ list: { i: i.map(String) } })
  const float = { type: 'DT_FLOAT' }
  const modelTopology = {
    node: [
      { name: 'images', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, 64, 64, 3) } } },
      { name: 'backbone/filter', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(16, 16, 3, 8) } } } },
      {
        name: 'backbone/conv', op: 'Conv2D', input: ['images', 'backbone/filter'],
        attr: { T: float, strides: ints(1, 16, 16, 1), padding: text('VALID'), data_format: text('NHWC'), dilations: ints(1, 1, 1, 1) },
      },
      { name: 'backbone/relu', op: 'Relu', input: ['backbone/conv'], attr: { T: float } },
    ],
    library: {},
    versions: { producer: 1482 },
  }
  const filter = tf.randomNormal([16, 16, 3, 8], 0, 0.05, 'float32', 3)
  await writeTfjsArtifacts(dir, { 'backbone/filter': filter }, { format: 'graph-model', modelTopology })
  filter.dispose()
}

/** TURN on a frozen 16-region, 8-channel grid takes a gradient step; the frozen model gets no gradient. */
function assertTrainsAbove(frozen: FrozenBackbone): void {
  const config = resolveTurnConfig({ backbone: 'frozen', frozenRegions: 16, frozenChannels: 8 }, 'tiny')
  const model = createTurn(config, { seed: 1, frozenBackbone: frozen })
  const batch = syntheticBatch(config, { sourceSize: 2, intermediateSize: 2, seed: 1 })
  // A gradient step must not reach the frozen convolution (wasm has no Conv2D gradient).
  const { grads, losses } = model.trainingGradients(batch)
  assert.ok(Number.isFinite(losses.total))
  assert.deepEqual(grads['visual_backbone/projection/kernel']?.shape, [8, config.dModel])
  tf.dispose(Object.values(grads))
  disposeBatch(batch)
  model.dispose()
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`frozen backbone on the ${backend} backend`, () => {
    before(async () => {
      await activate(backend)
    })

    it('loads a layers model as a [regions, channels] grid and trains the model above it', async () => {
      const dir = await tempDir()
      await writeLayersBackbone(dir)
      const frozen = await loadFrozenBackbone(dir, { imageSize: 64 })
      assert.deepEqual([frozen.format, frozen.regions, frozen.channels], ['layers-model', 16, 8])
      assertTrainsAbove(frozen)
      frozen.dispose()
    })

    it('loads a graph model (tensorflowjs_converter format) and its grid equals the convolution it encodes', async () => {
      const dir = await tempDir()
      await writeGraphBackbone(dir)
      const frozen = await loadFrozenBackbone(dir, { imageSize: 64 })
      assert.deepEqual([frozen.format, frozen.regions, frozen.channels], ['graph-model', 16, 8])
      const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 4) as tf.Tensor4D
      const grid = frozen.run(images)
      // The same convolution by hand: each 16x16 patch (row-major, channels last) times the filter, then ReLU.
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }
      const bytes = await readFile(join(dir, json.weightsManifest[0]!.paths[0]!))
      const { 'backbone/filter': filter } = tf.io.decodeWeights(new Uint8Array(bytes).buffer, json.weightsManifest[0]!.weights)
      const expected = tf.tidy(() => {
        const patches = tf.reshape(tf.transpose(tf.reshape(images, [2, 4, 16, 4, 16, 3]), [0, 1, 3, 2, 4, 5]), [2 * 16, 16 * 16 * 3])
        return tf.reshape(tf.relu(tf.matMul(patches, tf.reshape(filter!, [16 * 16 * 3, 8]))), [2, 16, 8])
      })
      assert.deepEqual(grid.shape, [2, 16, 8])
      const error = tf.tidy(() => tf.max(tf.abs(tf.sub(grid, expected))).dataSync()[0]!)
      assert.ok(error < 1e-4, `graph model grid differs from the hand convolution by ${error}`)
      tf.dispose([images, grid, expected, filter!])
      assertTrainsAbove(frozen)
      frozen.dispose()
    })
  })
}
