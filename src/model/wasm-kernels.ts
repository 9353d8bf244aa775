// Kernels turnkit gives TensorFlow.js's wasm backend where its own are slow (docs/tfjs.md). BatchMatMul: the backend
// runs a product with a transposed operand (every matMul gradient has one) or a batch of products (the attention
// products of every head, [B, L, L] x [B, L, d]) on a scalar loop at 8-30 GFLOP/s, and a plain matrix on XNNPACK
// at about 45; turnkit's runs every float32 product at about 60 on one core, packing the operands so that its inner
// loop reads both at consecutive addresses. Transpose: the backend walks the output element by element through
// strided reads (0.1-0.5 G elements/s; a [1024, 256] transpose took 2 ms), and every matMul gradient transposes an
// operand (docs/tfjs.md, pitfall 5). Sum: the backend transposes the reduced axes innermost first, with its slow
// transpose (a [36864, 64] -> [64] sum, a bias gradient, took 26 ms); turnkit's sums in place, in the same order.
// Slice and GatherV2: the backend copies a slice row by row from JavaScript ([16, 218, 128] -> [16, 216, 128]:
// 3,456 copies of 128 values, where 16 of 27,648 do) and gathers element by element (960 rows of 64: 1.9 ms);
// turnkit's copy whole runs of values.
// wasm/turnkit-kernels.wasm (native/kernels/turnkit-kernels.c, built by scripts/build-wasm.sh) runs them all with
// WebAssembly SIMD inside the backend's own memory: it imports that memory, so operands are read and results
// written in place, with no copy. The product adds each output's k products in order, without fused multiply-add,
// as XNNPACK does: plain products are bit-identical to the backend's, and every machine computes the same bits.
// (The backend's transposed and batched products summed in tiles of 48; against those, results differ by float
// rounding only.) A transpose only moves bits.
// Threads: the backend's memory is not shared, so a product large enough to pay for it (PARALLEL_FLOPS) is split by
// rows: helper threads (worker_threads) run the same kernel, built for a shared memory, on copies of A and B there,
// while this thread computes its own rows in place, then copies the helpers' rows back. Each output is computed
// whole by one thread in the same order, so the bits do not depend on the number of threads (tested).
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import { packageRoot } from '../config.js'

/** What the wasm backend object offers that these kernels use (tfjs-backend-wasm's BackendWasm). */
interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(pointer: number): void }
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

interface Kernels {
  tk_bmm(a: number, b: number, c: number, scratch: number, batch: number, batchA: number, batchB: number, m: number, k: number, n: number, transA: number, transB: number, row0: number, row1: number): void
  tk_transpose(input: number, output: number, outer: number, rows: number, cols: number, inner: number): void
  tk_sum(input: number, output: number, outer: number, reduce: number, inner: number): void
  tk_slice(input: number, output: number, n0: number, n1: number, n2: number, s0: number, s1: number, s2: number, run: number): void
  tk_gather(x: number, indices: number, output: number, outer: number, dim: number, count: number, row: number): void
  tk_sum_squares(g: number, n: number): number
  tk_adamw(p: number, m: number, v: number, grad: number, pOut: number, mOut: number, vOut: number, n: number, scaled: number, scale: number, b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, c1: number, c2: number, eps: number, wd: number, lr: number): void
}

