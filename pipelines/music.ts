// MUSIC and MUSIC-Solo raw layouts -> AudioVisualSource records (one per video, one per annotated frame).
// Listing only: no decoding, no writing. Records are plain JSON data.
import { reject, type Reject } from '../src/kinds/reject.js'
import { safeRelativePath } from '../src/kinds/paths.js'
import { CorpusFileError, metadataNotFound, type Corpus } from '../src/dataset/corpus.js'
import { AUDIO_FILE_EXTENSIONS, VIDEO_EXTENSIONS, findStem, indexFiles } from '../src/etl/file-index.js'
import type { AudioVisualSource, ListedBox } from '../src/kinds/audio-image-boxes.js'

export const MUSIC_SPLITS = ['solo'] as const
export const MUSIC_SOLO_SPLITS = ['test'] as const

/** Metadata files of MUSIC (solo videos by instrument), in order of preference. */
export const MUSIC_JSON_FILES = ['MUSIC_solo_videos.json', 'MUSIC21_solo_videos.json'] as const
/** Box annotations of MUSIC-Solo (from the DSOL release). */
export const MUSIC_SOLO_JSON = 'solotest.json'

/**
 * Frame rate assumed when turning a MUSIC-Solo frame number into a time: MUSIC's YouTube videos are 30 fps
 * nominal, and the released keys agree (frame 05857 sits in second 195: 5857 / 195 = 30.03).
 */
export const MUSIC_FPS = 30

/** Folders, relative to the root, searched for MUSIC-Solo frame images, in order ('' is the root itself). */
export const MUSIC_SOLO_FRAME_DIRS = ['', 'frames', 'video_frames', 'solo/video_frames'] as const
/** Folders searched for MUSIC-Solo audio (preferred: cheaper to decode) and then videos. */
export const MUSIC_SOLO_AUDIO_DIRS = ['audio', 'audios', 'solo/audio'] as const
export const MUSIC_SOLO_VIDEO_DIRS = ['videos', 'video', 'solo/video'] as const

// YouTube ids are 11 characters of [A-Za-z0-9_-]; a little slack, none for path syntax.
const YOUTUBE_ID = /^[\w-]{1,64}$/
// An instrument name is one folder name: `acoustic_guitar`, `erhu`; never `..` or a path.
const INSTRUMENT = /^[\w][\w .-]{0,63}$/

type InstrumentVideos = Map<string, string[]>

/**
 * Read `{videos: {instrument: [ytid, ...]}}` from the first of MUSIC_JSON_FILES in `root`. Returns null when
 * none exists, a Reject when the file is not that shape.
 */
async function readMusicVideos(corpus: Corpus): Promise<{ file: string; videos: InstrumentVideos } | Reject | null> {
  let file: string | undefined
  for (const name of MUSIC_JSON_FILES) if (file === undefined && (await corpus.exists(name))) file = name
  if (file === undefined) return null
  // The file reads: {"videos": {"accordion": ["RGRb6pZJvCM", ...], "acoustic_guitar": [...], ...}}
  let parsed: unknown
  try {
    parsed = await corpus.readJson(file)
  } catch (error) {
    if (error instanceof CorpusFileError) throw error // a link out of the corpus: never read, and the listing stops
    return reject(`music/solo/${file}`, 'list', 'bad-annotation', (error as Error).message, file)
  }
  const videos = (parsed as { videos?: unknown } | null)?.videos
  if (typeof videos !== 'object' || videos === null || Array.isArray(videos)) {
    return reject(`music/solo/${file}`, 'list', 'bad-annotation', `${file}: expected {videos: {instrument: [youtube ids]}}`, file)
  }
  const map: InstrumentVideos = new Map()
  for (const [instrument, ids] of Object.entries(videos)) map.set(instrument, Array.isArray(ids) ? ids.map((id) => (typeof id === 'string' ? id : '')) : [])
  return { file, videos: map }
}

/**
 * MUSIC solo videos (no boxes), one record per video.
 * Layout: <root>/MUSIC_solo_videos.json (or MUSIC21_solo_videos.json) = `{videos: {instrument: [ytid, ...]}}`;
 * videos in <root>/solo/<instrument>/<ytid>.mp4 (the MUSIC download script's layout) or <root>/videos/<ytid>.mp4
 * (any of VIDEO_EXTENSIONS). Audio window 0 to --max-seconds s of the video, frame at the middle of the decoded
 * window; label = the instrument.
 */
