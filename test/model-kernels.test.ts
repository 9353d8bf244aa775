// turnkit's kernels for the wasm backend (src/model/wasm-kernels.ts), bit for bit: every product against float32
// arithmetic written out here (each output's products added in order, every step rounded to float32), plain
// products also against the backend's own (XNNPACK: the same order), every transpose against the backend's own.
// Odd sizes (not multiples of the 4-wide vectors, the 8-column panels, the 4-row blocks or the 32 x 32 transpose
// blocks), broadcast batches, size-1 and size-0 dimensions, and int32 for the transpose.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-wasm'
import { AdamW, adamWInternals } from '../src/train/optimizer.js'
import { installWasmKernels, matMulCounts, matMulInternals, matMulThreadsFrom, MATMUL_THREADS_DEFAULT, setMatMulThreads, sliceAsRuns, sumAsReduction, transposeAsMove } from '../src/model/wasm-kernels.js'

const PRODUCTS: [number[], number[], boolean, boolean][] = [
  [[32, 55, 55], [32, 55, 32], false, false],
  [[32, 55, 32], [32, 55, 32], false, true],
  [[32, 55, 32], [32, 55, 55], true, false],
  [[3, 7, 9], [9, 13], false, false],
  [[13, 9], [13, 5], true, false],
  [[2, 3, 5, 7], [2, 3, 7, 6], false, false],
  [[64, 31, 31], [64, 31, 32], false, false],
  [[5, 1, 3], [5, 3, 1], false, false],
  [[4, 97, 50], [4, 33, 50], false, true],
  [[2, 50, 97], [2, 33, 50], true, true],
  [[1024, 576], [1024, 256], true, false], // A transposed with rows 4 kB apart (the packed path)
  [[240, 256], [256, 1024], false, false], // plain: the backend's XNNPACK path before
  [[62, 300], [300, 129], false, false],
  [[7, 0], [0, 5], false, false],
  [[4, 600, 135], [4, 97, 600], true, true], // large enough for helper threads: odd rows, both transposed
  [[8, 130, 129], [8, 129, 131], false, false], // and batched
]

