// VGGSound and VGG-SS raw layouts -> AudioVisualSource records (one per evaluation item).
// Listing only: no decoding, no writing. Records are plain JSON data.
import { reject, type Reject } from '../src/kinds/reject.js'
import { safeRelativePath } from '../src/kinds/paths.js'
import { parseCsvRows } from '../src/formats/text.js'
import { CorpusFileError, metadataNotFound, type Corpus } from '../src/dataset/corpus.js'
import { AUDIO_FILE_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, findStem, indexFiles } from '../src/etl/file-index.js'
import type { AudioVisualSource, ListedBox } from '../src/kinds/audio-image-boxes.js'
import { xyxyToXywh, type BoxXyxy } from '../src/image/boxes.js'

export const VGGSOUND_SPLITS = ['train', 'test'] as const
export const VGGSS_SPLITS = ['test'] as const

/** VGGSound clips are 10 s from start_seconds; a downloaded video is expected to be that clip, cut. */
export const VGGSOUND_CLIP_SECONDS = 10

/** Folders (relative to the root) searched for VGGSound videos, in order; `{split}` is the row's split. */
export const VGGSOUND_VIDEO_DIRS = ['video', 'videos', '{split}'] as const

/** Metadata file names of VGG-SS, in order of preference. */
export const VGGSS_JSON_FILES = ['vggss.json', 'metadata/vggss.json'] as const

// YouTube ids are 11 characters of [A-Za-z0-9_-]; a little slack for other id schemes, none for path syntax.
const YOUTUBE_ID = /^[\w-]{1,64}$/

const pad6 = (start: number): string => String(start).padStart(6, '0')

/**
 * File stems a VGGSound clip is stored under, most common first: `<ytid>_<start:06d>` (the VGGSound release and
 * VGG-SS), `<ytid>_<start>`, `<ytid>`, and `<ytid>_<start*1000>_<(start+10)*1000>` (audioset-downloader style,
 * milliseconds).
 */
export function vggsoundStems(ytid: string, start: number): string[] {
  return [`${ytid}_${pad6(start)}`, `${ytid}_${start}`, ytid, `${ytid}_${start * 1000}_${(start + VGGSOUND_CLIP_SECONDS) * 1000}`]
}

/**
 * VGGSound clips (no boxes: frames and audio for evaluation or training), one record per CSV row.
 * Layout: <root>/vggsound.csv without header, `ytid,start_seconds,label,split` (labels with commas are quoted);
 * videos in <root>/video/, <root>/videos/ or <root>/<split>/, named by one of vggsoundStems with one of
 * VIDEO_EXTENSIONS. Each video is taken to be the 10 s clip itself: the audio window is 0 to
 * min(10, --max-seconds) s of the file and the frame is taken at the middle of the decoded window.
 * A first line whose start cell is not a number but names a column (e.g. `# YouTube ID,start seconds,...`) is
 * skipped as a header.
 */