/** Where a tensor's values start in the backend's memory (bytes). */
const offsetOf = (backend: WasmBackend, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset

const instances = new WeakMap<WebAssembly.Memory, Kernels>()

function kernelsFor(memory: WebAssembly.Memory): Kernels {
  let kernels = instances.get(memory)
  if (kernels === undefined) {
    const bytes = readFileSync(join(packageRoot(), 'wasm', 'turnkit-kernels.wasm'))
    kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Kernels
    instances.set(memory, kernels)
  }
  return kernels
}

/** Threads a large product is split over (this one included) unless TURNKIT_MATMUL_THREADS says: the cores, at most 4. */
export const MATMUL_THREADS_DEFAULT = Math.min(4, availableParallelism())
let matMulThreads = MATMUL_THREADS_DEFAULT

/** The thread count TURNKIT_MATMUL_THREADS asks for (unset or empty: the default); an error naming it otherwise. */
export function matMulThreadsFrom(env: NodeJS.ProcessEnv): number {
  const value = env.TURNKIT_MATMUL_THREADS
  if (value === undefined || value.trim() === '') return MATMUL_THREADS_DEFAULT
  const n = Number(value)
  if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error(`backend: TURNKIT_MATMUL_THREADS = '${value}' is not a whole number of threads from 1 to 64`)
  return n
}

/** Products this process has run on turnkit's kernel: on one thread, split over several, and helper shares the caller took back (tests, profiles). */
export const matMulCounts = { single: 0, split: 0, takenBack: 0 }

/** For the tests: with wakeHelpers false, jobs are posted but no helper is woken, so every share is taken back. */
export const matMulInternals = { wakeHelpers: true }

/** How many threads the wasm backend's matrix products use from now on (selectBackend sets it from TURNKIT_MATMUL_THREADS). */
export function setMatMulThreads(threads: number): void {
  matMulThreads = matMulThreadsFrom({ TURNKIT_MATMUL_THREADS: String(threads) })
}

/** The threads large products use now (setMatMulThreads). */
export const getMatMulThreads = (): number => matMulThreads

// Below this many floating-point operations (2 per multiply-add; 3e7 is ~0.5 ms on one core) a product stays on one
// thread: copying operands and waking a helper (tens of microseconds, more when the other core is busy) costs about
// what it saves. Measured on the demo model (60 steps, medians of steps 20-60): split from 4e6 its step was 12%
// slower on 2 threads than on 1 (118-122 vs 105-107 ms); from 3e7, the same (103-105). The paper's attention and
// feed-forward products (60-300 M) split: its 4 + 4 step 20-30% faster. A helper spinning a while before it sleeps
// made no measurable difference, so it sleeps at once.
const PARALLEL_FLOPS = 3e7

// One helper thread. control[0]: the job's sequence number N (it sleeps until it changes); control[2]: the claim,
// 2N while job N is open; control[3..16]: tk_bmm's arguments; control[1]: its answer, N (or -N when the call threw).
// It computes job N only if it claims it first (2N -> 2N + 1): a caller that finished its own rows and finds the job
// still open takes it back (2N -> -1) and computes those rows itself, so a helper the OS has not woken yet (the
// other core busy) never holds the caller up. The arguments are rewritten only once job N is answered or taken back.
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { module, memory, control } = workerData
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports
const ctl = new Int32Array(control)
let seen = 0
for (;;) {
  Atomics.wait(ctl, 0, seen)
  seen = Atomics.load(ctl, 0)
  if (Atomics.compareExchange(ctl, 2, 2 * seen, 2 * seen + 1) !== 2 * seen) continue
  let answer = seen
  try {
    kernels.tk_bmm(...Array.from(ctl.subarray(3, 17)))
  } catch {
    answer = -seen
  }
  Atomics.store(ctl, 1, answer)
  Atomics.notify(ctl, 1)
}
`

interface Helper {
  worker: Worker
  control: Int32Array
  sequence: number
}

/** The helpers' shared memory, one kernel build for it, and the helpers, made on first use. */
class HelperPool {
  private readonly memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true })
  private readonly module = new WebAssembly.Module(readFileSync(join(packageRoot(), 'wasm', 'turnkit-kernels-shared.wasm')))
  private readonly helpers: Helper[] = []

  /** Room for `bytes` from offset BASE of the shared memory; returns a byte view of it. */
  reserve(bytes: number): Uint8Array {
    const need = Math.ceil((BASE + bytes) / 65536) - this.memory.buffer.byteLength / 65536
    if (need > 0) this.memory.grow(need)
    return new Uint8Array(this.memory.buffer)
  }

  helper(index: number): Helper {
    while (this.helpers.length <= index) {
      const control = new Int32Array(new SharedArrayBuffer(17 * 4))
      // No execArgv: a helper needs no loader the parent runs under (tsx in the tests).
      const worker = new Worker(HELPER_SOURCE, { eval: true, execArgv: [], workerData: { module: this.module, memory: this.memory, control: control.buffer } })
      worker.unref()
      this.helpers.push({ worker, control, sequence: 0 })
    }
    return this.helpers[index]!
  }
}

// Operands start past the first 128 kB of the shared memory (the kernel build reserves a stack it never uses there).
const BASE = 131072
let pool: HelperPool | undefined

const align = (bytes: number): number => Math.ceil(bytes / 64) * 64

/**
 * A permutation of `shape` as the one move tk_transpose makes, out[o][c][r][e] = in[o][r][c][e], or null when it is
 * not one. Dimensions of size 1 are dropped and input dimensions that stay neighbours in the output are merged,
 * which brings every transpose a model makes ([1, 0], [0, 2, 1], [0, 2, 1, 3], ...) to that form.
 */
export function transposeAsMove(shape: readonly number[], perm: readonly number[]): { outer: number; rows: number; cols: number; inner: number } | null {
  const kept = perm.filter((d) => shape[d] !== 1)
  // Runs of input dimensions that are consecutive in the output, in output order.
  const runs: number[][] = []
  for (const d of kept) {
    const last = runs.at(-1)
    if (last !== undefined && last.at(-1)! + 1 === d) last.push(d)
    else runs.push([d])
  }
  const size = (run: number[]): number => run.reduce((n, d) => n * shape[d]!, 1)
  // The runs' order in the input: `order[i]` is the input rank of the run that comes i-th in the output.
  const byInput = [...runs].sort((x, y) => x[0]! - y[0]!)
  const order = runs.map((r) => byInput.indexOf(r)).join()
  const sizes = byInput.map(size)
  if (order === '' || order === '0') return { outer: 1, rows: 1, cols: 1, inner: sizes[0] ?? 1 }
  if (order === '1,0') return { outer: 1, rows: sizes[0]!, cols: sizes[1]!, inner: 1 }
  if (order === '0,2,1') return { outer: sizes[0]!, rows: sizes[1]!, cols: sizes[2]!, inner: 1 }
  if (order === '1,0,2') return { outer: 1, rows: sizes[0]!, cols: sizes[1]!, inner: sizes[2]! }
  if (order === '0,2,1,3') return { outer: sizes[0]!, rows: sizes[1]!, cols: sizes[2]!, inner: sizes[3]! }
  return null
}

/**
 * A sum over `axes` of `shape` as the one reduction tk_sum makes, out[o][i] = sum over r of in[o][r][i], or null
 * when it is not one (the reduced axes, size-1 axes aside, are not neighbours).
 */
export function sumAsReduction(shape: readonly number[], axes: readonly number[]): { outer: number; reduce: number; inner: number } | null {
  const normal = axes.map((a) => (a < 0 ? a + shape.length : a))
  // The backend sums in the order the axes are given: only ascending ones are the order of memory.
  if (normal.some((a, i) => i > 0 && a <= normal[i - 1]!)) return null
  const reduced = new Set(normal)
  const kept = shape.map((_, d) => d).filter((d) => shape[d] !== 1)
  const at = kept.filter((d) => reduced.has(d))
  const size = (ds: number[]): number => ds.reduce((n, d) => n * shape[d]!, 1)
  if (at.length === 0) return { outer: size(kept), reduce: 1, inner: 1 }
  const [first, last] = [kept.indexOf(at[0]!), kept.indexOf(at.at(-1)!)]
  if (last - first + 1 !== at.length) return null
  return { outer: size(kept.slice(0, first)), reduce: size(at), inner: size(kept.slice(last + 1)) }
}

/**
 * A slice of `shape` (from `begin`, `size` long on each axis) as runs of consecutive values: `runs` (at most three
 * levels of them, outermost first, each with its count and input stride) of `run` values each, the first at
 * `offset`, all in values; null when it needs more levels, or is empty. Axes the slice takes whole are merged
 * with their outer neighbour, so a slice along the middle axis of [16, 218, 128] is 16 runs of 216 x 128 values.
 */
export function sliceAsRuns(shape: readonly number[], begin: readonly number[], size: readonly number[]): { offset: number; runs: [number, number][]; run: number } | null {
  if (size.some((d) => d === 0)) return null
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((n, x) => n * x, 1))
  const offset = begin.reduce((sum, b, d) => sum + b * strides[d]!, 0)
  // The run: the axes taken whole at the end, and the axis before them.
  let d = shape.length - 1
  let run = 1
  while (d >= 0 && size[d] === shape[d]) run *= shape[d--]!
  if (d < 0) return { offset, runs: [], run }
  run *= size[d]!
  // The axes outside it, size-1 ones dropped, an axis taken whole merged into the one outside it.
  const runs: [number, number][] = []
  for (let a = 0; a < d; a++) {
    if (size[a] === 1) continue
    const last = runs.at(-1)
    if (last !== undefined && size[a] === shape[a] && last[1] === shape[a]! * strides[a]!) runs[runs.length - 1] = [last[0] * size[a]!, strides[a]!]
    else runs.push([size[a]!, strides[a]!])
  }
  return runs.length <= 3 ? { offset, runs, run } : null
}

/**
 * Replace the wasm backend's BatchMatMul, Transpose, Sum, Slice and GatherV2 with turnkit's (see the top of this
 * file). What they do not cover (other dtypes, batch shapes broadcast other than one side being 1, permutations,
 * reductions or slices of another form, batched gathers) goes to the original kernels. Idempotent.
 */
export function installWasmKernels(): void {
  replaceKernel('BatchMatMul', batchMatMul)
  replaceKernel('Transpose', transpose)
  replaceKernel('Sum', sum)
  replaceKernel('Slice', slice)
  replaceKernel('GatherV2', gather)
}

/** Whether turnkit's kernels serve the wasm backend's products (installWasmKernels ran in this process). */
export const wasmKernelsInstalled = (): boolean => (tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc as { turnkit?: boolean } | undefined)?.turnkit === true

/** The scalars of one AdamW update (src/train/optimizer.ts), as JavaScript numbers: each is rounded to float32 as a scalar tensor would be. */
export interface AdamWScalars {
  /** Gradient scale from clipping; 1 = not clipped (the gradient is then used as it is). */
  scale: number
  beta1: number
  beta2: number
  /** 1 - beta1^step and 1 - beta2^step. */
  correction1: number
  correction2: number
  epsilon: number
  weightDecay: number
  lr: number
}

/**
 * AdamW as one kernel per parameter, for the optimizer, on wasm with turnkit's kernels (null elsewhere): the
 * optimizer's ~19 tensor operations per parameter cost more in dispatch than in arithmetic (115 parameters of the
 * demo model: 19.5 ms a step). The same operations in the same order, each rounded to float32, so the bits are
 * those of the tensor operations (tested).
 */
export function fusedAdamW(): { sumOfSquares(g: tf.Tensor): number; update(param: tf.Tensor, m: tf.Tensor, v: tf.Tensor, grad: tf.Tensor, c: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] } | null {
  if (tf.getBackend() !== 'wasm' || !wasmKernelsInstalled()) return null
  const backend = tf.backend() as unknown as WasmBackend
  const offset = (t: tf.TensorInfo): number => offsetOf(backend, t)
  const float32 = (...ts: tf.Tensor[]): boolean => ts.every((t) => t.dtype === 'float32')
  return {
    sumOfSquares: (g) => {
      if (!float32(g)) throw new Error(`AdamW: gradient of dtype ${g.dtype}, float32 expected`)
      return kernelsFor(backend.wasm.asm.memory).tk_sum_squares(offset(g), g.size)
    },
    update: (param, m, v, grad, c) => {
      if (!float32(param, m, v, grad) || [m, v, grad].some((t) => t.size !== param.size)) throw new Error(`AdamW: parameter, moments and gradient must be float32 of one size ([${param.shape}])`)
      const outs = [param, m, v].map((t) => backend.makeOutput(t.shape, 'float32'))
      const [p2, m2, v2] = outs.map(offset) as [number, number, number]
      kernelsFor(backend.wasm.asm.memory).tk_adamw(offset(param), offset(m), offset(v), offset(grad), p2, m2, v2, param.size, c.scale === 1 ? 0 : 1, c.scale,
        c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.correction1, c.correction2, c.epsilon, c.weightDecay, c.lr)
      return outs.map((info) => tf.engine().makeTensorFromTensorInfo(info)) as [tf.Tensor, tf.Tensor, tf.Tensor]
    },
  }
}

/** Register `make(original)` as the wasm backend's kernel `name`, once (a kernel of ours is marked and kept). */
function replaceKernel(name: string, make: (original: tf.KernelConfig) => tf.KernelFunc): void {
  const original = tf.getKernel(name, 'wasm')
  if (original === undefined || (original.kernelFunc as { turnkit?: boolean }).turnkit) return
  const kernelFunc: tf.KernelFunc & { turnkit?: boolean } = make(original)
  kernelFunc.turnkit = true
  tf.unregisterKernel(name, 'wasm')
  tf.registerKernel({ ...original, kernelFunc })
}

function transpose(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo }
    const { perm } = args.attrs as { perm: number[] }
    const move = x.dtype === 'float32' || x.dtype === 'int32' ? transposeAsMove(x.shape, perm) : null
    if (move === null) return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    const out = backend.makeOutput(perm.map((d) => x.shape[d]!), x.dtype)
    if (x.shape.some((d) => d === 0)) return out
    const from = offsetOf(backend, x)
    const to = offsetOf(backend, out)
    kernelsFor(backend.wasm.asm.memory).tk_transpose(from, to, move.outer, move.rows, move.cols, move.inner)
    return out
  }
}

function sum(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo }
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean }
    const axes = tf.util.parseAxisParam(axis, x.shape)
    const reduction = x.dtype === 'float32' ? sumAsReduction(x.shape, axes) : null
    if (reduction === null) return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    // The backend's output shape: the kept axes in order, or every axis with the reduced ones as 1 (keepDims).
    const shape = x.shape.flatMap((d, a) => (axes.includes(a) ? (keepDims ? [1] : []) : [d]))
    const out = backend.makeOutput(shape, 'float32')
    // An empty sum is zero (the backend's own left such outputs as it found the memory).
    if (shape.some((d) => d === 0)) return out
    const from = offsetOf(backend, x)
    const to = offsetOf(backend, out)
    kernelsFor(backend.wasm.asm.memory).tk_sum(from, to, reduction.outer, reduction.reduce, reduction.inner)
    return out
  }
}

function slice(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo }
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] }
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original.kernelFunc(args)
    const [from, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size)
    const runs = sliceAsRuns(x.shape, from, sizes)
    // One run (a slice of consecutive values): the backend's own copies it whole already.
    if (runs === null || runs.runs.length === 0) return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    const out = backend.makeOutput(sizes, x.dtype)
    const [[n0, s0] = [1, 0], [n1, s1] = [1, 0], [n2, s2] = [1, 0]] = runs.runs
    const input = offsetOf(backend, x) + 4 * runs.offset
    kernelsFor(backend.wasm.asm.memory).tk_slice(input, offsetOf(backend, out), n0, n1, n2, s0, s1, s2, runs.run)
    return out
  }
}

function gather(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo }
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number }
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32' || batchDims !== 0) return original.kernelFunc(args)
    const a = tf.util.parseAxisParam(axis, x.shape)[0]!
    const backend = args.backend as unknown as WasmBackend
    const dim = x.shape[a]!
    const count = tf.util.sizeFromShape(indices.shape)
    const at = offsetOf(backend, indices)
    const values = new Int32Array(backend.wasm.asm.memory.buffer, at, count)
    // The backend's own check, in its words.
    for (const index of values) if (!(index >= 0 && index <= dim - 1)) throw new Error(`GatherV2: the index value ${index} is not in [0, ${dim - 1}]`)
    const out = backend.makeOutput([...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], x.dtype)
    const outer = tf.util.sizeFromShape(x.shape.slice(0, a))
    const row = tf.util.sizeFromShape(x.shape.slice(a + 1))
    if (outer * count * row === 0) return out
    kernelsFor(backend.wasm.asm.memory).tk_gather(offsetOf(backend, x), at, offsetOf(backend, out), outer, dim, count, row)
    return out
  }
}

function batchMatMul(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean }
    const backend = args.backend as unknown as WasmBackend
    const ra = a.shape.length
    const rb = b.shape.length
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2))
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2))
    const sameBatch = a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join()
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original.kernelFunc(args)
    if (!(sameBatch || (batchA === 1 && ra <= rb) || (batchB === 1 && rb <= ra))) return original.kernelFunc(args)
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!
    if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) throw new Error(`matMul: inner dimensions ${k} and ${transposeB ? b.shape[rb - 1] : b.shape[rb - 2]} of shapes [${a.shape}] and [${b.shape}] differ`)
    const outer = (batchA >= batchB ? a : b).shape.slice(0, -2)
    const out = backend.makeOutput([...outer, m, n], 'float32')
    if (m === 0 || n === 0 || outer.some((d) => d === 0)) return out
    const at = offsetOf(backend, a)
    const bt = offsetOf(backend, b)
    const ct = offsetOf(backend, out)
    const batch = Math.max(batchA, batchB)
    const threads = Math.min(matMulThreads, Math.floor(m / 4), 2 * batch * m * k * n >= PARALLEL_FLOPS ? Infinity : 1)
    const kernels = kernelsFor(backend.wasm.asm.memory)
    // tk_bmm's arguments after the four pointers, up to the rows: the same for every share of this product.
    const shape = [batch, batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0] as const
    const computeRows = (scratch: number, row0: number, row1: number): void => kernels.tk_bmm(at, bt, ct, scratch, ...shape, row0, row1)
    // Scratch for `rows` rows: one k x 8 panel of B, and A packed in blocks of 4 rows when it is transposed
    // (native/kernels/turnkit-kernels.c).
    const scratchBytes = (rows: number): number => align(4 * (8 * k + (transposeA ? rows * k : 0)))
    if (threads <= 1) {
      matMulCounts.single += 1
      const scratch = backend.wasm._malloc(scratchBytes(m))
      try {
        computeRows(scratch, 0, m)
      } finally {
        backend.wasm._free(scratch)
      }
      return out
    }
    matMulCounts.split += 1
    // Rows in shares of whole 4-row blocks; this thread takes the first share, helper h the (h+1)-th.
    const blocks = Math.ceil(m / 4)
    const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.min(m, 4 * Math.round((t * blocks) / threads)))
    const [aBytes, bBytes, cBytes] = [4 * batchA * m * k, 4 * batchB * k * n, 4 * batch * m * n]
    const offA = BASE
    const offB = offA + align(aBytes)
    const offC = offB + align(bBytes)
    const helperScratch: number[] = []
    let end = offC + align(cBytes)
    for (let h = 0; h + 1 < threads; h++) {
      helperScratch.push(end)
      end += scratchBytes(bounds[h + 2]! - bounds[h + 1]!)
    }
    pool ??= new HelperPool()
    const shared = pool.reserve(end - BASE)
    // This thread's scratch holds any share: it may take a helper's back.
    const scratch = backend.wasm._malloc(scratchBytes(Math.max(...bounds.slice(1).map((b, t) => b - bounds[t]!))))
    try {
      const heap = new Uint8Array(backend.wasm.asm.memory.buffer)
      shared.set(heap.subarray(at, at + aBytes), offA)
      shared.set(heap.subarray(bt, bt + bBytes), offB)
      const helpers: Helper[] = []
      for (let h = 0; h + 1 < threads; h++) {
        const helper = pool.helper(h)
        helper.sequence += 1
        helper.control.set([2 * helper.sequence, offA, offB, offC, helperScratch[h]!, ...shape, bounds[h + 1]!, bounds[h + 2]!], 2)
        Atomics.store(helper.control, 0, helper.sequence)
        if (matMulInternals.wakeHelpers) Atomics.notify(helper.control, 0)
        helpers.push(helper)
      }
      computeRows(scratch, 0, bounds[1]!)
      const into = new Uint8Array(backend.wasm.asm.memory.buffer)
      for (const [h, helper] of helpers.entries()) {
        const [row0, row1] = [bounds[h + 1]!, bounds[h + 2]!]
        if (Atomics.compareExchange(helper.control, 2, 2 * helper.sequence, -1) === 2 * helper.sequence) {
          // Not started: its rows here, in place.
          matMulCounts.takenBack += 1
          computeRows(scratch, row0, row1)
          continue
        }
        // Wait on the value read, never on a second read: an answer stored between two reads would be slept through.
        for (let answer = Atomics.load(helper.control, 1); answer !== helper.sequence; answer = Atomics.load(helper.control, 1)) {
          if (answer === -helper.sequence) throw new Error('matMul: a helper thread failed: run with TURNKIT_MATMUL_THREADS=1 and report it')
          if (Atomics.wait(helper.control, 1, answer, 120_000) === 'timed-out') throw new Error('matMul: a helper thread did not answer in 120 s: run with TURNKIT_MATMUL_THREADS=1 and report it')
        }
        // Its rows, batch by batch, back into the backend's output.
        const [from, bytes] = [row0 * n * 4, (row1 - row0) * n * 4]
        for (let t = 0; t < batch; t++) into.set(shared.subarray(offC + t * m * n * 4 + from, offC + t * m * n * 4 + from + bytes), ct + t * m * n * 4 + from)
      }
    } finally {
      backend.wasm._free(scratch)
    }
    return out
  }
}
