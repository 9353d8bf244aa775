// Items shared between datasets (`turnkit overlap`): zero-resource localization is meaningful only if no
// evaluation clip or frame was seen in training, and AudioCaps, VGGSound, VGG-SS and the rest are cut from the same
// YouTube (RefCOCO, RefCOCO+ and RefCOCOg from the same COCO images). Three ways to find an item in two datasets:
//   source-id  the corpus' own identifiers of the source item (SOURCE_ITEM_IDS: youtube_id, image_id, ...), each
//              in its namespace: a COCO image_id equals only another COCO image_id, a YouTube id any YouTube id
//   audio      the same decoded audio, cut at another start and length (src/audio/fingerprint.ts on `log_mel`)
//   image      the same picture, re-encoded or rescaled (src/image/phash.ts on the stored JPEG)
// Each dataset is read once, row group by row group, with only the columns its modes need; a log-mel is reduced
// to its fingerprint (8 bytes a frame) as soon as it is read and never kept. The datasets are read smallest first:
// each row is looked up in the indexes of the datasets read before it, then filed in its own dataset's index, and
// the last dataset read (the largest) is never indexed, so memory is the fingerprints of all but the largest.
import type { DataOptions } from './cache.js'
import { Dataset, openDataset } from './dataset.js'
import { SOURCE_ITEM_IDS } from '../kinds/record.js'
import {
  audioFingerprint,
  FINGERPRINT_DEFAULTS,
  FingerprintIndex,
  type IndexConfig,
  type MatchCriteria,
  resolveMatchCriteria,
  sigmaBelowChance,
  type FingerprintConfig,
} from '../audio/fingerprint.js'
import { HashIndex, MAX_HASH_DISTANCE, perceptualHash } from '../image/phash.js'

export const OVERLAP_MODES = ['source-id', 'audio', 'image'] as const
export type OverlapMode = (typeof OVERLAP_MODES)[number]
export type OverlapRole = 'train' | 'test' | 'any'

/**
 * A dataset to compare: its location (role 'any'), an opened Dataset, or either with a role; `name` is how the
 * report calls it (default: the location as given, or the opened dataset's location).
 */
export type OverlapInput = string | Dataset | { location: string; role?: OverlapRole; name?: string } | { dataset: Dataset; role?: OverlapRole; name?: string }

export interface OverlapOptions extends DataOptions {
  /** What to compare (default all three); a dataset without the columns for a mode is skipped for it. */
  by?: readonly OverlapMode[]
  /** Source identifier names compared by source-id (default SOURCE_ITEM_IDS: youtube_id, image_id, file_name, file, flickr_id). */
  sourceIds?: readonly string[]
  /** Audio matching: fingerprint settings (framesPerSecond comes from each manifest), match criteria, index settings. */
  audio?: { fingerprint?: Partial<Omit<FingerprintConfig, 'framesPerSecond'>>; match?: Partial<MatchCriteria>; index?: Partial<IndexConfig> }
  /** Largest Hamming distance of two image hashes that match (default MAX_HASH_DISTANCE, 6 of 64 bits). */
  imageMaxDistance?: number
  /** Pairs listed in the report (counts are always exact). Default 10,000. */
  maxPairs?: number
  /** Called after each row group's worth of rows of a dataset (every 256 rows and at its end). */
  onProgress?: (progress: { dataset: string; rows: number; of: number }) => void
}

export interface OverlapItem {
  /** the dataset's name in the report */
  dataset: string
  key: string
}

/** What two items share by source-id: the identifiers both carry, as written (`youtube_id:abc`). */
export interface SourceIdDetail {
  ids: string[]
}