/** op(A) op(B) in float32, each output's products added in order from zero, broadcasting a batch of 1. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float32Array {
  const [x, y] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array]
  const [ra, rb] = [a.shape.length, b.shape.length]
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!
  const batchA = a.shape.slice(0, -2).reduce((u, v) => u * v, 1)
  const batchB = b.shape.slice(0, -2).reduce((u, v) => u * v, 1)
  const batch = Math.max(batchA, batchB)
  const out = new Float32Array(batch * m * n)
  for (let t = 0; t < batch; t++) {
    const ao = (batchA === 1 ? 0 : t) * m * k
    const bo = (batchB === 1 ? 0 : t) * k * n
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0
        for (let p = 0; p < k; p++) {
          const av = x[ao + (ta ? p * m + i : i * k + p)]!
          const bv = y[bo + (tb ? j * k + p : p * n + j)]!
          acc = Math.fround(acc + Math.fround(av * bv))
        }
        out[t * m * n + i * n + j] = acc
      }
  }
  return out
}

const TRANSPOSES: [number[], number[], 'float32' | 'int32'][] = [
  [[576, 1024], [1, 0], 'float32'],
  [[1023, 257], [1, 0], 'float32'],
  [[3, 5], [1, 0], 'int32'],
  [[32, 54, 64], [0, 2, 1], 'float32'],
  [[4, 54, 8, 32], [0, 2, 1, 3], 'float32'],
  [[4, 53, 7, 3], [0, 2, 1, 3], 'int32'],
  [[6, 5, 4], [1, 0, 2], 'float32'],
  [[6, 5, 4], [2, 0, 1], 'float32'],
  [[6, 5, 4], [1, 2, 0], 'float32'],
  [[2, 3, 4, 5], [0, 3, 1, 2], 'float32'],
  [[2, 3, 4, 5], [3, 2, 1, 0], 'float32'], // not one move: the backend's own kernel
  [[1, 7, 1, 9], [3, 2, 1, 0], 'float32'],
  [[7, 9], [0, 1], 'float32'],
  [[0, 9], [1, 0], 'float32'],
]

// shape, axes, keepDims, dtype; values spread over 20 binary orders of magnitude, so that another order of addition
// gives other bits.
const SUMS: [number[], number | number[], boolean, 'float32' | 'int32'][] = [
  [[3001, 67], 0, false, 'float32'], // a bias gradient: rows summed down the columns
  [[62, 301], 1, true, 'float32'], // rows summed across: four at a time, and the rows left over
  [[4, 9, 9, 7], [0, 1, 2], false, 'float32'],
  [[4, 9, 9, 7], -1, false, 'float32'],
  [[2, 3, 4, 5], [1, 2], true, 'float32'],
  [[5, 1, 6], [0, 2], false, 'float32'], // neighbours once the size-1 axis is dropped
  [[1001], 0, false, 'float32'],
  [[3, 4], [], false, 'float32'],
  [[6, 5, 4], [0, 2], false, 'float32'], // not one reduction: the backend's own kernel
  [[6, 5, 4], [2, 1], false, 'float32'], // the backend adds in the order given: its own kernel
  [[5, 6], 0, false, 'int32'],
  [[0, 5], 0, false, 'float32'], // an empty sum: zeros (the backend's own leaves the output as it found the memory)
]

// shape, begin, size (-1: to the end), dtype.
const SLICES: [number[], number[], number[], 'float32' | 'int32'][] = [
  [[16, 218, 128], [0, 1, 0], [16, 216, 128], 'float32'], // runs of whole rows: 16 of 216 x 128
  [[16, 54, 192], [0, 0, 64], [16, 54, 64], 'float32'], // a third of the last axis: 864 runs of 64
  [[16, 6, 6, 64], [0, 1, 1, 0], [16, 4, 4, 64], 'float32'],
  [[5, 7, 9], [1, 2, 3], [3, -1, 5], 'int32'], // odd runs, int32, a size to the end
  [[2, 3, 4, 5, 6], [0, 1, 1, 1, 1], [2, 2, 2, 2, 2], 'float32'], // four levels of runs: the backend's own kernel
  [[6, 10], [2, 0], [3, 10], 'float32'], // consecutive values: the backend's own kernel
  [[6, 10], [2, 3], [0, 4], 'float32'], // empty
]

// table shape, indices, axis, dtype.
const GATHERS: [number[], number[], number, 'float32' | 'int32'][] = [
  [[1000, 64], Array.from({ length: 960 }, (_, i) => (i * 7919) % 1000), 0, 'float32'],
  [[4, 10, 3], [9, 0, 0, 5, 2], 1, 'int32'],
  [[7, 5], [6, 6, 1], -2, 'float32'],
  [[7, 5], [], 0, 'float32'],
]

const spread = (shape: number[], seed: number): tf.Tensor =>
  tf.tidy(() => tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), tf.exp(tf.randomUniform(shape, 0, 14, 'float32', seed + 1))))

/** The sum over the neighbouring `axes` of `x` as float32 arithmetic in memory order does it, from zero. */
function sumReference(x: tf.Tensor, axes: number[]): Float32Array {
  const r = sumAsReduction(x.shape, axes)!
  const v = x.dataSync() as Float32Array
  const out = new Float32Array(r.outer * r.inner)
  for (let o = 0; o < r.outer; o++)
    for (let i = 0; i < r.inner; i++) {
      let acc = 0
      for (let k = 0; k < r.reduce; k++) acc = Math.fround(acc + v[(o * r.reduce + k) * r.inner + i]!)
      out[o * r.inner + i] = acc
    }
  return out
}

const bits = (x: tf.Tensor): Uint32Array => new Uint32Array((x.dataSync() as Float32Array | Int32Array).slice().buffer)

const operand = (shape: number[], dtype: 'float32' | 'int32', seed: number): tf.Tensor =>
  dtype === 'int32' ? tf.randomUniform(shape, -1000, 1000, 'int32', seed) : tf.randomUniform(shape, -1, 1, 'float32', seed)

