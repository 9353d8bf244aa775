// The stage of the audio-image-boxes record kind: AudioVisualSource -> audio-image-boxes row. Decode the audio
// window (from the video or a separate file), take the frame (from the video at a time, or an image file),
// prepare the image with every box, log-mel and descriptors. Built inside each worker from plain JSON options.
import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { ConfigError } from '../config.js'
import { createDecoder, type DecodeConfig } from '../audio/decode.js'
import { ffmpegBinary, type FfmpegBinary } from '../audio/ffmpeg.js'
import { createLogMel, type LogMelConfig } from '../audio/log-mel.js'
import { describeClip } from '../audio/descriptors.js'
import { IMAGE_ENCODER_VERSIONS, prepareImage, resolveImageConfig, type ImageConfig } from '../image/image-stage.js'
import { extractVideoFrame } from '../image/video-frame.js'
import type { BoxXywh } from '../image/boxes.js'
import { reject, type Reject } from './reject.js'
import type { SourceRecord } from './record.js'
import type { Stage, StageItem } from './record.js'
import { resolveAudioSettings } from './audio-text.js'
import type { JsonObject } from '../formats/json.js'
import type { Row } from './record.js'

export const AUDIO_VISUAL_CORPORA = ['vggsound', 'vggss', 'music', 'music-solo', 'flickr-soundnet'] as const
export type AudioVisualCorpus = (typeof AUDIO_VISUAL_CORPORA)[number]

/** One ground-truth box as listed: [x, y, w, h] as fractions of the displayed frame, or null when malformed. */
export interface ListedBox {
  /** null when the corpus entry is not four finite numbers: dropped by the stage with reason 'nan'. */
  xywh: [number, number, number, number] | null
  /** Annotator index (0 when the corpus has a single annotation). */
  annotator: number
}

/**
 * One evaluation item, as a pipeline (vggsound.ts, music.ts, flickr-soundnet.ts) lists it: plain JSON.
 * `source` is the picture's file (a video, or a frame image); `audio` may be the same file.
 */
export interface AudioVisualSource extends SourceRecord {
  corpus: AudioVisualCorpus
  split: string
  label: string
  /** Corpus ids as `name:value`. */
  sourceIds: string[]
  /**
   * Where the picture comes from. 'video': a frame of `source` at `timeSec`, or at the middle of the decoded
   * audio window when null. 'image': `source` is an image file; `timeSec` is its time in the video when the
   * corpus says (music-solo), else -1.
   */
  frame: { kind: 'video'; timeSec: number | null } | { kind: 'image'; timeSec: number }
  /** Audio file relative to the corpus root (the video itself for vggsound and music). */
  audio: string
  /**
   * Audio window: `clipSec` caps its length below --max-seconds (VGGSound clips are 10 s; null: no cap);
   * `centreSec` centres it on a time (music-solo: the frame time), null starts it at 0.
   */
  window: { centreSec: number | null; clipSec: number | null }
  /** Every box the corpus gives, in corpus order; empty for corpora without boxes. */
  boxes: ListedBox[]
}

/** Options of the audio-image-boxes stage, as the CLI passes them. */
export interface AudioImageBoxesOptions {
  decode: Partial<DecodeConfig>
  logMel: Partial<LogMelConfig>
  image: Partial<ImageConfig>
}

/** Options resolved once in the main thread; what each worker receives. */
export interface ResolvedAudioImageBoxesOptions {
  decode: DecodeConfig
  logMel: LogMelConfig
  image: ImageConfig
}

/** How each corpus places its audio window and frame; recorded in the manifest settings (window.policy). */
export const WINDOW_POLICY: Readonly<Record<AudioVisualCorpus, string>> = {
  vggsound: 'audio 0 to min(10, maxSeconds) s of the video (the file is the 10 s clip); frame at the middle of the decoded window',
  vggss: 'audio 0 to min(10, maxSeconds) s of audio/<file>.wav; frame is frames/<file>.jpg (time unknown: -1)',
  music: 'audio 0 to maxSeconds s of the video; frame at the middle of the decoded window',
  'music-solo': 'frame image of time t = NNNNN / 30 fps (kept inside second XXX of frame_XXX); audio window of maxSeconds s centred on t, start clamped at 0',
  'flickr-soundnet': 'audio 0 to maxSeconds s of audio/<id>.wav; frame is frames/<id>.jpg (time unknown: -1)',
}

/**
 * Resolve and validate the stage options (throws a ConfigError naming a bad setting) and list every setting
 * that changes output bytes, for the manifest and the dataset version: audio decode and log-mel (as
 * audio-text), the window policy, the frame extractor, image settings and IMAGE_ENCODER_VERSIONS.
 */
export function resolveAudioImageBoxesOptions(
  options: Partial<AudioImageBoxesOptions>,
  ffmpeg: FfmpegBinary = ffmpegBinary(),
): { resolved: ResolvedAudioImageBoxesOptions; settings: JsonObject } {
  const { decode, logMel, audio } = resolveAudioSettings(options.decode ?? {}, options.logMel ?? {}, ffmpeg)
  // Listed boxes are fractions of the displayed frame (what annotators saw), so the stored-frame mode has no meaning here.
  if (options.image?.annotationFrame === 'stored') throw new ConfigError("image: annotationFrame 'stored' does not apply to audio-visual corpora (boxes are fractions of the displayed frame)")
  const image = resolveImageConfig({ ...options.image, annotationFrame: 'displayed' })
  const settings: JsonObject = {
    audio,
    window: { maxSeconds: decode.maxSeconds, minSeconds: decode.minSeconds, policy: { ...WINDOW_POLICY } },
    frame: { extractor: ffmpeg.version, seek: 'input -ss, accurate_seek: first frame at or after the time', format: 'png rgb24' },
    image: {
      shortEdge: image.shortEdge,
      jpegQuality: image.jpegQuality,
      annotationFrame: image.annotationFrame,
      maxInputPixels: image.maxInputPixels,
      encoder: { ...IMAGE_ENCODER_VERSIONS },
    },
  }
  return { resolved: { decode, logMel, image }, settings }
}

