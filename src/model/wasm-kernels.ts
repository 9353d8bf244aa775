// Kernels turnkit gives TensorFlow.js's wasm backend where its own are slow (docs/tfjs.md). BatchMatMul: the backend
// runs a product with a transposed operand (every matMul gradient has one) or a batch of products (the attention
// products of every head, [B, L, L] x [B, L, d]) on a scalar loop at 8-30 GFLOP/s, and a plain matrix on XNNPACK
// at about 45; turnkit's runs every float32 product at about 60 on one core, packing the operands so that its inner
// loop reads both at consecutive addresses. Transpose: the backend walks the output element by element through
// strided reads (0.1-0.5 G elements/s; a [1024, 256] transpose took 2 ms), and every matMul gradient transposes an
// operand (docs/tfjs.md, pitfall 5).
// wasm/turnkit-kernels.wasm (native/kernels/turnkit-kernels.c, built by scripts/build-wasm.sh) runs both with
// WebAssembly SIMD inside the backend's own memory: it imports that memory, so operands are read and results
// written in place, with no copy. The product adds each output's k products in order, without fused multiply-add,
// as XNNPACK does: plain products are bit-identical to the backend's, and every machine computes the same bits.
// (The backend's transposed and batched products summed in tiles of 48; against those, results differ by float
// rounding only.) A transpose only moves bits.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { packageRoot } from '../config.js'

/** What the wasm backend object offers that these kernels use (tfjs-backend-wasm's BackendWasm). */
interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(pointer: number): void }
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined }
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

interface Kernels {
  tk_bmm(a: number, b: number, c: number, scratch: number, batch: number, batchA: number, batchB: number, m: number, k: number, n: number, transA: number, transB: number): void
  tk_transpose(input: number, output: number, outer: number, rows: number, cols: number, inner: number): void
}

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
 * Replace the wasm backend's BatchMatMul and Transpose with turnkit's (see the top of this file). What they do not
 * cover (other dtypes, batch shapes broadcast other than one side being 1, permutations of another form) goes to
 * the original kernels. Idempotent.
 */
export function installWasmKernels(): void {
  replaceKernel('BatchMatMul', batchMatMul)
  replaceKernel('Transpose', transpose)
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
    const from = backend.dataIdMap.get(x.dataId)!.memoryOffset
    const to = backend.dataIdMap.get(out.dataId)!.memoryOffset
    kernelsFor(backend.wasm.asm.memory).tk_transpose(from, to, move.outer, move.rows, move.cols, move.inner)
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
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1)
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1)
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
    const at = backend.dataIdMap.get(a.dataId)!.memoryOffset
    const bt = backend.dataIdMap.get(b.dataId)!.memoryOffset
    const ct = backend.dataIdMap.get(out.dataId)!.memoryOffset
    // One k x 8 panel of B, and A packed in blocks of 4 rows when it is transposed (native/kernels/turnkit-kernels.c).
    const scratch = backend.wasm._malloc(4 * (8 * k + (transposeA ? m * k : 0)))
    try {
      kernelsFor(backend.wasm.asm.memory).tk_bmm(at, bt, ct, scratch, Math.max(batchA, batchB), batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0)
    } finally {
      backend.wasm._free(scratch)
    }
    return out
  }
}
