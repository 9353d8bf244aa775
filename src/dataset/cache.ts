// The local cache of remote part files: a reader of an s3:// or https:// dataset fetches each part it needs into
// here, checks its size and sha256 against the manifest, and reads it from disk. Parts are named by their sha256,
// so one cache serves every dataset, version and run on the machine, and a warm cache is reused across epochs and
// runs: a second epoch of a dataset that fits downloads nothing (mosaicml streaming #658 is what this avoids).
//
//   <cache>/parts/<hex>.parquet        a verified part
//   <cache>/used/<hex>                 empty; its mtime is the part's last use (least recently used goes first)
//   <cache>/pins/<hex>.<host>.<pid>.<n>   a hard link to a part some process is reading: never evicted
//   <cache>/tmp/<id>.part              a download in progress (renamed into parts/ once verified)
//   <cache>/tmp/<id>.reserve           its size, reserved (a sparse file) so that other processes count it
//   <cache>/admit.lock                 held while a process evicts and reserves: the limit holds across processes
//
// Why hard links: a reader holds a link to the inode it reads, so an eviction (which only unlinks parts/<hex>)
// can never pull a file out from under a reader in another process, and a part in use has two links, which is
// how an evictor tells it apart without asking anyone. Disk use counts each inode once.
//
// Why a separate used/ file: a reader opens its part as a lazy Blob, and Node refuses to read a Blob whose file's
// mtime changed after it was opened. Touching the part itself on a cache hit would break every other reader of
// that part (in this process or another) mid-read; the part's inode is never modified once it is in parts/.
import { randomBytes } from 'node:crypto'
import { link, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises'
import { homedir, hostname } from 'node:os'
import { basename, join } from 'node:path'
import { makeDir } from './atomic.js'
import { StoreError, type Store, type StoreOptions } from './storage.js'

/** Where the cache is and how large it may grow. */
export interface CacheOptions {
  /** default $TURNKIT_CACHE_DIR, else $XDG_CACHE_HOME/turnkit, else ~/.cache/turnkit */
  cacheDir?: string
  /** bytes on disk the cache may hold, parts in use included; default 20 GB */
  cacheLimit?: number
}

/** How a reader reaches a dataset: the store's settings and, for a remote one, the part cache. */
export interface DataOptions extends StoreOptions, CacheOptions {
  /** a PartCache to share (its counters then cover every dataset that uses it); default one from cacheDir/cacheLimit */
  cache?: PartCache
}

/** DataOptions as plain data (what crosses to a worker thread, or is read from flags): no cache instance. */
export type DataSettings = Omit<DataOptions, 'cache'>

export const CACHE_DEFAULTS = { cacheLimit: 20e9 } as const

/** The default cache folder (see CacheOptions.cacheDir). */
export function defaultCacheDir(): string {
  if (process.env.TURNKIT_CACHE_DIR) return process.env.TURNKIT_CACHE_DIR
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'turnkit')
}

/** A part the cache holds for a reader: read `path` until `release()`. */
export interface CachedPart {
  path: string
  /** whether this fetch downloaded it (false: it was in the cache) */
  downloaded: boolean
  release(): Promise<void>
}

/** What a part must be: its key in the store, its size and sha256 from the manifest. */
export interface PartRef {
  file: string
  bytes: number
  sha256: string
}

/** Counters of one PartCache (this process), for tests, the bench and the trainer's log. */
export interface CacheStats {
  hits: number
  downloads: number
  bytesDownloaded: number
  evictions: number
  /** the most bytes the cache held (parts, pins, reservations) right after admitting a download */
  maxBytesUsed: number
}

/** The cache cannot take a part without going over its limit: the parts in use already fill it. */
export class CacheFullError extends Error {
  override name = 'CacheFullError'
}

const ADMIT_STALE_MS = 30_000

// Pin numbers count per process, not per PartCache: two caches of one process (a Dataset's and verify's) on the
// same folder must never name a pin alike, or one's release would unlink the other's.
let nextPin = 0

/** One cache folder. Safe to share between processes on one machine (see the top of this file). */
export class PartCache {
  readonly stats: CacheStats = { hits: 0, downloads: 0, bytesDownloaded: 0, evictions: 0, maxBytesUsed: 0 }
  // In this process, one admission at a time (across processes: admit.lock).
  private admitting: Promise<unknown> = Promise.resolve()
  // Downloads of one part by two readers of this process share one request.
  private readonly inFlight = new Map<string, Promise<void>>()

