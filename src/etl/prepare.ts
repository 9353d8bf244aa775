// The runner: listing -> sorted work units -> stage (in worker threads) -> dataset writer. A unit is `shardRows`
// consecutive inputs of the key-sorted listing, so which inputs land in which part file depends only on the
// listing and the settings: never on worker count, timing, partitioning or on how many earlier units were
// already done. That one rule gives resume, --part i/N and merge for free. The runner never names a file: the
// dataset writer (src/dataset/writer.ts) owns the directory.
import { readFileSync } from 'node:fs'
import pLimit from 'p-limit'
import { isReject, type Reject } from '../kinds/reject.js'
import { SOURCE_ITEM_IDS, type Row, type SourceRecord, type StageItem } from '../kinds/record.js'
import type { SplitLeak } from '../dataset/manifest.js'
import type { Corpus } from '../dataset/corpus.js'
import type { StoreOptions } from '../dataset/storage.js'
import { DatasetWriter, type BuildStatus, type LedgerLine } from '../dataset/writer.js'
import type { RecordSchema } from '../dataset/schema.js'
import { compareSortKeys, type ShardCompression } from '../dataset/parquet-writer.js'
import { canonicalJson, type JsonObject } from '../formats/json.js'
import { sha256Bytes } from '../dataset/hash.js'
import { WorkerPool, type StageSpec } from './worker-pool.js'
import { silentProgress, type ProgressSink } from './progress.js'

/** Everything a prepare run needs. Settings are the byte-affecting ones: they go in the manifest and version. */
export interface PrepareJob<R extends SourceRecord> {
  /** Pipeline name as the user typed it (`clotho`). */
  pipeline: string
  schema: RecordSchema
  /** The raw corpus the listing names files of. */
  corpus: Corpus
  listing: AsyncIterable<R | Reject> | Iterable<R | Reject>
  /** The corpus files of a record: checked and resolved (Corpus.file) before its stage runs. */
  files: (record: R) => string[]
  /** The record with its stored texts cleaned (control and bidi characters removed), and how many texts changed. */
  cleanTexts?: (record: R) => { record: R; removed: number }
  /** What to do with a source item found in two splits (SOURCE_ITEM_IDS); default warn. Changes bytes (reject). */
  splitLeaks?: SplitLeakPolicy
  /** The corpus' splits in order (train before test): with `reject`, the copy in the last split is kept. */
  splitOrder?: readonly string[]
  /** The stage turning a StageItem of a record into a row, run in worker threads. */
  stage: StageSpec
  /** Every setting of the pipeline that changes output bytes (sample rate, n_mels, vocabulary hash, ...). */
  settings: JsonObject
  /** The dataset's location: a local folder or an s3:// prefix. */
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
  /** The command that rebuilds the dataset, kept for the message a reader shows when a part is damaged. */
  command?: string
  /** How an s3:// `outDir` is reached (endpoint, retries). */
  store?: StoreOptions
  progress?: ProgressSink
}

/** The answers to a split leak: list it (warn), reject the copies in earlier splits (reject), or stop (error). */
export const SPLIT_LEAK_POLICIES = ['warn', 'reject', 'error'] as const
export type SplitLeakPolicy = (typeof SPLIT_LEAK_POLICIES)[number]

/** What a prepare run did, and what its directory holds now. */
export interface PrepareSummary extends BuildStatus {
  part: { index: number; count: number }
  unitsBuilt: number
  unitsSkipped: number
  /** finished units whose part file was missing or damaged, rebuilt by this run */
  rebuilt: { file: string; reason: string }[]
  /** texts (captions, expressions) of the listing that had control or bidi characters removed */
  cleanedTexts: number
  /** Wall seconds from the first item dispatched to the last unit written (worker start-up included). */
  processingSec: number
  /**
   * CPU seconds over the same span: this process' threads and the child processes (ffmpeg) that ended in it, from
   * /proc/self/stat; null where there is no /proc (not Linux).
   */
  cpuSec: number | null
}

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

/** What became of one input: a row for the part file or a line for the ledger. */
type Outcome = { row: Row; reject?: undefined } | { reject: LedgerLine; row?: undefined }

