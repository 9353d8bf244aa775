// Audio decoding: any container ffmpeg reads -> mono float32 at the target rate, by spawning ffmpeg without a
// shell. ffmpeg can exit 0 on a truncated file with partial audio, so the decoded length is checked against
// the duration the container promises and against ffmpeg's own truncation warnings.
import { ConfigError, resolveConfig, positiveInt, positiveNumber, nonNegativeNumber } from '../config.js'
import { captureFfmpeg, type FfmpegBinary } from './ffmpeg.js'

export const RESAMPLERS = ['soxr', 'swr'] as const
/** `soxr` = libsoxr at precision 20 (librosa's default soxr_hq); `swr` = ffmpeg's own resampler. */
export type Resampler = (typeof RESAMPLERS)[number]

export interface DecodeConfig {
  /** Output sample rate in Hz. Default 22,050 (TURN's log-mel rate). */
  sampleRate: number
  /** Keep at most this many seconds from the clip start. Default 30. */
  maxSeconds: number
  /** Clips shorter than this after decoding are rejected as too short. Default 1. */
  minSeconds: number
  /** Resampler; 'auto' picks soxr when the binary has it. Default 'auto'. Changes bytes: recorded in the manifest. */
  resampler: Resampler | 'auto'
}
export const DECODE_DEFAULTS: DecodeConfig = { sampleRate: 22_050, maxSeconds: 30, minSeconds: 1, resampler: 'auto' }

export function resolveDecodeConfig(config: Partial<DecodeConfig>, ffmpeg: FfmpegBinary): DecodeConfig & { resampler: Resampler } {
  const resolved = resolveConfig('decode', DECODE_DEFAULTS, config, {
    sampleRate: positiveInt,
    maxSeconds: positiveNumber,
    minSeconds: nonNegativeNumber,
    resampler: (v) => (v === 'auto' || (RESAMPLERS as readonly string[]).includes(v) ? undefined : "must be 'auto', 'soxr' or 'swr'"),
  })
  if (resolved.minSeconds > resolved.maxSeconds) throw new ConfigError(`decode: minSeconds ${resolved.minSeconds} > maxSeconds ${resolved.maxSeconds}`)
  const resampler: Resampler = resolved.resampler === 'auto' ? (ffmpeg.hasSoxr ? 'soxr' : 'swr') : resolved.resampler
  if (resampler === 'soxr' && !ffmpeg.hasSoxr) throw new ConfigError(`decode: resampler 'soxr' requested but ${ffmpeg.path} was built without libsoxr`)
  return { ...resolved, resampler }
}

export type DecodeResult =
  | { ok: true; samples: Float32Array; containerSeconds: number | null }
  | { ok: false; code: 'ffmpeg-failed' | 'truncated'; message: string }

/** ffmpeg's warnings that mean the file ends before its header says it should. */
const TRUNCATION_WARNINGS = [
  'partial file',
  'Estimating duration from bitrate', // WAV whose data chunk is longer than the file
  'filesize and duration do not match',
]

/** The container duration ffmpeg prints (`Duration: 00:00:10.02`), seconds; null when it prints none. */
export const parseDuration = (stderr: string): number | null => {
  const m = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(stderr)
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null
}

/**
 * The last `[error]`/`[fatal]` line of ffmpeg's stderr (else its last line), level tag removed, and the address
 * ffmpeg prints after a component name (`[mov,mp4,m4a @ 0x55d0c8a2c040]`) dropped: it differs from run to run,
 * and the line goes into the ledger, whose bytes must not.
 */
export const lastErrorLine = (stderr: string): string => {
  const lines = stderr.split('\n').filter((l) => l.includes('[error]') || l.includes('[fatal]'))
  return (lines.at(-1) ?? stderr.trim().split('\n').at(-1) ?? '')
    .replace(/\[(error|fatal)\]\s*/, '')
    .replace(/ @ 0x[0-9a-f]+\]/g, ']')
    .trim()
}

/** A window of the file to decode: from `startSeconds` (default 0) for `durationSeconds` (default config.maxSeconds). */
export interface DecodeWindow {
  startSeconds?: number
  durationSeconds?: number
}

/**
 * Decode `absolutePath` to mono float32 at `config.sampleRate`, at most `config.maxSeconds` from the start, or
 * the given `window`. A window start is an input seek (`-ss` before `-i`): ffmpeg seeks to the packet before it
 * and, with -accurate_seek (on by default, spelt out), decodes and drops the audio before it, so the first
 * sample is the one at startSeconds (to within a sample), without decoding the whole file before it.
 * Never throws for bad input: returns `{ ok: false }` with a reason. Throws only when ffmpeg cannot be spawned.
 */
export async function decodeWithFfmpeg(
  absolutePath: string,
  config: DecodeConfig & { resampler: Resampler },
  ffmpeg: FfmpegBinary,
  window: DecodeWindow = {},
): Promise<DecodeResult> {
  const startSeconds = window.startSeconds ?? 0
  const durationSeconds = window.durationSeconds ?? config.maxSeconds
  if (!(Number.isFinite(startSeconds) && startSeconds >= 0 && Number.isFinite(durationSeconds) && durationSeconds > 0)) {
    throw new Error(`decodeWithFfmpeg: window start ${startSeconds} s, duration ${durationSeconds} s: need start >= 0 and duration > 0`)
  }
  const resample =
    config.resampler === 'soxr'
      ? `aresample=${config.sampleRate}:resampler=soxr:precision=20`
      : `aresample=${config.sampleRate}:resampler=swr`
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'level+info',
    ...(startSeconds > 0 ? ['-accurate_seek', '-ss', String(startSeconds)] : []),
    '-i', absolutePath,
    '-map', '0:a:0', '-t', String(durationSeconds),
    // Downmix first (mean of channels, as librosa.to_mono), then resample, as librosa.load does.
    '-af', `aformat=channel_layouts=mono,${resample}`,
    '-c:a', 'pcm_f32le', '-f', 'f32le', 'pipe:1',
  ]
  const maxBytes = Math.ceil(durationSeconds * config.sampleRate + config.sampleRate) * 4
  const { code, stdout: all, stderr } = await captureFfmpeg(ffmpeg, args, maxBytes)
  if (code !== 0) return { ok: false, code: 'ffmpeg-failed', message: lastErrorLine(stderr) || `ffmpeg exited with ${code}` }
  const usable = Math.min(all.length, maxBytes) - (Math.min(all.length, maxBytes) % 4)
  // Copy into a fresh, aligned buffer: Buffer.concat may return a slice of a shared pool.
  const samples = new Float32Array(usable / 4)
  new Uint8Array(samples.buffer).set(all.subarray(0, usable))
  const containerSeconds = parseDuration(stderr)
  const warning = TRUNCATION_WARNINGS.find((w) => stderr.includes(w))
  if (warning !== undefined) {
    return { ok: false, code: 'truncated', message: `ffmpeg: ${warning}; decoded ${(samples.length / config.sampleRate).toFixed(2)} s` }
  }
  if (containerSeconds !== null) {
    const expected = Math.min(containerSeconds - startSeconds, durationSeconds)
    const decoded = samples.length / config.sampleRate
    // Encoder delay and padding move the end by a few ms; a truncated file loses far more.
    if (decoded < expected - Math.max(0.1, expected * 0.01)) {
      const detail = lastErrorLine(stderr)
      return {
        ok: false,
        code: 'truncated',
        message: `decoded ${decoded.toFixed(2)} s of a ${containerSeconds.toFixed(2)} s container${detail ? ` (${detail})` : ''}`,
      }
    }
  }
  return { ok: true, samples, containerSeconds }
}
