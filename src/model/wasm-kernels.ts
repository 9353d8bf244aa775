// Kernels turnkit gives TensorFlow.js's wasm backend where its own are slow (docs/tfjs.md). BatchMatMul: the backend
// runs a batched product (the attention products of every head, [B, L, L] x [B, L, d]) on a scalar loop at about
// 8 GFLOP/s, a quarter of what its XNNPACK path reaches on one large matrix; it was half of a demo-model train step.
// wasm/turnkit-kernels.wasm (native/kernels/turnkit-kernels.c, built by scripts/build-wasm.sh) runs the
// product with WebAssembly SIMD inside the backend's own memory: it imports that memory, so operands are read and
// the product written in place, with no copy. It sums in the backend's own order (tiles of 48 products), so every
// product is bit-identical to what the backend's kernel gives: training losses do not change.
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

type Bmm = (a: number, b: number, c: number, scratch: number, batch: number, batchA: number, batchB: number, m: number, k: number, n: number, transA: number, transB: number) => void

const instances = new WeakMap<WebAssembly.Memory, Bmm>()

function bmmFor(memory: WebAssembly.Memory): Bmm {
  let bmm = instances.get(memory)
  if (bmm === undefined) {
    const bytes = readFileSync(join(packageRoot(), 'wasm', 'turnkit-kernels.wasm'))
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    bmm = instance.exports.tk_bmm as Bmm
    instances.set(memory, bmm)
  }
  return bmm
}

/**
 * Replace the wasm backend's BatchMatMul with turnkit's (see the top of this file). Products it does not cover
 * (other dtypes, batch shapes broadcast other than one side being 1) go to the original kernel. Idempotent.
 */
export function installWasmKernels(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm')
  if (original === undefined || (original.kernelFunc as { turnkit?: boolean }).turnkit) return
  const kernelFunc: tf.KernelFunc & { turnkit?: boolean } = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean }
    const backend = args.backend as unknown as WasmBackend
    const ra = a.shape.length
    const rb = b.shape.length
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1)
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1)
    const sameBatch = a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join()
    // One matrix without transposes runs on the backend's XNNPACK path, which is fast (and sums in another order).
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || (batchA === 1 && batchB === 1 && !transposeA && !transposeB)) return original.kernelFunc(args)
    if (!(sameBatch || (batchA === 1 && ra <= rb) || (batchB === 1 && rb <= ra))) return original.kernelFunc(args)
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!
    if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) throw new Error(`matMul: inner dimensions ${k} and ${transposeB ? b.shape[rb - 1] : b.shape[rb - 2]} of shapes [${a.shape}] and [${b.shape}] differ`)
    const outer = (batchA >= batchB ? a : b).shape.slice(0, -2)
    const out = backend.makeOutput([...outer, m, n], 'float32')
    const at = backend.dataIdMap.get(a.dataId)!.memoryOffset
    const bt = backend.dataIdMap.get(b.dataId)!.memoryOffset
    const ct = backend.dataIdMap.get(out.dataId)!.memoryOffset
    const scratch = transposeB ? backend.wasm._malloc(4 * k * n) : 0
    try {
      bmmFor(backend.wasm.asm.memory)(at, bt, ct, scratch, Math.max(batchA, batchB), batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0)
    } finally {
      if (scratch !== 0) backend.wasm._free(scratch)
    }
    return out
  }
  kernelFunc.turnkit = true
  tf.unregisterKernel('BatchMatMul', 'wasm')
  tf.registerKernel({ ...original, kernelFunc })
}
