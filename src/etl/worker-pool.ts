// Runs a stage in worker threads. A stage is named by module URL + factory export + plain-JSON options, so
// each worker builds its own copy (no shared mutable state); items and results cross as structured clones,
// with typed-array buffers transferred, not copied. `workers: 0` runs the stage inline (debugging, tests).
import type { Worker, MessagePort } from 'node:worker_threads'
import { spawnModuleWorker, transferables } from './module-worker.js'
import type { Reject } from '../kinds/reject.js'
import type { Stage } from '../kinds/record.js'

/** Where a worker finds the stage: `import(module)[factory](options)` returns the stage (or a promise of it). */
export interface StageSpec {
  /** file: URL of the module (use `new URL('./x.js', import.meta.url).href`). */
  module: string
  /** Name of the exported factory. */
  factory: string
  /** Plain JSON options passed to the factory. */
  options: unknown
}

type StageFactory = (options: unknown) => Stage<unknown, unknown> | Promise<Stage<unknown, unknown>>

/** Build the stage a spec names, in this thread. */
export async function loadStage<In, Out>(spec: StageSpec): Promise<Stage<In, Out>> {
  const mod = (await import(spec.module)) as Record<string, unknown>
  const factory = mod[spec.factory]
  if (typeof factory !== 'function') throw new Error(`${spec.module} has no export ${spec.factory}`)
  return (await (factory as StageFactory)(spec.options)) as Stage<In, Out>
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

/** A fixed set of worker threads running one stage. `run` resolves in completion order; callers reorder. */
export class WorkerPool<In, Out> {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly load: number[] = []
  private nextId = 0
  private inline: Promise<Stage<In, Out>> | undefined
  private failure: Error | undefined

  constructor(spec: StageSpec, count: number) {
    if (count === 0) {
      this.inline = loadStage<In, Out>(spec)
      return
    }
    for (let i = 0; i < count; i++) {
      const worker = spawnModuleWorker(import.meta.url, 'serveStage', spec)
      worker.on('message', (msg: { id?: number; result?: unknown; error?: string; fatal?: string }) => {
        if (msg.fatal !== undefined) return this.fail(new Error(`worker ${i} failed to start: ${msg.fatal}`))
        const job = this.pending.get(msg.id!)
        if (job === undefined) return
        this.pending.delete(msg.id!)
        this.load[i]!--
        if (msg.error !== undefined) job.reject(new Error(msg.error))
        else job.resolve(msg.result)
      })
      worker.on('error', (err) => this.fail(err))
      worker.on('exit', (code) => {
        if (code !== 0 && this.failure === undefined) this.fail(new Error(`worker ${i} exited with code ${code}`))
      })
      this.workers.push(worker)
      this.load.push(0)
    }
  }

  private fail(err: Error): void {
    this.failure ??= err
    for (const job of this.pending.values()) job.reject(err)
    this.pending.clear()
  }

  /** Process one item; resolves to the stage's output or Reject. Rejects only when the stage threw (a bug). */
  async run(item: In): Promise<Out | Reject> {
    if (this.failure) throw this.failure
    if (this.inline) return (await this.inline)(item)
    // Least-loaded worker: keeps both busy when items take uneven time.
    let index = 0
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[index]!) index = i
    const id = this.nextId++
    this.load[index]!++
    return await new Promise<Out | Reject>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.workers[index]!.postMessage({ id, item })
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/** Worker side: build the stage, then answer `{id, item}` messages. Exported for the bootstrap only. */
export async function serveStage(port: MessagePort, spec: StageSpec): Promise<void> {
  const stage = await loadStage<unknown, unknown>(spec)
  port.on('message', async ({ id, item }: { id: number; item: unknown }) => {
    try {
      const result = await stage(item)
      port.postMessage({ id, result }, transferables(result))
    } catch (err) {
      port.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    }
  })
}