/** How two clips' audio aligns. */
export interface AudioDetail {
  /** where b's first frame lies in a, seconds (negative: a's first frame lies that far into b); +- half a hop */
  offsetSeconds: number
  /** bit error rate of the aligned fingerprints (same audio: 0-0.15; unrelated: 0.35-0.5) */
  ber: number
  /** fingerprint bits compared */
  bits: number
  /** seconds of aligned frames that had reliable bits in both */
  alignedSeconds: number
  /** seconds the two clips overlap at that offset */
  overlapSeconds: number
  /** standard deviations below chance (see MatchCriteria) */
  sigma: number
  /** how alike the two reliability masks are (see Alignment) */
  maskAgreement: number
}

/** How close two pictures' perceptual hashes are. */
export interface ImageDetail {
  /** Hamming distance of the 64-bit hashes (re-encodes: 0-4; different pictures: about 32) */
  distance: number
  /** the hashes, as 16 hex digits */
  a: string
  b: string
}

export type OverlapDetail = SourceIdDetail | AudioDetail | ImageDetail
type DetailOf<M extends OverlapMode> = { 'source-id': SourceIdDetail; audio: AudioDetail; image: ImageDetail }[M]

/** Two items, one in each of two datasets, that are the same source item. `a` comes before `b` in the input order. */
export type OverlapPair =
  | { by: 'source-id'; a: OverlapItem; b: OverlapItem; detail: SourceIdDetail }
  | { by: 'audio'; a: OverlapItem; b: OverlapItem; detail: AudioDetail }
  | { by: 'image'; a: OverlapItem; b: OverlapItem; detail: ImageDetail }

/** How much two datasets share by one mode. Every pair of datasets compared by a mode has one, zeros included. */
export interface OverlapCount {
  by: OverlapMode
  a: string
  b: string
  /** item pairs (a row of a, a row of b) */
  pairs: number
  /** distinct rows of a, and of b, in those pairs */
  aRows: number
  bRows: number
  /** one of the two has role 'test' and the other role 'train' */
  leak: boolean
}

export interface OverlapDatasetInfo {
  name: string
  location: string
  role: OverlapRole
  schema: string
  version: string
  rows: number
  /** the modes it was compared by */
  modes: OverlapMode[]
}

/** A mode not used for a dataset (it lacks the columns), or for a pair of datasets (their log-mels differ). */
export interface OverlapSkip {
  by: OverlapMode
  dataset: string
  /** the other dataset, when the skip is about a pair */
  other?: string
  reason: string
}

/** Rows that cannot match by a mode: audio with too few reliable fingerprint bits (silence, a steady tone), flat pictures. */
export interface OverlapUnmatchable {
  by: 'audio' | 'image'
  dataset: string
  rows: number
  reason: string
  /** the first few, in key order */
  keys: string[]
}

export interface OverlapReport {
  by: OverlapMode[]
  datasets: OverlapDatasetInfo[]
  /** sorted by mode, dataset pair (input order), a key, b key; at most maxPairs of them */
  pairs: OverlapPair[]
  /** every pair found (pairs.length is smaller when maxPairs cut the list) */
  pairsTotal: number
  counts: OverlapCount[]
  skipped: OverlapSkip[]
  unmatchable: OverlapUnmatchable[]
  /** a dataset with role 'test' shares at least one item with a dataset with role 'train' */
  leak: boolean
  /** wall time, and rows read per second over all datasets */
  seconds: number
  rowsPerSecond: number
}

/** The columns each mode reads. */
const MODE_COLUMNS: Readonly<Record<OverlapMode, readonly string[]>> = {
  'source-id': ['source_ids'],
  audio: ['frames', 'n_mels', 'log_mel'],
  image: ['image_jpeg'],
}

/** The log-mel settings two datasets must share for their fingerprints to be comparable. */
const AUDIO_SETTINGS = ['sampleRate', 'hopLength', 'nFft', 'nMels', 'fmin', 'fmax'] as const

/**
 * Find items shared between `inputs` (two or more datasets) by `options.by`. Reads each dataset once with only the
 * columns needed; throws what `openDataset` and the reader throw (naming the dataset and file).
 */
