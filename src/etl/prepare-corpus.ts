// One call from a corpus name to a dataset: what `turnkit prepare` and `turnkit demo` both run.
import { resolve } from 'node:path'
import { CORPORA, type CorpusEntry, type CorpusName } from './corpora.js'
import { RECORD_KINDS, type StageInput } from './record-kinds.js'
import { prepareDataset, type PrepareSummary } from './prepare.js'
import type { ProgressSink } from './progress.js'
import { loadSchema } from '../shards/schema.js'
import type { ShardCompression } from '../shards/parquet-writer.js'

export interface PrepareCorpusOptions {
  src: string
  out: string
  /** Stage options (decode, log-mel, tokenizer, ...). Invalid ones throw, naming the option. */
  stage?: StageInput
  /** Only these splits; undefined = all. */
  splits?: readonly string[]
  shardRows?: number
  compression?: ShardCompression
  part?: { index: number; count: number }
  workers: number
  tool: { name: string; version: string }
  progress?: ProgressSink
}

/** Prepare `corpus` from `src` into `out` (resuming what is there). See prepareDataset for the guarantees. */
export async function prepareCorpus(corpus: CorpusName, options: PrepareCorpusOptions): Promise<PrepareSummary> {
  // Typed as the common entry: each corpus lists its own record type, the runner only needs SourceRecord.
  const entry: CorpusEntry = CORPORA[corpus]
  const kind = RECORD_KINDS[entry.kind]
  const src = resolve(options.src)
  const { shardRows = 1000, compression = 'zstd' } = options
  const splits = options.splits && options.splits.length > 0 ? [...options.splits].sort() : undefined
  const { resolved, settings } = kind.resolve(src, options.stage ?? {})
  return await prepareDataset({
    pipeline: corpus,
    schema: await loadSchema(entry.kind),
    listing: entry.list(src, splits ? { splits } : {}),
    stage: { ...kind.stage, options: resolved },
    settings: { ...settings, shards: { shardRows, compression }, splits: splits ?? 'all' },
    outDir: resolve(options.out),
    shardRows,
    compression,
    workers: options.workers,
    tool: options.tool,
    ...(options.part ? { part: options.part } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  })
}
