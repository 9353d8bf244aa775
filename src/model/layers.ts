// Building blocks of TURN written with ops that train on every backend (ops.ts): parameters in a named store,
// dense and layer-norm layers, pre-LN transformer encoders, and convolutions as frame stacking (im2col) + matMul.

import * as tf from '@tensorflow/tfjs-core'
import { seededRandom } from '../random.js'
import { linear, matMul } from './ops.js'

/** How a parameter starts. Every draw comes from the store's seed, so createTurn(config, { seed }) replays. */
export type Init = 'zeros' | 'ones' | 'glorot' | 'embedding' | 'normal'

/**
 * Named tf.Variables of one model, created in a fixed order from one seed. Names are '/'-separated paths
 * ('text/encoder/layer0/attention/qkv/kernel'); the first segment is the module describeModel counts under.
 */
export class ParamStore {
  readonly variables = new Map<string, tf.Variable>()
  private readonly random: () => number

  constructor(seed: number) {
    this.random = seededRandom(seed)
  }

  /** A new variable; throws if the name exists (two modules sharing weights must share the object instead). */
  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.variables.has(name)) throw new Error(`model: parameter '${name}' created twice`)
    const size = shape.reduce((a, b) => a * b, 1)
    const values = new Float32Array(size)
    if (init === 'ones') values.fill(1)
    else if (init === 'glorot') {
      // Glorot uniform over the last two axes, as Keras' default for Dense.
      const fanIn = shape.length > 1 ? (shape[shape.length - 2] as number) : 1
      const fanOut = shape[shape.length - 1] as number
      const limit = Math.sqrt(6 / (fanIn + fanOut))
      for (let i = 0; i < size; i++) values[i] = (2 * this.random() - 1) * limit
    } else if (init === 'embedding' || init === 'normal') {
      // Normal by Box-Muller: std 0.02 for embeddings (as BERT), 1 for codebooks.
      const std = init === 'embedding' ? 0.02 : 1
      for (let i = 0; i < size; i++) {
        const u = 1 - this.random()
        values[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random())
      }
    }
    const initial = tf.tensor(values, shape, 'float32')
    const variable = tf.variable(initial, trainable) // tfjs names it uniquely
    initial.dispose()
    this.variables.set(name, variable)
    return variable
  }

  dense(name: string, inDim: number, outDim: number, bias = true): Dense {
    return new Dense(this.add(`${name}/kernel`, [inDim, outDim], 'glorot') as tf.Variable<tf.Rank.R2>,
      bias ? (this.add(`${name}/bias`, [outDim], 'zeros') as tf.Variable<tf.Rank.R1>) : undefined)
  }

  layerNorm(name: string, dim: number): LayerNorm {
    return new LayerNorm(this.add(`${name}/gamma`, [dim], 'ones') as tf.Variable<tf.Rank.R1>,
      this.add(`${name}/beta`, [dim], 'zeros') as tf.Variable<tf.Rank.R1>)
  }

  encoder(name: string, d: number, layers: number, heads: number, ffnDim: number): TransformerEncoder {
    const blocks: EncoderLayer[] = []
    for (let i = 0; i < layers; i++) {
      const p = `${name}/layer${i}`
      blocks.push(new EncoderLayer(heads, this.layerNorm(`${p}/ln1`, d), this.dense(`${p}/attention/qkv`, d, 3 * d),
        this.dense(`${p}/attention/out`, d, d), this.layerNorm(`${p}/ln2`, d), this.dense(`${p}/ffn/in`, d, ffnDim),
        this.dense(`${p}/ffn/out`, ffnDim, d)))
    }
    return new TransformerEncoder(blocks, this.layerNorm(`${name}/ln_final`, d))
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose()
    this.variables.clear()
  }
}

export class Dense {
  constructor(readonly kernel: tf.Variable<tf.Rank.R2>, readonly bias?: tf.Variable<tf.Rank.R1>) {}
  apply(x: tf.Tensor): tf.Tensor {
    return linear(x, this.kernel, this.bias)
  }
}

export class LayerNorm {
  constructor(readonly gamma: tf.Variable<tf.Rank.R1>, readonly beta: tf.Variable<tf.Rank.R1>, readonly epsilon = 1e-5) {}
  apply(x: tf.Tensor): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true)
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon))), this.gamma), this.beta)
  }
}

/**
 * Pre-LN transformer encoder layer (x + MHA(LN(x)), then x + FFN(LN(x)), ReLU FFN, no dropout).
 * `keep` [B, L] is 1 for tokens that may be attended to and 0 for padding.
 */
export class EncoderLayer {
  constructor(
    readonly heads: number,
    readonly ln1: LayerNorm,
    readonly qkv: Dense,
    readonly out: Dense,
    readonly ln2: LayerNorm,
    readonly ffnIn: Dense,
    readonly ffnOut: Dense,
  ) {}

