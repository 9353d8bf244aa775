// The runner: listing -> sorted work units -> stage (in worker threads) -> one Parquet part file per unit ->
// manifest. A unit is `shardRows` consecutive inputs of the key-sorted listing, so which inputs land in which
// part file depends only on the listing and the settings: never on worker count, timing, partitioning or on
// how many earlier units were already done. That one rule gives resume, --part i/N and merge for free.
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pLimit from 'p-limit'
import { isReject, type Reject, type RejectCode } from '../kinds/reject.js'
import type { SourceRecord } from '../kinds/record.js'
import { WorkerPool, type StageSpec } from './worker-pool.js'
import { silentProgress, type ProgressSink } from './progress.js'
import type { RecordSchema, Row } from '../dataset/schema.js'
import { schemaHash } from '../dataset/schema.js'
import { compareSortKeys, encodeShard, type ShardCompression } from '../dataset/parquet-writer.js'
import { writeFileAtomic } from '../dataset/atomic.js'
import { sha256Bytes, sha256Hex } from '../dataset/hash.js'
import { buildManifest, writeManifest, type Manifest } from '../dataset/manifest.js'
import { canonicalJson, type JsonObject, type JsonValue } from '../formats/json.js'


/** Everything a prepare run needs. Settings are the byte-affecting ones: they go in the manifest and version. */
export interface PrepareJob<R extends SourceRecord> {
  /** Pipeline name as the user typed it (`clotho`). */
  pipeline: string
  schema: RecordSchema
  listing: AsyncIterable<R | Reject> | Iterable<R | Reject>
  /** The stage turning a record into a row, run in worker threads. */
  stage: StageSpec
  /** Every setting that changes output bytes (sample rate, n_mels, vocabulary hash, shard rows, ...). */
  settings: JsonObject
  outDir: string
  /** Inputs per part file (a part holds fewer rows when some inputs are rejected). */
  shardRows: number
  /** Parquet codec. Default zstd. */
  compression?: ShardCompression
  /** This run builds units j with j % count === index. Default 0/1. */
  part?: { index: number; count: number }
  /** Worker threads; 0 runs the stage inline. Speed only: never changes bytes. */
  workers: number
  /** Versions shown in the manifest, not hashed into `version`. */
  tool: { name: string; version: string }
  /** Extra manifest facts that do not change bytes (ffmpeg binary path kind, ...). */
  environment?: JsonObject
  progress?: ProgressSink
}

/** One line of rejects.jsonl. */
export interface LedgerLine {
  key: string
  source: string | null
  stage: string
  code: RejectCode
  message: string
}

/** What one unit produced, stored as `.turnkit/unit-NNNNN.json` after its part file is on disk. */
export interface UnitResult {
  unit: number
  inputs: number
  rows: number
  shard: { file: string; rows: number; bytes: number; sha256: string } | null
  rejects: LedgerLine[]
}

/** The identity of a run: a resumed or partitioned run must match it exactly. Stored as `.turnkit/run.json`. */
export interface RunIdentity {
  pipeline: string
  schema: { id: string; version: number; hash: string }
  settings: JsonObject
  source: { fingerprint: string; inputs: number }
  units: number
  shardRows: number
}

export interface PrepareSummary {
  outDir: string
  /** `complete`: manifest written. `partial`: this part is done, other parts are missing (run merge). */
  status: 'complete' | 'partial'
  part: { index: number; count: number }
  unitsTotal: number
  unitsBuilt: number
  unitsSkipped: number
  /** Counts over the units present in outDir. */
  inputs: number
  rows: number
  rejects: { total: number; byCode: Partial<Record<RejectCode, number>> }
  manifest?: Manifest
  /** Wall seconds from the first item dispatched to the last unit written (worker start-up included). */
  processingSec: number
}

export const STATE_DIR = '.turnkit'
export const partFileName = (unit: number): string => `part-${String(unit).padStart(5, '0')}.parquet`
const unitFileName = (unit: number): string => `unit-${String(unit).padStart(5, '0')}.json`

const toLedgerLine = (r: Reject, source: string | undefined): LedgerLine => ({
  key: r.key,
  source: r.source ?? source ?? null,
  stage: r.stage,
  code: r.code,
  message: r.message,
})

/**
 * Read the whole listing, sort it by key (locale-independent) and turn repeated keys after
 * the first into `duplicate` rejects. The order is the shard writer's (UTF-8 bytes). Listing is metadata only (no audio), so it fits in memory.
 */
export async function sortedListing<R extends SourceRecord>(listing: AsyncIterable<R | Reject> | Iterable<R | Reject>): Promise<(R | Reject)[]> {
  const items: (R | Reject)[] = []
  for await (const item of listing) items.push(item)
  items.sort((a, b) => compareSortKeys(a.key, b.key)) // stable: the first listed stays first
  return items.map((item, i) => {
    const previous = items[i - 1]
    if (i > 0 && previous !== undefined && previous.key === item.key && !isReject(item)) {
      return { kind: 'reject', key: item.key, stage: 'list', code: 'duplicate', message: `key listed more than once; the first is kept`, source: item.source } satisfies Reject
    }
    return item
  })
}

