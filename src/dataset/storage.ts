// Where datasets and corpora live: a local folder, an S3 (or S3-compatible: MinIO, Ceph RGW, R2, GCS interop)
// prefix `s3://bucket/prefix`, or an HTTP(S) base URL (read-only, byte ranges). A Store reads and writes objects by
// key, '/'-separated, under its location. Everything that touches a dataset or a corpus goes through one.
//
// Every object appears whole or not at all: locally by temporary name + fsync + rename, on S3 by PutObject (an
// object is visible only once complete; large ones by multipart upload, also atomic). Every request is retried
// with exponential backoff and jitter on timeouts, dropped connections, 5xx and 429, and bounded in flight.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pLimit from 'p-limit'
import { makeDir, writeFileAtomic, writeFileExclusive } from './atomic.js'

export type LocationKind = 'local' | 's3' | 'http'

/** What a store knows of an object without reading it. */
export interface ObjectInfo {
  size: number
  /** `sha256:<hex>` when the store keeps it beside the object (turnkit writes it as S3 metadata); else null */
  sha256: string | null
  /** last modified, ms since the epoch */
  modifiedMs: number
}

/** The entries directly under a folder of a store: objects (name, size) and sub-folders (name). */
export interface Listing {
  files: { name: string; size: number }[]
  folders: string[]
}

/** A failure to read or write an object, naming it, with what to do. `code` says which kind. */
export class StoreError extends Error {
  override name = 'StoreError'
  constructor(
    /** unavailable: transient (network, 5xx, 429, a body cut short) and retried; the others are final */
    readonly code: 'not-found' | 'denied' | 'no-bucket' | 'corrupt' | 'unavailable' | 'read-only' | 'failed',
    readonly object: string,
    message: string,
  ) {
    super(message)
  }
}

/** One location's objects. */
export interface Store {
  readonly kind: LocationKind
  /** the location, normalised: an absolute local path, `s3://bucket/prefix`, or an http(s) URL */
  readonly location: string
  /** The full name of `key` under this location, for messages: `s3://b/p/part-00000.parquet`. */
  describe(key: string): string
  /** The object's bytes. Throws StoreError naming it (not-found, denied, no-bucket, unavailable). */
  read(key: string): Promise<Uint8Array>
  /** The object's size and recorded sha256, or null when there is none. */
  info(key: string): Promise<ObjectInfo | null>
  /** Objects and folders directly under `prefix` ('' is the location itself). */
  list(prefix: string): Promise<Listing>
  /** Write `bytes` as `key`, whole or not at all, recording their sha256 where the store can. */
  write(key: string, bytes: Uint8Array | string): Promise<void>
  /** Write `bytes` as `key` unless it exists; false when it did (exclusive create, for locks). */
  writeNew(key: string, bytes: Uint8Array | string): Promise<boolean>
  remove(key: string): Promise<void>
  /** Copy `key` of `from` here as `to`: server-side when both are the same S3 endpoint. */
  copyFrom(from: Store, key: string, to: string): Promise<void>
  /** Stream the object into a local file (created or replaced); returns its size and sha256. */
  download(key: string, path: string): Promise<{ size: number; sha256: string }>
  /** A local path of `key` when the store is a local folder (read in place), else null. */
  localPath(key: string): string | null
}

/** How remote stores are reached. */
export interface StoreOptions {
  /** S3-compatible endpoint (MinIO, Ceph, R2, ...); default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS */
  s3Endpoint?: string
  /** attempts per request, the first included; default 8 */
  attempts?: number
  /** ms before a request with no progress is abandoned and retried; default 30,000 */
  timeoutMs?: number
  /** requests in flight per store; default 16 */
  concurrency?: number
  /** objects of more bytes than this go up as S3 multipart uploads of 8 MiB pieces; default 64 MB */
  multipartBytes?: number
}

export const STORE_DEFAULTS = { attempts: 8, timeoutMs: 30_000, concurrency: 16, multipartBytes: 64e6 } as const