export async function* listMusic(corpus: Corpus, { splits = MUSIC_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<AudioVisualSource | Reject> {
  if (!splits.includes('solo')) return
  const music = await readMusicVideos(corpus)
  if (music === null) throw metadataNotFound(corpus, 'music', MUSIC_JSON_FILES)
  if ('kind' in music) {
    yield music
    return
  }
  const flat = await indexFiles(corpus, ['videos'], VIDEO_EXTENSIONS)
  for (const [instrument, ids] of music.videos) {
    const safeInstrument = INSTRUMENT.test(instrument) && safeRelativePath(instrument) === instrument
    const byInstrument = safeInstrument ? await indexFiles(corpus, [`solo/${instrument}`], VIDEO_EXTENSIONS) : new Map<string, string>()
    for (const [i, ytid] of ids.entries()) {
      const key = `music/solo/${instrument}/${ytid}`
      if (!safeInstrument || !YOUTUBE_ID.test(ytid)) {
        const what = safeInstrument ? `id ${JSON.stringify(ytid)}` : `instrument ${JSON.stringify(instrument)}`
        const code = /[/\\]|\.\./.test(safeInstrument ? ytid : instrument) ? 'unsafe-path' : 'bad-row'
        yield reject(key, 'list', code, `${music.file} videos.${instrument}[${i}]: ${what} is not a YouTube id / folder name; not opened`, music.file)
        continue
      }
      const video = findStem(byInstrument, [ytid]) ?? findStem(flat, [ytid])
      if (video === undefined) {
        yield reject(key, 'list', 'missing-file', `no video ${ytid} in solo/${instrument}/ or videos/`, music.file)
        continue
      }
      yield {
        key,
        source: video,
        corpus: 'music',
        split: 'solo',
        label: instrument,
        sourceIds: [`youtube_id:${ytid}`, `instrument:${instrument}`],
        frame: { kind: 'video', timeSec: null },
        audio: video,
        window: { centreSec: null, clipSec: null },
        boxes: [],
      }
    }
  }
}

/** The parts of a MUSIC-Solo key `<vid>/frame_<XXX>/<NNNNN>.jpg`, or null when it does not read so. */
export function parseMusicSoloKey(key: string): { vid: string; ytid: string; second: number; frame: number } | null {
  const m = /^([\w-]+)\/frame_(\d+)\/(\d+)\.(?:jpe?g|png)$/i.exec(key)
  if (m === null) return null
  const vid = m[1]!
  // `<ytid>_0_1000`: DSOL names each video by id and the segment it cut; the audio may carry either name.
  return { vid, ytid: vid.replace(/_\d+_\d+$/, ''), second: Number(m[2]), frame: Number(m[3]) }
}

/**
 * Time in seconds of a MUSIC-Solo frame: frame / MUSIC_FPS when that falls inside second `second` (the frame_XXX
 * folder, floor(frame / fps) when DSOL cut the frames), else the middle of that second.
 */
export function musicSoloFrameTime(second: number, frame: number): number {
  const t = frame / MUSIC_FPS
  return Math.floor(t) === second ? t : second + 0.5
}

/** One MUSIC-Solo box entry -> a listed box: `normbox` [x, y, w, h] fractions, else `box` px / (wdith, height). */
export function musicSoloBox(entry: unknown, width: unknown, height: unknown): ListedBox {
  const isBox = (v: unknown): v is [number, number, number, number] =>
    Array.isArray(v) && v.length === 4 && v.every((n) => typeof n === 'number' && Number.isFinite(n))
  const { normbox, box } = (entry ?? {}) as { normbox?: unknown; box?: unknown }
  if (isBox(normbox)) return { xywh: [...normbox], annotator: 0 }
  if (isBox(box) && typeof width === 'number' && width > 0 && typeof height === 'number' && height > 0) {
    return { xywh: [box[0] / width, box[1] / height, box[2] / width, box[3] / height], annotator: 0 }
  }
  return { xywh: null, annotator: 0 }
}

/**
 * MUSIC-Solo annotated frames (the DSOL evaluation set), one record per frame with a box.
 * Layout: <root>/solotest.json, an object whose keys read `<vid>_0_1000/frame_XXX/NNNNN.jpg` (XXX: the second,
 * NNNNN: the frame number in the video) and values `{bbox: [{box: [x, y, w, h] px, normbox: [x, y, w, h]
 * fractions, category_id}], wdith, height}` (`wdith` is misspelt in the release; `width` is read too).
 * Frame images at <root>/<key>, <root>/frames/<key>, <root>/video_frames/<key> or <root>/solo/video_frames/<key>
 * (DSOL's cut_videos.py writes solo/video_frames). Audio from <root>/audio/<vid or ytid>.wav (MUSIC_SOLO_AUDIO_DIRS,
 * any AUDIO_FILE_EXTENSIONS), else the video from MUSIC_SOLO_VIDEO_DIRS or, when MUSIC_solo_videos.json names the
 * id, <root>/solo/<instrument>/<ytid>.mp4. Boxes come from normbox (single annotation: annotator 0).
 * Frame time t = musicSoloFrameTime; the audio window (--max-seconds long) is centred on t, start clamped at 0.
 * Label: the instrument when MUSIC_solo_videos.json in the root names the id, else `category:<category_id>`.
 * A frame without any box is kept out with a 'no-box' ledger line.
 */
export async function* listMusicSolo(corpus: Corpus, { splits = MUSIC_SOLO_SPLITS }: { splits?: readonly string[] } = {}): AsyncGenerator<AudioVisualSource | Reject> {
  if (!splits.includes('test')) return
  if (!(await corpus.exists(MUSIC_SOLO_JSON))) throw metadataNotFound(corpus, 'music-solo', [MUSIC_SOLO_JSON])
  const jsonName = MUSIC_SOLO_JSON
  // The file reads: {"4Oy5VmaacaI_0_1000/frame_013/00411.jpg": {"bbox": [{"box": [224, 0, 239, 358],
  //   "normbox": [0.35, 0.0, 0.3734375, 0.9944], "category_id": 1}], "wdith": 640, "height": 360}, ...}
  let parsed: unknown
  try {
    parsed = await corpus.readJson(jsonName)
  } catch (error) {
    if (error instanceof CorpusFileError) throw error // a link out of the corpus: never read, and the listing stops
    yield reject(`music-solo/test/${jsonName}`, 'list', 'bad-annotation', (error as Error).message, jsonName)
    return
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    yield reject(`music-solo/test/${jsonName}`, 'list', 'bad-annotation', `${jsonName}: expected an object of frame path -> {bbox, wdith, height}`, jsonName)
    return
  }
  const music = await readMusicVideos(corpus)
  const instrumentOf = new Map<string, string>()
  if (music !== null && !('kind' in music)) for (const [instrument, ids] of music.videos) for (const id of ids) instrumentOf.set(id, instrument)
  const audioIndex = await indexFiles(corpus, MUSIC_SOLO_AUDIO_DIRS, AUDIO_FILE_EXTENSIONS)
  const videoIndex = await indexFiles(corpus, MUSIC_SOLO_VIDEO_DIRS, VIDEO_EXTENSIONS)
  const byInstrument = new Map<string, Map<string, string>>()

  for (const [frameKey, value] of Object.entries(parsed)) {
    const safe = safeRelativePath(frameKey)
    const key = `music-solo/test/${frameKey.replace(/\.(jpe?g|png)$/i, '')}`
    if (safe === null || safe !== frameKey) {
      yield reject(key, 'list', 'unsafe-path', `${jsonName}: frame path ${JSON.stringify(frameKey)} leaves the corpus root or is not normalised; not opened`, jsonName)
      continue
    }
    const parts = parseMusicSoloKey(frameKey)
    const bbox = (value as { bbox?: unknown } | null)?.bbox
    if (parts === null || !Array.isArray(bbox)) {
      yield reject(key, 'list', 'bad-annotation', `${jsonName}: ${JSON.stringify(frameKey)} ${parts === null ? 'does not read <vid>/frame_XXX/NNNNN.jpg' : 'has no bbox list'}`, jsonName)
      continue
    }
    if (bbox.length === 0) {
      yield reject(key, 'list', 'no-box', `${jsonName}: frame ${frameKey} has no box; kept out of the evaluation set`, jsonName)
      continue
    }
    let frameFile: string | undefined
    for (const dir of MUSIC_SOLO_FRAME_DIRS) {
      const path = dir === '' ? frameKey : `${dir}/${frameKey}`
      if (frameFile === undefined && (await corpus.exists(path))) frameFile = path
    }
    if (frameFile === undefined) {
      yield reject(key, 'list', 'missing-file', `frame ${frameKey} not found in ${MUSIC_SOLO_FRAME_DIRS.map((d) => (d === '' ? '.' : d)).join(', ')}`, jsonName)
      continue
    }
    const instrument = instrumentOf.get(parts.ytid)
    let audio = findStem(audioIndex, [parts.vid, parts.ytid]) ?? findStem(videoIndex, [parts.vid, parts.ytid])
    if (audio === undefined && instrument !== undefined && INSTRUMENT.test(instrument) && safeRelativePath(instrument) === instrument) {
      let index = byInstrument.get(instrument)
      if (index === undefined) byInstrument.set(instrument, (index = await indexFiles(corpus, [`solo/${instrument}`], VIDEO_EXTENSIONS)))
      audio = findStem(index, [parts.ytid])
    }
    if (audio === undefined) {
      yield reject(key, 'list', 'missing-file', `no audio or video for ${parts.vid} in ${[...MUSIC_SOLO_AUDIO_DIRS, ...MUSIC_SOLO_VIDEO_DIRS].join(', ')}`, frameFile)
      continue
    }
    const { wdith, width, height } = value as { wdith?: unknown; width?: unknown; height?: unknown }
    const categories = [...new Set(bbox.map((b) => (b as { category_id?: unknown } | null)?.category_id).filter((c) => typeof c === 'number' || typeof c === 'string'))]
    const t = musicSoloFrameTime(parts.second, parts.frame)
    yield {
      key,
      source: frameFile,
      corpus: 'music-solo',
      split: 'test',
      label: instrument ?? (categories.length > 0 ? `category:${String(categories[0])}` : ''),
      sourceIds: [`youtube_id:${parts.ytid}`, `frame:${frameKey}`, ...categories.map((c) => `category_id:${String(c)}`)],
      frame: { kind: 'image', timeSec: t },
      audio,
      window: { centreSec: t, clipSec: null },
      boxes: bbox.map((b) => musicSoloBox(b, wdith ?? width, height)),
    }
  }
}