/** sha256 over the canonical JSON of every listed item, in key order: names the source listing exactly. */
export function listingFingerprint(items: readonly unknown[]): string {
  const lines = items.map((item) => canonicalJson(item)).join('\n')
  return sha256Bytes(lines)
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

/** Describe how two run identities differ, naming settings, for the "different run" error. */
function identityDifference(a: RunIdentity, b: RunIdentity): string {
  const diffs: string[] = []
  if (a.pipeline !== b.pipeline) diffs.push(`pipeline ${a.pipeline} vs ${b.pipeline}`)
  if (a.schema.hash !== b.schema.hash) diffs.push(`schema ${a.schema.id}@${a.schema.hash} vs ${b.schema.id}@${b.schema.hash}`)
  for (const key of new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])) {
    if (canonicalJson(a.settings[key] ?? null) !== canonicalJson(b.settings[key] ?? null)) {
      diffs.push(`${key} ${canonicalJson(a.settings[key] ?? null)} vs ${canonicalJson(b.settings[key] ?? null)}`)
    }
  }
  if (a.source.fingerprint !== b.source.fingerprint) diffs.push(`source listing ${a.source.fingerprint} vs ${b.source.fingerprint} (the corpus changed)`)
  return diffs.join('; ')
}

/**
 * Delete `*.tmp-*` files a killed run left behind (writeFileAtomic's temporary names): they were never
 * renamed into place, so no reader saw them, and the unit they belong to is rebuilt.
 */
async function removeStaleTemporaries(outDir: string): Promise<void> {
  for (const dir of [outDir, join(outDir, STATE_DIR)]) {
    for (const name of await readdir(dir)) if (/\.tmp-\d+-[0-9a-f]+$/.test(name)) await rm(join(dir, name), { force: true })
  }
}

/** A unit counts as finished when its result file exists and its part file has the recorded size. */
async function isUnitFinished(outDir: string, unit: number): Promise<boolean> {
  const resultPath = join(outDir, STATE_DIR, unitFileName(unit))
  if (!existsSync(resultPath)) return false
  const result = await readJson<UnitResult>(resultPath)
  if (result.shard === null) return true
  try {
    return (await stat(join(outDir, result.shard.file))).size === result.shard.bytes
  } catch {
    return false // part file gone: rebuild the unit
  }
}

/**
 * Build (or resume building) a dataset. Units already finished in `outDir` are kept; a killed run rerun with
 * the same arguments continues and produces the same bytes and version. Throws when `outDir` holds a run
 * with other settings or another source listing, naming what differs.
 */
export async function prepareDataset<R extends SourceRecord>(job: PrepareJob<R>): Promise<PrepareSummary> {
  const { outDir, shardRows, schema, workers } = job
  const part = job.part ?? { index: 0, count: 1 }
  const progress = job.progress ?? silentProgress
  const items = await sortedListing(job.listing)
  const identity: RunIdentity = {
    pipeline: job.pipeline,
    schema: { id: schema.id, version: schema.version, hash: schemaHash(schema) },
    settings: job.settings,
    source: { fingerprint: listingFingerprint(items), inputs: items.length },
    units: Math.ceil(items.length / shardRows),
    shardRows,
  }
  await mkdir(join(outDir, STATE_DIR), { recursive: true })
  await removeStaleTemporaries(outDir)
  const identityPath = join(outDir, STATE_DIR, 'run.json')
  if (existsSync(identityPath)) {
    const existing = await readJson<RunIdentity>(identityPath)
    if (canonicalJson(existing) !== canonicalJson(identity)) {
      throw new Error(`${outDir} already holds a different run (${identityDifference(existing, identity)}): use another --out, or delete it to start over`)
    }
  } else {
    await writeFileAtomic(identityPath, JSON.stringify(identity, null, 2) + '\n')
  }
  // Facts for the manifest that do not change bytes; merge reads them back from a part directory.
  await writeFileAtomic(join(outDir, STATE_DIR, 'environment.json'), JSON.stringify({ tool: job.tool, environment: job.environment ?? {} }) + '\n')

  const mine: number[] = []
  let skipped = 0
  for (let unit = part.index; unit < identity.units; unit += part.count) {
    if (await isUnitFinished(outDir, unit)) skipped++
    else mine.push(unit)
  }
  const pending = mine.reduce((n, unit) => n + Math.min(shardRows, items.length - unit * shardRows), 0)
  progress.start(pending, `prepare ${job.pipeline}`)
  const started = performance.now()
  const pool = new WorkerPool<R, Row>(job.stage, workers)
  // Enough items in flight to keep every worker busy while ffmpeg starts up; bounded so memory is too.
  const limit = pLimit(Math.max(2, workers * 3))
  try {
    let writing: Promise<void> = Promise.resolve()
    for (const unit of mine) {
      const unitItems = items.slice(unit * shardRows, (unit + 1) * shardRows)
      const outcomes = await Promise.all(
        unitItems.map((item) =>
          limit(async (): Promise<Outcome> => {
            if (isReject(item)) {
              progress.tick(true)
              return { reject: toLedgerLine(item, undefined) }
            }
            let result: Row | Reject
            try {
              result = await pool.run(item)
            } catch (err) {
              throw new Error(`stage failed on ${item.key} (${item.source}): ${err instanceof Error ? err.message : String(err)}`)
            }
            progress.tick(isReject(result))
            return isReject(result) ? { reject: toLedgerLine(result, item.source) } : { row: result }
          }),
        ),
      )
      await writing // one part file written while the next unit decodes; never more, so memory stays bounded
      writing = writeUnit(outDir, schema, job.compression ?? 'zstd', unit, outcomes)
    }
    await writing
  } finally {
    await pool.close()
  }
  progress.done()
  const processingSec = Number(((performance.now() - started) / 1000).toFixed(3))
  return { ...(await finishIfComplete(outDir, identity, job, { part, built: mine.length, skipped })), processingSec }
}

