// The corpora `turnkit prepare` and `turnkit fixtures` know: each names its listing (pipelines/), record kind
// (schema + stage), splits and fixture writer. Adding a corpus is one entry here plus its pipeline module.
// (RefCOCO's splits are the UNC and Google ones together; ReferItGame's the Berkeley and UNC ones.)
import { AUDIOCAPS_SPLITS, CLOTHO_SPLITS, listAudioCaps, listClotho } from '../../pipelines/audio-retrieval.js'
import { writeAudioCapsFixture, writeClothoFixture } from '../fixtures/audio-retrieval.js'
import { FLICKR30K_SPLITS, listFlickr30kEntities, listRefCoco, listRefCocoG, listRefCocoPlus, listReferItGame, REFCOCOG_SPLITS } from '../../pipelines/grounding.js'
import {
  writeFlickr30kEntitiesFixture,
  writeRefCocoFixture,
  writeRefCocoGFixture,
  writeRefCocoPlusFixture,
  writeReferItGameFixture,
} from '../fixtures/grounding.js'
import { listVggSound, listVggSs, VGGSOUND_SPLITS, VGGSS_SPLITS } from '../../pipelines/vggsound.js'
import { listMusic, listMusicSolo, MUSIC_SOLO_SPLITS, MUSIC_SPLITS } from '../../pipelines/music.js'
import { FLICKR_SOUNDNET_SPLITS, listFlickrSoundNet } from '../../pipelines/flickr-soundnet.js'
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
import { basename, dirname, join, resolve, sep } from 'node:path'
import { existsSync } from 'node:fs'
import { realpath } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { TOOL } from '../config.js'
import { RECORD_KINDS, type StageInput } from '../kinds/registry.js'
import { prepareDataset, type PrepareSummary, type SplitLeakPolicy } from '../etl/prepare.js'
import type { ProgressSink } from '../etl/progress.js'
import { loadSchema } from '../dataset/schema.js'
import { openCorpus, type Corpus } from '../dataset/corpus.js'
import { isRemote, resolveLocation, type StoreOptions } from '../dataset/storage.js'
import { ConfigError } from '../config.js'
import { suggest } from './options.js'
import type { ShardCompression } from '../dataset/parquet-writer.js'

export interface CorpusEntry {
  /** Record kind: its schema id (schemas/<kind>.json) and stage. */
  kind: RecordKindName
  /** Pipeline module under pipelines/, for messages and docs. */
  family: string
  /** The splits the corpus' metadata can name (`--split` must be one of them). */
  splits: readonly string[]
  list(corpus: Corpus, options: { splits?: readonly string[] }): AsyncIterable<SourceRecord | Reject>
  writeFixture(out: string, options: FixtureOptions): Promise<FixtureExpectation>
}

export const CORPORA = {
  audiocaps: { splits: AUDIOCAPS_SPLITS, kind: 'audio-text', family: 'audio-retrieval', list: listAudioCaps, writeFixture: writeAudioCapsFixture },
  clotho: { splits: CLOTHO_SPLITS, kind: 'audio-text', family: 'audio-retrieval', list: listClotho, writeFixture: writeClothoFixture },
  refcoco: { splits: ['train', 'val', 'test', 'testA', 'testB'], kind: 'image-text-box', family: 'grounding', list: listRefCoco, writeFixture: writeRefCocoFixture },
  'refcoco+': { splits: ['train', 'val', 'testA', 'testB'], kind: 'image-text-box', family: 'grounding', list: listRefCocoPlus, writeFixture: writeRefCocoPlusFixture },
  refcocog: { splits: REFCOCOG_SPLITS, kind: 'image-text-box', family: 'grounding', list: listRefCocoG, writeFixture: writeRefCocoGFixture },
  referitgame: { splits: ['train', 'val', 'test', 'testA', 'testB', 'testC'], kind: 'image-text-box', family: 'grounding', list: listReferItGame, writeFixture: writeReferItGameFixture },
  'flickr30k-entities': { splits: FLICKR30K_SPLITS, kind: 'image-text-box', family: 'grounding', list: listFlickr30kEntities, writeFixture: writeFlickr30kEntitiesFixture },
  vggsound: { splits: VGGSOUND_SPLITS, kind: 'audio-image-boxes', family: 'vggsound', list: listVggSound, writeFixture: writeVggSoundFixture },
  vggss: { splits: VGGSS_SPLITS, kind: 'audio-image-boxes', family: 'vggsound', list: listVggSs, writeFixture: writeVggSsFixture },
  music: { splits: MUSIC_SPLITS, kind: 'audio-image-boxes', family: 'music', list: listMusic, writeFixture: writeMusicFixture },
  'music-solo': { splits: MUSIC_SOLO_SPLITS, kind: 'audio-image-boxes', family: 'music', list: listMusicSolo, writeFixture: writeMusicSoloFixture },
  'flickr-soundnet': { splits: FLICKR_SOUNDNET_SPLITS, kind: 'audio-image-boxes', family: 'flickr-soundnet', list: listFlickrSoundNet, writeFixture: writeFlickrSoundNetFixture },
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
  /** Only these splits (each one the corpus has); undefined or empty = all. */
  splits?: readonly string[]
  /** Follow symlinks out of the corpus folder (default false: such files are unsafe-path rejects). Changes bytes. */
  followSymlinks?: boolean
  /** A source item in two splits: warn (default), reject the copies in earlier splits, or error. Changes bytes. */
  splitLeaks?: SplitLeakPolicy
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
  /** The command line that runs this preparation, for the advice a reader gives when a part is damaged. */
  command?: string
  /** How s3:// and http(s):// locations of --src and --out are reached (endpoint, retries). */
  store?: StoreOptions
  progress?: ProgressSink
}