/** Whether `location` names a remote store (s3:// or http(s)://) rather than a local path. */
export const isRemote = (location: string): boolean => /^(s3|https?):\/\//i.test(location)

/** Resolve a location as a user gave it: remote ones as they are, local paths made absolute. */
export const resolveLocation = (location: string): string => (isRemote(location) ? location.replace(/\/+$/, '') : resolve(location))

/** Open the store at `location` (see the top of this file). Throws naming a malformed location. */
export function openStore(location: string, options: StoreOptions = {}): Store {
  if (/^s3:\/\//i.test(location)) return new S3Store(location, options)
  if (/^https?:\/\//i.test(location)) return new HttpStore(location, options)
  return new LocalStore(resolve(location))
}

const sha256Of = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** Retry `attempt` on transient failures with exponential backoff and full jitter (AWS's recommendation). */
export async function withRetries<T>(what: string, attempts: number, attempt: () => Promise<T>, isTransient: (error: unknown) => boolean): Promise<T> {
  let last: unknown
  for (let i = 0; i < attempts; i++) {
    try {
      return await attempt()
    } catch (error) {
      last = error
      if (!isTransient(error) || i === attempts - 1) break
      const cap = Math.min(10_000, 100 * 2 ** i)
      await new Promise((r) => setTimeout(r, Math.random() * cap)) // jitter needs no reproducibility
    }
  }
  if (!isTransient(last)) throw last // final (not found, denied, a precondition): as it is
  if (last instanceof StoreError && attempts === 1) throw last
  if (last instanceof StoreError) throw new StoreError('unavailable', last.object, `${last.message} (after ${attempts} attempts): check the network and the store, then rerun (finished work is kept)`)
  throw new StoreError('unavailable', what, `${what}: ${(last as Error)?.message ?? String(last)} (after ${attempts} attempts): check the network and the store, then rerun`)
}

// ---- local folders

class LocalStore implements Store {
  readonly kind = 'local'
  constructor(readonly location: string) {}

  describe(key: string): string {
    return join(this.location, key)
  }

  localPath(key: string): string {
    return join(this.location, key)
  }

  async read(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.localPath(key))
    } catch (error) {
      throw localError(error, this.describe(key))
    }
  }

  async info(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.localPath(key))
      return s.isFile() ? { size: s.size, sha256: null, modifiedMs: s.mtimeMs } : null
    } catch {
      return null
    }
  }

  async list(prefix: string): Promise<Listing> {
    let entries
    try {
      entries = await readdir(this.localPath(prefix), { withFileTypes: true })
    } catch {
      return { files: [], folders: [] }
    }
    const files: Listing['files'] = []
    const folders: string[] = []
    for (const e of entries) {
      if (e.isDirectory()) folders.push(e.name)
      // Links and other entries are listed as files too: whoever lists must see everything that is there.
      else files.push({ name: e.name, size: await stat(join(this.localPath(prefix), e.name)).then((s) => s.size, () => 0) })
    }
    return { files: files.sort((a, b) => cmp(a.name, b.name)), folders: folders.sort(cmp) }
  }

  async write(key: string, bytes: Uint8Array | string): Promise<void> {
    await makeDir(dirname(this.localPath(key)))
    await writeFileAtomic(this.localPath(key), bytes)
  }

  async writeNew(key: string, bytes: Uint8Array | string): Promise<boolean> {
    await makeDir(dirname(this.localPath(key)))
    return await writeFileExclusive(this.localPath(key), bytes)
  }

  async remove(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true })
  }

  async copyFrom(from: Store, key: string, to: string): Promise<void> {
    const source = from.localPath(key)
    if (source !== null) {
      await makeDir(dirname(this.localPath(to)))
      const tmp = `${this.localPath(to)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
      try {
        await copyFile(source, tmp)
        await rename(tmp, this.localPath(to))
      } finally {
        await rm(tmp, { force: true })
      }
      return
    }
    await this.write(to, await from.read(key))
  }

  async download(key: string, path: string): Promise<{ size: number; sha256: string }> {
    return await streamToFile(createReadStream(this.localPath(key)), path)
  }
}

function localError(error: unknown, object: string): unknown {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new StoreError('not-found', object, `${object} does not exist`)
  if (code === 'EACCES' || code === 'EPERM') return new StoreError('denied', object, `${object}: permission denied`)
  return error
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

// ---- S3 and S3-compatible stores

type S3Module = typeof import('@aws-sdk/client-s3')
let s3Module: Promise<S3Module> | undefined
// The SDK is loaded only when an s3:// location is used: a local run never pays for it.
const loadS3 = (): Promise<S3Module> => (s3Module ??= import('@aws-sdk/client-s3'))

class S3Store implements Store {
  readonly kind = 's3'
  readonly location: string
  readonly bucket: string
  readonly prefix: string
  private client: Promise<import('@aws-sdk/client-s3').S3Client> | undefined
  private readonly limit: ReturnType<typeof pLimit>
  private readonly endpoint: string | undefined

  constructor(location: string, readonly options: StoreOptions) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(location)
    if (!m || m[1] === '') throw new StoreError('no-bucket', location, `${location}: expected s3://bucket/prefix`)
    this.bucket = m[1]!
    this.prefix = m[2]!.replace(/\/+$/, '')
    this.location = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`
    this.limit = pLimit(options.concurrency ?? STORE_DEFAULTS.concurrency)
    this.endpoint = options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL
  }

  private key(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`
  }

  describe(key: string): string {
    return `s3://${this.bucket}/${this.key(key)}`
  }

  localPath(): null {
    return null
  }

  private async s3(): Promise<import('@aws-sdk/client-s3').S3Client> {
    this.client ??= loadS3().then(({ S3Client }) => {
      // The SDK warns that its releases after January 2027 need Node 22; turnkit pins one that runs on Node 20.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
      const timeout = this.options.timeoutMs ?? STORE_DEFAULTS.timeoutMs
      return new S3Client({
        ...(this.endpoint ? { endpoint: this.endpoint, forcePathStyle: true } : {}),
        region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        // turnkit retries whole operations itself (including a body cut short, which the SDK does not see).
        maxAttempts: 1,
        // socketTimeout is the SDK's no-progress timeout: it aborts a request, or a body already under way, whose
        // socket has been silent that long. (Its requestTimeout only logs a warning unless told to throw, and then
        // bounds the whole request: a body that stalls after its headers would hang forever, a large one be cut.)
        requestHandler: { connectionTimeout: timeout, socketTimeout: timeout },
      })
    })
    return await this.client
  }

  private async send<T>(what: string, make: (m: S3Module) => unknown, after?: (out: unknown) => Promise<T>): Promise<T> {
    const m = await loadS3()
    const client = await this.s3()
    return await this.limit(() =>
      withRetries(what, this.options.attempts ?? STORE_DEFAULTS.attempts, async () => {
        try {
          const out = await client.send(make(m) as never)
          return after ? await after(out) : (out as T)
        } catch (error) {
          throw s3Error(error, what, this.bucket)
        }
      }, isTransientS3),
    )
  }

  async read(key: string): Promise<Uint8Array> {
    const what = this.describe(key)
    return await this.send(what, (m) => new m.GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), async (out) => {
      const o = out as { Body: { transformToByteArray(): Promise<Uint8Array> }; ContentLength?: number }
      const bytes = await o.Body.transformToByteArray()
      if (o.ContentLength !== undefined && bytes.length !== o.ContentLength) throw new TransientError(`${what}: ${bytes.length} of ${o.ContentLength} bytes arrived`)
      return bytes
    })
  }

  async info(key: string): Promise<ObjectInfo | null> {
    try {
      return await this.send(this.describe(key), (m) => new m.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), async (out) => {
        const o = out as { ContentLength?: number; Metadata?: Record<string, string>; LastModified?: Date }
        return { size: o.ContentLength ?? 0, sha256: o.Metadata?.['turnkit-sha256'] ?? null, modifiedMs: o.LastModified?.getTime() ?? 0 }
      })
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') return null
      throw error
    }
  }

  async list(prefix: string): Promise<Listing> {
    const files: Listing['files'] = []
    const folders: string[] = []
    const base = prefix === '' ? (this.prefix === '' ? '' : `${this.prefix}/`) : `${this.key(prefix).replace(/\/+$/, '')}/`
    let token: string | undefined
    do {
      const page = await this.send(this.describe(prefix), (m) => new m.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token }), async (out) => out as {
        Contents?: { Key?: string; Size?: number }[]
        CommonPrefixes?: { Prefix?: string }[]
        NextContinuationToken?: string
        IsTruncated?: boolean
      })
      for (const c of page.Contents ?? []) if (c.Key !== undefined && c.Key !== base) files.push({ name: c.Key.slice(base.length), size: c.Size ?? 0 })
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) folders.push(p.Prefix.slice(base.length).replace(/\/$/, ''))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    // s3rver and some stores ignore the delimiter: fold deeper keys into their first folder.
    const direct = files.filter((f) => !f.name.includes('/'))
    for (const f of files) if (f.name.includes('/')) folders.push(f.name.slice(0, f.name.indexOf('/')))
    return { files: direct.sort((a, b) => cmp(a.name, b.name)), folders: [...new Set(folders)].sort(cmp) }
  }

  async write(key: string, bytes: Uint8Array | string): Promise<void> {
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
    const sha256 = sha256Of(body)
    if (body.length <= (this.options.multipartBytes ?? STORE_DEFAULTS.multipartBytes)) {
      await this.send(this.describe(key), (m) => new m.PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, Metadata: { 'turnkit-sha256': sha256 } }))
      return
    }
    // Large parts go up in parallel pieces; the object appears only when CompleteMultipartUpload succeeds.
    const { Upload } = await import('@aws-sdk/lib-storage')
    const client = await this.s3()
    await withRetries(this.describe(key), this.options.attempts ?? STORE_DEFAULTS.attempts, async () => {
      try {
        await new Upload({ client, params: { Bucket: this.bucket, Key: this.key(key), Body: body, Metadata: { 'turnkit-sha256': sha256 } }, queueSize: 4, partSize: 8 * 1024 * 1024 }).done()
      } catch (error) {
        throw s3Error(error, this.describe(key), this.bucket)
      }
    }, isTransientS3)
  }

  async writeNew(key: string, bytes: Uint8Array | string): Promise<boolean> {
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
    try {
      // If-None-Match: * makes the put exclusive on S3 and stores that support conditional writes.
      await this.send(this.describe(key), (m) => new m.PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, IfNoneMatch: '*' }))
      return true
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412 || (error as StoreError).message?.includes('PreconditionFailed')) return false
      throw error
    }
  }

  async remove(key: string): Promise<void> {
    await this.send(this.describe(key), (m) => new m.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }))
  }

  async copyFrom(from: Store, key: string, to: string): Promise<void> {
    if (from instanceof S3Store && from.endpoint === this.endpoint) {
      const source = `${from.bucket}/${from.key(key)}`
      await this.send(this.describe(to), (m) => new m.CopyObjectCommand({ Bucket: this.bucket, Key: this.key(to), CopySource: encodeURI(source), MetadataDirective: 'COPY' }))
      return
    }
    await this.write(to, await from.read(key))
  }

  async download(key: string, path: string): Promise<{ size: number; sha256: string }> {
    const what = this.describe(key)
    return await this.send(what, (m) => new m.GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), async (out) => {
      const o = out as { Body: Readable; ContentLength?: number }
      const got = await streamToFile(o.Body, path)
      if (o.ContentLength !== undefined && got.size !== o.ContentLength) throw new TransientError(`${what}: ${got.size} of ${o.ContentLength} bytes arrived`)
      return got
    })
  }
}

