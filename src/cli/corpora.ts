// The corpora `turnkit prepare` and `turnkit fixtures` know: each names its listing (pipelines/), record kind
// (schema + stage) and fixture writer. Adding a corpus is one entry here plus its pipeline module.
import { listAudioCaps, listClotho } from '../../pipelines/audio-retrieval.js'
import { writeAudioCapsFixture, writeClothoFixture } from '../fixtures/audio-retrieval.js'
import { listFlickr30kEntities, listRefCoco, listRefCocoG, listRefCocoPlus, listReferItGame } from '../../pipelines/grounding.js'
import {
  writeFlickr30kEntitiesFixture,
  writeRefCocoFixture,
  writeRefCocoGFixture,
  writeRefCocoPlusFixture,
  writeReferItGameFixture,
} from '../fixtures/grounding.js'
import { listVggSound, listVggSs } from '../../pipelines/vggsound.js'
import { listMusic, listMusicSolo } from '../../pipelines/music.js'
import { listFlickrSoundNet } from '../../pipelines/flickr-soundnet.js'
import {
  writeFlickrSoundNetFixture,
  writeMusicFixture,
  writeMusicSoloFixture,
  writeVggSoundFixture,
  writeVggSsFixture,
} from '../fixtures/audio-visual.js'
import type { FixtureExpectation, FixtureOptions } from '../fixtures/types.js'
import type { Reject } from '../kinds/reject.js'
import type { SourceRecord } from '../kinds/record.js'
import type { RecordKindName } from '../kinds/registry.js'
import { resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { TOOL } from '../config.js'
import { RECORD_KINDS, type StageInput } from '../kinds/registry.js'
import { prepareDataset, type PrepareSummary } from '../etl/prepare.js'
import type { ProgressSink } from '../etl/progress.js'
import { loadSchema } from '../dataset/schema.js'
import type { ShardCompression } from '../dataset/parquet-writer.js'

export interface CorpusEntry {
  /** Record kind: its schema id (schemas/<kind>.json) and stage. */
  kind: RecordKindName
  /** Pipeline module under pipelines/, for messages and docs. */
  family: string
  list(root: string, options: { splits?: readonly string[] }): AsyncIterable<SourceRecord | Reject>
  writeFixture(out: string, options: FixtureOptions): Promise<FixtureExpectation>
}

export const CORPORA = {
  audiocaps: { kind: 'audio-text', family: 'audio-retrieval', list: listAudioCaps, writeFixture: writeAudioCapsFixture },
  clotho: { kind: 'audio-text', family: 'audio-retrieval', list: listClotho, writeFixture: writeClothoFixture },
  refcoco: { kind: 'image-text-box', family: 'grounding', list: listRefCoco, writeFixture: writeRefCocoFixture },
  'refcoco+': { kind: 'image-text-box', family: 'grounding', list: listRefCocoPlus, writeFixture: writeRefCocoPlusFixture },
  refcocog: { kind: 'image-text-box', family: 'grounding', list: listRefCocoG, writeFixture: writeRefCocoGFixture },
  referitgame: { kind: 'image-text-box', family: 'grounding', list: listReferItGame, writeFixture: writeReferItGameFixture },
  'flickr30k-entities': { kind: 'image-text-box', family: 'grounding', list: listFlickr30kEntities, writeFixture: writeFlickr30kEntitiesFixture },
  vggsound: { kind: 'audio-image-boxes', family: 'vggsound', list: listVggSound, writeFixture: writeVggSoundFixture },
  vggss: { kind: 'audio-image-boxes', family: 'vggsound', list: listVggSs, writeFixture: writeVggSsFixture },
  music: { kind: 'audio-image-boxes', family: 'music', list: listMusic, writeFixture: writeMusicFixture },
  'music-solo': { kind: 'audio-image-boxes', family: 'music', list: listMusicSolo, writeFixture: writeMusicSoloFixture },
  'flickr-soundnet': { kind: 'audio-image-boxes', family: 'flickr-soundnet', list: listFlickrSoundNet, writeFixture: writeFlickrSoundNetFixture },
} as const satisfies Record<string, CorpusEntry>

export type CorpusName = keyof typeof CORPORA
export const CORPUS_NAMES = Object.keys(CORPORA) as CorpusName[]
export const isCorpusName = (name: string): name is CorpusName => Object.hasOwn(CORPORA, name)

// One call from a corpus name to a dataset: what `turnkit prepare`, `turnkit demo` and library users run.

/** How a prepared dataset is cut and encoded when the caller does not say. */
export const PREPARE_DEFAULTS = {
  /** inputs per part file */
  shardRows: 1000,
  compression: 'zstd' as ShardCompression,
} as const

export interface PrepareCorpusOptions {
  /** the raw corpus, in its distributed layout */
  src: string
  /** the dataset directory to build (or resume) */
  out: string
  /** Stage options (decode, log-mel, tokenizer, image). Invalid ones throw a ConfigError naming the option. */
  stage?: StageInput
  /** Only these splits; undefined or empty = all. */
  splits?: readonly string[]
  /** Inputs per part file; default PREPARE_DEFAULTS.shardRows. Changes bytes. */
  shardRows?: number
  /** Parquet codec; default zstd. Changes bytes. */
  compression?: ShardCompression
  /** Build only units j with j % count === index (default 0/1); join the parts with DatasetWriter.merge. */
  part?: { index: number; count: number }
  /** Worker threads; 0 runs the stage inline. Default: the machine's cores. Never changes bytes. */
  workers?: number
  /** Recorded in the manifest; default this turnkit. */
  tool?: { name: string; version: string }
  progress?: ProgressSink
}

/** Prepare `corpus` from `src` into `out` (resuming what is there). See prepareDataset for the guarantees. */
export async function prepareCorpus(corpus: CorpusName, options: PrepareCorpusOptions): Promise<PrepareSummary> {
  // Typed as the common entry: each corpus lists its own record type, the runner only needs SourceRecord.
  const entry: CorpusEntry = CORPORA[corpus]
  const kind = RECORD_KINDS[entry.kind]
  const src = resolve(options.src)
  const { shardRows = PREPARE_DEFAULTS.shardRows, compression = PREPARE_DEFAULTS.compression, workers = availableParallelism(), tool = TOOL } = options
  const splits = options.splits && options.splits.length > 0 ? [...options.splits].sort() : undefined
  const { resolved, settings } = kind.resolve(src, options.stage ?? {})
  return await prepareDataset({
    pipeline: corpus,
    schema: await loadSchema(entry.kind),
    listing: entry.list(src, splits ? { splits } : {}),
    stage: { ...kind.stage, options: resolved },
    settings: { ...settings, splits: splits ?? 'all' },
    outDir: resolve(options.out),
    shardRows,
    compression,
    workers,
    tool,
    ...(options.part ? { part: options.part } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  })
}
