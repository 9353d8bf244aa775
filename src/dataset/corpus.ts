// A raw corpus as pipelines and the runner see it: files by corpus-relative path ('/'-separated), read only
// through here. Nothing outside the corpus is ever opened: every path is checked lexically (no `..`, no absolute
// path) and then by its real path, so a symlink leading out of the corpus (`x.wav -> /tmp/other/good.wav`,
// `linkdir -> /tmp/other`, `captions.csv -> /etc/passwd`) is refused before anything reads it, unless the user
// asked for `followSymlinks`. A media file that fails the check is its item's `unsafe-path` reject; a metadata
// file that fails it is an error naming the file.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { lstat, mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join, resolve, sep } from 'node:path'
import { isRemote, openStore, StoreError, type Store, type StoreOptions } from './storage.js'
import { safeRelativePath } from '../kinds/paths.js'
import type { RejectCode } from '../kinds/reject.js'
import { decodeText } from '../formats/text.js'
import { parseJson, parseJsonLines } from '../formats/json.js'

/** A corpus file resolved for opening, or why it cannot be. */
export type CorpusFile =
  | {
      ok: true
      /** a local path that stays inside the corpus (or, with followSymlinks, wherever its links lead) */
      path: string
      /** give the path back when done with it: a remote corpus' file was fetched into scratch and is deleted */
      release(): Promise<void>
    }
  | { ok: false; code: Extract<RejectCode, 'missing-file' | 'unsafe-path' | 'unreadable'>; message: string }