/** A failure worth another attempt: a body cut short. */
class TransientError extends Error {}

function isTransientS3(error: unknown): boolean {
  if (error instanceof TransientError) return true
  if (error instanceof StoreError) return error.code === 'unavailable'
  return false
}

function s3Error(error: unknown, object: string, bucket: string): unknown {
  if (error instanceof TransientError || error instanceof StoreError) return error
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; code?: string; message?: string }
  const status = e.$metadata?.httpStatusCode
  const name = e.name ?? e.Code ?? ''
  if (name === 'NoSuchBucket') return new StoreError('no-bucket', object, `${object}: the bucket ${bucket} does not exist: create it or check the location (and --s3-endpoint / AWS_ENDPOINT_URL)`)
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StoreError('not-found', object, `${object} does not exist`)
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) {
    return new StoreError('denied', object, `${object}: access denied (${name || status}): check the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE / the instance role) and the bucket policy`)
  }
  if (name === 'CredentialsProviderError') return new StoreError('denied', object, `${object}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance role is available`)
  if (name === 'PreconditionFailed' || status === 412) return error
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) return new StoreError('failed', object, `${object}: ${name || status} ${e.message ?? ''}`.trim())
  // No status (a dropped connection, a timeout, a body cut short), 5xx and 429 are worth another attempt.
  return new StoreError('unavailable', object, `${object}: ${name || e.code || status || ''} ${e.message ?? ''}`.trim())
}

