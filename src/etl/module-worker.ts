// Start a worker thread that runs an exported function of a TypeScript module. Workers start as eval'd
// CommonJS so that TypeScript support (tsx) is registered before the module loads; under a plain-JS build the
// register call is harmless.
import { Worker, type MessagePort } from 'node:worker_threads'

/** The worker-side entry: receives the port to the parent and the plain-data `data`. */
export type WorkerEntry = (port: MessagePort, data: unknown) => void | Promise<void>

/**
 * A worker running `import(moduleUrl)[entry](parentPort, data)`. A failure to start arrives as a message
 * `{ fatal: string }` on the worker, so the parent can report it like any other error.
 */
export function spawnModuleWorker(moduleUrl: string, entry: string, data: unknown): Worker {
  const bootstrap = `
    const { parentPort, workerData } = require('node:worker_threads')
    import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.module) })
      .then((mod) => mod[workerData.entry](parentPort, workerData.data))
      .catch((err) => { parentPort.postMessage({ fatal: String(err && err.stack || err) }) })`
  return new Worker(bootstrap, {
    eval: true,
    workerData: { tsx: import.meta.resolve('tsx/esm/api'), module: moduleUrl, entry, data },
  })
}

/** Every ArrayBuffer reachable in a result's top two levels (rows hold typed arrays and arrays of them). */
export function transferables(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>()
  const visit = (v: unknown, depth: number): void => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) out.add(v.buffer)
    } else if (depth < 3 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1))
    else if (depth < 3 && typeof v === 'object' && v !== null) Object.values(v).forEach((x) => visit(x, depth + 1))
  }
  visit(value, 0)
  return [...out]
}
