// Data-parallel train steps: the micro-batches of a step (TurnModel.planSlices) shared between this thread and
// replicas of the model in worker threads, each with its own tfjs backend on one core. tfjs's wasm backend runs
// one thread per instance and its kernels are small enough that per-operation dispatch is a fifth of a step, so
// splitting single products over threads (wasm-kernels.ts) cannot use a second core for the rest of a step;
// whole slices on whole replicas can.
//
// Bits: every slice is computed by the same code and kernels wherever it runs, pass 1's pooled vectors are put
// together in slice order, and the slices' gradients and losses are added in slice order (GradientSum), so a step
// on R replicas gives exactly the bits of the same micro-batches on one thread (test/model-replicas.test.ts).
// Without a micro-batch size the batch is cut into one slice per replica (GradCache's extra pass 1 over the
// intermediate batch is the price); its bits are those of --micro-batch ceil(max(B, B2) / R) on one thread.
//
// Slice k runs on replica k mod R (0 is this thread), so replica r works on slice k + 1 while this thread works
// on slice k; each worker writes a slice's gradients into one of two shared buffers, which this thread adds and
// hands back. Parameters (every variable: the optimizer's and the codebooks' updates) are copied to the workers
// through a shared buffer at the start of each step.
import * as tf from '@tensorflow/tfjs-core'
import type { Worker } from 'node:worker_threads'
import { spawnModuleWorker } from '../etl/module-worker.js'
import type { CodebookAssignments } from './codebook.js'
import type { TurnConfig } from './config.js'
import { GradientSum, type BatchPart, type LossTerm, type TrainingGradients, type TurnBatch, type TurnModel } from './turn.js'

/** A tensor as it crosses to a worker. */
export interface WireTensor {
  shape: number[]
  dtype: 'float32' | 'int32'
  data: Float32Array | Int32Array
}

/** A slice of a batch as it crosses to a worker. */
export interface WireBatch {
  source: Record<keyof TurnBatch['source'], WireTensor>
  intermediate: Record<keyof TurnBatch['intermediate'], WireTensor>
}

/** Where each variable lies in a shared buffer: byte offset and element count, in the model's own order. */
export interface VariableLayout {
  names: string[]
  offsets: number[]
  sizes: number[]
  bytes: number
}

/** Messages to a replica worker. */
export type ReplicaRequest =
  | { type: 'load' }
  | { type: 'pool'; k: number; slice: WireBatch }
  | { type: 'grads'; k: number; weights: BatchPart['weights']; text: WireTensor; audio: WireTensor; buffer: number }
  | { type: 'close' }

/** Messages from a replica worker. */
export type ReplicaReply =
  | { type: 'ready' }
  | { type: 'pooled'; k: number; text: WireTensor; audio: WireTensor }
  | { type: 'grads'; k: number; buffer: number; present: boolean[]; losses: Record<LossTerm, number>; assignments: CodebookAssignments[] }
  | { type: 'error'; message: string }
  | { fatal: string }

/** A reply to a request (not a failure). */
type ReplicaAnswer = Exclude<ReplicaReply, { fatal: string } | { type: 'error' }>

/** What a replica worker is started with. */
export interface ReplicaStart {
  config: TurnConfig
  backend: string
  parameters: SharedArrayBuffer
  parameterLayout: VariableLayout
  gradients: [SharedArrayBuffer, SharedArrayBuffer]
  gradientLayout: VariableLayout
}

/** The layout of `variables` (every one float32 or int32: 4 bytes an element). */
export function layoutOf(variables: Map<string, tf.Variable>): VariableLayout {
  const names: string[] = []
  const offsets: number[] = []
  const sizes: number[] = []
  let bytes = 0
  for (const [name, v] of variables) {
    if (v.dtype !== 'float32' && v.dtype !== 'int32') throw new Error(`replicas: parameter ${name} is ${v.dtype}; only float32 and int32 cross to replicas`)
    names.push(name)
    offsets.push(bytes)
    sizes.push(v.size)
    bytes += 4 * v.size
  }
  return { names, offsets, sizes, bytes }
}

/** A view of variable i of `layout` in `buffer`. */
export function viewOf(buffer: SharedArrayBuffer, layout: VariableLayout, i: number, dtype: 'float32' | 'int32'): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(buffer, layout.offsets[i], layout.sizes[i]) : new Float32Array(buffer, layout.offsets[i], layout.sizes[i])
}

export const toWire = (t: tf.Tensor): WireTensor => {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`replicas: a ${t.dtype} tensor cannot cross to a replica`)
  return { shape: [...t.shape], dtype: t.dtype, data: t.dataSync() as Float32Array | Int32Array }
}
/** A tensor of its own (copied: a backend may keep the array it is given). */
export const fromWire = (w: WireTensor): tf.Tensor => tf.tensor(w.data.slice(), w.shape, w.dtype)