/** Copy `body` to the file `path`, hashing and counting it on the way (every store's download). */
async function streamToFile(body: Readable | ReadableStream<Uint8Array>, path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  const source = body instanceof Readable ? body : Readable.fromWeb(body as never)
  await pipeline(source, async function* (chunks) {
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
      yield chunk
    }
  }, createWriteStream(path))
  return { size, sha256: `sha256:${hash.digest('hex')}` }
}

// ---- HTTP(S): read-only, with byte ranges; folders listed through a JSON index (nginx `autoindex_format json`)

class HttpStore implements Store {
  readonly kind = 'http'
  readonly location: string
  private readonly limit: ReturnType<typeof pLimit>

  constructor(location: string, readonly options: StoreOptions) {
    this.location = location.replace(/\/+$/, '')
    this.limit = pLimit(options.concurrency ?? STORE_DEFAULTS.concurrency)
  }

  describe(key: string): string {
    return key === '' ? this.location : `${this.location}/${key.split('/').map(encodeURIComponent).join('/')}`
  }

  localPath(): null {
    return null
  }

  /**
   * One request with retries. `timeoutMs` bounds the time without progress, not the whole request: the timer
   * restarts with every piece of the body, so a large part on a slow link arrives, and a body that stops on an
   * open connection is abandoned and read again.
   */
  private async fetch(what: string, url: string, init: RequestInit, use: (response: Response) => Promise<unknown>): Promise<unknown> {
    const timeout = this.options.timeoutMs ?? STORE_DEFAULTS.timeoutMs
    return await this.limit(() =>
      withRetries(what, this.options.attempts ?? STORE_DEFAULTS.attempts, async () => {
        const controller = new AbortController()
        let timer: NodeJS.Timeout | undefined
        let settled = false
        // A piece of a body left unread when the attempt ended must not re-arm the timer; nor may it hold the process.
        const progressed = (): void => {
          clearTimeout(timer)
          if (!settled) timer = setTimeout(() => controller.abort(new Error(`no progress in ${timeout} ms`)), timeout).unref()
        }
        progressed()
        try {
          return await this.attempt(what, url, { ...init, signal: controller.signal }, progressed, use)
        } finally {
          settled = true
          clearTimeout(timer)
        }
      }, (error) => error instanceof StoreError && error.code === 'unavailable'),
    )
  }

