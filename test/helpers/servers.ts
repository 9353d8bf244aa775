// Real servers on loopback for the storage tests: an S3-compatible server (s3rver, in a child process so it can
// be killed and restarted), an HTTP(S) file server with byte ranges and nginx-style JSON directory listings, and
// a fault-injecting proxy (503s, dropped connections, truncated bodies on a share of requests).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join, normalize, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './temp.js'

/** Credentials s3rver accepts; the AWS SDK's environment chain picks them up. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' } as const
for (const [k, v] of Object.entries(S3_ENV)) process.env[k] = v
// The SDK warns that releases after January 2027 need Node 22; the pinned one runs on Node 20 (see storage.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

export interface S3Server {
  endpoint: string
  port: number
  /** kill -9 the server process */
  kill(): void
  /** start it again on the same port and folder (the objects stay) */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function spawnS3(directory: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./s3-server-process.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, directory, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const actual = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t
      const m = /ready (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before it was ready`)))
  })
  return { child, port: actual }
}

/** Start s3rver on 127.0.0.1 with a fresh folder and the given buckets. */
export async function startS3(buckets: readonly string[] = []): Promise<S3Server> {
  const directory = await tempDir('s3rver-')
  let { child, port } = await spawnS3(directory, 0)
  const server: S3Server = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    kill: () => child.kill('SIGKILL'),
    async restart() {
      // The port is free again once the killed process is gone.
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r))
      ;({ child } = await spawnS3(directory, port))
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
  for (const bucket of buckets) await createBucket(server.endpoint, bucket)
  return server
}

async function client(endpoint: string): Promise<import('@aws-sdk/client-s3').S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3')
  return new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: S3_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_ENV.AWS_SECRET_ACCESS_KEY } })
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const { CreateBucketCommand } = await import('@aws-sdk/client-s3')
  await (await client(endpoint)).send(new CreateBucketCommand({ Bucket: bucket }))
}

/** Upload every file under `dir` to `s3://bucket/prefix/<relative path>` (as a user's `aws s3 sync` would). */
export async function uploadDir(endpoint: string, dir: string, bucket: string, prefix: string): Promise<number> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3')
  const s3 = await client(endpoint)
  let n = 0
  const walk = async (at: string): Promise<void> => {
    for (const e of await readdir(at, { withFileTypes: true })) {
      const path = join(at, e.name)
      if (e.isDirectory()) await walk(path)
      else if (e.isFile()) {
        const key = [prefix, relative(dir, path).split(sep).join('/')].filter((s) => s !== '').join('/')
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }))
        n++
      }
    }
  }
  await walk(dir)
  return n
}

/** Overwrite one object with other bytes (a damaged or replaced object). */
export async function putObject(endpoint: string, bucket: string, key: string, body: Uint8Array): Promise<void> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3')
  await (await client(endpoint)).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
}

export async function listKeys(endpoint: string, bucket: string, prefix: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3')
  const s3 = await client(endpoint)
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
    for (const c of page.Contents ?? []) keys.push(c.Key!)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return keys.sort()
}

export interface Served {
  url: string
  /** requests served, by method */
  requests: { GET: number; HEAD: number; ranges: number }
  stop(): Promise<void>
}

/** A self-signed certificate for 127.0.0.1 made with openssl, or null when there is no openssl. */
export async function selfSignedCertificate(): Promise<{ key: Buffer; cert: Buffer; certFile: string } | null> {
  const dir = await tempDir('tls-')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  if (made.status !== 0) return null
  return { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')), certFile: join(dir, 'cert.pem') }
}

/**
 * Serve the folder `root` read-only over HTTP, or HTTPS with `tls`: GET and HEAD, single byte ranges (206, 416),
 * and a folder URL ending in '/' listed as nginx's `autoindex_format json` does. Nothing outside `root` is served.
 */
export async function serveFolder(root: string, tls?: { key: Buffer; cert: Buffer }): Promise<Served> {
  const requests = { GET: 0, HEAD: 0, ranges: 0 }
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end()
    requests[req.method] += 1
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
    if (path !== root && !path.startsWith(root + sep)) return void res.writeHead(404).end()
    const info = await stat(path).catch(() => null)
    if (info === null) return void res.writeHead(404).end()
    if (info.isDirectory()) {
      if (!(req.url ?? '').split('?')[0]!.endsWith('/')) return void res.writeHead(301, { location: `${req.url}/` }).end()
      const entries = await Promise.all((await readdir(path, { withFileTypes: true })).map(async (e) => {
        const s = await stat(join(path, e.name))
        return { name: e.name, type: e.isDirectory() ? 'directory' : 'file', mtime: s.mtime.toUTCString(), ...(e.isDirectory() ? {} : { size: s.size }) }
      }))
      const body = JSON.stringify(entries)
      return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body)
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    let start = 0
    let end = info.size - 1
    if (range) {
      requests.ranges += 1
      if (range[1] === '') start = Math.max(0, info.size - Number(range[2]))
      else {
        start = Number(range[1])
        if (range[2] !== '') end = Math.min(end, Number(range[2]))
      }
      if (start > end || start >= info.size) return void res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end()
    }
    const headers = { 'content-length': end - start + 1, 'accept-ranges': 'bytes', 'last-modified': info.mtime.toUTCString(), 'content-type': 'application/octet-stream', ...(range ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}) }
    res.writeHead(range ? 206 : 200, headers)
    if (req.method === 'HEAD' || info.size === 0) return void res.end()
    createReadStream(path, { start, end }).pipe(res)
  }
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => void handler(req, res).catch(() => res.destroy())
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()) }),
  }
}