  constructor(
    readonly dir: string,
    readonly limit: number,
  ) {
    if (!(Number.isFinite(limit) && limit > 0)) throw new Error(`part cache ${dir}: the limit must be a positive number of bytes, got ${limit}`)
  }

  static open(options: CacheOptions = {}): PartCache {
    return new PartCache(options.cacheDir ?? defaultCacheDir(), options.cacheLimit ?? CACHE_DEFAULTS.cacheLimit)
  }

  private get partsDir(): string {
    return join(this.dir, 'parts')
  }

  private get pinsDir(): string {
    return join(this.dir, 'pins')
  }

  private get tmpDir(): string {
    return join(this.dir, 'tmp')
  }

  private get usedDir(): string {
    return join(this.dir, 'used')
  }

  /** Mark part `hex` as used now (see the top of this file for why not the part's own mtime). */
  private async touch(hex: string): Promise<void> {
    const path = join(this.usedDir, hex)
    const now = new Date()
    await utimes(path, now, now).catch(async () => {
      await (await open(path, 'w')).close()
    })
  }

  /**
   * The part `ref` of `store`, pinned until released: from the cache when it holds it, else downloaded (evicting
   * the least recently used parts nobody reads), its size and sha256 checked before it is visible. Throws a
   * StoreError naming the object when it is missing, or 'corrupt' when its bytes are not the manifest's; a
   * CacheFullError naming --cache-limit when the parts in use leave no room for it.
   */
  async fetch(store: Store, ref: PartRef): Promise<CachedPart> {
    const hex = hexOf(ref.sha256, store.describe(ref.file))
    await Promise.all([makeDir(this.partsDir), makeDir(this.pinsDir), makeDir(this.tmpDir), makeDir(this.usedDir)])
    const pin = join(this.pinsDir, `${hex}.${hostname()}.${process.pid}.${nextPin++}`)
    const entry = join(this.partsDir, `${hex}.parquet`)
    const release = async (): Promise<void> => {
      await unlink(pin).catch(() => undefined)
    }
    if (await tryLink(entry, pin)) {
      this.stats.hits += 1
      await this.touch(hex)
      return { path: pin, downloaded: false, release }
    }
    let download = this.inFlight.get(hex)
    const mine = download === undefined
    if (download === undefined) {
      download = this.download(store, ref, hex, entry).finally(() => this.inFlight.delete(hex))
      this.inFlight.set(hex, download)
    }
    await download
    if (!(await tryLink(entry, pin))) {
      // Evicted between its arrival and our link (only another process's admission can do that): fetch again.
      return await this.fetch(store, ref)
    }
    return { path: pin, downloaded: mine, release }
  }

  private async download(store: Store, ref: PartRef, hex: string, entry: string): Promise<void> {
    const id = `${hex}.${process.pid}.${randomBytes(4).toString('hex')}`
    const reserve = join(this.tmpDir, `${id}.reserve`)
    const part = join(this.tmpDir, `${id}.part`)
    await this.admit(ref.bytes, reserve, store.describe(ref.file))
    try {
      // A body that arrives whole but wrong (a proxy or disk that damaged it) is fetched once more before the
      // object is called corrupt: a transient fault must not fail a run, a damaged object must not become rows.
      for (let attempt = 1; ; attempt++) {
        const got = await store.download(ref.file, part)
        if (got.size === ref.bytes && got.sha256 === ref.sha256) break
        if (attempt === 2) {
          throw new StoreError('corrupt', store.describe(ref.file), `${store.describe(ref.file)}: ${got.size} bytes with ${got.sha256}, the manifest says ${ref.bytes} bytes with ${ref.sha256}: the object was changed or damaged in the store; no row of it is used: rebuild the dataset with the prepare command that wrote it (it rebuilds only the bad parts)`)
        }
      }
      await syncFile(part)
      this.stats.downloads += 1
      this.stats.bytesDownloaded += ref.bytes
      await rename(part, entry)
      await this.touch(hex)
    } finally {
      await rm(part, { force: true })
      await rm(reserve, { force: true })
    }
  }