export const batchToWire = (b: TurnBatch): WireBatch => ({
  source: { images: toWire(b.source.images), tokens: toWire(b.source.tokens), boxes: toWire(b.source.boxes), textMask: toWire(b.source.textMask) },
  intermediate: { logMel: toWire(b.intermediate.logMel), tokens: toWire(b.intermediate.tokens), textMask: toWire(b.intermediate.textMask), audioMask: toWire(b.intermediate.audioMask) },
})

export const batchFromWire = (w: WireBatch): TurnBatch => ({
  source: {
    images: fromWire(w.source.images) as tf.Tensor4D,
    tokens: fromWire(w.source.tokens) as tf.Tensor2D,
    boxes: fromWire(w.source.boxes) as tf.Tensor2D,
    textMask: fromWire(w.source.textMask) as tf.Tensor2D,
  },
  intermediate: {
    logMel: fromWire(w.intermediate.logMel) as tf.Tensor3D,
    tokens: fromWire(w.intermediate.tokens) as tf.Tensor2D,
    textMask: fromWire(w.intermediate.textMask) as tf.Tensor2D,
    audioMask: fromWire(w.intermediate.audioMask) as tf.Tensor2D,
  },
})

/** One worker and the replies it owes, in the order it sends them (it answers its requests in order). */
class ReplicaWorker {
  private readonly waiting: { resolve: (reply: ReplicaAnswer) => void; reject: (error: Error) => void }[] = []
  private failure: Error | null = null
  /** Settles when the worker has built its backend and model. */
  readonly ready: Promise<ReplicaAnswer>
  constructor(
    readonly index: number,
    private readonly worker: Worker,
  ) {
    this.ready = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
    worker.on('message', (reply: ReplicaReply) => {
      if ('fatal' in reply) return this.fail(new Error(`replica ${index} did not start: ${reply.fatal}`))
      if (reply.type === 'error') return this.fail(new Error(`replica ${index}: ${reply.message}`))
      this.waiting.shift()?.resolve(reply)
    })
    worker.on('error', (error) => this.fail(new Error(`replica ${index} failed: ${error.message}`)))
    worker.on('exit', (code) => this.fail(new Error(`replica ${index} exited (code ${code})`)))
  }

  /** Sends a request; the promise is its reply (requests without one: 'load', 'close'). */
  send(request: ReplicaRequest): Promise<ReplicaAnswer> | undefined {
    if (this.failure !== null) throw this.failure
    this.worker.postMessage(request)
    if (request.type === 'load' || request.type === 'close') return undefined
    const reply = new Promise<ReplicaAnswer>((resolve, reject) => this.waiting.push({ resolve, reject }))
    // A step that fails on this thread leaves replies nobody awaits: their rejection must not end the process.
    reply.catch(() => {})
    return reply
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error(`replica ${this.index} closed`)
    await this.worker.terminate()
  }

  private fail(error: Error): void {
    if (this.failure !== null) return
    this.failure = error
    for (const w of this.waiting.splice(0)) w.reject(error)
  }
}

/** Gradients of train steps computed on this thread and `workers` replicas of the model. */
export class ModelReplicas {
  private constructor(
    private readonly model: TurnModel,
    private readonly workers: ReplicaWorker[],
    private readonly parameters: SharedArrayBuffer,
    private readonly parameterLayout: VariableLayout,
    private readonly gradients: [SharedArrayBuffer, SharedArrayBuffer][],
    private readonly gradientLayout: VariableLayout,
  ) {}