/** Start and length (seconds) of the audio window of `item` under `maxSeconds` (see AudioVisualSource.window). */
export function audioWindow(item: Pick<AudioVisualSource, 'window'>, maxSeconds: number): { startSec: number; durationSec: number } {
  const durationSec = Math.min(maxSeconds, item.window.clipSec ?? Infinity)
  const startSec = item.window.centreSec === null ? 0 : Math.max(0, item.window.centreSec - durationSec / 2)
  return { startSec, durationSec }
}

// A ledger message names the file once: ffmpeg's own messages often start with the path already.
const naming = (relative: string, message: string): string => (message.includes(relative) ? message : `${relative}: ${message}`)

/** Stage factory (run in each worker): builds the log-mel once, then maps records to rows. */
export function createAudioImageBoxesStage(options: ResolvedAudioImageBoxesOptions): Stage<StageItem<AudioVisualSource>, Row> {
  const ffmpeg = ffmpegBinary()
  const decode = createDecoder(options.decode, ffmpeg)
  const logMel = createLogMel(options.logMel)
  const { sampleRate, minSeconds, maxSeconds } = options.decode
  return async ({ record: item, files }): Promise<Row | Reject> => {
    const picturePath = files[item.source]!
    const audioPath = files[item.audio]!

    // Audio first: the default frame time is the middle of the window actually decoded.
    const { startSec, durationSec } = audioWindow(item, maxSeconds)
    const decoded = await decode(audioPath, { startSeconds: startSec, durationSeconds: durationSec })
    if (!decoded.ok) return reject(item.key, 'decode', decoded.code, naming(item.audio, decoded.message.replaceAll(audioPath, item.audio)))
    const seconds = decoded.samples.length / sampleRate
    if (seconds < minSeconds) {
      const window = startSec > 0 ? ` from ${startSec.toFixed(2)} s` : ''
      return reject(item.key, 'decode', 'too-short', `${item.audio}: ${seconds.toFixed(2)} s decoded${window}, --min-seconds is ${minSeconds}`)
    }

    let pictureBytes: Uint8Array
    let frameTimeSec: number
    if (item.frame.kind === 'video') {
      frameTimeSec = item.frame.timeSec ?? startSec + seconds / 2
      const frame = await extractVideoFrame(picturePath, frameTimeSec, ffmpeg)
      if (!frame.ok) return reject(item.key, 'frame', frame.code, naming(item.source, frame.message.replaceAll(picturePath, item.source)))
      pictureBytes = frame.png
    } else {
      frameTimeSec = item.frame.timeSec
      try {
        pictureBytes = await readFile(picturePath)
      } catch (error) {
        return reject(item.key, 'image', 'unreadable', `${item.source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
      }
    }

    // Listed boxes are fractions of the displayed frame; prepareImage checks pixels of the original frame.
    let boxesPx: BoxXywh[] = []
    if (item.boxes.length > 0) {
      let width: number
      let height: number
      try {
        const meta = await sharp(pictureBytes, { failOn: 'error' }).metadata()
        width = meta.autoOrient.width
        height = meta.autoOrient.height
      } catch (error) {
        return reject(item.key, 'image', 'bad-image', `${item.source}: ${error instanceof Error ? error.message : String(error)}`)
      }
      boxesPx = item.boxes.map(({ xywh }) => (xywh === null ? [NaN, NaN, NaN, NaN] : [xywh[0] * width, xywh[1] * height, xywh[2] * width, xywh[3] * height]))
    }
    // An evaluation item whose every box is unusable stays, with no boxes and no_usable_box set: the public
    // evaluation keeps such items with an empty ground truth (cIoU 0), so the set keeps its published size.
    const image = await prepareImage(pictureBytes, options.image, boxesPx, { keepWithoutBoxes: true })
    if (!image.ok) return reject(item.key, 'image', image.code, `${item.source}: ${image.message}`)
    const droppedIndex = new Set(image.dropped.map((d) => d.index))
    const annotators = item.boxes.filter((_, i) => !droppedIndex.has(i)).map((b) => b.annotator)

    const { logMel: mel, descriptors } = describeClip(decoded.samples, logMel)
    return {
      key: item.key,
      corpus: item.corpus,
      split: item.split,
      source_path: item.source,
      audio_source_path: item.audio,
      label: item.label,
      image_jpeg: image.jpeg,
      width: image.width,
      height: image.height,
      frame_time_sec: frameTimeSec,
      audio_start_sec: startSec,
      duration_sec: seconds,
      num_samples: decoded.samples.length,
      frames: mel.frames,
      n_mels: mel.nMels,
      log_mel: mel.data,
      boxes: image.boxes.map((b) => Float32Array.from(b)),
      box_annotators: Int32Array.from(annotators),
      dropped_boxes: image.dropped.map((d) => `${d.index}:${d.reason}`),
      no_usable_box: item.boxes.length > 0 && image.boxes.length === 0,
      rms_dbfs: descriptors.rmsDbfs,
      peak: descriptors.peak,
      spectral_flatness: descriptors.spectralFlatness,
      silent: descriptors.silent,
      source_ids: item.sourceIds,
    }
  }
}