export async function findOverlap(inputs: readonly OverlapInput[], options: OverlapOptions = {}): Promise<OverlapReport> {
  const started = performance.now()
  const { by = OVERLAP_MODES, sourceIds = SOURCE_ITEM_IDS, audio = {}, imageMaxDistance = MAX_HASH_DISTANCE, maxPairs = 10_000, onProgress, ...data } = options
  const modes = OVERLAP_MODES.filter((m) => by.includes(m))
  for (const m of by) if (!(OVERLAP_MODES as readonly string[]).includes(m)) throw new Error(`overlap: unknown mode '${m}' (modes: ${OVERLAP_MODES.join(', ')})`)
  if (modes.length === 0) throw new Error(`overlap: no mode to compare by (modes: ${OVERLAP_MODES.join(', ')})`)
  if (inputs.length < 2) throw new Error(`overlap: needs two or more datasets, got ${inputs.length}`)
  if (!Number.isInteger(imageMaxDistance) || imageMaxDistance < 0 || imageMaxDistance > 64) throw new Error(`overlap: imageMaxDistance must be an integer 0..64, not ${imageMaxDistance}`)
  if (!Number.isInteger(maxPairs) || maxPairs < 0) throw new Error(`overlap: maxPairs must be an integer >= 0, not ${maxPairs}`)
  const criteria = resolveMatchCriteria(audio.match)

  const sets = await Promise.all(inputs.map((input, index) => openInput(input, index, data)))
  uniqueNames(sets)
  const skipped: OverlapSkip[] = []
  for (const set of sets) {
    const columns = new Set(set.dataset.schema.fields.map((f) => f.name))
    for (const mode of modes) {
      const missing = ['key', ...MODE_COLUMNS[mode]].filter((c) => !columns.has(c))
      if (missing.length === 0) set.modes.push(mode)
      else skipped.push({ by: mode, dataset: set.name, reason: `no column ${missing.map((c) => `'${c}'`).join(', ')} in ${set.dataset.schema.id}` })
    }
  }
  // Audio is compared only between datasets whose log-mels were made alike (same rate, hop, FFT, bands).
  const audioGroup = new Map<DatasetSet, string>()
  for (const set of sets.filter((s) => s.modes.includes('audio'))) audioGroup.set(set, audioSignature(set.dataset))
  const audioSets = [...audioGroup.keys()]
  for (const [i, x] of audioSets.entries()) {
    for (const y of audioSets.slice(i + 1)) {
      if (audioGroup.get(x) !== audioGroup.get(y)) skipped.push({ by: 'audio', dataset: x.name, other: y.name, reason: `log-mels made with other settings (${describeSettingsDiff(x.dataset, y.dataset)}): fingerprints cannot be compared` })
    }
  }

  // Which pairs are compared by which mode (the counts list them all, zeros included).
  const counts = new Map<string, CountState>()
  const countOf = (mode: OverlapMode, x: DatasetSet, y: DatasetSet): CountState => {
    const [a, b] = x.index < y.index ? [x, y] : [y, x]
    const id = `${mode}\u0000${a.index}\u0000${b.index}`
    let c = counts.get(id)
    if (c === undefined) {
      c = { by: mode, a, b, pairs: 0, aRows: new Set(), bRows: new Set() }
      counts.set(id, c)
    }
    return c
  }
  for (const mode of modes) {
    const withMode = sets.filter((s) => s.modes.includes(mode))
    for (const [i, x] of withMode.entries()) {
      for (const y of withMode.slice(i + 1)) if (mode !== 'audio' || audioGroup.get(x) === audioGroup.get(y)) countOf(mode, x, y)
    }
  }

  const pairs: OverlapPair[] = []
  let pairsTotal = 0
  const record = <M extends OverlapMode>(mode: M, earlier: DatasetSet, earlierRow: number, current: DatasetSet, currentRow: number, detail: (swapped: boolean) => DetailOf<M>): void => {
    const count = countOf(mode, earlier, current)
    const swapped = earlier.index > current.index // a is always the one first in the input
    const [a, aRow, b, bRow] = swapped ? [current, currentRow, earlier, earlierRow] : [earlier, earlierRow, current, currentRow]
    count.pairs++
    count.aRows.add(aRow)
    count.bRows.add(bRow)
    pairsTotal++
    if (pairs.length < maxPairs) pairs.push({ by: mode, a: { dataset: a.name, key: a.keys[aRow]! }, b: { dataset: b.name, key: b.keys[bRow]! }, detail: detail(swapped) } as OverlapPair)
  }

  // Smallest first; the last one of each mode (or audio group) is looked up, never filed.
  const order = [...sets].sort((x, y) => x.dataset.size - y.dataset.size || x.index - y.index)
  const lastFor = (mode: OverlapMode, set: DatasetSet): boolean => {
    const later = order.slice(order.indexOf(set) + 1).filter((s) => s.modes.includes(mode))
    return mode === 'audio' ? !later.some((s) => audioGroup.get(s) === audioGroup.get(set)) : later.length === 0
  }
  const sourceNames = new Set(sourceIds)
  const done: DatasetSet[] = []
  let rowsRead = 0
  for (const set of order) {
    const { dataset } = set
    const columns = [...new Set(['key', ...(set.modes.includes('source-id') && dataset.schema.fields.some((f) => f.name === 'corpus') ? ['corpus'] : []), ...set.modes.flatMap((m) => MODE_COLUMNS[m])])]
    const keepSource = set.modes.includes('source-id') && !lastFor('source-id', set)
    const keepAudio = set.modes.includes('audio') && !lastFor('audio', set)
    const keepImage = set.modes.includes('image') && !lastFor('image', set)
    if (keepSource) set.sourceIndex = new Map()
    if (keepAudio) set.audioIndex = new FingerprintIndex(audio.index)
    if (keepImage) set.imageIndex = new HashIndex()
    const earlierSource = done.filter((s) => s.sourceIndex !== undefined)
    const earlierAudio = done.filter((s) => s.audioIndex !== undefined && audioGroup.get(s) === audioGroup.get(set))
    const earlierImage = done.filter((s) => s.imageIndex !== undefined)
    const framesPerSecond = audioFramesPerSecond(dataset)
    const fingerprintConfig = { ...audio.fingerprint, framesPerSecond }
    const pending: { row: number; bytes: Uint8Array }[] = []
    const flushImages = async (): Promise<void> => {
      const hashes = await Promise.all(pending.map(async ({ row, bytes }) => {
        try {
          return { row, hash: await perceptualHash(bytes) }
        } catch (error) {
          throw new Error(`${set.name}: row ${set.keys[row]}: ${(error as Error).message}`)
        }
      }))
      pending.length = 0
      for (const { row, hash } of hashes) {
        if (hash.flat) {
          set.unmatchable.image.push(row)
          continue
        }
        for (const earlier of earlierImage) {
          for (const { id, distance } of earlier.imageIndex!.query(hash, imageMaxDistance)) {
            const other = earlier.imageRows[id]!
            const otherHex = earlier.imageHex[id]!
            record('image', earlier, other, set, row, (swapped) => ({ distance, a: swapped ? hash.hex : otherHex, b: swapped ? otherHex : hash.hex }))
          }
        }
        if (keepImage) {
          set.imageIndex!.add(hash)
          set.imageRows.push(row)
          set.imageHex.push(hash.hex)
        }
      }
    }
    let row = 0
    for await (const values of dataset.rows({ columns })) {
      const key = values.key as string
      set.keys.push(key)
      if (set.modes.includes('source-id')) {
        const corpus = typeof values.corpus === 'string' ? values.corpus : dataset.manifest.pipeline.name
        const ids = new Map<string, string>() // namespaced -> as written
        for (const id of (values.source_ids as string[] | null) ?? []) {
          const colon = id.indexOf(':')
          if (colon <= 0 || !sourceNames.has(id.slice(0, colon))) continue
          ids.set(namespacedId(corpus, id.slice(0, colon), id.slice(colon + 1)), id)
        }
        for (const earlier of earlierSource) {
          const shared = new Map<number, string[]>()
          for (const [spaced, written] of ids) {
            for (const other of earlier.sourceIndex!.get(spaced) ?? []) {
              const list = shared.get(other) ?? []
              list.push(written)
              shared.set(other, list)
            }
          }
          for (const [other, list] of shared) record('source-id', earlier, other, set, row, () => ({ ids: [...list].sort() }))
        }
        if (keepSource) {
          for (const spaced of ids.keys()) {
            const list = set.sourceIndex!.get(spaced)
            if (list === undefined) set.sourceIndex!.set(spaced, [row])
            else list.push(row)
          }
        }
      }
      if (set.modes.includes('audio')) {
        const fp = audioFingerprint(values.log_mel as Float32Array, values.frames as number, values.n_mels as number, fingerprintConfig)
        if (fp.reliableBits < criteria.minBits) set.unmatchable.audio.push(row)
        else {
          for (const earlier of earlierAudio) {
            for (const { clip, alignment } of earlier.audioIndex!.query(fp, criteria)) {
              const other = earlier.audioRows[clip]!
              record('audio', earlier, other, set, row, (swapped) => ({
                // alignment: frame j of this row lies on frame j + offset of the earlier one
                offsetSeconds: round((swapped ? -alignment.offset : alignment.offset) / framesPerSecond, 3),
                ber: round(alignment.ber, 4),
                bits: alignment.bits,
                alignedSeconds: round(alignment.frames / framesPerSecond, 2),
                overlapSeconds: round(alignment.overlap / framesPerSecond, 2),
                sigma: round(sigmaBelowChance(alignment), 1),
                maskAgreement: round(alignment.maskAgreement, 3),
              }))
            }
          }
          if (keepAudio) {
            set.audioIndex!.add(fp)
            set.audioRows.push(row)
          }
        }
      }
      if (set.modes.includes('image')) {
        pending.push({ row, bytes: values.image_jpeg as Uint8Array })
        if (pending.length >= 32) await flushImages()
      }
      row++
      rowsRead++
      if (row % 256 === 0) onProgress?.({ dataset: set.name, rows: row, of: dataset.size })
    }
    await flushImages()
    onProgress?.({ dataset: set.name, rows: row, of: dataset.size })
    set.audioIndex?.seal()
    done.push(set)
  }

  const unmatchable: OverlapUnmatchable[] = []
  for (const set of sets) {
    if (set.unmatchable.audio.length > 0) {
      unmatchable.push({ by: 'audio', dataset: set.name, rows: set.unmatchable.audio.length, reason: `fewer than ${criteria.minBits} reliable fingerprint bits (silence, a steady tone, too short): cannot match by audio`, keys: set.unmatchable.audio.slice(0, 5).map((r) => set.keys[r]!) })
    }
    if (set.unmatchable.image.length > 0) {
      unmatchable.push({ by: 'image', dataset: set.name, rows: set.unmatchable.image.length, reason: 'flat picture (next to no contrast at 32 x 32): cannot match by image', keys: set.unmatchable.image.slice(0, 5).map((r) => set.keys[r]!) })
    }
  }
  const countList: OverlapCount[] = [...counts.values()]
    .sort((x, y) => OVERLAP_MODES.indexOf(x.by) - OVERLAP_MODES.indexOf(y.by) || x.a.index - y.a.index || x.b.index - y.b.index)
    .map((c) => ({ by: c.by, a: c.a.name, b: c.b.name, pairs: c.pairs, aRows: c.aRows.size, bRows: c.bRows.size, leak: c.pairs > 0 && isLeak(c.a.role, c.b.role) }))
  const position = new Map(sets.map((s) => [s.name, s.index]))
  pairs.sort((x, y) => OVERLAP_MODES.indexOf(x.by) - OVERLAP_MODES.indexOf(y.by) || position.get(x.a.dataset)! - position.get(y.a.dataset)! || position.get(x.b.dataset)! - position.get(y.b.dataset)! || compare(x.a.key, y.a.key) || compare(x.b.key, y.b.key))
  const seconds = (performance.now() - started) / 1000
  return {
    by: modes,
    datasets: sets.map((s) => ({ name: s.name, location: s.dataset.location, role: s.role, schema: s.dataset.schema.id, version: s.dataset.manifest.version, rows: s.dataset.size, modes: s.modes })),
    pairs,
    pairsTotal,
    counts: countList,
    skipped,
    unmatchable,
    leak: countList.some((c) => c.leak),
    seconds: round(seconds, 3),
    rowsPerSecond: round(rowsRead / Math.max(seconds, 1e-9), 1),
  }
}