  /** Starts `count - 1` workers (count >= 2: this thread is one replica), each with its own copy of `model`. */
  static async start(model: TurnModel, count: number): Promise<ModelReplicas> {
    if (!(Number.isInteger(count) && count >= 2)) throw new Error(`replicas: ${count} replicas: need an integer >= 2 (1 is no replica at all)`)
    if (model.config.backbone === 'frozen') throw new Error("replicas: a model with backbone 'frozen' runs on one thread only (its loaded backbone does not cross to worker threads)")
    const backend = tf.getBackend()
    if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`replicas: the '${backend}' backend uses every core itself; replicas run on the wasm and cpu backends`)
    const parameterLayout = layoutOf(model.parameters)
    const gradientLayout = layoutOf(model.trainableParameters)
    const parameters = new SharedArrayBuffer(parameterLayout.bytes)
    const gradients: [SharedArrayBuffer, SharedArrayBuffer][] = []
    const workers: ReplicaWorker[] = []
    try {
      for (let r = 1; r < count; r++) {
        const pair: [SharedArrayBuffer, SharedArrayBuffer] = [new SharedArrayBuffer(gradientLayout.bytes), new SharedArrayBuffer(gradientLayout.bytes)]
        gradients.push(pair)
        const start: ReplicaStart = { config: model.config, backend, parameters, parameterLayout, gradients: pair, gradientLayout }
        const worker = new ReplicaWorker(r, spawnModuleWorker(new URL(`./replica-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href, 'runReplica', start))
        workers.push(worker)
      }
      await Promise.all(workers.map((w) => w.ready))
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()))
      throw error
    }
    return new ModelReplicas(model, workers, parameters, parameterLayout, gradients, gradientLayout)
  }

  /** Replicas in all, this thread included. */
  get count(): number {
    return this.workers.length + 1
  }

  /**
   * The step's gradients and loss values, as `model.trainingGradients(batch, { microBatch })` gives them with at
   * least one slice per replica. Slices run on every replica at once; the result is added in slice order.
   */
  async trainingGradients(batch: TurnBatch, { microBatch }: { microBatch?: number | null } = {}): Promise<TrainingGradients> {
    const model = this.model
    const plan = model.planSlices(batch, microBatch ?? null, this.count)
    if (plan === null) return model.sliceGradients(batch, undefined)
    const R = this.count
    const owner = (k: number): number => k % R
    try {
      this.shareParameters()
      for (const w of this.workers) w.send({ type: 'load' })
      // Pass 1 on every replica: each worker's slices go out first, so it works while this thread does its own.
      const pooledReplies = new Map<number, Promise<ReplicaAnswer>>()
      plan.slices.forEach((slice, k) => {
        if (owner(k) !== 0) pooledReplies.set(k, this.workers[owner(k) - 1]!.send({ type: 'pool', k, slice: batchToWire(slice) })!)
      })
      const pooled: [tf.Tensor2D, tf.Tensor2D][] = []
      for (const [k, slice] of plan.slices.entries()) {
        if (owner(k) === 0) pooled.push(model.pooledIntermediate(slice))
        else {
          const reply = await pooledReplies.get(k)!
          if (reply.type !== 'pooled' || reply.k !== k) throw new Error(`replicas: replica ${owner(k)} answered ${reply.type} for pass 1 of slice ${k}`)
          pooled.push([fromWire(reply.text) as tf.Tensor2D, fromWire(reply.audio) as tf.Tensor2D])
        }
      }
      const cache = model.contrastCache(pooled)
      // Pass 2: each worker has at most two slices outstanding (one per gradient buffer); this thread adds in order.
      const queued: number[][] = this.workers.map((_, i) => plan.slices.map((_, k) => k).filter((k) => owner(k) === i + 1))
      const replies = new Map<number, Promise<ReplicaAnswer>>()
      const post = (worker: number, buffer: number): void => {
        const k = queued[worker]!.shift()
        if (k === undefined) return
        const part = plan.part(k, cache)
        const request: ReplicaRequest = { type: 'grads', k, weights: part.weights, text: toWire(part.contrastGrads.text), audio: toWire(part.contrastGrads.audio), buffer }
        tf.dispose([part.contrastGrads.text, part.contrastGrads.audio])
        replies.set(k, this.workers[worker]!.send(request)!)
      }
      this.workers.forEach((_, i) => [0, 1].forEach((buffer) => post(i, buffer)))
      const step = new GradientSum(model.config)
      for (const [k, slice] of plan.slices.entries()) {
        if (owner(k) === 0) {
          const part = plan.part(k, cache)
          const out = model.sliceGradients(slice, part)
          tf.dispose([part.contrastGrads.text, part.contrastGrads.audio])
          step.add(out)
          continue
        }
        const reply = await replies.get(k)!
        if (reply.type !== 'grads' || reply.k !== k) throw new Error(`replicas: replica ${owner(k)} answered ${reply.type} for the gradients of slice ${k}`)
        step.add({ grads: this.readGradients(owner(k) - 1, reply.buffer, reply.present), losses: reply.losses, assignments: reply.assignments })
        post(owner(k) - 1, reply.buffer)
      }
      const result = step.finish(cache.contrast)
      tf.dispose([cache.text, cache.audio])
      return result
    } catch (error) {
      // Replies of this step may still be on their way and would answer the next step's requests: stop the workers.
      await this.close()
      throw error
    } finally {
      plan.dispose()
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (const w of this.workers) {
      try {
        w.send({ type: 'close' })
      } catch {
        // already failed or closed: terminate below
      }
    }
    await Promise.all(this.workers.map((w) => w.terminate()))
  }

  /** Every variable of this thread's model into the shared parameter buffer. */
  private shareParameters(): void {
    const layout = this.parameterLayout
    layout.names.forEach((name, i) => {
      const v = this.model.parameters.get(name)!
      viewOf(this.parameters, layout, i, v.dtype as 'float32' | 'int32').set(v.dataSync() as Float32Array | Int32Array)
    })
  }

  /** A worker's gradients for one slice from its shared buffer, as tensors of this thread's backend. */
  private readGradients(worker: number, buffer: number, present: boolean[]): Record<string, tf.Tensor> {
    const layout = this.gradientLayout
    const grads: Record<string, tf.Tensor> = {}
    layout.names.forEach((name, i) => {
      if (!present[i]) return
      const v = this.model.parameters.get(name)!
      grads[name] = tf.tensor(viewOf(this.gradients[worker]![buffer]!, layout, i, 'float32').slice(), v.shape, 'float32')
    })
    return grads
  }
}
