// `turnkit verify`: a dataset checked against its manifest, every byte recomputed. A local folder is read in place;
// a remote dataset's parts are fetched through the part cache, which checks each one's size and sha256.
import { type DataOptions, PartCache } from './cache.js'
import { sha256Bytes, sha256File } from './hash.js'
import { ENVIRONMENT_FILE, LEDGER_FILE, MANIFEST_FILE, STATE_DIR } from './layout.js'
import { type Manifest, manifestProblems, readManifest } from './manifest.js'
import { checkArrowSchema, withParquet } from './parquet-reader.js'
import { loadSchema, type RecordSchema, schemaHash } from './schema.js'
import { openStore, resolveLocation, StoreError, type Store } from './storage.js'

/** How thoroughly `verifyDataset` checks a remote dataset's parts. */
export interface VerifyOptions extends DataOptions {
  /**
   * 'bytes' (default): every part's bytes hashed (a remote one downloaded through the cache); 'sizes': a remote
   * part's size and recorded sha256 only (its bytes are then checked by the cache when a reader fetches it).
   * A local dataset is always checked byte for byte.
   */
  parts?: 'bytes' | 'sizes'
}

/**
 * Check a dataset against its manifest: every listed part's size, sha256 and row count (from the Parquet footer)
 * and its Arrow schema (when schemas/ holds the manifest's schema id at the same version), no unlisted part files,
 * the manifest's own consistency (`manifestProblems`), and the ledger's sha256 and line count. Returns one message
 * per problem, each starting with the file it is about (`part-00003.parquet: sha256 mismatch (manifest sha256:...,
 * file sha256:...)`); empty means OK. Never throws for a bad dataset; only for an unreachable store.
 */
export async function verifyDataset(location: string, options: VerifyOptions = {}): Promise<string[]> {
  const store = openStore(resolveLocation(location), options)
  let manifest: Manifest
  try {
    const text = new TextDecoder().decode(await store.read(MANIFEST_FILE))
    const value: unknown = JSON.parse(text)
    const problems = manifestProblems(value)
    if (problems.length > 0) return problems.map((p) => `${MANIFEST_FILE}: ${p}`)
    manifest = value as Manifest
  } catch (error) {
    if (error instanceof StoreError && error.code !== 'not-found') throw error
    return [`${MANIFEST_FILE}: ${error instanceof StoreError ? 'missing' : (error as Error).message}`]
  }
  const problems: string[] = []

  let schema: RecordSchema | undefined
  try {
    const current = await loadSchema(manifest.schema.id)
    if (current.version === manifest.schema.version) {
      if (schemaHash(current) !== manifest.schema.hash) {
        problems.push(`${MANIFEST_FILE}: schema ${current.id} v${current.version} hashes to ${schemaHash(current)} in schemas/, manifest says ${manifest.schema.hash} (schema edited without a version bump?)`)
      }
      schema = current
    }
    // Another version in schemas/ is not a problem of this dataset; its shards are then checked without it.
  } catch (error) {
    problems.push(`${MANIFEST_FILE}: ${(error as Error).message}`)
  }

  // An HTTP(S) server need not list folders: there each part is asked for its size, and unlisted parts go unseen.
  const listing = store.kind === 'http' ? null : await store.list('')
  const sizes = new Map((listing?.files ?? []).map((f) => [f.name, f.size]))
  const cache = store.localPath('') === null ? (options.cache ?? PartCache.open(options)) : null
  for (const shard of manifest.shards) {
    const size = listing === null ? (await store.info(shard.file))?.size : sizes.get(shard.file)
    if (size === undefined) {
      problems.push(`${shard.file}: missing`)
      continue
    }
    if (size !== shard.bytes) {
      problems.push(`${shard.file}: ${size} bytes, manifest says ${shard.bytes}`)
      continue
    }
    problems.push(...(await partProblems(store, shard, schema, cache, options.parts ?? 'bytes')))
  }

  const listed = new Set(manifest.shards.map((s) => s.file))
  for (const { name } of listing?.files ?? []) {
    if (name.endsWith('.parquet') && !listed.has(name)) problems.push(`${name}: not listed in ${MANIFEST_FILE}`)
  }

  problems.push(...(await ledgerProblems(store, manifest)))
  return problems
}

