// Before a byte is written into a dataset directory: it must be turnkit's to write (absent, empty, or a build of
// turnkit's own), and no other process may be building it. Nothing of the user's is ever overwritten, and two
// `prepare` processes on one `--out` never both build every unit.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { link, readFile, rename, stat, unlink, utimes } from 'node:fs/promises'
import { hostname } from 'node:os'
import { StoreError, type Store } from './storage.js'
import { isTurnkitCard } from './card.js'
import { BUILD_FILE, CARD_FILE, isTemporaryName, LEDGER_FILE, LOCK_FILE, MANIFEST_FILE, STATE_DIR } from './layout.js'

/**
 * The names a dataset directory may hold; anything else is the user's and is never touched. A README.md is only
 * replaced when it is a card turnkit wrote (`isOwnCard`); a folder without a build record is refused whatever it holds.
 */
const OWN_NAMES = new Set([MANIFEST_FILE, LEDGER_FILE, STATE_DIR, CARD_FILE])
const isOwnName = (name: string): boolean => OWN_NAMES.has(name) || /^part-\d{5,}\.parquet$/.test(name) || isTemporaryName(name)

/**
 * Check that `store` may be written as a dataset: it does not exist, or is an empty folder (or prefix), or holds
 * only a dataset's own files with the build record turnkit keeps. Throws naming what is there and what to do.
 */
export async function checkOutputDir(store: Store): Promise<void> {
  if (store.kind === 'http') throw new StoreError('read-only', store.location, `${store.location}: an http(s) location is read-only: write to a local folder or an s3:// location`)
  const local = store.localPath('')
  if (local !== null) {
    try {
      if (!(await stat(local)).isDirectory()) throw new Error(`${local} is a file, not a folder: give --out a new or empty folder`)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code === 'ENOTDIR') throw new Error(`${local}: a part of this path is a file, not a folder: give --out a path under a folder`)
      throw error
    }
  }
  const { files, folders } = await store.list('')
  const names = [...files.map((f) => f.name), ...folders]
  const foreign = names.filter((name) => !isOwnName(name)).sort()
  const where = store.location
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, and ${foreign.length - 5} more` : '')
    throw new Error(`${where} holds files that are not a turnkit dataset (${shown}): nothing there is overwritten; give --out a new or empty folder`)
  }
  const built = (await store.info(`${STATE_DIR}/${BUILD_FILE}`)) !== null
  const datasetFiles = names.filter((name) => name !== STATE_DIR)
  if (!built && datasetFiles.length > 0) {
    throw new Error(`${where} holds ${datasetFiles.sort().slice(0, 3).join(', ')} but no ${STATE_DIR}/${BUILD_FILE}: not a build this turnkit can resume, so nothing is overwritten; give --out a new or empty folder`)
  }
}

/**
 * Whether the dataset card of `store` is turnkit's to write: there is no README.md, or it is a card turnkit wrote
 * (it opens with card.ts' CARD_MARKER). A README.md of the user's in a build folder is theirs and stays as it is.
 */
export async function isOwnCard(store: Store): Promise<boolean> {
  let bytes: Uint8Array
  try {
    bytes = await store.read(CARD_FILE)
  } catch (error) {
    if (error instanceof StoreError && error.code === 'not-found') return true
    throw error
  }
  return isTurnkitCard(new TextDecoder().decode(bytes.subarray(0, 512)))
}

/** Who holds a lock: what `.turnkit/lock` records. */
export interface LockHolder {
  pid: number
  host: string
  since: string
  /** random, per lock taken: a retried exclusive put whose first answer was lost finds its own lock */
  token?: string
}

/** A lock's holder, or null for a lock its writer never filled or that is not JSON (nobody's). */
function parseHolder(text: string): LockHolder | null {
  try {
    return JSON.parse(text) as LockHolder
  } catch {
    return null
  }
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
 * Take `.turnkit/lock` of `store`, created exclusively (on S3 by a conditional put; stores without conditional
 * writes, such as s3rver, make the lock best-effort) with this process' pid and host, and refreshed every
 * LOCK_HEARTBEAT_MS while held. When another process holds it, throws naming that process. A lock left by a
 * process that is gone (same host and its pid not running, or not refreshed for LOCK_STALE_MS, as after a
 * machine was lost) is taken over, and `note` says so.
 */
export async function lockDir(store: Store, note: (line: string) => void): Promise<DirLock> {
  const key = `${STATE_DIR}/${LOCK_FILE}`
  const where = store.location
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') }
  // No lock, or one its writer did not finish (killed between creating and filling it): nobody's.
  const readHolder = (): Promise<LockHolder | null> => store.read(key).then((bytes) => parseHolder(new TextDecoder().decode(bytes)), () => null)
  for (let attempt = 0; attempt < 2; attempt++) {
    if ((await store.writeNew(key, JSON.stringify(me) + '\n')) || (await readHolder())?.token === me.token) {
      const local = store.localPath(key)
      if (local !== null) held.add(local)
      const heartbeat = setInterval(() => {
        // A fresh time on the lock says its holder is alive; a missed beat only makes it look older.
        const now = new Date()
        const beat = local !== null ? utimes(local, now, now) : store.write(key, JSON.stringify(me) + '\n')
        void beat.catch(() => undefined)
      }, LOCK_HEARTBEAT_MS)
      heartbeat.unref()
      return {
        release: async () => {
          clearInterval(heartbeat)
          if (local !== null) held.delete(local)
          await store.remove(key)
        },
      }
    }
    const holder = await readHolder()
    const info = await store.info(key)
    const age = Date.now() - (info?.modifiedMs ?? 0)
    const gone = holder === null || (holder.host === me.host && !isRunning(holder.pid)) || age > LOCK_STALE_MS
    if (!gone) {
      throw new Error(`${where} is being built by process ${holder.pid} on ${holder.host} since ${holder.since} (${STATE_DIR}/${LOCK_FILE}): wait for it to finish, or delete the lock if that process is gone`)
    }
    note(`${where}: taking over the lock of process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}, which is no longer running`)
    await removeAbandonedLock(store, key, holder)
  }
  throw new Error(`${where}: could not take ${STATE_DIR}/${LOCK_FILE}: another process took it first`)
}

/**
 * Remove the lock at `key` if it is still the abandoned one that was read (`abandoned`: its holder, or null for an
 * empty or unreadable lock). Between that read and this removal another process may have taken it over and
 * written its own: on a local folder the lock is first renamed aside (atomic, so only one remover gets it), and a
 * lock that turns out to be someone's live one is linked back into place. A remote store has no such step: the
 * removal is unconditional there (best effort, as its exclusive put).
 */
export async function removeAbandonedLock(store: Store, key: string, abandoned: LockHolder | null): Promise<void> {
  const path = store.localPath(key)
  if (path === null) return await store.remove(key)
  const aside = `${path}.abandoned-${process.pid}-${randomBytes(6).toString('hex')}`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return // someone else removed it first
    throw error
  }
  try {
    const found = await readFile(aside, 'utf8').then(parseHolder, () => null)
    const same = found === null ? abandoned === null : abandoned !== null && found.token === abandoned.token && found.pid === abandoned.pid && found.since === abandoned.since
    if (!same) await link(aside, path).catch(() => undefined) // a live lock: back in place (unless a third took the name)
  } finally {
    await unlink(aside).catch(() => undefined)
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' // it exists, owned by someone else
  }
}