/**
 * The report in words, for a terminal: one line per dataset pair and mode, what was skipped or cannot match, the
 * first `pairs` pairs (default 20), and the verdict. `turnkit overlap` without --json prints this.
 */
export function formatOverlapReport(report: OverlapReport, { pairs: listed = 20 }: { pairs?: number } = {}): string {
  const lines: string[] = []
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  const role = new Map(report.datasets.map((d) => [d.name, d.role]))
  lines.push(`overlap by ${report.by.join(', ')} of ${plural(report.datasets.length, 'dataset')} (${report.seconds} s, ${report.rowsPerSecond} rows/s)`)
  for (const d of report.datasets) lines.push(`  ${d.name}: ${d.role}, ${d.schema}, ${plural(d.rows, 'row')}, by ${d.modes.join(', ') || 'nothing'}`)
  for (const c of report.counts) {
    const shared = c.pairs === 0 ? 'nothing shared' : `${plural(c.pairs, 'pair')} (${plural(c.aRows, 'row')} of ${c.a}, ${c.bRows} of ${c.b})`
    lines.push(`${c.by.padEnd(9)} ${c.a} x ${c.b}: ${shared}${c.leak ? `  LEAK (${role.get(c.a)} / ${role.get(c.b)})` : ''}`)
  }
  for (const s of report.skipped) lines.push(`skipped: ${s.by} for ${s.dataset}${s.other !== undefined ? ` x ${s.other}` : ''}: ${s.reason}`)
  for (const u of report.unmatchable) lines.push(`cannot match by ${u.by}: ${plural(u.rows, 'row')} of ${u.dataset} (${u.reason}), e.g. ${u.keys.slice(0, 3).join(', ')}`)
  const shown = report.pairs.slice(0, listed)
  if (shown.length > 0) lines.push(`pairs${report.pairsTotal > shown.length ? ` (first ${shown.length} of ${report.pairsTotal})` : ''}:`)
  for (const p of shown) {
    const detail =
      p.by === 'source-id'
        ? p.detail.ids.join(' ')
        : p.by === 'audio'
          ? `b starts at ${p.detail.offsetSeconds} s in a, BER ${p.detail.ber} over ${p.detail.bits} bits, ${p.detail.overlapSeconds} s overlap`
          : `hash distance ${p.detail.distance}`
    lines.push(`  ${p.by.padEnd(9)} ${p.a.dataset} ${p.a.key}  ~  ${p.b.dataset} ${p.b.key}: ${detail}`)
  }
  lines.push(report.leak ? 'leak: a test dataset shares items with a training dataset' : 'no leak between test and training datasets')
  return lines.join('\n') + '\n'
}