/** Prepare `corpus` from `src` into `out` (resuming what is there). See prepareDataset for the guarantees. */
export async function prepareCorpus(corpus: CorpusName, options: PrepareCorpusOptions): Promise<PrepareSummary> {
  // Typed as the common entry: each corpus lists its own record type, the runner only needs SourceRecord.
  const entry: CorpusEntry = CORPORA[corpus]
  const kind = RECORD_KINDS[entry.kind]
  const { shardRows = PREPARE_DEFAULTS.shardRows, compression = PREPARE_DEFAULTS.compression, workers = availableParallelism(), tool = TOOL, followSymlinks = false, splitLeaks = 'warn' } = options
  const splits = options.splits && options.splits.length > 0 ? [...new Set(options.splits)].sort() : undefined
  for (const split of splits ?? []) {
    if (!entry.splits.includes(split)) {
      const hint = suggest(split, entry.splits)
      throw new ConfigError(`--split ${split}: ${corpus} has no split '${split}'${hint ? ` (did you mean ${hint}?)` : ''}; its splits are ${entry.splits.join(', ')}`)
    }
  }
  const { resolved, settings } = kind.resolve(options.stage ?? {})
  const source = await openCorpus(options.src, { followSymlinks, ...options.store })
  if (!isRemote(options.src) && !isRemote(options.out)) await refuseOutputInside(options.out, options.src)
  return await prepareDataset({
    pipeline: corpus,
    schema: await loadSchema(entry.kind),
    corpus: source,
    listing: entry.list(source, splits ? { splits } : {}),
    files: kind.files,
    cleanTexts: kind.cleanTexts,
    splitLeaks,
    splitOrder: entry.splits,
    stage: { ...kind.stage, options: resolved },
    settings: { ...settings, splits: splits ?? 'all', corpus: { followSymlinks, splitLeaks } },
    outDir: resolveLocation(options.out),
    ...(options.store ? { store: options.store } : {}),
    shardRows,
    compression,
    workers,
    tool,
    ...(options.command === undefined ? {} : { command: options.command }),
    ...(options.part ? { part: options.part } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  })
}

/** Refuse an output folder inside the corpus (or the corpus itself): the build would list and overwrite its input. */
async function refuseOutputInside(out: string, src: string): Promise<void> {
  const corpus = await realpath(src)
  // The output may not exist yet: resolve its nearest existing ancestor, then the rest of the path.
  let existing = resolve(out)
  const rest: string[] = []
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(basename(existing))
    existing = dirname(existing)
  }
  const real = join(await realpath(existing), ...rest)
  if (real === corpus || real.startsWith(corpus + sep)) {
    throw new ConfigError(`--out ${out} is ${real === corpus ? 'the corpus folder itself' : 'inside the corpus folder'} --src ${src}: choose an --out outside the corpus`)
  }
}
