// A reader (verify, the trainer, a resumed run) must never see half a shard or half a manifest under its final
// name: a crash mid-write leaves at worst a `.tmp-*` file beside it, which nothing lists.

import { randomBytes } from 'node:crypto'
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Write `data` (a string is written as UTF-8) to `path` atomically: into `<path>.tmp-<pid>-<random>` in the same
 * directory (rename is only atomic within one filesystem), fsync the file, rename it over `path`, then fsync the
 * directory so the rename itself survives a power cut. Replaces an existing file.
 * Throws the fs error (ENOENT for a missing directory, ENOSPC, EACCES) after removing the temporary file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await viaTemporary(path, data, async (tmp) => {
    await rename(tmp, path)
    return true
  })
}

/**
 * Create `path` with `data` unless it exists, atomically: the temporary file is hard-linked to `path`, which fails
 * when `path` exists, so no other process ever sees `path` empty or half written (as it could between an
 * exclusive open and the write). Returns false when `path` existed. On a filesystem without hard links, an
 * exclusive open then the write. Throws other fs errors, naming the path.
 */
export async function writeFileExclusive(path: string, data: Uint8Array | string): Promise<boolean> {
  return await viaTemporary(path, data, async (tmp) => {
    try {
      await link(tmp, path)
      return true
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') return false
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error
    }
    try {
      const file = await open(path, 'wx')
      try {
        await file.writeFile(data)
        await file.sync()
      } finally {
        await file.close()
      }
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw error
    }
  })
}

/** `data` written and fsynced under a temporary name beside `path`, handed to `place`, and the name removed after. */
async function viaTemporary(path: string, data: Uint8Array | string, place: (tmp: string) => Promise<boolean>): Promise<boolean> {
  const dir = dirname(path)
  // Temp names need no reproducibility, only uniqueness between concurrent writers, so randomBytes is fine here.
  const tmp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  let placed: boolean
  try {
    const file = await open(tmp, 'wx') // wx: never reuse a file some other writer owns
    try {
      await file.writeFile(data)
      await file.sync()
    } finally {
      await file.close()
    }
    placed = await place(tmp)
  } catch (error) {
    throw withPath(error, path)
  } finally {
    // Gone after a rename; after a link, the other name of the file. The original error matters more than a
    // failed cleanup (the temp file may never have been created).
    await unlink(tmp).catch(() => undefined)
  }
  if (placed) await syncDirectory(dir)
  return placed
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