  /**
   * Make room for `bytes` and reserve them (a sparse file of that size under tmp/), under admit.lock so that
   * two processes never both count the same free space.
   */
  private async admit(bytes: number, reserve: string, object: string): Promise<void> {
    const run = this.admitting.then(async () => {
      const unlock = await this.lockAdmission()
      try {
        let { used, evictable } = await this.usage()
        while (used + bytes > this.limit && evictable.length > 0) {
          const oldest = evictable.shift() as { path: string; size: number }
          await unlink(oldest.path).catch(() => undefined)
          await unlink(join(this.usedDir, basename(oldest.path, '.parquet'))).catch(() => undefined)
          used -= oldest.size
          this.stats.evictions += 1
        }
        if (used + bytes > this.limit) {
          throw new CacheFullError(`part cache ${this.dir}: ${object} needs ${bytes} bytes, but ${used} of the --cache-limit ${this.limit} bytes hold parts that readers are using now: raise --cache-limit to at least ${used + bytes} (a reader holds the parts of ${'its current and prefetched windows'}), or give this run its own --cache-dir`)
        }
        const file = await open(reserve, 'w')
        try {
          await file.truncate(bytes)
        } finally {
          await file.close()
        }
        this.stats.maxBytesUsed = Math.max(this.stats.maxBytesUsed, used + bytes)
      } finally {
        await unlock()
      }
    })
    this.admitting = run.catch(() => undefined)
    await run
  }

  /** Bytes the cache holds (each inode once; reservations at their reserved size) and the parts it may evict, oldest first. */
  async usage(): Promise<{ used: number; evictable: { path: string; size: number }[] }> {
    const seen = new Set<number>()
    let used = 0
    const evictable: { path: string; size: number; mtime: number }[] = []
    const host = hostname()
    for (const name of await readdir(this.pinsDir).catch(() => [] as string[])) {
      const path = join(this.pinsDir, name)
      // A pin of a process of this host that has died would keep its part forever: drop it.
      const m = /\.([^.]+)\.(\d+)\.\d+$/.exec(name)
      if (m !== null && m[1] === host && !alive(Number(m[2]))) {
        await unlink(path).catch(() => undefined)
        continue
      }
      const s = await stat(path).catch(() => null)
      if (s === null || seen.has(s.ino)) continue
      seen.add(s.ino)
      used += s.size
    }
    for (const name of await readdir(this.partsDir).catch(() => [] as string[])) {
      const path = join(this.partsDir, name)
      const s = await stat(path).catch(() => null)
      if (s === null) continue
      if (!seen.has(s.ino)) {
        seen.add(s.ino)
        used += s.size
      }
      if (s.nlink === 1) {
        // Last use from used/ (a part from before used/ existed, or whose mark was lost, by its arrival).
        const mark = await stat(join(this.usedDir, basename(name, '.parquet'))).catch(() => null)
        evictable.push({ path, size: s.size, mtime: mark?.mtimeMs ?? s.mtimeMs })
      }
    }
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (!name.endsWith('.reserve')) continue // a .part file grows into its reservation
      const path = join(this.tmpDir, name)
      const m = /\.(\d+)\.[0-9a-f]+\.reserve$/.exec(name)
      if (m !== null && !alive(Number(m[1]))) {
        await rm(path, { force: true })
        await rm(path.replace(/\.reserve$/, '.part'), { force: true })
        continue
      }
      used += await stat(path).then((s) => s.size, () => 0)
    }
    evictable.sort((a, b) => a.mtime - b.mtime || (a.path < b.path ? -1 : 1))
    return { used, evictable: evictable.map(({ path, size }) => ({ path, size })) }
  }

  private async lockAdmission(): Promise<() => Promise<void>> {
    const path = join(this.dir, 'admit.lock')
    for (let wait = 5; ; wait = Math.min(200, wait * 2)) {
      try {
        const file = await open(path, 'wx')
        await file.writeFile(`${hostname()} ${process.pid}\n`)
        await file.close()
        return async () => {
          await unlink(path).catch(() => undefined)
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      // A holder that died leaves the lock behind; admissions take milliseconds, so an old one is abandoned.
      const s = await stat(path).catch(() => null)
      if (s !== null && Date.now() - s.mtimeMs > ADMIT_STALE_MS) await unlink(path).catch(() => undefined)
      await new Promise((r) => setTimeout(r, wait))
    }
  }
}

function hexOf(sha256: string, object: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(sha256)
  if (m === null) throw new Error(`${object}: the manifest gives no sha256 for it (${sha256}): it cannot be checked, so it is not read`)
  return m[1]!
}

async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function syncFile(path: string): Promise<void> {
  const file = await open(path, 'r')
  try {
    await file.sync()
  } finally {
    await file.close()
  }
}