describe('turnkit kernels for the wasm backend', () => {
  const products: { a: tf.Tensor; b: tf.Tensor; ta: boolean; tb: boolean; backend: Float32Array }[] = []
  const transposes: { x: tf.Tensor; perm: number[]; want: Float32Array | Int32Array; shape: number[] }[] = []
  const sums: { x: tf.Tensor; want: Uint32Array; shape: number[] }[] = []
  const slices: { x: tf.Tensor; want: Uint32Array; shape: number[] }[] = []
  const gathers: { x: tf.Tensor; indices: tf.Tensor; want: Uint32Array; shape: number[] }[] = []
  let outOfRange = ''
  before(async () => {
    assert.ok(await tf.setBackend('wasm'))
    await tf.ready()
    // The backend's own kernels: nothing of turnkit's is installed yet in this process.
    for (const [i, [sa, sb, ta, tb]] of PRODUCTS.entries()) {
      const a = operand(sa, 'float32', 2 * i)
      const b = operand(sb, 'float32', 2 * i + 1)
      products.push({ a, b, ta, tb, backend: tf.matMul(a, b, ta, tb).dataSync() as Float32Array })
    }
    for (const [i, [shape, perm, dtype]] of TRANSPOSES.entries()) {
      const x = operand(shape, dtype, 100 + i)
      const y = tf.transpose(x, perm)
      transposes.push({ x, perm, want: y.dataSync() as Float32Array | Int32Array, shape: y.shape })
    }
    for (const [i, [shape, axis, keepDims, dtype]] of SUMS.entries()) {
      const x = dtype === 'int32' ? operand(shape, dtype, 200 + i) : spread(shape, 200 + 2 * i)
      if (i === 0) {
        // Signed zeros and non-finite values go through as the backend adds them.
        const v = x.dataSync() as Float32Array
        v.set([-0, -0, Infinity, NaN, -Infinity], 0)
        v.set([-0], 67)
      }
      const y = tf.sum(x, axis, keepDims)
      sums.push({ x, want: bits(y), shape: y.shape })
    }
    for (const [i, [shape, begin, size, dtype]] of SLICES.entries()) {
      const x = operand(shape, dtype, 300 + i)
      const y = tf.slice(x, begin, size)
      slices.push({ x, want: bits(y), shape: y.shape })
    }
    for (const [i, [shape, idx, axis, dtype]] of GATHERS.entries()) {
      const [x, indices] = [operand(shape, dtype, 400 + i), tf.tensor1d(idx, 'int32')]
      const y = tf.gather(x, indices, axis)
      gathers.push({ x, indices, want: bits(y), shape: y.shape })
    }
    outOfRange = (() => {
      try {
        tf.gather(tf.zeros([3, 2]), tf.tensor1d([0, 3], 'int32'))
        return 'no error'
      } catch (error) {
        return (error as Error).message
      }
    })()
    installWasmKernels()
  })

  it('gives every product bit for bit as float32 arithmetic in order does, and plain products as the backend does', () => {
    let plain = 0
    for (const [i, { a, b, ta, tb, backend }] of products.entries()) {
      const got = tf.matMul(a, b, ta, tb).dataSync() as Float32Array
      const what = `product ${JSON.stringify(PRODUCTS[i])}`
      assert.equal(got.length, backend.length, what)
      assert.deepEqual(got, reference(a, b, ta, tb), what)
      if (a.size === 0) {
        assert.ok(got.every((v) => Object.is(v, 0)), `${what}: an empty sum is 0`)
      } else if (a.rank === 2 && b.rank === 2 && !ta && !tb) {
        assert.deepEqual(got, backend, `${what}: the backend's own`)
        plain++
      } else {
        // The backend summed these in tiles of 48: float rounding apart, never more.
        const scale = backend.reduce((s, v) => Math.max(s, Math.abs(v)), 1e-30)
        assert.ok(got.every((v, e) => Math.abs(v - backend[e]!) <= 1e-5 * scale), `${what}: far from the backend's own`)
      }
    }
    assert.equal(plain, 2)
  })

  it('gives the same bits on 1, 2 and 3 threads', () => {
    const on = (threads: number): Float32Array[] => {
      setMatMulThreads(threads)
      return products.map(({ a, b, ta, tb }) => tf.matMul(a, b, ta, tb).dataSync() as Float32Array)
    }
    try {
      const split = matMulCounts.split
      const one = on(1)
      assert.equal(matMulCounts.split, split)
      for (const threads of [2, 3]) {
        const before = matMulCounts.split
        const got = on(threads)
        assert.ok(matMulCounts.split - before >= 4, `products split over ${threads} threads: ${matMulCounts.split - before} (the rest are too small to pay for it)`)
        for (const [i, want] of one.entries()) assert.deepEqual(got[i], want, `product ${JSON.stringify(PRODUCTS[i])} on ${threads} threads`)
      }
      // A helper not yet woken is never waited for: this thread takes its share back (the same bits again).
      matMulInternals.wakeHelpers = false
      const [splitBefore, takenBack] = [matMulCounts.split, matMulCounts.takenBack]
      const alone = on(2)
      assert.ok(matMulCounts.split > splitBefore)
      assert.equal(matMulCounts.takenBack - takenBack, matMulCounts.split - splitBefore)
      for (const [i, want] of one.entries()) assert.deepEqual(alone[i], want, `product ${JSON.stringify(PRODUCTS[i])}, shares taken back`)
    } finally {
      matMulInternals.wakeHelpers = true
      setMatMulThreads(MATMUL_THREADS_DEFAULT)
    }
    assert.throws(() => setMatMulThreads(0), /TURNKIT_MATMUL_THREADS = '0'/)
    assert.throws(() => matMulThreadsFrom({ TURNKIT_MATMUL_THREADS: 'two' }), /'two' is not a whole number of threads/)
    assert.equal(matMulThreadsFrom({}), MATMUL_THREADS_DEFAULT)
  })

  it('gives every transpose as the backend does, and makes every model-shaped permutation one move', () => {
    for (const [i, { x, perm, want, shape }] of transposes.entries()) {
      const y = tf.transpose(x, perm)
      assert.deepEqual(y.shape, shape)
      assert.deepEqual(y.dataSync(), want, `transpose ${JSON.stringify(TRANSPOSES[i])}`)
    }
    assert.deepEqual(transposeAsMove([576, 1024], [1, 0]), { outer: 1, rows: 576, cols: 1024, inner: 1 })
    assert.deepEqual(transposeAsMove([4, 54, 8, 32], [0, 2, 1, 3]), { outer: 4, rows: 54, cols: 8, inner: 32 })
    assert.deepEqual(transposeAsMove([2, 3, 4, 5], [0, 3, 1, 2]), { outer: 2, rows: 12, cols: 5, inner: 1 })
    assert.deepEqual(transposeAsMove([1, 7, 1, 9], [3, 2, 1, 0]), { outer: 1, rows: 7, cols: 9, inner: 1 })
    assert.equal(transposeAsMove([2, 3, 4, 5], [3, 2, 1, 0]), null)
  })

  it('gives every sum bit for bit as the backend does, without its transpose, and as float32 arithmetic in order', () => {
    for (const [i, { x, want, shape }] of sums.entries()) {
      const [, axis, keepDims] = SUMS[i]!
      const y = tf.sum(x, axis, keepDims)
      assert.deepEqual(y.shape, shape, `sum ${JSON.stringify(SUMS[i])}`)
      if (x.size === 0) assert.deepEqual([...y.dataSync()], Array.from({ length: y.size }, () => 0), 'an empty sum')
      else assert.deepEqual(bits(y), want, `sum ${JSON.stringify(SUMS[i])}`)
      const axes = tf.util.parseAxisParam(axis, x.shape)
      if (x.dtype === 'float32' && sumAsReduction(x.shape, axes) !== null) {
        assert.deepEqual(bits(tf.tensor(sumReference(x, axes))), bits(y), `sum ${JSON.stringify(SUMS[i])} in order`)
      }
    }
    // The order matters for these values: four partial sums give other bits for most columns.
    const [x, want] = [sums[0]!.x, sums[0]!.want]
    const v = x.dataSync() as Float32Array
    let differ = 0
    for (let c = 1; c < 67; c++) {
      const lanes = [0, 0, 0, 0]
      for (let r = 0; r < 3001; r++) lanes[r % 4] = Math.fround(lanes[r % 4]! + v[r * 67 + c]!)
      if (new Uint32Array(Float32Array.of(Math.fround(Math.fround(lanes[0]! + lanes[1]!) + Math.fround(lanes[2]! + lanes[3]!))).buffer)[0] !== want[c]) differ++
    }
    assert.ok(differ > 30, `only ${differ} of 66 columns depend on the order`)
    assert.deepEqual(sumAsReduction([36864, 64], [0]), { outer: 1, reduce: 36864, inner: 64 })
    assert.deepEqual(sumAsReduction([4, 96, 96, 64], [0, 1, 2]), { outer: 1, reduce: 36864, inner: 64 })
    assert.deepEqual(sumAsReduction([62, 30522], [1]), { outer: 62, reduce: 30522, inner: 1 })
    assert.deepEqual(sumAsReduction([5, 1, 6], [0, 2]), { outer: 1, reduce: 30, inner: 1 })
    assert.equal(sumAsReduction([6, 5, 4], [0, 2]), null)
    assert.equal(sumAsReduction([6, 5, 4], [2, 1]), null)
  })

  it('gives every slice and gather bit for bit as the backend does, and its error for an index out of range', () => {
    for (const [i, { x, want, shape }] of slices.entries()) {
      const [, begin, size] = SLICES[i]!
      const y = tf.slice(x, begin, size)
      assert.deepEqual(y.shape, shape, `slice ${JSON.stringify(SLICES[i])}`)
      assert.deepEqual(bits(y), want, `slice ${JSON.stringify(SLICES[i])}`)
    }
    for (const [i, { x, indices, want, shape }] of gathers.entries()) {
      const y = tf.gather(x, indices, GATHERS[i]![2])
      assert.deepEqual(y.shape, shape, `gather ${i}`)
      assert.deepEqual(bits(y), want, `gather ${i}`)
    }
    assert.match(outOfRange, /GatherV2: the index value 3 is not in \[0, 2\]/)
    assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([0, 3], 'int32')), (e: Error) => e.message === outOfRange)
    assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([-1], 'int32')), /GatherV2: the index value -1 is not in \[0, 2\]/)
    assert.deepEqual(sliceAsRuns([16, 218, 128], [0, 1, 0], [16, 216, 128]), { offset: 128, runs: [[16, 218 * 128]], run: 216 * 128 })
    assert.deepEqual(sliceAsRuns([16, 54, 192], [0, 0, 64], [16, 54, 64]), { offset: 64, runs: [[16 * 54, 192]], run: 64 })
    assert.deepEqual(sliceAsRuns([6, 10], [2, 0], [3, 10]), { offset: 20, runs: [], run: 30 })
    assert.equal(sliceAsRuns([2, 3, 4, 5, 6], [0, 1, 1, 1, 1], [2, 2, 2, 2, 2]), null)
  })

  it('gives AdamW updates and gradient norms bit for bit as the tensor operations do, clipped or not', () => {
    const shapes = [[37], [5, 7], [130, 33]]
    const make = (): Map<string, tf.Variable> => new Map(shapes.map((shape, i) => [`p${i}`, tf.variable(spread(shape, 500 + 2 * i), true, `adamw-${Math.random()}`)]))
    const [fusedParams, plainParams] = [make(), make()]
    const [fused, plain] = [new AdamW({ weightDecay: 1e-2, clipNorm: 40 }), new AdamW({ weightDecay: 1e-2, clipNorm: 40 })]
    let clipped = 0
    for (let step = 0; step < 6; step++) {
      // Gradients large enough that the norm is clipped in some steps and not in others.
      const grads = Object.fromEntries(shapes.map((shape, i) => [`p${i}`, tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 600 + 10 * step + i), step % 2 === 0 ? 0.1 : 3)]))
      adamWInternals.fused = true
      const normFused = fused.apply(fusedParams, grads, 1e-3 * (step + 1))
      adamWInternals.fused = false
      const normPlain = plain.apply(plainParams, grads, 1e-3 * (step + 1))
      adamWInternals.fused = true
      assert.equal(normFused, normPlain, `step ${step}: gradient norm`)
      if (normPlain > 40) clipped++
      for (const [name, p] of fusedParams) assert.deepEqual(bits(p), bits(plainParams.get(name)!), `step ${step}: ${name}`)
      const [a, b] = [fused.state().tensors, plain.state().tensors]
      for (const key of Object.keys(b)) assert.deepEqual(bits(a[key]!), bits(b[key]!), `step ${step}: ${key}`)
      tf.dispose(Object.values(grads))
    }
    assert.ok(clipped >= 2 && clipped <= 4, `${clipped} of 6 steps clipped`)
  })

  it('is installed once: a second install keeps the kernels as they are', () => {
    const kernel = tf.getKernel('Transpose', 'wasm')
    installWasmKernels()
    assert.equal(tf.getKernel('Transpose', 'wasm'), kernel)
    assert.equal((kernel?.kernelFunc as { turnkit?: boolean }).turnkit, true)
  })
})