export async function* listVggSound(corpus: Corpus, { splits = VGGSOUND_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<AudioVisualSource | Reject> {
  const csvName = 'vggsound.csv'
  if (!(await corpus.exists(csvName))) throw metadataNotFound(corpus, 'vggsound', [csvName])
  const indexes = new Map<string, Map<string, string>>()
  const videoDirs = (split: string): string[] => VGGSOUND_VIDEO_DIRS.map((d) => d.replace('{split}', split))
  // Each row reads: ytid,start_seconds,label,split
  //   ---g-f_I2yQ,1,people marching,test
  //   -0BIyqJj9ZU,30,"cattle, bovinae cowbell",train
  const rows = parseCsvRows(await corpus.readText(csvName))
  for (const [i, { line, cells }] of rows.entries()) {
    const [ytid = '', startCell = '', label = '', split = ''] = cells.map((c) => c.trim())
    if (i === 0 && !/^\d/.test(startCell) && /start|id/i.test(cells.join(','))) continue
    const startMatch = /^(\d+)(?:\.0*)?$/.exec(startCell)
    const problem =
      cells.length !== 4 ? `${cells.length} cells, expected 4 (ytid,start_seconds,label,split)`
      : !YOUTUBE_ID.test(ytid) ? `youtube id ${JSON.stringify(ytid)} is not [A-Za-z0-9_-]`
      : startMatch === null ? `start_seconds ${JSON.stringify(startCell)} is not a whole number`
      : !/^[\w-]+$/.test(split) ? `split ${JSON.stringify(split)} is not a name`
      : null
    if (problem !== null || startMatch === null) {
      yield reject(`vggsound/line-${line}`, 'list', 'bad-row', `${csvName} line ${line}: ${problem}`, csvName)
      continue
    }
    if (!splits.includes(split)) continue
    const start = Number(startMatch[1])
    const key = `vggsound/${split}/${ytid}_${pad6(start)}`
    let index = indexes.get(split)
    if (index === undefined) {
      index = await indexFiles(corpus, videoDirs(split), VIDEO_EXTENSIONS)
      indexes.set(split, index)
    }
    const video = findStem(index, vggsoundStems(ytid, start))
    if (video === undefined) {
      yield reject(key, 'list', 'missing-file', `${csvName} line ${line}: no video for ${ytid} at ${start} s in ${videoDirs(split).join('/, ')}/ (tried ${vggsoundStems(ytid, start).join(', ')} with ${VIDEO_EXTENSIONS.join(' ')})`, csvName)
      continue
    }
    yield {
      key,
      source: video,
      corpus: 'vggsound',
      split,
      label,
      sourceIds: [`youtube_id:${ytid}`, `start_seconds:${start}`],
      frame: { kind: 'video', timeSec: null },
      audio: video,
      window: { centreSec: null, clipSec: VGGSOUND_CLIP_SECONDS },
      boxes: [],
    }
  }
}

/** [xmin, ymin, xmax, ymax] fractions -> a listed [x, y, w, h] box; null unless four finite numbers. */
export function vggssBox(given: unknown): ListedBox {
  if (!Array.isArray(given) || given.length !== 4 || !given.every((v) => typeof v === 'number' && Number.isFinite(v))) return { xywh: null, annotator: 0 }
  // A box given with swapped corners gets a negative size here, which the stage refuses as degenerate.
  return { xywh: xyxyToXywh(given as BoxXyxy), annotator: 0 }
}

/**
 * VGG-SS (VGG-Sound Source) test items with their boxes.
 * Layout: <root>/vggss.json (or metadata/vggss.json), a list of `{file: "<ytid>_<start:06d>", class, bbox:
 * [[xmin, ymin, xmax, ymax], ...]}` with coordinates as fractions of the frame (1 to 7 boxes, a single
 * annotation: annotator 0); the frame in <root>/frames/<file>.jpg and the audio in <root>/audio/<file>.wav
 * (also found as `<ytid>_<start*1000>_<(start+10)*1000>` and with other IMAGE_EXTENSIONS /
 * AUDIO_FILE_EXTENSIONS). Audio window: 0 to min(10, --max-seconds) s; frame time unknown (-1).
 * An entry without any box is a 'no-box' reject; malformed boxes are kept as null and dropped by the stage.
 */
export async function* listVggSs(corpus: Corpus, { splits = VGGSS_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<AudioVisualSource | Reject> {
  if (!splits.includes('test')) return
  let jsonName: string | undefined
  for (const name of VGGSS_JSON_FILES) if (jsonName === undefined && (await corpus.exists(name))) jsonName = name
  if (jsonName === undefined) throw metadataNotFound(corpus, 'vggss', VGGSS_JSON_FILES)
  // The file reads: [{"file": "--PJHxphWEs_000030", "class": "playing bass guitar", "bbox": [[0.12, 0.3, 0.55, 0.98]]}, ...]
  let entries: unknown
  try {
    entries = await corpus.readJson(jsonName)
  } catch (error) {
    if (error instanceof CorpusFileError) throw error // a link out of the corpus: never read, and the listing stops
    yield reject(`vggss/test/${jsonName}`, 'list', 'bad-annotation', (error as Error).message, jsonName)
    return
  }
  if (!Array.isArray(entries)) {
    yield reject(`vggss/test/${jsonName}`, 'list', 'bad-annotation', `${jsonName}: expected a list of {file, class, bbox} entries`, jsonName)
    return
  }
  const frames = await indexFiles(corpus, ['frames'], IMAGE_EXTENSIONS)
  const audio = await indexFiles(corpus, ['audio'], AUDIO_FILE_EXTENSIONS)
  for (const [i, entry] of entries.entries()) {
    const file = (entry as { file?: unknown } | null)?.file
    const bbox = (entry as { bbox?: unknown } | null)?.bbox
    if (typeof file !== 'string' || file === '' || !Array.isArray(bbox)) {
      yield reject(`vggss/test/entry-${i}`, 'list', 'bad-annotation', `${jsonName} entry ${i}: expected {file: string, class, bbox: [[xmin, ymin, xmax, ymax], ...]}`, jsonName)
      continue
    }
    const key = `vggss/test/${file}`
    if (/[/\\]/.test(file) || safeRelativePath(file) === null) {
      yield reject(key, 'list', 'unsafe-path', `${jsonName} entry ${i}: file ${JSON.stringify(file)} is not a plain file name; not opened`, jsonName)
      continue
    }
    if (bbox.length === 0) {
      yield reject(key, 'list', 'no-box', `${jsonName} entry ${i}: no box`, jsonName)
      continue
    }
    const parsed = /^(.+)_(\d{6})$/.exec(file)
    const stems = parsed ? [file, vggsoundStems(parsed[1]!, Number(parsed[2]))[3]!] : [file]
    const frame = findStem(frames, stems)
    const sound = findStem(audio, stems)
    if (frame === undefined || sound === undefined) {
      const missing = [frame === undefined ? `frames/${file}.jpg` : null, sound === undefined ? `audio/${file}.wav` : null].filter((m) => m !== null)
      yield reject(key, 'list', 'missing-file', `${jsonName} entry ${i}: ${missing.join(' and ')} not found`, frame ?? jsonName)
      continue
    }
    const label = (entry as { class?: unknown }).class
    yield {
      key,
      source: frame,
      corpus: 'vggss',
      split: 'test',
      label: typeof label === 'string' ? label : '',
      sourceIds: [`file:${file}`, ...(parsed ? [`youtube_id:${parsed[1]}`, `start_seconds:${Number(parsed[2])}`] : [])],
      frame: { kind: 'image', timeSec: -1 },
      audio: sound,
      window: { centreSec: null, clipSec: VGGSOUND_CLIP_SECONDS },
      boxes: bbox.map(vggssBox),
    }
  }
}
