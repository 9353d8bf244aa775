// Grouped codebooks (vq-wav2vec): a d-wide vector is split into G chunks and chunk g is replaced by its nearest
// code in codebook Ψ_g (K / G codes of width d / G). The same Ψ_g quantize text and audio, which is what puts
// the two modalities in one discrete space. Codes are not trained by gradients: they follow exponential moving
// averages of the vectors assigned to them (VQ-VAE, appendix A.1), computed on the host after the gradient step.

import * as tf from '@tensorflow/tfjs-core'
import { seededRandom, randomInt } from '../random.js'
import type { TurnConfig } from './config.js'
import type { ParamStore } from './layers.js'
import { matMul, oneHotFloat, readInts, stopGradient, straightThrough } from './ops.js'

/** Vectors that went through the codebooks in one step and the code each chunk took: the EMA update's input. */
export interface CodebookAssignments {
  /** [N, d] row-major pre-quantization vectors (host copy). */
  vectors: Float32Array
  /** [N, G] row-major code index per vector and group. */
  indices: Int32Array
  /** N. */
  count: number
}

/** One codebook's EMA state as host arrays: codes [K, dim], cluster sizes [K], sums of assigned vectors [K, dim]. */
export interface EmaState {
  codes: Float32Array
  clusterSize: Float32Array
  sum: Float32Array
}

export interface EmaSettings {
  /** γ. */
  decay: number
  /** Laplace smoothing ε. */
  epsilon: number
  /** Codes whose cluster size ends below this are re-initialised. */
  deadCodeThreshold: number
  /** Draws the batch vector that replaces a dead code. */
  random: () => number
}

/**
 * One EMA step of one codebook (pure; returns new arrays). With n_i the number of vectors assigned to code i
 * and s_i their sum: N_i <- γ N_i + (1 - γ) n_i; m_i <- γ m_i + (1 - γ) s_i; Ñ_i = (N_i + ε) / (ΣN + K ε) · ΣN;
 * e_i = m_i / Ñ_i. A code with N_i < deadCodeThreshold afterwards becomes a random vector of the batch, with
 * N_i = 1 and m_i = e_i.
 */
export function emaUpdate(state: EmaState, vectors: Float32Array, indices: Int32Array, dim: number, s: EmaSettings): EmaState {
  const k = state.clusterSize.length
  const n = indices.length
  const counts = new Float32Array(k)
  const sums = new Float32Array(k * dim)
  for (let r = 0; r < n; r++) {
    const i = indices[r] as number
    counts[i]! += 1
    for (let j = 0; j < dim; j++) sums[i * dim + j]! += vectors[r * dim + j] as number
  }
  const clusterSize = new Float32Array(k)
  const sum = new Float32Array(k * dim)
  let total = 0
  for (let i = 0; i < k; i++) {
    clusterSize[i] = s.decay * (state.clusterSize[i] as number) + (1 - s.decay) * (counts[i] as number)
    total += clusterSize[i] as number
  }
  for (let x = 0; x < k * dim; x++) sum[x] = s.decay * (state.sum[x] as number) + (1 - s.decay) * (sums[x] as number)
  const codes = new Float32Array(k * dim)
  for (let i = 0; i < k; i++) {
    const smoothed = (((clusterSize[i] as number) + s.epsilon) / (total + k * s.epsilon)) * total
    for (let j = 0; j < dim; j++) codes[i * dim + j] = (sum[i * dim + j] as number) / smoothed
  }
  for (let i = 0; i < k; i++) {
    if ((clusterSize[i] as number) >= s.deadCodeThreshold || n === 0) continue
    const r = randomInt(s.random, n)
    for (let j = 0; j < dim; j++) {
      codes[i * dim + j] = vectors[r * dim + j] as number
      sum[i * dim + j] = vectors[r * dim + j] as number
    }
    clusterSize[i] = 1
  }
  return { codes, clusterSize, sum }
}

interface Group {
  codes: tf.Variable
  clusterSize: tf.Variable
  sum: tf.Variable
}

export interface Quantized {
  /** [N, d] straight-through output: the codes' values, the identity's gradient to the input. */
  quantized: tf.Tensor2D
  /** mean((f - sg[q])²): the commitment term before β. */
  commitment: tf.Scalar
  /** [N, G] int32 code per group. */
  indices: tf.Tensor2D
}

export class GroupedCodebook {
  readonly groups: Group[] = []
  readonly codesPerGroup: number
  readonly groupDim: number

