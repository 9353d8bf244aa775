// Batches are read, decoded, augmented and assembled in a worker thread, ahead of the model: the training
// loop on the main thread only waits when the worker falls behind (the data wait the metrics report). The
// worker's sequence is a pure function of (seed, cursors, weights), so a resumed run restarted from the
// checkpointed cursors gets exactly the batches the uninterrupted run got.
import type { MessagePort, Worker } from 'node:worker_threads'
import { spawnModuleWorker, transferables } from '../etl/module-worker.js'
import { MixedBatches, type MixedBatch, type MixedBatchesOptions } from './batches.js'
import { openDataset, type Dataset } from '../dataset/dataset.js'
import type { DataSettings } from '../dataset/cache.js'
import type { Cursor, ShardStream } from '../dataset/stream.js'
import { alignWeights, drawCounts, loadWeights } from './sampling.js'
import { rngFor } from '../random.js'

/** Everything the worker needs, as plain data. */
export interface BatchProducerSpec {
  sourceDir: string
  intermediateDir: string
  /** Adaptive-sampling weights files (JSON lines keyed by record key), or null for one draw per item per epoch. */
  weights: { source: string | null; intermediate: string | null }
  cursors: { source: Cursor; intermediate: Cursor }
  /** how remote datasets are reached and cached */
  data: DataSettings
  batches: MixedBatchesOptions
  /** Row groups per shuffle window (default 4). */
  windowBlocks?: number
  /** Batches prepared ahead (default 3). */
  depth?: number
}

/** Per-epoch counts from weights: N draws with replacement, seeded by (seed, epoch, domain). */
async function countsFor(dataset: Dataset, weightsPath: string | null, seed: number, domain: string): Promise<((epoch: number) => Uint32Array) | null> {
  if (weightsPath === null) return null
  const weights = alignWeights(await loadWeights(weightsPath), await dataset.keys())
  const cache = new Map<number, Uint32Array>()
  return (epoch) => {
    let counts = cache.get(epoch)
    if (counts === undefined) {
      counts = drawCounts(weights, rngFor(seed, epoch, 'draws', domain))
      cache.clear() // one epoch at a time is enough: streams only move forward
      cache.set(epoch, counts)
    }
    return counts
  }
}

/** Open both streams at the spec's cursors, with their counts. */
export async function openMixedBatches(spec: BatchProducerSpec): Promise<MixedBatches> {
  const seed = spec.batches.seed
  const windowBlocks = spec.windowBlocks ?? 4
  const open = async (dir: string, weights: string | null, domain: string, cursor: Cursor): Promise<ShardStream> => {
    const dataset = await openDataset(dir, spec.data)
    const stream = await dataset.stream({ seed, windowBlocks, prefetchWindows: 1, counts: await countsFor(dataset, weights, seed, domain) })
    stream.seek(cursor)
    return stream
  }
  const source = await open(spec.sourceDir, spec.weights.source, 'source', spec.cursors.source)
  const intermediate = await open(spec.intermediateDir, spec.weights.intermediate, 'intermediate', spec.cursors.intermediate)
  return new MixedBatches(source, intermediate, spec.batches)
}

/** Worker side: produce batches while fewer than `depth` are unacknowledged. */
export async function serveBatches(port: MessagePort, spec: BatchProducerSpec): Promise<void> {
  const batches = await openMixedBatches(spec)
  const depth = spec.depth ?? 3
  let outstanding = 0
  let producing = false
  let closed = false
  const produce = async (): Promise<void> => {
    if (producing || closed) return
    producing = true
    try {
      while (outstanding < depth && !closed) {
        const batch = await batches.next()
        outstanding++
        port.postMessage({ batch, sizes: { source: batches.sourceBatch, intermediate: batches.intermediateBatch } }, transferables(batch))
      }
    } catch (err) {
      // One line for a person (it names the object or file); the stack only when debugging.
      port.postMessage({ error: err instanceof Error ? (process.env.TURNKIT_DEBUG ? (err.stack ?? err.message) : err.message) : String(err) })
    } finally {
      producing = false
    }
  }
  port.on('message', (msg: { ack?: boolean; close?: boolean }) => {
    if (msg.close) {
      closed = true
      void Promise.all([batches.source.close(), batches.intermediate.close()]).then(() => port.close())
      return
    }
    if (msg.ack) outstanding--
    void produce()
  })
  void produce()
}

/** Main-thread side: `next()` resolves to the next batch, in order; the worker keeps `depth` ready. */
export class BatchProducer {
  private readonly worker: Worker
  private readonly ready: MixedBatch[] = []
  private waiting: { resolve: (b: MixedBatch) => void; reject: (e: Error) => void } | undefined
  private failure: Error | undefined
  /** Batch sizes the worker resolved (b_s, and b_m balanced to the corpus sizes). */
  sizes: { source: number; intermediate: number } | undefined

  constructor(spec: BatchProducerSpec) {
    this.worker = spawnModuleWorker(import.meta.url, 'serveBatches', spec)
    this.worker.on('message', (msg: { batch?: MixedBatch; sizes?: { source: number; intermediate: number }; error?: string; fatal?: string }) => {
      if (msg.fatal !== undefined || msg.error !== undefined) return this.fail(new Error(`batch worker: ${msg.fatal ?? msg.error}`))
      this.sizes ??= msg.sizes
      const waiter = this.waiting
      if (waiter) {
        this.waiting = undefined
        waiter.resolve(msg.batch!)
      } else this.ready.push(msg.batch!)
    })
    this.worker.on('error', (err) => this.fail(err))
  }

  private fail(err: Error): void {
    this.failure ??= err
    this.waiting?.reject(err)
    this.waiting = undefined
  }

  /** The next batch (acknowledged, so the worker prepares another). */
  async next(): Promise<MixedBatch> {
    if (this.failure) throw this.failure
    const batch = this.ready.shift() ?? (await new Promise<MixedBatch>((resolve, reject) => (this.waiting = { resolve, reject })))
    this.worker.postMessage({ ack: true })
    return batch
  }

  async close(): Promise<void> {
    this.worker.postMessage({ close: true })
    await new Promise((r) => setTimeout(r, 20))
    await this.worker.terminate()
  }
}