  apply(x: tf.Tensor3D, keep: tf.Tensor2D | null): tf.Tensor3D {
    const [b, l, d] = x.shape
    const h = this.heads
    const dh = d / h
    const qkv = this.qkv.apply(this.ln1.apply(x))
    // [B, L, d] -> [B·h, L, dh]
    const split = (i: number): tf.Tensor3D =>
      tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, 0, i * d], [b, l, d]), [b, l, h, dh]), [0, 2, 1, 3]), [b * h, l, dh])
    const q = tf.mul(split(0), 1 / Math.sqrt(dh)) as tf.Tensor3D
    const k = split(1)
    const v = split(2)
    let scores = tf.reshape(matMul(q, tf.transpose(k, [0, 2, 1])), [b, h, l, l])
    if (keep !== null) scores = tf.add(scores, tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [b, 1, 1, l]))
    const weights = tf.reshape(tf.softmax(scores), [b * h, l, l]) as tf.Tensor3D
    const context = tf.reshape(tf.transpose(tf.reshape(matMul(weights, v), [b, h, l, dh]), [0, 2, 1, 3]), [b, l, d])
    const y = tf.add(x, this.out.apply(context)) as tf.Tensor3D
    return tf.add(y, this.ffnOut.apply(tf.relu(this.ffnIn.apply(this.ln2.apply(y))))) as tf.Tensor3D
  }
}

export class TransformerEncoder {
  constructor(readonly layers: EncoderLayer[], readonly lnFinal: LayerNorm) {}
  apply(x: tf.Tensor3D, keep: tf.Tensor2D | null = null): tf.Tensor3D {
    let y = x
    for (const layer of this.layers) y = layer.apply(y, keep)
    return this.lnFinal.apply(y) as tf.Tensor3D
  }
}

/** Mean over axis 1 of [B, L, d], counting only positions where keep [B, L] is 1 (all when keep is null). */
export function meanPool(x: tf.Tensor3D, keep: tf.Tensor2D | null): tf.Tensor2D {
  if (keep === null) return tf.mean(x, 1)
  const sum = tf.sum(tf.mul(x, tf.expandDims(keep, 2)), 1)
  return tf.div(sum, tf.maximum(tf.sum(keep, 1, true), 1)) as tf.Tensor2D
}

/**
 * 1-D convolution [B, T, C] -> [B, ceil(T / stride), out] with 'same' zero padding, written as frame stacking:
 * `kernel` strided views of the padded input are concatenated on the channel axis ([B, T', kernel·C]) and
 * multiplied by a [kernel·C, out] matrix. Only pad, slice, reshape, concat and matMul: all train on wasm.
 */
export function frameConv1d(x: tf.Tensor3D, dense: Dense, kernel: number, stride: number): tf.Tensor3D {
  const [b, t, c] = x.shape
  const tOut = Math.ceil(t / stride)
  const left = Math.floor((kernel - 1) / 2)
  const needed = (kernel - 1) + stride * tOut // so every view below has stride·tOut frames
  const padded = tf.pad(x, [[0, 0], [left, needed - t - left], [0, 0]])
  const views: tf.Tensor[] = []
  for (let k = 0; k < kernel; k++) {
    // Frames k, k + stride, ...: a contiguous run reshaped to [tOut, stride, C], first of each stride.
    const run = tf.reshape(tf.slice(padded, [0, k, 0], [b, stride * tOut, c]), [b, tOut, stride * c])
    views.push(tf.slice(run, [0, 0, 0], [b, tOut, c]))
  }
  return dense.apply(views.length === 1 ? views[0]! : tf.concat(views, 2)) as tf.Tensor3D
}

/**
 * 2-D convolution [B, H, W, C] -> [B, ceil(H / stride), ceil(W / stride), out] with 'same' zero padding, as
 * im2col: kernel² strided views concatenated on channels, times a [kernel²·C, out] matrix. Ranks stay <= 4.
 */
export function im2colConv2d(x: tf.Tensor4D, dense: Dense, kernel: number, stride: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape
  const hOut = Math.ceil(h / stride)
  const wOut = Math.ceil(w / stride)
  const left = Math.floor((kernel - 1) / 2)
  const padded = tf.pad(x, [[0, 0], [left, kernel - 1 + stride * hOut - h - left], [left, kernel - 1 + stride * wOut - w - left], [0, 0]])
  const views: tf.Tensor[] = []
  for (let ky = 0; ky < kernel; ky++) {
    for (let kx = 0; kx < kernel; kx++) {
      let view: tf.Tensor = tf.slice(padded, [0, ky, kx, 0], [b, stride * hOut, stride * wOut, c])
      if (stride > 1) {
        // Rows: [B, hOut, stride, W'·C] -> first of each stride; columns likewise on [B, hOut, wOut, stride·C].
        view = tf.slice(tf.reshape(view, [b, hOut, stride, stride * wOut * c]), [0, 0, 0, 0], [b, hOut, 1, stride * wOut * c])
        view = tf.slice(tf.reshape(view, [b, hOut, wOut, stride * c]), [0, 0, 0, 0], [b, hOut, wOut, c])
      }
      views.push(view)
    }
  }
  return dense.apply(views.length === 1 ? views[0]! : tf.concat(views, 3)) as tf.Tensor4D
}