  /** One attempt: the answer's status judged, then `use` given the answer with its body timed (see fetch). */
  private async attempt(what: string, url: string, init: RequestInit, progressed: () => void, use: (response: Response) => Promise<unknown>): Promise<unknown> {
    let response: Response
    try {
      const answer = await fetch(url, init)
      progressed()
      // The same answer, its body passed through a stream that restarts the no-progress timer on every piece.
      const body = answer.body?.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (piece, out) => (progressed(), out.enqueue(piece)) })) ?? null
      response = new Response(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers })
    } catch (error) {
      throw new StoreError('unavailable', what, `${what}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`)
    }
    if (response.status === 404) throw new StoreError('not-found', what, `${what} does not exist`)
    if (response.status === 401 || response.status === 403) throw new StoreError('denied', what, `${what}: access denied (HTTP ${response.status})`)
    if (response.status >= 500 || response.status === 429) throw new StoreError('unavailable', what, `${what}: HTTP ${response.status}`)
    if (!response.ok) throw new StoreError('unavailable', what, `${what}: HTTP ${response.status}`)
    try {
      return await use(response)
    } catch (error) {
      if (error instanceof StoreError) throw error
      const reason = init.signal?.aborted === true ? (init.signal.reason as Error) : (error as Error)
      throw new StoreError('unavailable', what, `${what}: ${reason.message}`)
    }
  }

  async read(key: string): Promise<Uint8Array> {
    const what = this.describe(key)
    return (await this.fetch(what, what, {}, async (response) => {
      const bytes = new Uint8Array(await response.arrayBuffer())
      const length = response.headers.get('content-length')
      if (length !== null && Number(length) !== bytes.length) throw new StoreError('unavailable', what, `${what}: ${bytes.length} of ${length} bytes arrived`)
      return bytes
    })) as Uint8Array
  }

  async info(key: string): Promise<ObjectInfo | null> {
    const what = this.describe(key)
    try {
      return (await this.fetch(what, what, { method: 'HEAD' }, async (response) => ({ size: Number(response.headers.get('content-length') ?? 0), sha256: null, modifiedMs: Date.parse(response.headers.get('last-modified') ?? '') || 0 }))) as ObjectInfo
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') return null
      throw error
    }
  }

  async list(prefix: string): Promise<Listing> {
    const url = `${this.describe(prefix)}/`
    let entries: { name: string; type: string; size?: number }[]
    try {
      entries = (await this.fetch(url, url, { headers: { accept: 'application/json' } }, async (response) => {
        if (!(response.headers.get('content-type') ?? '').includes('json')) {
          throw new StoreError('unavailable', url, `${url}: the server does not list this folder as JSON: serve the corpus with a JSON directory index (nginx: autoindex on; autoindex_format json;)`)
        }
        return await response.json()
      })) as typeof entries
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') return { files: [], folders: [] }
      throw error
    }
    return {
      files: entries.filter((e) => e.type === 'file').map((e) => ({ name: e.name, size: e.size ?? 0 })).sort((a, b) => cmp(a.name, b.name)),
      folders: entries.filter((e) => e.type === 'directory').map((e) => e.name).sort(cmp),
    }
  }

  private readOnly(key: string): never {
    throw new StoreError('read-only', this.describe(key), `${this.describe(key)}: an http(s) location is read-only: write to a local folder or an s3:// location`)
  }

  async write(key: string): Promise<void> {
    this.readOnly(key)
  }

  async writeNew(key: string): Promise<boolean> {
    return this.readOnly(key)
  }

  async remove(key: string): Promise<void> {
    this.readOnly(key)
  }

  async copyFrom(_from: Store, key: string): Promise<void> {
    this.readOnly(key)
  }

  async download(key: string, path: string): Promise<{ size: number; sha256: string }> {
    const what = this.describe(key)
    return (await this.fetch(what, what, {}, async (response) => {
      const got = await streamToFile(response.body as ReadableStream<Uint8Array>, path)
      const length = response.headers.get('content-length')
      if (length !== null && Number(length) !== got.size) throw new StoreError('unavailable', what, `${what}: ${got.size} of ${length} bytes arrived`)
      return got
    })) as { size: number; sha256: string }
  }
}