export interface FaultCounts {
  requests: number
  passed: number
  unavailable: number
  dropped: number
  truncated: number
  stalled: number
  trickled: number
}

export interface FaultProxy {
  url: string
  counts: FaultCounts
  /** the share of requests that fail from now on */
  setRate(rate: number): void
  stop(): Promise<void>
}

/**
 * A proxy on 127.0.0.1 in front of `target` (http or https) that fails a share `rate` of requests, picked by a
 * seeded generator, in turn: 503 Slow Down; the connection dropped before an answer; the connection dropped
 * after the request reached the server (a write that happened, its answer lost); the answer's body cut off
 * half-way, its Content-Length kept. `faults: ['stall']` (not in the default turn): the answer's headers and half
 * its body sent, then nothing more, the connection left open. `faults: ['trickle']`: the whole answer, in 8 pieces
 * `trickleMs` apart (a slow link that keeps making progress). With `tls` it speaks HTTPS itself.
 */
export type Fault = 'unavailable' | 'drop-before' | 'drop-after' | 'truncate' | 'stall' | 'trickle'
export const FAULTS: readonly Fault[] = ['unavailable', 'drop-before', 'drop-after', 'truncate']

export async function startFaultProxy(target: string, { rate = 0.2, seed = 1, tls, faults = FAULTS, trickleMs = 300 }: { rate?: number; seed?: number; tls?: { key: Buffer; cert: Buffer }; faults?: readonly Fault[]; trickleMs?: number } = {}): Promise<FaultProxy> {
  const counts: FaultCounts = { requests: 0, passed: 0, unavailable: 0, dropped: 0, truncated: 0, stalled: 0, trickled: 0 }
  const stalledSockets = new Set<import('node:net').Socket>()
  let state = seed >>> 0
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0 // mulberry32
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  let share = rate
  let turn = 0
  // A truncation whose turn fell on a request without a body to cut (a PUT, a HEAD) is owed to the next GET, so
  // every fault kind happens whatever order concurrent requests arrive in.
  let owedTruncations = 0
  const origin = new URL(target)
  const upstream = origin.protocol === 'https:' ? https : http
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    counts.requests += 1
    let fault = random() < share ? faults[turn++ % faults.length]! : null
    if (fault === 'truncate' && req.method !== 'GET') {
      owedTruncations += 1
      fault = null
    } else if (fault === null && owedTruncations > 0 && req.method === 'GET') fault = 'truncate'
    if (fault === 'unavailable') {
      counts.unavailable += 1
      req.resume()
      return void res.writeHead(503, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>')
    }
    if (fault === 'drop-before') {
      counts.dropped += 1
      req.resume()
      return void req.socket.destroy()
    }
    const forwarded = upstream.request({ host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers, rejectUnauthorized: false }, (answer) => {
      if (fault === 'drop-after') {
        counts.dropped += 1
        answer.resume()
        return void req.socket.destroy()
      }
      const length = Number(answer.headers['content-length'] ?? 0)
      if ((fault === 'truncate' || fault === 'stall') && req.method === 'GET' && length > 1) {
        if (fault === 'stall') {
          counts.stalled += 1
          stalledSockets.add(req.socket)
        } else {
          counts.truncated += 1
          owedTruncations = Math.max(0, owedTruncations - 1)
        }
        // Headers and half the body; then a truncation closes the connection, a stall leaves it open and silent.
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        let sent = 0
        answer.on('data', (chunk: Buffer) => {
          const room = Math.floor(length / 2) - sent
          if (room > 0) res.write(chunk.subarray(0, room))
          sent += chunk.length
          if (fault === 'truncate' && sent >= Math.floor(length / 2)) {
            answer.destroy()
            req.socket.destroy()
          }
        })
        return
      }
      if (fault === 'trickle' && req.method === 'GET' && length > 1) {
        // The whole body, slowly: 8 pieces, `trickleMs` apart (a slow link that keeps making progress).
        counts.trickled += 1
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          const body = Buffer.concat(chunks)
          const piece = Math.ceil(body.length / 8)
          const send = (i: number): void => {
            if (res.destroyed) return
            if (i * piece >= body.length) return void res.end()
            res.write(body.subarray(i * piece, (i + 1) * piece))
            setTimeout(() => send(i + 1), trickleMs)
          }
          send(0)
        })
        return
      }
      counts.passed += 1
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forwarded.on('error', () => req.socket.destroy())
    req.pipe(forwarded)
  }
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    counts,
    setRate: (r) => {
      share = r
    },
    stop: () => new Promise((r) => {
      for (const socket of stalledSockets) socket.destroy()
      server.closeAllConnections()
      server.close(() => r())
    }),
  }
}
