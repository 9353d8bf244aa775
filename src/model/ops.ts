// Tensor operations whose gradients exist and are fast on every backend (docs/tfjs.md):
// - matMul: on wasm without turnkit's kernels the stock gradient uses transposeA/B, 10x slower than an explicit
//   transpose (pitfall 5);
// - stop-gradient and straight-through: tfjs has neither (pitfall 4), so both are tf.customGrad;
// - row gathers (token embeddings, masked positions): the stock gradient is UnsortedSegmentSum, absent on wasm
//   and very slow on cpu (pitfalls 1, 2), so the gradient is a scatter-add of its own;
// - one-hot: tf.oneHot(...).cast('float32'), never the float dtype argument (pitfall 3).

import * as tf from '@tensorflow/tfjs-core'
import { registerGradients } from './gradients.js'
import { hasNativeSegmentSum, usesExplicitTransposeMatMul } from './backend.js'

// tfjs-core's Node build registers neither gradients nor chained methods (x.reshape()): the first is done
// here, once, for every module that builds graphs; the second is avoided (functional tf.reshape(x) throughout).
registerGradients()

// tf.customGrad's declared input type (Tensor | GradSaveFunc) cannot name positional parameters; this can.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type GradientFunc = (...inputs: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }
const customGrad = (f: GradientFunc): ((...inputs: tf.Tensor[]) => tf.Tensor) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])

/** Swap the last two axes of a rank-2 or rank-3 tensor. */
const swapLast = (x: tf.Tensor): tf.Tensor => (x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [0, 2, 1]))

// a · b for rank 2 or rank 3 (batched, same batch size), with a gradient that transposes explicitly.
const explicitTransposeMatMul = customGrad((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b])
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor]
      return [tf.matMul(dy as tf.Tensor3D, swapLast(sb) as tf.Tensor3D), tf.matMul(swapLast(sa) as tf.Tensor3D, dy as tf.Tensor3D)]
    },
  }
})

/** a · b (rank 2 or batched rank 3); on wasm without turnkit's kernels, with the explicit-transpose gradient. */
export function matMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  return (usesExplicitTransposeMatMul() ? explicitTransposeMatMul(a, b) : tf.matMul(a, b)) as T
}

/** x · kernel (+ bias) over the last axis of x, any rank: [..., in] -> [..., out]. */
export function linear(x: tf.Tensor, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const shape = x.shape
  const inDim = shape[shape.length - 1] as number
  const y = matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, kernel)
  const out = bias === undefined ? y : tf.add(y, bias)
  return tf.reshape(out, [...shape.slice(0, -1), kernel.shape[1]])
}

/** Identity forward, zero gradient: sg[x]. */
export const stopGradient = customGrad((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
}))

/** Value of `quantized`, gradient passed to `input` unchanged: x + sg[q - x] (VQ-VAE's straight-through). */
export const straightThrough = customGrad((input: tf.Tensor, quantized: tf.Tensor) => ({
  value: tf.clone(quantized),
  gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.zerosLike(dy)],
}))

/** One-hot rows as float32 (never tf.oneHot's dtype argument, wrong on wasm). */
export const oneHotFloat = (indices: tf.Tensor, depth: number): tf.Tensor =>
  tf.tidy(() => tf.cast(tf.oneHot(tf.cast(indices, 'int32') as tf.Tensor1D, depth), 'float32'))

/**
 * Rows `indices` of `table` [N, d] -> [indices.length, d]. Forward is tf.gather; the gradient is a
 * scatter-add (native UnsortedSegmentSum where the backend has a fast one, else in JavaScript), so it trains on
 * wasm and cpu and costs O(rows · d) instead of the O(rows · N · d) of a one-hot product.
 */
export function gatherRows(table: tf.Tensor2D, indices: Int32Array): tf.Tensor2D {
  const [n, d] = table.shape
  for (const i of indices) {
    if (!(i >= 0 && i < n)) throw new Error(`gatherRows: index ${i} outside [0, ${n})`)
  }
  const gather = customGrad((t: tf.Tensor) => ({
    value: tf.gather(t, tf.tensor1d(indices, 'int32')),
    // The forward tidy of tf.variableGrads frees forward tensors before the backward pass, so the gradient
    // builds what it needs from host data.
    gradFunc: (dy: tf.Tensor) => [scatterAddRows(dy as tf.Tensor2D, indices, n, d)],
  }))
  return gather(table) as tf.Tensor2D
}

function scatterAddRows(dy: tf.Tensor2D, indices: Int32Array, n: number, d: number): tf.Tensor2D {
  if (hasNativeSegmentSum()) return tf.tidy(() => tf.unsortedSegmentSum(dy, tf.tensor1d(indices, 'int32'), n))
  const grad = new Float32Array(n * d)
  const rows = dy.dataSync()
  for (let r = 0; r < indices.length; r++) {
    const to = (indices[r] as number) * d
    const from = r * d
    for (let j = 0; j < d; j++) grad[to + j] += rows[from + j] as number
  }
  return tf.tensor2d(grad, [n, d])
}

/** Ids of a [B, L] int32 tensor, read once (indices for gatherRows and masks are host data). */
export const readInts = (x: tf.Tensor): Int32Array => Int32Array.from(x.dataSync())