/**
 * Build (or resume building) a dataset. Units already finished in `outDir` are kept; a killed run rerun with
 * the same arguments continues and produces the same bytes and version. Throws when `outDir` holds a run
 * with other settings or another source listing, naming what differs.
 */
export async function prepareDataset<R extends SourceRecord>(job: PrepareJob<R>): Promise<PrepareSummary> {
  const { shardRows } = job
  const listed = await sortedListing(job.listing)
  const fingerprint = listingFingerprint(listed)
  let cleanedTexts = 0
  const cleaned = listed.map((item) => {
    if (isReject(item) || job.cleanTexts === undefined) return item
    const { record, removed } = job.cleanTexts(item)
    cleanedTexts += removed
    return record
  })
  const leaks = findSplitLeaks(cleaned)
  const policy = job.splitLeaks ?? 'warn'
  if (policy === 'error' && leaks.length > 0) {
    throw new Error(`${leaks.length} source item${leaks.length > 1 ? 's are' : ' is'} in more than one split (${describeLeaks(leaks)}): --on-split-leak error stops here; remove them from the corpus, or use warn or reject`)
  }
  const items = policy === 'reject' ? rejectLeaks(cleaned, leaks, job.splitOrder ?? []) : cleaned
  const writer = await DatasetWriter.open(job.outDir, {
    pipeline: job.pipeline,
    schema: job.schema,
    settings: job.settings,
    source: { fingerprint, inputs: items.length },
    leaks,
    units: Math.ceil(items.length / shardRows),
    shardRows,
    compression: job.compression ?? 'zstd',
    tool: job.tool,
    ...(job.command === undefined ? {} : { command: job.command }),
    ...(job.part === undefined ? {} : { part: job.part }),
    ...job.store,
  })
  try {
    return { ...(await buildUnits(job, writer, items)), cleanedTexts }
  } finally {
    await writer.close()
  }
}

/** Items handed to each worker at once: two decode batches' worth (DECODE_BATCH = 16). */
const ITEMS_IN_FLIGHT_PER_WORKER = 32

/** Build this part's unfinished units of `items` with `writer`, then finish the dataset when every unit is there. */
async function buildUnits<R extends SourceRecord>(job: PrepareJob<R>, writer: DatasetWriter, items: readonly (R | Reject)[]): Promise<Omit<PrepareSummary, 'cleanedTexts'>> {
  const { shardRows, workers } = job
  const part = job.part ?? { index: 0, count: 1 }
  const progress = job.progress ?? silentProgress
  const { finished, damaged } = await writer.finishedUnits()
  const mine: number[] = []
  let skipped = 0
  for (let unit = part.index; unit < writer.identity.units; unit += part.count) {
    if (finished.has(unit)) skipped++
    else mine.push(unit)
  }
  const rebuilt = damaged.filter((d) => d.unit % part.count === part.index).map(({ file, reason }) => ({ file, reason }))
  const pending = mine.reduce((n, unit) => n + Math.min(shardRows, items.length - unit * shardRows), 0)
  progress.start(pending, `prepare ${job.pipeline}`)
  const started = performance.now()
  const cpuStart = cpuSeconds()
  const pool = new WorkerPool<StageItem<R>, Row>(job.stage, workers)
  // Enough items in flight per worker for two of its decode batches (audio/decode.ts createDecoder: one ffmpeg run
  // decodes the next batch while the worker computes log-mels of the last); bounded so memory is too.
  const limit = pLimit(Math.max(2, workers * ITEMS_IN_FLIGHT_PER_WORKER))
  try {
    let writing: Promise<unknown> = Promise.resolve()
    for (const unit of mine) {
      const unitItems = items.slice(unit * shardRows, (unit + 1) * shardRows)
      const outcomes = await Promise.all(
        unitItems.map((item) =>
          limit(async (): Promise<Outcome> => {
            if (isReject(item)) {
              progress.tick(true)
              return { reject: toLedgerLine(item, undefined) }
            }
            // Every file the record names is checked here, once, for every kind: it exists, is a regular file and
            // stays inside the corpus. The stage only ever opens the paths it is handed.
            const files: Record<string, string> = {}
            const releases: (() => Promise<void>)[] = []
            let result: Row | Reject
            try {
              for (const relative of job.files(item)) {
                const file = await job.corpus.file(relative)
                if (!file.ok) {
                  progress.tick(true)
                  return { reject: toLedgerLine({ kind: 'reject', key: item.key, stage: 'read', code: file.code, message: file.message }, relative) }
                }
                files[relative] = file.path
                releases.push(file.release)
              }
              try {
                result = await pool.run({ record: item, files } satisfies StageItem<R>)
              } catch (err) {
                throw new Error(`stage failed on ${item.key} (${item.source}): ${err instanceof Error ? err.message : String(err)}`)
              }
            } finally {
              for (const release of releases) await release() // a remote corpus' scratch copy goes now
            }
            progress.tick(isReject(result))
            return isReject(result) ? { reject: toLedgerLine(result, item.source) } : { row: result }
          }),
        ),
      )
      await writing // one part file written while the next unit decodes; never more, so memory stays bounded
      writing = writer.writeUnit(unit, {
        rows: outcomes.flatMap((o) => (o.row ? [o.row] : [])),
        rejects: outcomes.flatMap((o) => (o.reject ? [o.reject] : [])),
        inputs: outcomes.length,
      })
    }
    await writing
  } finally {
    await pool.close()
  }
  progress.done()
  const processingSec = Number(((performance.now() - started) / 1000).toFixed(3))
  const cpuEnd = cpuSeconds()
  const cpuSec = cpuStart === null || cpuEnd === null ? null : Number((cpuEnd - cpuStart).toFixed(2))
  return { ...(await writer.finish()), part, unitsBuilt: mine.length, unitsSkipped: skipped, rebuilt, processingSec, cpuSec }
}

