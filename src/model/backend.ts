// Picks the fastest TensorFlow.js backend that loads on this machine (docs/tfjs.md, measured):
// tfjs-node-gpu and tfjs-node download libtensorflow at install time and are optionalDependencies, so they are
// often absent; wasm ships in its npm package and always loads; cpu (pure JS) is the last resort.

import * as tf from '@tensorflow/tfjs-core'
import { installWasmKernels, matMulThreadsFrom, setMatMulThreads, wasmKernelsInstalled } from './wasm-kernels.js'

/** Values of TURNKIT_BACKEND, in the order selectBackend tries them. */
export const BACKEND_CHOICES = ['node-gpu', 'node', 'wasm', 'cpu'] as const
export type BackendChoice = (typeof BACKEND_CHOICES)[number]

/** Accepted spellings of TURNKIT_BACKEND: 'tensorflow' (tfjs's own name of the native backend) means 'node'. */
const ALIASES: Record<string, BackendChoice> = { 'node-gpu': 'node-gpu', gpu: 'node-gpu', node: 'node', tensorflow: 'node', wasm: 'wasm', cpu: 'cpu' }

export interface SelectedBackend {
  /** Which package runs. */
  choice: BackendChoice
  /** tfjs's name of the backend now active: 'tensorflow' (both node packages), 'wasm' or 'cpu'. */
  name: string
}

export type Logger = (line: string) => void
const stderrLogger: Logger = (line) => process.stderr.write(`${line}\n`)

/**
 * Activates the first backend that loads: tfjs-node-gpu, tfjs-node, wasm, cpu. TURNKIT_BACKEND (node-gpu,
 * node, tensorflow = node, wasm, cpu) forces one, and then failing to load it is an error. On wasm,
 * TURNKIT_MATMUL_THREADS (1-64, default the cores up to 4) sets the threads of large matrix products. Logs one
 * line naming the backend. Returns the choice and tfjs's backend name.
 */
export async function selectBackend(
  { env = process.env, log = stderrLogger }: { env?: NodeJS.ProcessEnv; log?: Logger } = {},
): Promise<SelectedBackend> {
  const forced = env.TURNKIT_BACKEND?.trim().toLowerCase()
  if (forced !== undefined && forced !== '' && !(forced in ALIASES)) {
    throw new Error(`backend: TURNKIT_BACKEND = '${env.TURNKIT_BACKEND}' is not one of ${Object.keys(ALIASES).join(', ')}`)
  }
  const threads = matMulThreadsFrom(env)
  const order = forced ? [ALIASES[forced] as BackendChoice] : [...BACKEND_CHOICES]
  const failures: string[] = []
  for (const choice of order) {
    try {
      const name = await activate(choice)
      if (name === 'wasm') setMatMulThreads(threads)
      const detail = name === 'wasm' ? `, ${threads} thread${threads === 1 ? '' : 's'} for large matrix products (TURNKIT_MATMUL_THREADS)` : ''
      log(`turnkit: tfjs backend '${name}' (${choice}${forced ? ', forced by TURNKIT_BACKEND' : ''}${detail})${failures.length ? `; skipped ${failures.join('; ')}` : ''}`)
      return { choice, name }
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
      if (forced) throw new Error(`backend: TURNKIT_BACKEND = ${choice} does not load: ${message}`)
      failures.push(`${choice}: ${message}`)
    }
  }
  throw new Error(`backend: no tfjs backend loads (${failures.join('; ')})`)
}