/**
 * The namespace an identifier lives in: YouTube ids are global, and so are Flickr ids (Flickr30k Entities'
 * image_id, Flickr-SoundNet's flickr_id: one id space for photos and videos); COCO image ids are shared by
 * RefCOCO, RefCOCO+ and RefCOCOg; anything else is local to its corpus family (a Clotho file_name, a VGG-SS file).
 */
export function namespacedId(corpus: string, name: string, value: string): string {
  if (name === 'youtube_id') return `youtube:${value}`
  if (name === 'flickr_id' || (name === 'image_id' && corpus === 'flickr30k-entities')) return `flickr:${value}`
  if (name === 'image_id' && COCO_CORPORA.has(corpus)) return `coco-image:${value}`
  return `${CORPUS_FAMILY[corpus] ?? corpus}/${name}:${value}`
}

const COCO_CORPORA = new Set(['refcoco', 'refcoco+', 'refcocog'])
const CORPUS_FAMILY: Readonly<Record<string, string>> = { vggss: 'vggsound', 'music-solo': 'music', referitgame: 'saiapr' }

interface DatasetSet {
  index: number
  name: string
  role: OverlapRole
  dataset: Dataset
  modes: OverlapMode[]
  keys: string[]
  sourceIndex?: Map<string, number[]>
  audioIndex?: FingerprintIndex
  audioRows: number[]
  imageIndex?: HashIndex
  imageRows: number[]
  imageHex: string[]
  unmatchable: { audio: number[]; image: number[] }
}