/**
 * Source items (SOURCE_ITEM_IDS: YouTube ids, image ids, audio files) that records of more than one split carry,
 * sorted by id, each with its splits and record keys. Rejects are not items and are left out.
 */
export function findSplitLeaks(items: readonly (SourceRecord | Reject)[]): SplitLeak[] {
  const byId = new Map<string, { splits: Set<string>; keys: string[] }>()
  for (const item of items) {
    if (isReject(item)) continue
    for (const id of item.sourceIds) {
      if (!(SOURCE_ITEM_IDS as readonly string[]).includes(id.slice(0, id.indexOf(':')))) continue
      const entry = byId.get(id) ?? { splits: new Set<string>(), keys: [] }
      entry.splits.add(item.split)
      entry.keys.push(item.key)
      byId.set(id, entry)
    }
  }
  return [...byId.entries()]
    .filter(([, e]) => e.splits.size > 1)
    .map(([id, e]) => ({ id, splits: [...e.splits].sort(), keys: e.keys }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The first leaks in words: `youtube_id:abc in train and test, ...`. */
export function describeLeaks(leaks: readonly SplitLeak[]): string {
  return leaks.slice(0, 3).map((l) => `${l.id} in ${l.splits.join(' and ')}`).join(', ') + (leaks.length > 3 ? `, and ${leaks.length - 3} more` : '')
}

/**
 * `items` with the copies of leaked source items in every split but the last one that has them (by `splitOrder`,
 * then by name) turned into `split-leak` rejects: evaluation splits stay complete, training loses the copy.
 */
function rejectLeaks<R extends SourceRecord>(items: readonly (R | Reject)[], leaks: readonly SplitLeak[], splitOrder: readonly string[]): (R | Reject)[] {
  const rank = (split: string): number => (splitOrder.includes(split) ? splitOrder.indexOf(split) : splitOrder.length)
  const keep = new Map<string, string>() // leaked id -> the split its copy is kept in
  for (const leak of leaks) keep.set(leak.id, [...leak.splits].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).at(-1)!)
  return items.map((item) => {
    if (isReject(item)) return item
    const leaked = item.sourceIds.find((id) => keep.has(id) && keep.get(id) !== item.split)
    if (leaked === undefined) return item
    return { kind: 'reject', key: item.key, stage: 'list', code: 'split-leak', message: `${leaked} is in split ${keep.get(leaked)} too; kept there (--on-split-leak reject)`, source: item.source } satisfies Reject
  })
}

/** utime + stime + cutime + cstime of /proc/self/stat in seconds (every thread, and children waited for); null without /proc. */
function cpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // after "pid (comm) ": field 3 onwards
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) // fields 14-17 of proc(5)
    return ticks / CLOCK_TICKS
  } catch {
    return null
  }
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100
