// Visual backbones: images [B, S, S, 3] in [0, 1] -> region embeddings [B, R, d] with 2-D positions added.
// The paper uses a pre-trained DETR encoder (ResNet-50), which cannot be downloaded here, so there are two:
// (a) a small convolutional backbone trained from scratch (patch convolutions as reshapes + matMul, so it trains
//     on wasm), and (b) a frozen tfjs graph or layers model loaded from disk (docs/model.md shows how to convert
//     DETR's encoder), followed by a trainable projection to d.

import * as tf from '@tensorflow/tfjs-core'
import type { TurnConfig } from './config.js'
import { type Dense, type LayerNorm, type ParamStore, im2colConv2d } from './layers.js'
import { stopGradient } from './ops.js'
import { readTfjsArtifacts } from './checkpoint-io.js'

/** What the localization stream needs from a backbone. */
export interface Backbone {
  /** Grid side h = w; regions = h·w. */
  readonly gridSide: number
  /** [B, S, S, 3] -> [B, R, d], positions included. */
  apply(images: tf.Tensor4D): tf.Tensor3D
}

/** [B, H, W, C] -> [B, H/p, W/p, p·p·C] by reshapes and one rank-4 transpose (a p x p, stride-p im2col). */
export function spaceToDepth(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape
  return tf.reshape(tf.transpose(tf.reshape(x, [b * (h / p), p, w / p, p * c]), [0, 2, 1, 3]), [b, h / p, w / p, p * p * c])
}

/** Learned row + column embeddings [h, d] and [w, d], summed into [h·w, d]. */
class Positions2d {
  constructor(readonly rows: tf.Variable, readonly cols: tf.Variable, readonly side: number) {}
  apply(x: tf.Tensor3D): tf.Tensor3D {
    const d = x.shape[2]
    const grid = tf.reshape(tf.add(tf.reshape(this.rows, [this.side, 1, d]), tf.reshape(this.cols, [1, this.side, d])), [this.side * this.side, d])
    return tf.add(x, grid) as tf.Tensor3D
  }
}

/**
 * The built-in backbone. Stage 0: non-overlapping backbonePatch x backbonePatch convolution (stride = patch);
 * each later stage: 2x2 stride-2 convolution; every stage ReLU + layer norm over channels. Then one 3x3
 * stride-1 convolution with a residual on the final grid (to mix neighbours), a projection to d and 2-D positions.
 * The stride-1 3x3 convolution sits only on the smallest grid because im2col costs 9x its input there.
 */
export class ConvBackbone implements Backbone {
  readonly gridSide: number
  private readonly stages: { dense: Dense; norm: LayerNorm; patch: number }[] = []
  private readonly mix: Dense
  private readonly projection: Dense
  private readonly positions: Positions2d

  constructor(store: ParamStore, config: TurnConfig) {
    let inChannels = 3
    config.backboneChannels.forEach((channels, i) => {
      const patch = i === 0 ? config.backbonePatch : 2
      this.stages.push({
        dense: store.dense(`visual_backbone/stage${i}/conv`, patch * patch * inChannels, channels),
        norm: store.layerNorm(`visual_backbone/stage${i}/norm`, channels),
        patch,
      })
      inChannels = channels
    })
    this.gridSide = config.imageSize / (config.backbonePatch * 2 ** (config.backboneChannels.length - 1))
    this.mix = store.dense('visual_backbone/mix3x3', 9 * inChannels, inChannels)
    this.projection = store.dense('visual_backbone/projection', inChannels, config.dModel)
    this.positions = new Positions2d(
      store.add('visual_backbone/row_positions', [this.gridSide, config.dModel], 'embedding'),
      store.add('visual_backbone/col_positions', [this.gridSide, config.dModel], 'embedding'),
      this.gridSide,
    )
  }

