// Audio decoding: any container ffmpeg reads -> mono float32 at the target rate, as librosa.load gives it. A WAV
// (formats/wav.ts) or a FLAC (flac.ts) is read in-process and resampled by libsoxr in WebAssembly (soxr.ts) with
// librosa's own recipe, so no process is spawned; any other file goes to ffmpeg without a shell, many files to
// one process (createDecoder), and is resampled the same way. ffmpeg can exit 0 on a truncated file with partial audio, so
// its decoded length is checked against the duration the container promises and against its truncation warnings.
import { open } from 'node:fs/promises'
import { ConfigError, resolveConfig, positiveInt, positiveNumber, nonNegativeNumber } from '../config.js'
import { readWav } from '../formats/wav.js'
import { captureFfmpeg, captureFfmpegOutputs, type FfmpegBinary } from './ffmpeg.js'
import { resampleSoxr } from './soxr.js'
import { decodeFlacResampled, looksLikeFlac } from './flac.js'

export interface DecodeConfig {
  /** Output sample rate in Hz. Default 22,050 (TURN's log-mel rate). */
  sampleRate: number
  /** Keep at most this many seconds from the clip start. Default 30. */
  maxSeconds: number
  /** Clips shorter than this after decoding are rejected as too short. Default 1. */
  minSeconds: number
}
export const DECODE_DEFAULTS: DecodeConfig = { sampleRate: 22_050, maxSeconds: 30, minSeconds: 1 }