/** What became of one input: a row for the part file or a line for the ledger. */
type Outcome = { row: Row; reject?: undefined } | { reject: LedgerLine; row?: undefined }

async function writeUnit(outDir: string, schema: RecordSchema, compression: ShardCompression, unit: number, outcomes: Outcome[]): Promise<void> {
  const rows = outcomes.flatMap((o) => (o.row ? [o.row] : []))
  const rejects = outcomes.flatMap((o) => (o.reject ? [o.reject] : []))
  let shard: UnitResult['shard'] = null
  const file = partFileName(unit)
  if (rows.length > 0) {
    const bytes = await encodeShard(schema, rows, { compression })
    // Part file first, unit result last: a result file on disk means its part file is complete.
    await writeFileAtomic(join(outDir, file), bytes)
    shard = { file, rows: rows.length, bytes: bytes.length, sha256: `sha256:${sha256Hex(bytes)}` }
  } else {
    await rm(join(outDir, file), { force: true }) // every input of this unit was rejected
  }
  const result: UnitResult = { unit, inputs: outcomes.length, rows: rows.length, shard, rejects }
  await writeFileAtomic(join(outDir, STATE_DIR, unitFileName(unit)), JSON.stringify(result) + '\n')
}

/** Load every unit result present in `outDir`, by unit number. */
export async function readUnitResults(outDir: string): Promise<Map<number, UnitResult>> {
  const results = new Map<number, UnitResult>()
  const dir = join(outDir, STATE_DIR)
  if (!existsSync(dir)) return results
  for (const name of (await readdir(dir)).sort()) {
    const m = /^unit-(\d{5,})\.json$/.exec(name)
    if (m) results.set(Number(m[1]), await readJson<UnitResult>(join(dir, name)))
  }
  return results
}

/** Count rows, inputs and rejects over unit results. */
function totals(results: Iterable<UnitResult>): Pick<PrepareSummary, 'inputs' | 'rows' | 'rejects'> {
  let inputs = 0
  let rows = 0
  const byCode: Partial<Record<RejectCode, number>> = {}
  for (const r of results) {
    inputs += r.inputs
    rows += r.rows
    for (const line of r.rejects) byCode[line.code] = (byCode[line.code] ?? 0) + 1
  }
  return { inputs, rows, rejects: { total: inputs - rows, byCode } }
}

/**
 * When every unit of the run is in `outDir`, write rejects.jsonl and manifest.json (last, atomically):
 * the dataset becomes visible. Otherwise report a partial build.
 */
export async function finishIfComplete(
  outDir: string,
  identity: RunIdentity,
  job: Pick<PrepareJob<SourceRecord>, 'tool' | 'environment'>,
  { part, built, skipped }: { part: { index: number; count: number }; built: number; skipped: number },
): Promise<Omit<PrepareSummary, 'processingSec'>> {
  const results = await readUnitResults(outDir)
  const base = { outDir, part, unitsTotal: identity.units, unitsBuilt: built, unitsSkipped: skipped, ...totals(results.values()) }
  for (let unit = 0; unit < identity.units; unit++) if (!results.has(unit)) return { ...base, status: 'partial' }
  const ordered = [...results.values()].sort((a, b) => a.unit - b.unit)
  const ledger = ordered.flatMap((r) => r.rejects).map((line) => JSON.stringify(line) + '\n').join('')
  await writeFileAtomic(join(outDir, 'rejects.jsonl'), ledger)
  const manifest = buildManifest({
    schema: identity.schema,
    pipeline: { name: identity.pipeline, settings: identity.settings },
    source: identity.source,
    tool: job.tool,
    shards: ordered.flatMap((r) => (r.shard ? [r.shard] : [])),
    inputs: base.inputs,
    rejects: base.rejects,
  })
  await writeManifest(outDir, manifest)
  return { ...base, status: 'complete', manifest }
}