/** A file a pipeline asked for that may not be read: outside the corpus, missing, or not a regular file. */
export class CorpusFileError extends Error {
  override name = 'CorpusFileError'
  constructor(
    readonly relative: string,
    readonly code: Extract<RejectCode, 'missing-file' | 'unsafe-path' | 'unreadable'>,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The error for a corpus whose metadata is not where its layout puts it: names the corpus folder and every file
 * or folder looked for, so the user can see the --src they gave is not the corpus (or not all of it).
 */
export function metadataNotFound(corpus: Corpus, name: string, lookedFor: readonly string[], hint = 'give --src the folder the corpus was downloaded to'): Error {
  return new Error(`${name}: no metadata in ${corpus.location}: looked for ${lookedFor.join(', ')}; ${hint}`)
}

/** One entry of a corpus folder. */
export interface CorpusEntry {
  name: string
  kind: 'file' | 'directory'
}

/** The files of one raw corpus. */
export interface Corpus {
  /** where the corpus is, as the user gave it (for messages) */
  readonly location: string
  /** whether links out of the corpus are followed (a byte-affecting setting: it decides which inputs are rows) */
  readonly followSymlinks: boolean
  /** Whether a file or folder exists at `relative` (without reading it; a link out of the corpus counts as existing). */
  exists(relative: string): Promise<boolean>
  /** Resolve `relative` for opening (see CorpusFile): the runner calls it for every media file of a record. */
  file(relative: string): Promise<CorpusFile>
  /** The bytes of a file. Throws CorpusFileError when it may not be read, naming it. */
  readBytes(relative: string): Promise<Uint8Array>
  /** The text of a file (UTF-8, or Latin-1 when it is not valid UTF-8). Throws CorpusFileError like readBytes. */
  readText(relative: string): Promise<string>
  /** A JSON file, read as `parseJson` reads it; throws naming the file when it is not JSON. */
  readJson(relative: string): Promise<unknown>
  /** A JSON Lines file: its values and its lines that did not parse. */
  readJsonLines(relative: string): Promise<ReturnType<typeof parseJsonLines>>
  /**
   * The entries of folder `relative` ('' is the root), sorted by name; with `recursive`, every file below it as
   * a '/'-separated path. A folder that does not exist lists as empty. Throws CorpusFileError when the folder is a
   * link out of the corpus.
   */
  list(relative: string, options?: { recursive?: boolean }): Promise<CorpusEntry[]>
}

/**
 * Open the corpus at a local folder. Throws naming the folder when it does not exist or is not a folder (a
 * corpus that is not there must never list as empty).
 */
export async function openCorpus(location: string, { followSymlinks = false, ...storeOptions }: { followSymlinks?: boolean } & StoreOptions = {}): Promise<Corpus> {
  if (isRemote(location)) return await RemoteCorpus.open(openStore(location, storeOptions))
  const dir = resolve(location)
  let real: string
  try {
    real = await realpath(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT' ? `${location}: no such folder: give --src the folder the corpus was downloaded to` : `${location}: cannot be opened (${code})`, { cause: error })
  }
  if (!(await stat(real)).isDirectory()) throw new Error(`${location} is a file, not a folder: give --src the folder that holds the corpus`)
  return new LocalCorpus(location, dir, real, followSymlinks)
}

/** What every corpus reads the same way, from its bytes: text, JSON, JSON Lines. */
abstract class CorpusBase implements Corpus {
  abstract readonly location: string
  abstract readonly followSymlinks: boolean
  abstract exists(relative: string): Promise<boolean>
  abstract file(relative: string): Promise<CorpusFile>
  abstract readBytes(relative: string): Promise<Uint8Array>
  abstract list(relative: string, options?: { recursive?: boolean }): Promise<CorpusEntry[]>

  async readText(relative: string): Promise<string> {
    return decodeText(await this.readBytes(relative)).text
  }

  async readJson(relative: string): Promise<unknown> {
    return parseJson(await this.readText(relative), relative)
  }

  async readJsonLines(relative: string): Promise<ReturnType<typeof parseJsonLines>> {
    return parseJsonLines(await this.readText(relative))
  }
}

class LocalCorpus extends CorpusBase {
  constructor(
    readonly location: string,
    private readonly dir: string,
    private readonly real: string,
    readonly followSymlinks: boolean,
  ) {
    super()
  }

  private inside(path: string): boolean {
    return path === this.real || path.startsWith(this.real + sep)
  }

  // The lexically checked absolute path of `relative`, or null when it leaves the corpus by its own syntax.
  private lexical(relative: string): string | null {
    const clean = relative === '' ? '' : safeRelativePath(relative)
    return clean === null ? null : join(this.dir, clean)
  }

  async exists(relative: string): Promise<boolean> {
    const path = this.lexical(relative)
    if (path === null) return false
    try {
      await lstat(path)
      return true
    } catch {
      return false // not there (or not reachable, which a later read reports)
    }
  }

  async file(relative: string): Promise<CorpusFile> {
    const path = this.lexical(relative)
    if (path === null) return { ok: false, code: 'unsafe-path', message: `${relative} leaves the corpus folder; not opened` }
    let real: string
    try {
      real = await realpath(path)
    } catch (error) {
      const dangling = await lstat(path).then((s) => s.isSymbolicLink(), () => false)
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, code: 'missing-file', message: dangling ? `${relative} is a link to a file that does not exist` : `${relative} does not exist` }
      return { ok: false, code: 'unreadable', message: `${relative}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }
    }
    if (!this.followSymlinks && !this.inside(real)) {
      return { ok: false, code: 'unsafe-path', message: `${relative} is a link to a file outside the corpus; not opened (--follow-symlinks allows links out of the corpus)` }
    }
    const info = await stat(real)
    if (!info.isFile()) return { ok: false, code: 'unreadable', message: `${relative} is not a regular file` }
    return { ok: true, path: real, release: async () => undefined }
  }

  private async checked(relative: string): Promise<string> {
    const resolved = await this.file(relative)
    if (!resolved.ok) throw new CorpusFileError(relative, resolved.code, `${resolved.message}${resolved.code === 'unsafe-path' ? '' : ` (in ${this.location})`}`)
    return resolved.path
  }

  async readBytes(relative: string): Promise<Uint8Array> {
    return await readFile(await this.checked(relative))
  }

  async list(relative: string, { recursive = false }: { recursive?: boolean } = {}): Promise<CorpusEntry[]> {
    const path = this.lexical(relative)
    if (path === null) throw new CorpusFileError(relative, 'unsafe-path', `${relative} leaves the corpus folder; not listed`)
    let real: string
    try {
      real = await realpath(path)
    } catch {
      return [] // a folder a layout may have and this copy has not
    }
    if (!this.followSymlinks && !this.inside(real)) {
      throw new CorpusFileError(relative, 'unsafe-path', `${relative} is a link to a folder outside the corpus; not listed (--follow-symlinks allows links out of the corpus)`)
    }
    if (!(await stat(real)).isDirectory()) return []
    const entries = await readdir(path, { withFileTypes: true, recursive })
    const base = path.endsWith(sep) ? path : path + sep
    return entries
      .map((e): CorpusEntry => {
        const full = join(e.parentPath, e.name)
        const name = full.startsWith(base) ? full.slice(base.length).replaceAll(sep, '/') : e.name
        // A link is listed as a file: whether it may be read is decided when it is opened.
        return { name, kind: e.isDirectory() ? 'directory' : 'file' }
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
}

/**
 * A corpus in an object store (s3://) or behind an HTTP(S) mirror with JSON directory listings. Metadata is read
 * into memory; a media file is fetched into a scratch folder of this process when the runner asks for it and
 * deleted when it is released, so the disk holds only the items in flight, however large the corpus.
 */
class RemoteCorpus extends CorpusBase {
  readonly followSymlinks = false // an object store has no links

  private constructor(
    private readonly store: Store,
    private readonly scratch: string,
  ) {
    super()
  }

  static async open(store: Store): Promise<RemoteCorpus> {
    const { files, folders } = await store.list('')
    if (files.length === 0 && folders.length === 0) {
      throw new Error(`${store.location}: nothing there (no objects under it): give --src the location the corpus was uploaded to`)
    }
    const scratch = await mkdtemp(join(tmpdir(), 'turnkit-scratch-'))
    // The scratch folder goes when the process does, however it ends.
    process.once('exit', () => rmSync(scratch, { recursive: true, force: true }))
    return new RemoteCorpus(store, scratch)
  }

  get location(): string {
    return this.store.location
  }

  private checkedKey(relative: string): string | null {
    return relative === '' ? '' : safeRelativePath(relative)
  }

  async exists(relative: string): Promise<boolean> {
    const key = this.checkedKey(relative)
    if (key === null) return false
    if ((await this.store.info(key)) !== null) return true
    const { files, folders } = await this.store.list(key) // a folder exists when something is under it
    return files.length > 0 || folders.length > 0
  }

  async file(relative: string): Promise<CorpusFile> {
    const key = this.checkedKey(relative)
    if (key === null) return { ok: false, code: 'unsafe-path', message: `${relative} leaves the corpus folder; not opened` }
    const path = join(this.scratch, `${randomBytes(8).toString('hex')}${extname(key)}`)
    try {
      await this.store.download(key, path)
    } catch (error) {
      await rm(path, { force: true })
      if (error instanceof StoreError && error.code === 'not-found') return { ok: false, code: 'missing-file', message: `${relative} does not exist` }
      if (error instanceof StoreError && error.code !== 'unavailable') return { ok: false, code: 'unreadable', message: `${relative}: ${error.message}` }
      throw error // the store is unreachable: no item can be judged, the run stops naming the object
    }
    return { ok: true, path, release: () => rm(path, { force: true }) }
  }

  async readBytes(relative: string): Promise<Uint8Array> {
    const key = this.checkedKey(relative)
    if (key === null) throw new CorpusFileError(relative, 'unsafe-path', `${relative} leaves the corpus folder; not read`)
    try {
      return await this.store.read(key)
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') throw new CorpusFileError(relative, 'missing-file', `${relative} does not exist (in ${this.location})`)
      throw error
    }
  }

  async list(relative: string, { recursive = false }: { recursive?: boolean } = {}): Promise<CorpusEntry[]> {
    const key = this.checkedKey(relative)
    if (key === null) throw new CorpusFileError(relative, 'unsafe-path', `${relative} leaves the corpus folder; not listed`)
    const walk = async (at: string, prefix: string): Promise<CorpusEntry[]> => {
      const { files, folders } = await this.store.list(at)
      const here: CorpusEntry[] = [...files.map((f) => ({ name: prefix + f.name, kind: 'file' as const })), ...(recursive ? [] : folders.map((f) => ({ name: prefix + f, kind: 'directory' as const })))]
      if (recursive) for (const folder of folders) here.push(...(await walk(at === '' ? folder : `${at}/${folder}`, `${prefix}${folder}/`)))
      return here
    }
    return (await walk(key, '')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
}