  constructor(store: ParamStore, readonly config: TurnConfig) {
    this.codesPerGroup = config.codebookSize / config.codebookGroups
    this.groupDim = config.dModel / config.codebookGroups
    for (let g = 0; g < config.codebookGroups; g++) {
      // Codes start as unit normals (the scale of layer-normed, pooled features); EMA state starts consistent
      // with them (N_i = 1, m_i = e_i), so the first update moves codes by (1 - γ) of the way.
      const codes = store.add(`codebook/group${g}/codes`, [this.codesPerGroup, this.groupDim], 'normal', false)
      const clusterSize = store.add(`codebook/group${g}/ema_cluster_size`, [this.codesPerGroup], 'ones', false)
      const sum = store.add(`codebook/group${g}/ema_sum`, [this.codesPerGroup, this.groupDim], 'zeros', false)
      sum.assign(codes)
      this.groups.push({ codes, clusterSize, sum })
    }
  }

  /** Nearest code per group for f [N, d]; no gradient flows through the choice. */
  quantize(f: tf.Tensor2D): Quantized {
    const n = f.shape[0]
    const fixed = stopGradient(f) as tf.Tensor2D
    const chunks: tf.Tensor2D[] = []
    const indices: tf.Tensor1D[] = []
    this.groups.forEach((group, g) => {
      const x = tf.slice(fixed, [0, g * this.groupDim], [n, this.groupDim])
      const codes = group.codes as tf.Tensor2D
      // ||x - c||² = ||x||² - 2 x·c + ||c||², argmin over codes.
      const cross = matMul(x, tf.transpose(codes))
      const distance = tf.add(tf.sub(tf.sum(tf.square(x), 1, true), tf.mul(cross, 2)), tf.sum(tf.square(codes), 1))
      const idx = tf.argMin(distance, 1) as tf.Tensor1D
      indices.push(idx)
      // Lookup as one-hot · codes, never tf.gather (no gather gradient on wasm).
      chunks.push(matMul(oneHotFloat(idx, this.codesPerGroup) as tf.Tensor2D, codes))
    })
    const q = (chunks.length === 1 ? chunks[0]! : tf.concat(chunks, 1)) as tf.Tensor2D
    // q depends only on non-trainable codes, so it is already sg[q] for every trainable variable.
    const commitment = tf.mean(tf.square(tf.sub(f, q))) as tf.Scalar
    return { quantized: straightThrough(f, q) as tf.Tensor2D, commitment, indices: tf.stack(indices, 1) as tf.Tensor2D }
  }

  /** Host copies of the vectors and indices of one quantize call, for updateCodebooks. */
  static assignments(f: tf.Tensor2D, indices: tf.Tensor2D): CodebookAssignments {
    return { vectors: Float32Array.from(f.dataSync()), indices: readInts(indices), count: f.shape[0] }
  }

  /** One EMA step of every group from `batches` (text and audio vectors of a step); `seed` drives dead-code draws. */
  update(batches: CodebookAssignments[], seed: number): void {
    const random = seededRandom(seed)
    const total = batches.reduce((a, b) => a + b.count, 0)
    const d = this.config.dModel
    const groupCount = this.config.codebookGroups
    this.groups.forEach((group, g) => {
      const vectors = new Float32Array(total * this.groupDim)
      const indices = new Int32Array(total)
      let row = 0
      for (const batch of batches) {
        for (let r = 0; r < batch.count; r++, row++) {
          vectors.set(batch.vectors.subarray(r * d + g * this.groupDim, r * d + (g + 1) * this.groupDim), row * this.groupDim)
          indices[row] = batch.indices[r * groupCount + g] as number
        }
      }
      const next = emaUpdate(
        {
          codes: group.codes.dataSync() as Float32Array,
          clusterSize: group.clusterSize.dataSync() as Float32Array,
          sum: group.sum.dataSync() as Float32Array,
        },
        vectors,
        indices,
        this.groupDim,
        { decay: this.config.codebookDecay, epsilon: this.config.codebookEpsilon, deadCodeThreshold: this.config.deadCodeThreshold, random },
      )
      tf.tidy(() => {
        group.codes.assign(tf.tensor(next.codes, group.codes.shape))
        group.clusterSize.assign(tf.tensor(next.clusterSize, group.clusterSize.shape))
        group.sum.assign(tf.tensor(next.sum, group.sum.shape))
      })
    })
  }
}
