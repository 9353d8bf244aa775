// manifest.json names one dataset version: which schema, which byte-affecting settings, which shard bytes.
// It holds nothing time- or machine-dependent (no dates, hosts, absolute paths, worker counts), so the same
// inputs and settings give the same manifest bytes, and it is written last, atomically, after every shard.
//
// A manifest reads (keys sorted, 2-space indent):
//   { "format": "turnkit-dataset/1", "inputs": 12, "pipeline": { "name": "clotho", "settings": {...} },
//     "rejects": { "byCode": { "too-short": 1 }, "total": 1 }, "rows": 11,
//     "schema": { "hash": "sha256:...", "id": "audio-text", "version": 1 },
//     "shards": [ { "bytes": 81234, "file": "part-00000.parquet", "rows": 11, "sha256": "sha256:..." } ],
//     "source": { "fingerprint": "sha256:...", "inputs": 12 }, "tool": { "name": "turnkit", "version": "0.1.0" },
//     "version": "sha256:..." }

import { REJECT_CODES, type RejectCode } from '../kinds/reject.js'
import { TOOL } from '../config.js'
import { openStore, StoreError, type Store, type StoreOptions } from './storage.js'
import { LEDGER_FILE, MANIFEST_FILE } from './layout.js'
import { sha256Bytes } from './hash.js'
import type { ShardEntry } from './parquet-writer.js'
import { type RecordSchema, schemaHash } from './schema.js'
import { canonicalJson, type JsonObject, sortedJsonPretty } from '../formats/json.js'

/** The `format` of every manifest this code writes; bumped when the manifest layout changes. */
export const MANIFEST_FORMAT = 'turnkit-dataset/2'

/** Which schema a dataset was written with: its id, version and `schemaHash`. */
export interface SchemaRef {
  id: string
  version: number
  hash: string
}

/** Rejected inputs: the total and the count per reason code (codes with a zero count are left out). */
export interface RejectCounts {
  total: number
  byCode: Partial<Record<RejectCode, number>>
}

/** The rejects ledger as the manifest names it: its file, the sha256 of its bytes and its line count. */
export interface LedgerRef {
  file: string
  sha256: string
  /** one line per reject: equals rejects.total */
  lines: number
}

/**
 * One source item (a YouTube id, an image id, an audio file) listed in more than one split of the corpus: the
 * identifier, the splits it is in (sorted) and the record keys that carry it.
 */
export interface SplitLeak {
  id: string
  splits: string[]
  keys: string[]
}

/** The contents of manifest.json. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT
  schema: SchemaRef
  /** pipeline name and every setting that affects output bytes (speed-only settings stay out) */
  pipeline: { name: string; settings: JsonObject }
  /** `fingerprint`: the caller's hash of the source listing; `inputs`: how many inputs it listed */
  source: { fingerprint: string; inputs: number }
  tool: { name: string; version: string }
  /** sorted by file name; every shard has at least one row */
  shards: ShardEntry[]
  /** sum of shard rows */
  rows: number
  /** rows + rejects.total: every input ends as a row or a rejects.jsonl line */
  inputs: number
  rejects: RejectCounts
  /** rejects.jsonl: hashed into the version, so two datasets with different ledgers never share one */
  ledger: LedgerRef
  /** source items found in more than one split (see `--on-split-leak`), sorted by id; empty when none */
  leaks: SplitLeak[]
  /** `datasetVersion(schema.hash, pipeline.settings, shards, ledger)` */
  version: string
}

/** What `buildManifest` needs; counts it derives (rows, totals, version) are computed, not given. */
export interface ManifestParts {
  /** the schema itself, or its reference `{ id, version, hash }` */
  schema: RecordSchema | SchemaRef
  pipeline: { name: string; settings: JsonObject }
  source: { fingerprint: string; inputs: number }
  /** default this turnkit's name and version (package.json) */
  tool?: { name: string; version: string }
  /** in any order; sorted by file here */
  shards: readonly ShardEntry[]
  /** rejects by code; `total`, when given, must equal their sum */
  rejects: { total?: number; byCode: Partial<Record<RejectCode, number>> }
  /** when given, must equal rows + rejects.total (a cross-check of the caller's own count) */
  inputs?: number
  /** the ledger's sha256 and line count (the file is always rejects.jsonl) */
  ledger: { sha256: string; lines: number }
  /** default none */
  leaks?: readonly SplitLeak[]
}