/** One part's bytes (or, remotely with 'sizes', its recorded sha256), row count and schema against the manifest. */
async function partProblems(store: Store, shard: Manifest['shards'][number], schema: RecordSchema | undefined, cache: PartCache | null, depth: 'bytes' | 'sizes'): Promise<string[]> {
  const problems: string[] = []
  const local = store.localPath(shard.file)
  if (local === null && depth === 'sizes') {
    const info = await store.info(shard.file)
    if (info?.sha256 != null && info.sha256 !== shard.sha256) problems.push(`${shard.file}: recorded sha256 ${info.sha256}, manifest says ${shard.sha256}`)
    return problems
  }
  let path = local
  let release = async (): Promise<void> => undefined
  if (path === null) {
    try {
      const cached = await (cache as PartCache).fetch(store, shard)
      path = cached.path
      release = cached.release
    } catch (error) {
      if (error instanceof StoreError && error.code === 'corrupt') return [`${shard.file}: sha256 mismatch: ${error.message}`]
      throw error
    }
  } else {
    const sha = await sha256File(path)
    if (sha !== shard.sha256) return [`${shard.file}: sha256 mismatch (manifest ${shard.sha256}, file ${sha})`]
  }
  try {
    await withParquet(path, { name: shard.file }, async (file) => {
      if (file.metadata.rows !== shard.rows) problems.push(`${shard.file}: ${file.metadata.rows} rows, manifest says ${shard.rows}`)
      if (schema !== undefined) checkArrowSchema(file.arrowSchema, schema, shard.file)
    })
  } catch (error) {
    // The reader and the schema check name the file; the report names files relative to the dataset.
    problems.push(`${shard.file}: ${(error as Error).message.replace(`${shard.file}: `, '')}`)
  } finally {
    await release()
  }
  return problems
}

/**
 * The ledger against the manifest: the file exists, its sha256 is the recorded one and it has one line per
 * reject. An edited line (`ffmpeg-failed` -> `too-short`) changes the sha256, so it is found.
 */
async function ledgerProblems(store: Store, manifest: Manifest): Promise<string[]> {
  let bytes: Uint8Array
  try {
    bytes = await store.read(LEDGER_FILE)
  } catch (error) {
    if (error instanceof StoreError && error.code === 'not-found') return [`${LEDGER_FILE}: missing`]
    throw error
  }
  const problems: string[] = []
  let lines = 0
  for (const b of bytes) if (b === 0x0a) lines++
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) lines++ // a last line without '\n' counts
  if (lines !== manifest.rejects.total) problems.push(`${LEDGER_FILE}: ${lines} lines, manifest says ${manifest.rejects.total} rejects`)
  const sha = sha256Bytes(bytes)
  if (sha !== manifest.ledger.sha256) problems.push(`${LEDGER_FILE}: sha256 mismatch (manifest ${manifest.ledger.sha256}, file ${sha}): a line was edited, added or removed`)
  return problems
}

/** A dataset whose files do not match its manifest: the reader stops before using a single row. */
export class DamagedDatasetError extends Error {
  override name = 'DamagedDatasetError'
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
    advice: string,
  ) {
    super(`${dir} is damaged: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}: ${advice}`)
  }
}

/**
 * Check a dataset before reading it (`verifyDataset`: a local one's every part file's size and sha256, a remote
 * one's part sizes and recorded sha256 — the cache hashes each part's bytes when it arrives, before a row is
 * used —, the ledger, the counts) and say how long it took through `log`. Throws DamagedDatasetError naming the
 * dataset, the bad files and the command that rebuilds them (the prepare command recorded when it was built).
 */
export async function ensureIntact(location: string, log: (line: string) => void, options: DataOptions = {}): Promise<void> {
  const started = performance.now()
  const store = openStore(resolveLocation(location), options)
  await readManifest(store) // no manifest at all is not damage: it says there is no dataset there
  const problems = await verifyDataset(store.location, { ...options, parts: 'sizes' })
  const dir = store.location
  if (problems.length > 0) {
    const built = await store.read(`${STATE_DIR}/${ENVIRONMENT_FILE}`).then((b) => (JSON.parse(new TextDecoder().decode(b)) as { command?: string | null }).command ?? null).catch(() => null)
    const advice = built !== null ? `rebuild it with the command that built it, which keeps the good parts and rebuilds the bad ones: ${built}` : 'rerun the turnkit prepare command that built it: it keeps the good parts and rebuilds the bad ones'
    throw new DamagedDatasetError(dir, problems, advice)
  }
  log(`verified ${dir} in ${((performance.now() - started) / 1000).toFixed(2)} s${store.localPath('') === null ? ' (part sizes; each part is hashed as it arrives in the cache)' : ''}`)
}
