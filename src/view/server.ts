// `turnkit view`: a local web page over a dataset (and, optionally, a predictions file), served by node:http.
//
// Safety, since the page shows untrusted corpus text and the server reads files:
// - Static files come from a fixed allow-list (assets.ts): the raw request path is looked up in a map, never
//   decoded into a file path, so `/../../etc/passwd`, `%2e%2e%2f` variants and absolute paths are all 404.
// - API paths are matched exactly (`/api/rows/<digits>/image`); a row is named by its index, never by a path.
// - By default the server listens on 127.0.0.1 and answers only loopback clients whose Host header names a
//   loopback host (a page of another site that resolves its name to 127.0.0.1 cannot read it: DNS rebinding).
//   Given a host explicitly (`--host 0.0.0.0`), it answers anyone, and says so.
// - The page is served with a Content-Security-Policy that allows only its own scripts (the inline import map by
//   hash), its own images and its own API; the page itself renders every value as text (preact escapes).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename } from 'node:path'
import type { DataOptions } from '../dataset/dataset.js'
import { OVERLAY_COLOURS } from '../train/overlays.js'
import { viewAssets } from './assets.js'
import { DamagedError, QueryError, type RowQuery, ViewerData } from './data.js'

/** Colours of boxes, by annotator (0 is the ground truth's cyan of `turnkit eval --vis`); predictions are red. */
export const ANNOTATOR_COLOURS = [OVERLAY_COLOURS.groundTruth, '#ffd400', '#ff5cf4', '#7dff3a', '#ff9a1f', '#b48cff'] as const

export interface ViewerOptions {
  /** a dataset: a folder, s3://bucket/prefix or an http(s):// URL */
  location: string
  /** a predictions file (`turnkit score` format) for an audio-image-boxes dataset */
  predsPath?: string
  /** what the page calls the dataset; default the location as given */
  title?: string
  /** address to listen on; default 127.0.0.1 (then only loopback clients are answered) */
  host?: string
  /** port; default 0 (any free port) */
  port?: number
  data?: DataOptions
  /** check each local part's sha256 before its first read, and the ledger (default true); the page shows the result */
  verifyData?: boolean
  /** where warnings go; default stderr */
  log?: (line: string) => void
}

export interface Viewer {
  /** the page's address, e.g. http://127.0.0.1:8737/ */
  url: string
  /** resolves when the index (and the scores) are built */
  ready: Promise<void>
  data: ViewerData
  close(): Promise<void>
}

/** Whether `address` (a socket's remoteAddress) is a loopback address: 127.0.0.0/8 or ::1, IPv4-mapped or not. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true
  return address === '::1' || address === '0:0:0:0:0:0:0:1'
}

/** Whether a Host header names a loopback host (127.x.x.x, localhost, [::1]), with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name)
}

/**
 * Why a request is refused, or null when it is answered. `anyClient`: the server was given a non-loopback host
 * explicitly and answers anyone.
 */