/**
 * `"sha256:" + sha256(canonicalJson({ schemaHash, settings, shards: [shard sha256, in file-name order],
 * ledger: { sha256, lines } }))`. Names the dataset's whole result: the rows and every rejected input. Worker
 * counts, partitioning, tool version and timing cannot change it.
 */
export function datasetVersion(
  schemaHash: string,
  settings: JsonObject,
  shards: readonly Pick<ShardEntry, 'file' | 'sha256'>[],
  ledger: { sha256: string; lines: number },
): string {
  const ordered = [...shards].sort((a, b) => compareNames(a.file, b.file))
  return sha256Bytes(canonicalJson({ schemaHash, settings, shards: ordered.map((s) => s.sha256), ledger: { sha256: ledger.sha256, lines: ledger.lines } }))
}

/**
 * Assemble a manifest: sorts shards, sums rows, totals rejects (dropping zero counts), computes `inputs` and the
 * version. Throws on a broken invariant, naming the values: duplicate shard files, an empty shard, a reject
 * total that is not the sum by code, `inputs` or `source.inputs` that is not rows + rejects, or a part that
 * `validateManifest` refuses (bad hash format, unknown reject code, settings that are not JSON).
 */
export function buildManifest(parts: ManifestParts): Manifest {
  const schema: SchemaRef =
    'fields' in parts.schema
      ? { id: parts.schema.id, version: parts.schema.version, hash: schemaHash(parts.schema) }
      : { id: parts.schema.id, version: parts.schema.version, hash: parts.schema.hash }
  const shards = [...parts.shards]
    .map((s) => ({ file: s.file, rows: s.rows, bytes: s.bytes, sha256: s.sha256 }))
    .sort((a, b) => compareNames(a.file, b.file))
  const byCode: Partial<Record<RejectCode, number>> = {}
  let total = 0
  for (const [code, n] of Object.entries(parts.rejects.byCode) as [RejectCode, number][]) {
    if (n === 0) continue // {} and { silent: 0 } must give the same manifest bytes
    byCode[code] = n
    total += n
  }
  if (parts.rejects.total !== undefined && parts.rejects.total !== total) {
    throw new Error(`buildManifest: rejects.total is ${parts.rejects.total}, but byCode sums to ${total}`)
  }
  const rows = shards.reduce((sum, s) => sum + s.rows, 0)
  const inputs = rows + total
  if (parts.inputs !== undefined && parts.inputs !== inputs) {
    throw new Error(`buildManifest: inputs is ${parts.inputs}, but ${rows} rows + ${total} rejects = ${inputs}`)
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    schema,
    pipeline: { name: parts.pipeline.name, settings: parts.pipeline.settings },
    source: { fingerprint: parts.source.fingerprint, inputs: parts.source.inputs },
    tool: parts.tool ?? TOOL,
    shards,
    rows,
    inputs,
    rejects: { total, byCode },
    ledger: { file: LEDGER_FILE, sha256: parts.ledger.sha256, lines: parts.ledger.lines },
    leaks: [...(parts.leaks ?? [])].map((l) => ({ id: l.id, splits: [...l.splits], keys: [...l.keys] })).sort((a, b) => compareNames(a.id, b.id)),
    version: datasetVersion(schema.hash, parts.pipeline.settings, shards, parts.ledger),
  }
  const problems = manifestProblems(manifest)
  if (problems.length > 0) throw new Error(`buildManifest: ${problems.join('; ')}`)
  return manifest
}

/**
 * Write `manifest.json` into `location` (a folder, an s3:// prefix, or its store), atomically: keys sorted at every
 * level, 2-space indent, trailing newline. Throws when the manifest is inconsistent (see `manifestProblems`),
 * before writing anything, or the store's error.
 */