export function resolveDecodeConfig(config: Partial<DecodeConfig>): DecodeConfig {
  const resolved = resolveConfig('decode', DECODE_DEFAULTS, config, {
    sampleRate: positiveInt,
    maxSeconds: positiveNumber,
    minSeconds: nonNegativeNumber,
  })
  if (resolved.minSeconds > resolved.maxSeconds) throw new ConfigError(`decode: minSeconds ${resolved.minSeconds} > maxSeconds ${resolved.maxSeconds}`)
  return resolved
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
 * Decode `absolutePath` to mono float32 at `config.sampleRate` with one ffmpeg process of its own, at most
 * `config.maxSeconds` from the start, or the given `window`. A window start is an input seek (`-ss` before `-i`):
 * ffmpeg seeks to the packet before it and, with -accurate_seek (on by default, spelt out), decodes and drops the
 * audio before it. ffmpeg only decodes, to float32 WAV at the file's own rate with every channel; the channels are
 * mixed down (their mean, as librosa.to_mono: ffmpeg's own mono downmix weights stereo by 1/sqrt 2) and libsoxr
 * resamples in-process (soxr.ts), as librosa.load does.
 * Never throws for bad input: returns `{ ok: false }` with a reason. Throws only when ffmpeg cannot be spawned.
 */
export async function decodeWithFfmpeg(
  absolutePath: string,
  config: DecodeConfig,
  ffmpeg: FfmpegBinary,
  window: DecodeWindow = {},
): Promise<DecodeResult> {
  const { startSeconds, durationSeconds } = checkedWindow(window, config)
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'level+info', ...inputArgs(absolutePath, startSeconds), ...outputArgs(0, durationSeconds, 'pipe:1')]
  const maxBytes = maxOutputBytes(durationSeconds)
  const { code, stdout: all, stderr } = await captureFfmpeg(ffmpeg, args, maxBytes)
  if (code !== 0) return { ok: false, code: 'ffmpeg-failed', message: lastErrorLine(stderr) || `ffmpeg exited with ${code}` }
  return finishFfmpeg(all.subarray(0, maxBytes), stderr, parseDuration(stderr), startSeconds, durationSeconds, config)
}

function checkedWindow(window: DecodeWindow, config: DecodeConfig): { startSeconds: number; durationSeconds: number } {
  const startSeconds = window.startSeconds ?? 0
  const durationSeconds = window.durationSeconds ?? config.maxSeconds
  if (!(Number.isFinite(startSeconds) && startSeconds >= 0 && Number.isFinite(durationSeconds) && durationSeconds > 0)) {
    throw new Error(`decode: window start ${startSeconds} s, duration ${durationSeconds} s: need start >= 0 and duration > 0`)
  }
  return { startSeconds, durationSeconds }
}

/**
 * ffmpeg's input options for one file: one decoding thread, the window's start as an input seek, then the file.
 * Audio decoders gain nothing from threads, and their setup and hand-offs cost CPU (with one thread for each
 * decoder and encoder, measured: 13.4 -> 10.3 ms for a 10 s AAC clip alone, 14.6 -> 11.8 ms each in a run of 16).
 */
function inputArgs(path: string, startSeconds: number): string[] {
  return ['-threads', '1', ...(startSeconds > 0 ? ['-accurate_seek', '-ss', String(startSeconds)] : []), '-i', path]
}

/**
 * ffmpeg's options for the output of input `input` to `target`: its first audio stream, as float32 WAV, at most
 * `durationSeconds`. `-fflags +bitexact` leaves out the muxer's encoder tag (a LIST chunk of 34 bytes), so the
 * samples start 4-byte aligned (at byte 68) and are read in place rather than copied.
 */
function outputArgs(input: number, durationSeconds: number, target: string): string[] {
  return ['-map', `${input}:a:0`, '-t', String(durationSeconds), '-threads', '1', '-c:a', 'pcm_f32le', '-fflags', '+bitexact', '-f', 'wav', target]
}

/** The most output bytes kept: a float32 WAV of 8 channels at up to 192 kHz, for the window plus a second. */
const maxOutputBytes = (durationSeconds: number): number => Math.ceil((durationSeconds + 1) * 192_000 * 8) * 4 + 4096

/** What ffmpeg wrote, as samples at the target rate (resampled here for soxr), judged for truncation. */
function finishFfmpeg(bytes: Uint8Array, stderr: string, containerSeconds: number | null, startSeconds: number, durationSeconds: number, config: DecodeConfig): DecodeResult {
  const wav = readWav(bytes, { streamed: true })
  if (!wav.ok) return { ok: false, code: 'ffmpeg-failed', message: `ffmpeg's output could not be read (${wav.reason})` }
  const samples = resampleSoxr(wav.audio.samples, wav.audio.sampleRate, config.sampleRate)
  return judgeDecoded(samples, stderr, containerSeconds, startSeconds, durationSeconds, config)
}

/**
 * A WAV or FLAC file decoded in-process and resampled with libsoxr, as librosa.load reads it with soundfile: the
 * window's frames, mixed to mono, then resampled. A WAV (formats/wav.ts) has only the window's bytes read; a FLAC
 * (flac.ts, lossless: ffmpeg's samples bit for bit) is read whole and decoded up to the window's end. Null when
 * the file is neither, or not one these readers take (another codec, a data chunk longer than the file, a FLAC
 * frame that fails its CRC or ends early): ffmpeg then decodes and judges it.
 */
async function decodeInProcess(path: string, startSeconds: number, durationSeconds: number, config: DecodeConfig): Promise<DecodeResult | null> {
  const file = await open(path, 'r').catch(() => null)
  if (file === null) return null // missing or unreadable: ffmpeg says so in its words
  try {
    const fileSize = (await file.stat()).size
    const head = new Uint8Array(Math.min(fileSize, WAV_HEAD_BYTES))
    await file.read(head, 0, head.length, 0)
    const windowFrames = (rate: number): { first: number; end: number } => ({
      first: Math.round(startSeconds * rate),
      end: Math.round(startSeconds * rate) + Math.ceil(durationSeconds * rate),
    })
    if (looksLikeFlac(head)) {
      if (fileSize > FLAC_MAX_BYTES) return null
      const bytes = new Uint8Array(fileSize)
      const { bytesRead } = await file.read(bytes, 0, fileSize, 0)
      if (bytesRead !== fileSize) return null // the file changed under us: let ffmpeg judge it
      const flac = decodeFlacResampled(bytes, windowFrames, config.sampleRate)
      if (!flac.ok) return null
      return { ok: true, samples: flac.audio.samples, containerSeconds: flac.audio.frames / flac.audio.sampleRate }
    }
    const header = readWav(head, { maxFrames: 0, fileSize })
    if (!header.ok) return null
    const { sampleRate: rate, dataOffset, blockAlign } = header.audio
    const { first, end } = windowFrames(rate)
    const frames = Math.min(header.audio.frames, end)
    const bytes = new Uint8Array(dataOffset + frames * blockAlign)
    const { bytesRead } = await file.read(bytes, 0, bytes.length, 0)
    if (bytesRead !== bytes.length) return null // the file changed under us: let ffmpeg judge it
    const wav = readWav(bytes, { maxFrames: frames, fileSize })
    if (!wav.ok) return null
    const samples = resampleSoxr(wav.audio.samples.subarray(Math.min(first, wav.audio.samples.length)), rate, config.sampleRate)
    return { ok: true, samples, containerSeconds: wav.audio.frames / rate }
  } finally {
    await file.close()
  }
}

/** A FLAC larger than this is left to ffmpeg, which reads only the window's part (this reader reads it whole). */
const FLAC_MAX_BYTES = 256 * 1024 * 1024

/** Bytes read to find a WAV's fmt and data chunks (metadata chunks before them are rarely larger). */
const WAV_HEAD_BYTES = 65_536

/** The decoded samples of a run that exited 0, judged against ffmpeg's truncation warnings and the container's duration. */
function judgeDecoded(samples: Float32Array, stderr: string, containerSeconds: number | null, startSeconds: number, durationSeconds: number, config: DecodeConfig): DecodeResult {
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

/** Decodes one file (or a window of it); see `decodeWithFfmpeg`. */
export type Decoder = (absolutePath: string, window?: DecodeWindow) => Promise<DecodeResult>

/** Files one ffmpeg process decodes at most; bounds its open files and the stderr it prints. */
export const DECODE_BATCH = 16

/**
 * The decoder the pipelines use. A WAV or FLAC it can read is decoded in-process (no process at all). Every other
 * file goes to ffmpeg, and the requests waiting when a run starts (up to `maxBatch`) share one ffmpeg process with
 * one input and one output pipe each, so every file has its own decoder chain, and its samples are the bytes a
 * process of its own gives: the spawn (which blocks a worker thread for milliseconds) is paid once per batch. Only clean results are taken from a shared run: when ffmpeg fails, prints a warning
 * or an error, or a file decodes short of its container's duration, the files concerned are decoded again one
 * process each, so every failure is that file's own, with the message `decodeWithFfmpeg` gives. One run at a time
 * per decoder: the next batch starts when this one ends, while the caller works on this one's results.
 */
export function createDecoder(config: DecodeConfig, ffmpeg: FfmpegBinary, { maxBatch = DECODE_BATCH }: { maxBatch?: number } = {}): Decoder {
  interface Request {
    path: string
    startSeconds: number
    durationSeconds: number
    resolve: (result: DecodeResult) => void
    reject: (error: Error) => void
  }
  const queue: Request[] = []
  let running = false
  const solo = (r: Request): Promise<void> => decodeWithFfmpeg(r.path, config, ffmpeg, { startSeconds: r.startSeconds, durationSeconds: r.durationSeconds }).then(r.resolve, r.reject)

  const runBatch = async (batch: Request[]): Promise<void> => {
    if (batch.length === 1) return await solo(batch[0]!)
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'level+info']
    for (const r of batch) args.push(...inputArgs(r.path, r.startSeconds))
    batch.forEach((r, i) => args.push(...outputArgs(i, r.durationSeconds, `pipe:${3 + i}`)))
    const maxBytes = batch.map((r) => maxOutputBytes(r.durationSeconds))
    const { code, outputs, stderr } = await captureFfmpegOutputs(ffmpeg, args, maxBytes.map((m, i) => ({ fd: 3 + i, maxBytes: m })))
    const clean = code === 0 && !stderr.split('\n').some(isWorrying)
    if (!clean) {
      for (const r of batch) await solo(r)
      return
    }
    const durations = inputDurations(stderr, batch.length)
    for (const [i, r] of batch.entries()) {
      const result = finishFfmpeg(outputs[i]!.bytes.subarray(0, maxBytes[i]!), '', durations[i] ?? null, r.startSeconds, r.durationSeconds, config)
      if (result.ok) r.resolve(result)
      else await solo(r) // short of its container: its own run says so in its own words
    }
  }

  const pump = (): void => {
    if (running || queue.length === 0) return
    running = true
    const batch = queue.splice(0, maxBatch)
    void runBatch(batch)
      .catch((error: unknown) => {
        for (const r of batch) r.reject(error instanceof Error ? error : new Error(String(error)))
      })
      .finally(() => {
        running = false
        pump()
      })
  }

  return async (absolutePath, window = {}) => {
    const { startSeconds, durationSeconds } = checkedWindow(window, config)
    const inProcess = await decodeInProcess(absolutePath, startSeconds, durationSeconds, config)
    if (inProcess !== null) return inProcess
    return await new Promise<DecodeResult>((resolve, reject) => {
      queue.push({ path: absolutePath, startSeconds, durationSeconds, resolve, reject })
      // Let the requests that arrive together (a worker receives several items at once) join one run.
      setImmediate(pump)
    })
  }
}

// Warnings that say nothing about a file's health: a WAV without a channel mask gets the default layout.
const BENIGN_WARNINGS = [/Guessed Channel Layout for Input Stream/]

/** A line of a shared run that could concern one file's health: a warning, an error, or a truncation hint. */
const isWorrying = (line: string): boolean =>
  TRUNCATION_WARNINGS.some((w) => line.includes(w)) || (/^\[(warning|error|fatal|panic)\]/.test(line) && !BENIGN_WARNINGS.some((b) => b.test(line)))

/** The `Duration:` ffmpeg prints under each `Input #i` block, by input index (undefined where it prints none). */
function inputDurations(stderr: string, inputs: number): (number | null)[] {
  const durations: (number | null)[] = Array.from({ length: inputs }, () => null)
  let current = -1
  for (const line of stderr.split('\n')) {
    const input = /Input #(\d+),/.exec(line)
    if (input) current = Number(input[1])
    else if (/^\S*\s*(Output #|Stream mapping)/.test(line.replace(/^\[\w+\]\s*/, ''))) current = -1
    else if (current >= 0 && current < inputs && durations[current] === null) durations[current] = parseDuration(line)
  }
  return durations
}