export function refusal(remoteAddress: string | undefined, hostHeader: string | undefined, anyClient: boolean): string | null {
  if (anyClient) return null
  if (!isLoopbackAddress(remoteAddress)) return `refused: ${remoteAddress ?? 'an unknown address'} is not a loopback client (start turnkit view with --host to serve other machines)`
  if (!isLoopbackHost(hostHeader)) return `refused: Host ${JSON.stringify(hostHeader ?? '')} is not a loopback name`
  return null
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const ROW = /^\/api\/rows\/(\d{1,12})(\/image|\/log-mel)?$/

/**
 * Start the viewer: open the dataset, start building its index in the background, and listen. Resolves once the
 * server is listening (the first page is served before the index is ready). Throws naming the file when the
 * dataset or the predictions cannot be read, and the listen error (EADDRINUSE) as it is.
 */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const host = options.host ?? '127.0.0.1'
  // Given a non-loopback host explicitly, the server answers any client (and says so below).
  const anyClient = options.host !== undefined && !isLoopbackAddress(host) && host !== 'localhost'
  const { assets, html, scriptHashes } = viewAssets()
  const data = await ViewerData.open({ location: options.location, ...(options.predsPath !== undefined ? { predsPath: options.predsPath } : {}), data: options.data ?? {}, verifyData: options.verifyData ?? true, log })
  const schemaText = JSON.stringify(data.dataset.schema)
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${scriptHashes.join(' ')}`,
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': String(bytes.byteLength),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...headers,
    })
    res.end(res.req.method === 'HEAD' ? undefined : bytes)
  }
  const json = (res: http.ServerResponse, value: unknown, status = 200): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value))

  const info = () => ({
    title: options.title ?? options.location,
    location: data.dataset.location,
    remote: data.dataset.remote,
    version: data.dataset.manifest.version,
    schema: { id: data.dataset.schema.id, version: data.dataset.schema.version },
    pipeline: data.dataset.manifest.pipeline.name,
    rows: data.size,
    inputs: data.dataset.manifest.inputs,
    rejects: data.dataset.manifest.rejects.total,
    rowGroups: data.dataset.rowGroups.length,
    columns: data.dataset.schema.fields.map((f) => ({ name: f.name, type: f.type, unit: f.unit ?? null })),
    labelColumn: data.labelColumn,
    textColumn: data.textColumn,
    sortable: data.sortable,
    predictions: data.hasPredictions ? basename(options.predsPath!) : null,
    colours: { annotators: ANNOTATOR_COLOURS, prediction: OVERLAY_COLOURS.prediction },
    audio: audioSettings(data.dataset.manifest.pipeline.settings),
    index: data.indexStats,
    verification: data.verification,
  })

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = req.url ?? ''
    const q = raw.indexOf('?')
    const path = q === -1 ? raw : raw.slice(0, q)
    const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1))
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': csp })
    const asset = assets.get(path)
    if (asset !== undefined) return send(res, 200, asset.contentType, readFileSync(asset.file))
    if (path === '/favicon.ico') return send(res, 204, 'text/plain', '')
    if (path === '/api/info') return json(res, info())
    if (path === '/api/manifest') return json(res, data.dataset.manifest)
    if (path === '/api/schema') return send(res, 200, 'application/json; charset=utf-8', schemaText)
    if (path === '/api/facets') return json(res, await data.facets())
    if (path === '/api/rows') return json(res, await data.page(rowQuery(params)))
    if (path === '/api/rejects') return json(res, await data.rejects(intParam(params, 'limit') ?? 1000))
    if (path === '/api/scores') {
      if (!data.hasPredictions) throw new HttpError(404, 'no predictions: start turnkit view with --pred FILE')
      await data.ready()
      return json(res, data.scores)
    }
    const row = ROW.exec(path)
    if (row !== null) {
      const index = Number(row[1])
      if (row[2] === undefined) {
        const value = await data.row(index)
        if (value === null) throw new HttpError(404, `no row ${index} (the dataset has ${data.size})`)
        return json(res, value)
      }
      if (row[2] === '/image') {
        const jpeg = await data.image(index)
        if (jpeg === null) throw new HttpError(404, `no image for row ${index}`)
        return send(res, 200, 'image/jpeg', jpeg)
      }
      const mel = await data.logMel(index)
      if (mel === null) throw new HttpError(404, `no log-mel for row ${index}`)
      if (params.get('format') === 'json') return json(res, { frames: mel.frames, nMels: mel.nMels, values: Array.from(mel.values) })
      // float32, little-endian (the byte order of every platform Node runs on), frame-major: [t][m] at t * nMels + m.
      const bytes = new Uint8Array(mel.values.buffer, mel.values.byteOffset, mel.values.byteLength)
      return send(res, 200, 'application/octet-stream', bytes, { 'X-Frames': String(mel.frames), 'X-N-Mels': String(mel.nMels) })
    }
    throw new HttpError(404, 'not found')
  }

  const server = http.createServer((req, res) => {
    const why = refusal(req.socket.remoteAddress, req.headers.host, anyClient)
    if (why !== null) {
      send(res, 403, 'text/plain; charset=utf-8', `${why}\n`, { Connection: 'close' })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { Allow: 'GET, HEAD' })
      return
    }
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof QueryError ? 400 : error instanceof DamagedError ? 409 : 500
      if (status === 500) log(`view: ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`)
      if (!res.headersSent) json(res, { error: (error as Error).message }, status)
      else res.destroy()
    })
  })
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await data.close()
    throw error
  }
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address
  const url = `http://${anyClient && (address.address === '0.0.0.0' || address.address === '::') ? '127.0.0.1' : shown}:${address.port}/`
  if (anyClient) log(`view: warning: listening on ${host}:${address.port}: any machine that can reach this one can read the dataset through it (no authentication)`)
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const ready = data.ready()
  ready.catch(() => {}) // logged by ViewerData; a caller that awaits it still sees the error
  return {
    url,
    ready,
    data,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      await data.close()
    },
  }
}

/** A page query from URL parameters; empty parameters count as absent. Throws QueryError on a bad number. */
export function rowQuery(params: URLSearchParams): RowQuery {
  const text = (name: string): string | undefined => {
    const v = params.get(name)
    return v === null || v === '' ? undefined : v
  }
  const query: RowQuery = {}
  const offset = intParam(params, 'offset')
  const limit = intParam(params, 'limit')
  if (offset !== undefined) query.offset = offset
  if (limit !== undefined) query.limit = limit
  for (const name of ['split', 'label', 'corpus', 'q', 'sort'] as const) {
    const v = text(name)
    if (v !== undefined) query[name] = v
  }
  const order = text('order')
  if (order !== undefined) query.order = order as 'asc' | 'desc'
  return query
}

function intParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name)
  if (v === null || v === '') return undefined
  if (!/^\d{1,9}$/.test(v)) throw new QueryError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return Number(v)
}

/** The audio settings the page needs to label the log-mel's axes (sample rate, hop, mel range). */
function audioSettings(settings: Record<string, unknown>): { sampleRate: number; hopLength: number; nMels: number; fmin: number; fmax: number } | null {
  const audio = settings.audio as Record<string, unknown> | undefined
  if (audio === undefined || audio === null || typeof audio !== 'object') return null
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback)
  const sampleRate = num(audio.sampleRate, 22050)
  return { sampleRate, hopLength: num(audio.hopLength, 1024), nMels: num(audio.nMels, 128), fmin: num(audio.fmin, 0), fmax: num(audio.fmax, sampleRate / 2) }
}
