// Before a byte is written into a dataset directory: it must be turnkit's to write (absent, empty, or a build of
// turnkit's own), and no other process may be building it. Nothing of the user's is ever overwritten, and two
// `prepare` processes on one `--out` never both build every unit.
import { rmSync } from 'node:fs'
import { open, readdir, readFile, rm, stat, utimes } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { BUILD_FILE, isTemporaryName, LEDGER_FILE, LOCK_FILE, MANIFEST_FILE, STATE_DIR } from './layout.js'

/** The names a dataset directory may hold; anything else is the user's and is never touched. */
const OWN_NAMES = new Set([MANIFEST_FILE, LEDGER_FILE, STATE_DIR, 'README.md'])
const isOwnName = (name: string): boolean => OWN_NAMES.has(name) || /^part-\d{5,}\.parquet$/.test(name) || isTemporaryName(name)

/**
 * Check that `dir` may be written as a dataset: it does not exist, or is an empty folder, or holds only a
 * dataset's own files with the build record turnkit keeps. Throws naming what is there and what to do.
 */
export async function checkOutputDir(dir: string): Promise<void> {
  let names: string[]
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is a file, not a folder: give --out a new or empty folder`)
    names = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code === 'ENOTDIR') throw new Error(`${dir}: a part of this path is a file, not a folder: give --out a path under a folder`)
    throw error
  }
  const foreign = names.filter((name) => !isOwnName(name)).sort()
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, and ${foreign.length - 5} more` : '')
    throw new Error(`${dir} holds files that are not a turnkit dataset (${shown}): nothing there is overwritten; give --out a new or empty folder`)
  }
  const built = await stat(join(dir, STATE_DIR, BUILD_FILE)).then(() => true, () => false)
  const datasetFiles = names.filter((name) => name !== STATE_DIR)
  if (!built && datasetFiles.length > 0) {
    throw new Error(`${dir} holds ${datasetFiles.sort().slice(0, 3).join(', ')} but no ${STATE_DIR}/${BUILD_FILE}: not a build this turnkit can resume, so nothing is overwritten; give --out a new or empty folder`)
  }
}

/** Who holds a lock: what `.turnkit/lock` records. */
interface LockHolder {
  pid: number
  host: string
  since: string
}

/** A held lock on a dataset directory; `release` it when the build stops. */
export interface DirLock {
  release(): Promise<void>
}

/** How often a holder refreshes its lock's time, and how old a lock may be before it is taken as abandoned. */
export const LOCK_HEARTBEAT_MS = 15_000
export const LOCK_STALE_MS = 120_000

// Locks this process holds, so an interrupt handler can remove them before the process exits.
const held = new Set<string>()

/** Remove every lock this process holds, synchronously (for a signal handler that exits right after). */
export function releaseHeldLocksSync(): void {
  for (const path of held) rmSync(path, { force: true })
  held.clear()
}

/**
 * Take `<dir>/.turnkit/lock`, created exclusively with this process' pid and host, and refreshed every
 * LOCK_HEARTBEAT_MS while held. When another process holds it, throws naming that process. A lock left by a
 * process that is gone (same host and its pid not running, or not refreshed for LOCK_STALE_MS, as after a
 * machine was lost) is taken over, and `note` says so.
 */
export async function lockDir(dir: string, note: (line: string) => void): Promise<DirLock> {
  const path = join(dir, STATE_DIR, LOCK_FILE)
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(JSON.stringify(me) + '\n')
        await handle.sync()
      } finally {
        await handle.close()
      }
      held.add(path)
      const heartbeat = setInterval(() => {
        const now = new Date()
        void utimes(path, now, now).catch(() => undefined) // a missed beat only makes the lock look older
      }, LOCK_HEARTBEAT_MS)
      heartbeat.unref()
      return {
        release: async () => {
          clearInterval(heartbeat)
          held.delete(path)
          await rm(path, { force: true })
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = await readFile(path, 'utf8').then((t) => JSON.parse(t) as LockHolder, () => null)
    const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => 0))
    const gone = holder === null || (holder.host === me.host && !isRunning(holder.pid)) || age > LOCK_STALE_MS
    if (!gone) {
      throw new Error(`${dir} is being built by process ${holder.pid} on ${holder.host} since ${holder.since} (${STATE_DIR}/${LOCK_FILE}): wait for it to finish, or delete the lock if that process is gone`)
    }
    note(`${dir}: taking over the lock of process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}, which is no longer running`)
    await rm(path, { force: true })
  }
  throw new Error(`${dir}: could not take ${STATE_DIR}/${LOCK_FILE}: another process took it first`)
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' // it exists, owned by someone else
  }
}
