// The runner: listing -> sorted work units -> stage (in worker threads) -> dataset writer. A unit is `shardRows`
// consecutive inputs of the key-sorted listing, so which inputs land in which part file depends only on the
// listing and the settings: never on worker count, timing, partitioning or on how many earlier units were
// already done. That one rule gives resume, --part i/N and merge for free. The runner never names a file: the
// dataset writer (src/dataset/writer.ts) owns the directory.
import pLimit from 'p-limit'
import { isReject, type Reject } from '../kinds/reject.js'
import type { Row, SourceRecord } from '../kinds/record.js'
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
  listing: AsyncIterable<R | Reject> | Iterable<R | Reject>
  /** The stage turning a record into a row, run in worker threads. */
  stage: StageSpec
  /** Every setting of the pipeline that changes output bytes (sample rate, n_mels, vocabulary hash, ...). */
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
  progress?: ProgressSink
}

/** What a prepare run did, and what its directory holds now. */
export interface PrepareSummary extends BuildStatus {
  part: { index: number; count: number }
  unitsBuilt: number
  unitsSkipped: number
  /** Wall seconds from the first item dispatched to the last unit written (worker start-up included). */
  processingSec: number
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
  const { shardRows, workers } = job
  const part = job.part ?? { index: 0, count: 1 }
  const progress = job.progress ?? silentProgress
  const items = await sortedListing(job.listing)
  const writer = await DatasetWriter.open(job.outDir, {
    pipeline: job.pipeline,
    schema: job.schema,
    settings: job.settings,
    source: { fingerprint: listingFingerprint(items), inputs: items.length },
    units: Math.ceil(items.length / shardRows),
    shardRows,
    compression: job.compression ?? 'zstd',
    tool: job.tool,
  })
  const finished = await writer.finishedUnits()
  const mine: number[] = []
  let skipped = 0
  for (let unit = part.index; unit < writer.identity.units; unit += part.count) {
    if (finished.has(unit)) skipped++
    else mine.push(unit)
  }
  const pending = mine.reduce((n, unit) => n + Math.min(shardRows, items.length - unit * shardRows), 0)
  progress.start(pending, `prepare ${job.pipeline}`)
  const started = performance.now()
  const pool = new WorkerPool<R, Row>(job.stage, workers)
  // Enough items in flight to keep every worker busy while ffmpeg starts up; bounded so memory is too.
  const limit = pLimit(Math.max(2, workers * 3))
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
  return { ...(await writer.finish()), part, unitsBuilt: mine.length, unitsSkipped: skipped, processingSec }
}