export async function writeManifest(location: string | Store, manifest: Manifest): Promise<void> {
  const store = typeof location === 'string' ? openStore(location) : location
  const problems = manifestProblems(manifest)
  if (problems.length > 0) throw new Error(`writeManifest: ${store.describe(MANIFEST_FILE)}: ${problems.join('; ')}`)
  await store.write(MANIFEST_FILE, `${sortedJsonPretty(manifest)}\n`)
}

/**
 * Read and check `manifest.json` of `location` (a folder, an s3:// prefix, an https:// URL, or its store).
 * Returns it typed. Throws naming the object: missing (no dataset there, or its build has not finished), not
 * JSON, another format, or inconsistent (each problem listed); or the store's error (no bucket, access denied).
 */
export async function readManifest(location: string | Store, options: StoreOptions = {}): Promise<Manifest> {
  const store = typeof location === 'string' ? openStore(location, options) : location
  const path = store.describe(MANIFEST_FILE)
  let text: string
  try {
    text = new TextDecoder().decode(await store.read(MANIFEST_FILE))
  } catch (error) {
    if (error instanceof StoreError && error.code === 'not-found') {
      throw new Error(`manifest: ${path} not found: not a turnkit dataset, or its build has not finished`)
    }
    throw error
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`manifest: ${path} is not valid JSON: ${(error as Error).message}`)
  }
  if ((value as { format?: unknown } | null)?.format === 'turnkit-dataset/1') {
    throw new Error(`manifest: ${path} is format turnkit-dataset/1 (before the ledger was part of the version): rebuild it with the same turnkit prepare command`)
  }
  const problems = manifestProblems(value)
  if (problems.length > 0) throw new Error(`manifest: ${path}: ${problems.join('; ')}`)
  return value as Manifest
}

/**
 * Everything wrong with a manifest value on its own (no files read): shape and types of every field, sorted
 * unique shard names, rows = sum of shard rows, rejects.total = sum by code, inputs = rows + rejects.total =
 * source.inputs, and the version recomputed. Returns one message per problem; empty means consistent.
 */
