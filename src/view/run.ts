// `turnkit view <location> [--pred FILE] [--port P] [--host H] [--open]`, as the command line runs it: start the
// viewer, print its address, open a browser when asked, and serve until Ctrl-C (SIGINT) or SIGTERM.
import { spawn } from 'node:child_process'
import type { DataOptions } from '../dataset/dataset.js'
import { startViewer, type Viewer } from './server.js'

/** The port `turnkit view` tries first; when it is taken (and --port was not given), any free port. */
export const DEFAULT_VIEW_PORT = 8737

export interface RunViewOptions {
  location: string
  /** what the page calls the dataset; default `location` (the CLI passes the argument as typed) */
  title?: string
  predsPath?: string
  /** default DEFAULT_VIEW_PORT, falling back to any free port when it is taken; 0: any free port */
  port?: number
  /** default 127.0.0.1; any other address serves other machines (a warning says so) */
  host?: string
  /** open the page in the desktop's browser (xdg-open, open, start) */
  open?: boolean
  verifyData?: boolean
  data?: DataOptions
  /** resolve when this signal aborts instead of waiting for SIGINT / SIGTERM (tests) */
  signal?: AbortSignal
}

/**
 * Serve the viewer until SIGINT or SIGTERM (or `signal`), then close it. `log` gets the address and notes (the
 * CLI passes stdout for the address line). Resolves with the signal that stopped it. Throws what startViewer
 * throws (the dataset cannot be read, the port given is taken).
 */
export async function runView(options: RunViewOptions, log: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<NodeJS.Signals | 'aborted'> {
  const base = {
    location: options.location,
    title: options.title ?? options.location,
    ...(options.predsPath !== undefined ? { predsPath: options.predsPath } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.data !== undefined ? { data: options.data } : {}),
    verifyData: options.verifyData ?? true,
    log: (line: string) => log(line),
  }
  let viewer: Viewer
  try {
    viewer = await startViewer({ ...base, port: options.port ?? DEFAULT_VIEW_PORT })
  } catch (error) {
    if (options.port !== undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    log(`view: port ${DEFAULT_VIEW_PORT} is taken; using a free port`)
    viewer = await startViewer({ ...base, port: 0 })
  }
  const m = viewer.data.dataset.manifest
  log(`view: ${viewer.data.dataset.location}: ${m.schema.id}, ${m.rows} rows, ${m.rejects.total} rejects, version ${m.version}`)
  log(`view: serving ${viewer.url} (Ctrl-C to stop)`)
  if (options.open) openBrowser(viewer.url, log)
  viewer.ready.then(
    () => log(`view: index of ${viewer.data.size} rows built in ${((viewer.data.indexStats.buildMs ?? 0) / 1000).toFixed(2)} s`),
    () => {}, // ViewerData logs it
  )
  let onSignal: (signal: NodeJS.Signals) => void = () => {}
  const stopped = await new Promise<NodeJS.Signals | 'aborted'>((resolve) => {
    onSignal = (signal) => resolve(signal)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    if (options.signal?.aborted) resolve('aborted')
    options.signal?.addEventListener('abort', () => resolve('aborted'), { once: true })
  })
  process.removeListener('SIGINT', onSignal)
  process.removeListener('SIGTERM', onSignal)
  await viewer.close()
  log('view: stopped')
  return stopped
}

/** Open `url` in the desktop's browser; a failure is a note, never an error (the address is printed anyway). */
function openBrowser(url: string, log: (line: string) => void): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true })
    child.on('error', () => log(`view: could not open a browser (${command}); open ${url} yourself`))
    child.unref()
  } catch {
    log(`view: could not open a browser (${command}); open ${url} yourself`)
  }
}
