import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { tempDir } from './helpers/temp.js'
import { activate } from '../src/model/backend.js'
import { resolveTurnConfig } from '../src/model/config.js'
import { loadFrozenBackbone } from '../src/model/backbone.js'
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
      frozen.dispose()
    })
  })
}