/** Loads one backend's package and makes it the active backend; returns tfjs's name for it. */
export async function activate(choice: BackendChoice): Promise<string> {
  const [pkg, name] = PACKAGES[choice]
  // A variable specifier keeps TypeScript from requiring the optional packages' types at build time.
  await import(pkg)
  if (tf.findBackendFactory(name) === null) {
    // tfjs-node bundles its own tfjs-core when its version differs from ours and registers into that copy.
    throw new Error(`${pkg} loaded but registered no '${name}' backend in this @tensorflow/tfjs-core (version mismatch?)`)
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`)
  await tf.ready()
  if (name === 'wasm') {
    shareIdentityBuffers()
    installWasmKernels()
  }
  if (name === 'wasm' || name === 'cpu') shareSavedTensors()
  return name
}

/** The engine's internals shareSavedTensors replaces (tfjs-core 4.x, dist/engine.js). */
interface EngineInternals {
  backend: tf.KernelBackend
  saveTensorsForBackwardMode: ((tensors: tf.Tensor[]) => tf.Tensor[]) & { sharesBuffers?: boolean }
  clone(x: tf.Tensor): tf.Tensor
  keep<T extends tf.Tensor>(t: T): T
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor
}

/**
 * tfjs-core keeps each tensor a gradient will need by cloning it: an Identity kernel plus a tape node, ~1,000 a
 * demo step, each paying the engine's per-operation cost (~7 us) and lengthening the tape that every backward
 * pass filters. A kept tensor only needs to share the buffer, counted by the backend (the cpu backend's and
 * turnkit's wasm Identity do just that); the clone's tape node is never on a path from a parameter to the loss,
 * so no gradient changes (bit for bit: test/model-microbatch.test.ts).
 */
function shareSavedTensors(): void {
  const engine = tf.engine() as unknown as Partial<EngineInternals>
  const original = engine.saveTensorsForBackwardMode
  // Another tfjs-core, whose engine does not work this way: leave it as it is.
  if (typeof original !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function' || original.sharesBuffers) return
  const share: EngineInternals['saveTensorsForBackwardMode'] = function (this: EngineInternals, tensors) {
    if (!savedTensorsInternals.share) return original.call(this, tensors)
    return tensors.map((t) => {
      if (t.dtype === 'string') return this.keep(this.clone(t))
      ;(this.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(t.dataId)
      return this.keep(this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }))
    })
  }
  share.sharesBuffers = true
  engine.saveTensorsForBackwardMode = share
}

/** For the tests: with share false, tensors are kept for the backward pass by tfjs-core's own clones. */
export const savedTensorsInternals = { share: true }

/**
 * tfjs-core clones (kernel Identity) what tf.customGrad saves and what tf.clone is asked for (and, without
 * shareSavedTensors, every tensor the tape saves), and wasm's Identity copies the buffer: ~900 copies per tiny
 * train step before shareSavedTensors. This Identity shares the input's buffer and counts a reference,
 * as the cpu backend's Identity and wasm's own Reshape do (no kernel writes into its inputs, so sharing is safe).
 */
function shareIdentityBuffers(): void {
  const original = tf.getKernel('Identity', 'wasm')
  if (original === undefined || (original.kernelFunc as { sharesBuffers?: boolean }).sharesBuffers) return
  const share: tf.KernelFunc & { sharesBuffers?: boolean } = (args) => {
    const x = args.inputs.x as tf.TensorInfo
    if (x.dtype === 'string') return original.kernelFunc(args)
    ;(args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
  share.sharesBuffers = true
  tf.unregisterKernel('Identity', 'wasm')
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: share })
}

const PACKAGES: Record<BackendChoice, [string, string]> = {
  'node-gpu': ['@tensorflow/tfjs-node-gpu', 'tensorflow'],
  node: ['@tensorflow/tfjs-node', 'tensorflow'],
  wasm: ['@tensorflow/tfjs-backend-wasm', 'wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu', 'cpu'],
}

/**
 * Whether matMul should run through the explicit-transpose gradient (ops.ts): on wasm without turnkit's kernels,
 * where it made a step 9x faster. With them, a transposed operand is as fast as a plain one and gives the same
 * bits as an explicit transpose (each output's products added in order), so the stock gradient is used.
 */
export const usesExplicitTransposeMatMul = (): boolean => tf.getBackend() === 'wasm' && !wasmKernelsInstalled()

/** Whether the active backend has a fast native UnsortedSegmentSum (the gradient of a row gather). */
export const hasNativeSegmentSum = (): boolean => tf.getBackend() === 'tensorflow' || tf.getBackend() === 'webgl'