  apply(images: tf.Tensor4D): tf.Tensor3D {
    let x = images
    for (const stage of this.stages) {
      x = stage.norm.apply(tf.relu(stage.dense.apply(spaceToDepth(x, stage.patch)))) as tf.Tensor4D
    }
    x = tf.add(x, tf.relu(im2colConv2d(x, this.mix, 3, 1))) as tf.Tensor4D
    const [b, h, w, c] = x.shape
    return this.positions.apply(this.projection.apply(tf.reshape(x, [b, h * w, c])) as tf.Tensor3D)
  }
}

/** A frozen model loaded from disk: images [B, S, S, 3] in [0, 1] -> [B, R, C] (or [B, h, w, C], flattened). */
export interface FrozenBackbone {
  readonly regions: number
  readonly channels: number
  /** Which tfjs format the directory held. */
  readonly format: 'graph-model' | 'layers-model'
  run(images: tf.Tensor4D): tf.Tensor3D
  dispose(): void
}

/**
 * Loads a tfjs graph model or layers model from `dir` (model.json + weight files, as tensorflowjs_converter
 * writes them) and probes its output with one zero image of imageSize. Throws if the output is not
 * [B, R, C] or [B, h, w, C].
 */
export async function loadFrozenBackbone(dir: string, { imageSize }: { imageSize: number }): Promise<FrozenBackbone> {
  const { json, weightData } = await readTfjsArtifacts(dir)
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature as object | undefined,
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts["userDefinedMetadata"],
    modelInitializer: json.modelInitializer as object | undefined,
  }
  const handler = tf.io.fromMemory(artifacts)
  let predict: (x: tf.Tensor4D) => tf.Tensor
  let dispose: () => void
  let format: FrozenBackbone['format']
  if (json.format === 'graph-model') {
    const { loadGraphModel } = await import('@tensorflow/tfjs-converter')
    const model = await loadGraphModel(handler)
    predict = (x) => model.predict(x) as tf.Tensor
    dispose = () => model.dispose()
    format = 'graph-model'
  } else {
    const { loadLayersModel } = await import('@tensorflow/tfjs-layers')
    const model = await loadLayersModel(handler)
    model.trainable = false
    predict = (x) => model.predict(x) as tf.Tensor
    dispose = () => model.dispose()
    format = 'layers-model'
  }
  const flatten = (y: tf.Tensor): tf.Tensor3D => {
    if (y.rank === 3) return y as tf.Tensor3D
    if (y.rank === 4) return tf.reshape(y, [y.shape[0], (y.shape[1] as number) * (y.shape[2] as number), y.shape[3] as number])
    throw new Error(`loadFrozenBackbone: ${dir}: output shape [${y.shape.join(', ')}] is neither [B, R, C] nor [B, h, w, C]`)
  }
  const [, regions, channels] = tf.tidy(() => flatten(predict(tf.zeros([1, imageSize, imageSize, 3])))).shape
  // tf.tidy above disposed the probe output; only its shape is kept.
  return {
    regions,
    channels,
    format,
    run: (images) => stopGradient(flatten(predict(images))) as tf.Tensor3D,
    dispose,
  }
}

/** A frozen backbone's grid projected to d (trainable) with learned positions [R, d]. */
export class ProjectedFrozenBackbone implements Backbone {
  readonly gridSide: number
  private readonly projection: Dense
  private readonly positions: tf.Variable

  constructor(store: ParamStore, config: TurnConfig, readonly frozen: FrozenBackbone) {
    if (frozen.regions !== config.frozenRegions || frozen.channels !== config.frozenChannels) {
      throw new Error(`model: frozen backbone gives [${frozen.regions}, ${frozen.channels}] regions x channels, config says frozenRegions = ${config.frozenRegions}, frozenChannels = ${config.frozenChannels}`)
    }
    this.gridSide = Math.round(Math.sqrt(frozen.regions))
    this.projection = store.dense('visual_backbone/projection', frozen.channels, config.dModel)
    this.positions = store.add('visual_backbone/positions', [frozen.regions, config.dModel], 'embedding')
  }

  apply(images: tf.Tensor4D): tf.Tensor3D {
    return tf.add(this.projection.apply(this.frozen.run(images)), this.positions) as tf.Tensor3D
  }
}
