// `turnkit verify`: a dataset directory checked against its manifest, every byte recomputed.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256Bytes, sha256File } from './hash.js'
import { ENVIRONMENT_FILE, LEDGER_FILE, MANIFEST_FILE, STATE_DIR } from './layout.js'
import { type Manifest, manifestProblems } from './manifest.js'
import { checkArrowSchema, withParquet } from './parquet-reader.js'
import { loadSchema, type RecordSchema, schemaHash } from './schema.js'

/**
 * Check a dataset directory against its manifest: every listed shard's size, sha256 (streamed) and row count
 * (from the Parquet footer) and its Arrow schema (when schemas/ holds the manifest's schema id at the same
 * version), no unlisted part files, the manifest's own consistency (`manifestProblems`), and the number of
 * rejects.jsonl lines when that file exists. Returns one message per problem, each starting with the file it is
 * about (`part-00003.parquet: sha256 mismatch (manifest sha256:..., file sha256:...)`); empty means OK.
 * Never throws for a bad dataset; only for an unreadable directory.
 */
export async function verifyDataset(dir: string): Promise<string[]> {
  let manifest: Manifest
  try {
    const text = await readFile(join(dir, MANIFEST_FILE), 'utf8')
    const value: unknown = JSON.parse(text)
    const problems = manifestProblems(value)
    if (problems.length > 0) return problems.map((p) => `${MANIFEST_FILE}: ${p}`)
    manifest = value as Manifest
  } catch (error) {
    return [`${MANIFEST_FILE}: ${(error as Error).message}`]
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

  for (const shard of manifest.shards) {
    const path = join(dir, shard.file)
    let size: number
    try {
      size = (await stat(path)).size
    } catch (error) {
      problems.push(`${shard.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message}`)
      continue
    }
    if (size !== shard.bytes) problems.push(`${shard.file}: ${size} bytes, manifest says ${shard.bytes}`)
    const sha = await sha256File(path)
    if (sha !== shard.sha256) problems.push(`${shard.file}: sha256 mismatch (manifest ${shard.sha256}, file ${sha})`)
    try {
      await withParquet(path, {}, async (file) => {
        if (file.metadata.rows !== shard.rows) problems.push(`${shard.file}: ${file.metadata.rows} rows, manifest says ${shard.rows}`)
        if (schema !== undefined) checkArrowSchema(file.arrowSchema, schema, path)
      })
    } catch (error) {
      // The reader and the schema check name the full path; the report names files relative to the dataset.
      problems.push(`${shard.file}: ${(error as Error).message.replace(`${path}: `, '')}`)
    }
  }

  const listed = new Set(manifest.shards.map((s) => s.file))
  for (const name of (await readdir(dir)).sort()) {
    if (name.endsWith('.parquet') && !listed.has(name)) problems.push(`${name}: not listed in ${MANIFEST_FILE}`)
  }

  problems.push(...(await ledgerProblems(dir, manifest)))
  return problems
}

/**
 * The ledger against the manifest: the file exists, its sha256 is the recorded one and it has one line per
 * reject. An edited line (`ffmpeg-failed` -> `too-short`) changes the sha256, so it is found.
 */
async function ledgerProblems(dir: string, manifest: Manifest): Promise<string[]> {
  let bytes: Buffer
  try {
    bytes = await readFile(join(dir, LEDGER_FILE))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return [`${LEDGER_FILE}: ${code === 'ENOENT' ? 'missing' : (error as Error).message}`]
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
 * Check a dataset before reading it (every part file's size and sha256, the ledger, the counts: `verifyDataset`)
 * and say how long it took through `log`. Throws DamagedDatasetError naming the dataset, the bad files and the
 * command that rebuilds them (the prepare command recorded when it was built).
 */
export async function ensureIntact(dir: string, log: (line: string) => void): Promise<void> {
  const started = performance.now()
  const problems = await verifyDataset(dir)
  if (problems.length > 0) {
    const built = await readFile(join(dir, STATE_DIR, ENVIRONMENT_FILE), 'utf8').then((t) => (JSON.parse(t) as { command?: string | null }).command ?? null, () => null)
    const advice = built !== null ? `rebuild it with the command that built it, which keeps the good parts and rebuilds the bad ones: ${built}` : 'rerun the turnkit prepare command that built it: it keeps the good parts and rebuilds the bad ones'
    throw new DamagedDatasetError(dir, problems, advice)
  }
  log(`verified ${dir} in ${((performance.now() - started) / 1000).toFixed(2)} s`)
}