export function manifestProblems(value: unknown): string[] {
  const problems: string[] = []
  const m = value as Partial<Manifest> & Record<string, unknown>
  if (!isObject(value)) return ['must be a JSON object']
  const known = ['format', 'schema', 'pipeline', 'source', 'tool', 'shards', 'rows', 'inputs', 'rejects', 'ledger', 'leaks', 'version']
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`unknown key '${key}'`)
  for (const key of known) if (!(key in value)) problems.push(`missing key '${key}'`)
  if (problems.length > 0) return problems
  if (m.format !== MANIFEST_FORMAT) return [`format ${JSON.stringify(m.format)} is not ${MANIFEST_FORMAT}`]

  const s = m.schema as unknown as Record<string, unknown>
  if (!isObject(s) || typeof s.id !== 'string' || !isCount(s.version) || !isHash(s.hash)) {
    problems.push('schema must be { id: string, version: integer, hash: "sha256:<hex>" }')
  }
  const p = m.pipeline as unknown as Record<string, unknown>
  if (!isObject(p) || typeof p.name !== 'string' || !isObject(p.settings)) {
    problems.push('pipeline must be { name: string, settings: object }')
  } else {
    try {
      canonicalJson(p.settings)
    } catch (error) {
      problems.push(`pipeline.settings: ${(error as Error).message}`)
    }
  }
  const src = m.source as unknown as Record<string, unknown>
  if (!isObject(src) || typeof src.fingerprint !== 'string' || src.fingerprint === '' || !isCount(src.inputs)) {
    problems.push('source must be { fingerprint: non-empty string, inputs: integer >= 0 }')
  }
  const t = m.tool as unknown as Record<string, unknown>
  if (!isObject(t) || typeof t.name !== 'string' || typeof t.version !== 'string') problems.push('tool must be { name: string, version: string }')

  let rowSum = 0
  if (!Array.isArray(m.shards)) {
    problems.push('shards must be an array')
  } else {
    for (const [i, sh] of (m.shards as unknown[]).entries()) {
      const e = sh as Record<string, unknown>
      if (!isObject(e)) {
        problems.push(`shards[${i}] must be an object`)
        continue
      }
      if (typeof e.file !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*\.parquet$/.test(e.file)) {
        problems.push(`shards[${i}].file ${JSON.stringify(e.file)} must be a plain *.parquet file name`)
      } else if (i > 0 && compareNames(String((m.shards[i - 1] as ShardEntry).file), e.file) >= 0) {
        problems.push(`shards[${i}].file '${e.file}' is not after '${(m.shards[i - 1] as ShardEntry).file}': shards must be sorted by file, unique`)
      }
      if (!isCount(e.rows) || e.rows === 0) problems.push(`shards[${i}].rows must be an integer >= 1`)
      else rowSum += e.rows
      if (!isCount(e.bytes)) problems.push(`shards[${i}].bytes must be an integer >= 0`)
      if (!isHash(e.sha256)) problems.push(`shards[${i}].sha256 must be "sha256:" + 64 hex digits`)
    }
  }
  if (!isCount(m.rows)) problems.push('rows must be an integer >= 0')
  else if (m.rows !== rowSum) problems.push(`rows is ${m.rows}, but the shards hold ${rowSum}`)

  const r = m.rejects as unknown as Record<string, unknown>
  let rejectTotal = 0
  if (!isObject(r) || !isCount(r.total) || !isObject(r.byCode)) {
    problems.push('rejects must be { total: integer, byCode: { code: count } }')
  } else {
    for (const [code, n] of Object.entries(r.byCode)) {
      if (!(REJECT_CODES as readonly string[]).includes(code)) problems.push(`rejects.byCode: unknown reject code '${code}'`)
      if (!isCount(n) || n === 0) problems.push(`rejects.byCode.${code} must be an integer >= 1`)
      else rejectTotal += n
    }
    if (r.total !== rejectTotal) problems.push(`rejects.total is ${String(r.total)}, but byCode sums to ${rejectTotal}`)
  }
  if (!isCount(m.inputs)) problems.push('inputs must be an integer >= 0')
  else if (isCount(m.rows) && isCount(r?.total) && m.inputs !== m.rows + r.total) {
    problems.push(`inputs is ${m.inputs}, but rows ${m.rows} + rejects ${r.total} = ${m.rows + r.total}`)
  }
  if (isObject(src) && isCount(src.inputs) && isCount(m.inputs) && src.inputs !== m.inputs) {
    problems.push(`source.inputs is ${src.inputs}, but ${m.inputs} inputs ended as rows or rejects`)
  }

  const l = m.ledger as unknown as Record<string, unknown>
  if (!isObject(l) || l.file !== LEDGER_FILE || !isHash(l.sha256) || !isCount(l.lines)) {
    problems.push(`ledger must be { file: "${LEDGER_FILE}", sha256: "sha256:<hex>", lines: integer >= 0 }`)
  } else if (isObject(r) && l.lines !== r.total) {
    problems.push(`ledger.lines is ${String(l.lines)}, but rejects.total is ${String(r.total)}`)
  }
  if (!Array.isArray(m.leaks) || !(m.leaks as unknown[]).every((x) => isObject(x) && typeof x.id === 'string' && Array.isArray(x.splits) && Array.isArray(x.keys))) {
    problems.push('leaks must be a list of { id: string, splits: [string], keys: [string] }')
  }

  if (!isHash(m.version)) {
    problems.push('version must be "sha256:" + 64 hex digits')
  } else if (problems.length === 0) {
    const expected = datasetVersion(s.hash as string, p.settings as JsonObject, m.shards as ShardEntry[], m.ledger as LedgerRef)
    if (m.version !== expected) problems.push(`version is ${m.version}, but schema hash, settings, shard hashes and ledger give ${expected}`)
  }
  return problems
}

// File names compare by code unit; they are ASCII (`part-00000.parquet`), where that equals byte order.
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0
}
function isHash(v: unknown): v is string {
  return typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v)
}
