// Start a worker thread that runs an exported function of a module. From the TypeScript sources (a checkout,
// the tests) the worker registers tsx before the module loads; from the compiled package (dist/) it imports
// the JavaScript directly, so tsx is not needed there.
import { Worker } from 'node:worker_threads'

// This file's own URL ends in .ts exactly when the process runs the sources through tsx.
const FROM_SOURCES = import.meta.url.endsWith('.ts')

/**
 * A worker running `import(moduleUrl)[entry](parentPort, data)`. A failure to start arrives as a message
 * `{ fatal: string }` on the worker, so the parent can report it like any other error.
 */
export function spawnModuleWorker(moduleUrl: string, entry: string, data: unknown): Worker {
  // Only dynamic import(): the eval'd code runs as CommonJS or as a module, as the parent's --input-type says.
  const bootstrap = `
    import('node:worker_threads').then(({ parentPort, workerData }) => {
      const ready = workerData.tsx === null ? Promise.resolve() : import(workerData.tsx).then((tsx) => tsx.register())
      return ready.then(() => import(workerData.module))
        .then((mod) => mod[workerData.entry](parentPort, workerData.data))
        .catch((err) => { parentPort.postMessage({ fatal: String(err && err.stack || err) }) })
    })`
  return new Worker(bootstrap, {
    eval: true,
    workerData: { tsx: FROM_SOURCES ? import.meta.resolve('tsx/esm/api') : null, module: moduleUrl, entry, data },
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
