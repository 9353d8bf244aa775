// A reader (verify, the trainer, a resumed run) must never see half a shard or half a manifest under its final
// name: a crash mid-write leaves at worst a `.tmp-*` file beside it, which nothing lists.

import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Write `data` (a string is written as UTF-8) to `path` atomically: into `<path>.tmp-<pid>-<random>` in the same
 * directory (rename is only atomic within one filesystem), fsync the file, rename it over `path`, then fsync the
 * directory so the rename itself survives a power cut. Replaces an existing file.
 * Throws the fs error (ENOENT for a missing directory, ENOSPC, EACCES) after removing the temporary file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path)
  // Temp names need no reproducibility, only uniqueness between concurrent writers, so randomBytes is fine here.
  const tmp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  let written = false
  try {
    const file = await open(tmp, 'wx') // wx: never reuse a file some other writer owns
    try {
      await file.writeFile(data)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
    written = true
  } catch (error) {
    throw withPath(error, path)
  } finally {
    if (!written) {
      // The original error matters more than a failed cleanup (the temp file may never have been created).
      await unlink(tmp).catch(() => undefined)
    }
  }
  await syncDirectory(dir)
}

/**
 * An fs error that names `path`: errors of a file handle's write (ENOSPC, EIO) carry no path, and a person must be
 * told which file failed. The code stays, so callers can still tell ENOSPC from EACCES.
 */
export function withPath(error: unknown, path: string): unknown {
  const e = error as NodeJS.ErrnoException
  if (typeof e?.code !== 'string' || e.path !== undefined) return error
  return Object.assign(new Error(`${e.code}: ${e.message.replace(/^\w+: /, '')}, writing '${path}'`, { cause: error }), { code: e.code, path })
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch (error) {
    // Some filesystems (and Windows) refuse fsync on a directory; the rename has happened, so durability is
    // best effort there rather than a failed write.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw error
  } finally {
    await handle.close()
  }
}

/**
 * Create folder `path` and its missing parents. Unlike `mkdir(path, { recursive: true })`, which reports ENOENT on a
 * read-only or forbidden parent, each missing level is created on its own, so the error is the real one (EROFS,
 * EACCES, ENOTDIR, ENOSPC) and names the folder that could not be made.
 */
export async function makeDir(path: string): Promise<void> {
  const missing: string[] = []
  let at = path
  for (;;) {
    const info = await stat(at).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)))
    if (info !== null) {
      if (!info.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path })
      break
    }
    missing.unshift(at)
    const parent = dirname(at)
    if (parent === at) break
    at = parent
  }
  for (const dir of missing) {
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)))
  }
}