interface CountState {
  by: OverlapMode
  a: DatasetSet
  b: DatasetSet
  pairs: number
  aRows: Set<number>
  bRows: Set<number>
}

async function openInput(input: OverlapInput, index: number, data: DataOptions): Promise<DatasetSet> {
  const base = { index, modes: [], keys: [], audioRows: [], imageRows: [], imageHex: [], unmatchable: { audio: [], image: [] } }
  if (typeof input === 'string') return { ...base, name: input, role: 'any', dataset: await openDataset(input, data) }
  if (input instanceof Dataset) return { ...base, name: input.location, role: 'any', dataset: input }
  const role = input.role ?? 'any'
  if (!['train', 'test', 'any'].includes(role)) throw new Error(`overlap: role must be train, test or any, not '${String(role)}'`)
  if ('dataset' in input) return { ...base, name: input.name ?? input.dataset.location, role, dataset: input.dataset }
  return { ...base, name: input.name ?? input.location, role, dataset: await openDataset(input.location, data) }
}

// The same name twice (one dataset given twice, or two folders of one name) would make the report ambiguous.
function uniqueNames(sets: DatasetSet[]): void {
  const seen = new Map<string, number>()
  for (const set of sets) {
    const n = (seen.get(set.name) ?? 0) + 1
    seen.set(set.name, n)
    if (n > 1) set.name = `${set.name} (#${set.index + 1})`
  }
}

