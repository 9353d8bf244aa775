// `turnkit verify`: a dataset directory checked against its manifest, every byte recomputed.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File } from './hash.js'
import { LEDGER_FILE, MANIFEST_FILE } from './layout.js'
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

  const lines = await countLines(join(dir, LEDGER_FILE))
  if (lines !== undefined && lines !== manifest.rejects.total) {
    problems.push(`${LEDGER_FILE}: ${lines} lines, manifest says ${manifest.rejects.total} rejects`)
  }
  return problems
}

// Lines of a text file (a last line without '\n' counts), or undefined when the file does not exist.
async function countLines(path: string): Promise<number | undefined> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let lines = 0
  for (const b of bytes) if (b === 0x0a) lines++
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) lines++
  return lines
}