function audioSettings(dataset: Dataset): Record<string, unknown> {
  const audio = dataset.manifest.pipeline.settings.audio
  return audio !== null && typeof audio === 'object' && !Array.isArray(audio) ? (audio as Record<string, unknown>) : {}
}

function audioSignature(dataset: Dataset): string {
  const settings = audioSettings(dataset)
  return JSON.stringify(AUDIO_SETTINGS.map((k) => settings[k] ?? null))
}

function describeSettingsDiff(x: Dataset, y: Dataset): string {
  const a = audioSettings(x)
  const b = audioSettings(y)
  return AUDIO_SETTINGS.filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)).map((k) => `${k} ${String(a[k] ?? 'unrecorded')} vs ${String(b[k] ?? 'unrecorded')}`).join(', ')
}

/** Log-mel frames per second from the manifest (sample rate / hop), the fingerprint's default when not recorded. */
function audioFramesPerSecond(dataset: Dataset): number {
  const { sampleRate, hopLength } = audioSettings(dataset)
  return typeof sampleRate === 'number' && typeof hopLength === 'number' && sampleRate > 0 && hopLength > 0 ? sampleRate / hopLength : FINGERPRINT_DEFAULTS.framesPerSecond
}

const isLeak = (a: OverlapRole, b: OverlapRole): boolean => (a === 'train' && b === 'test') || (a === 'test' && b === 'train')
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits
// UTF-8 byte order, as the datasets sort keys.
const compare = (x: string, y: string): number => Buffer.compare(Buffer.from(x), Buffer.from(y))
