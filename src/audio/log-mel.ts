// Log-mel spectrogram equal to librosa 0.11 up to float32 rounding (measured <= 7.6e-6 dB, tested < 1e-4 dB):
//   librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr, n_fft, hop_length, n_mels, fmin, fmax),
//                       ref=1.0, amin, top_db)
// with librosa's defaults: centred frames over zero padding (pad_mode='constant' since 0.10), periodic Hann
// window, power 2, Slaney mel scale with Slaney area normalisation. test/fixtures/librosa-log-mel.json
// (scripts/librosa-reference.py) holds librosa's own output for the tests to compare against.
//
// librosa computes in float32 for float32 input; this module computes in float64 and rounds only the result,
// which stays within 1e-4 dB of librosa because librosa itself runs its FFT in float64 (float64 window times
// float32 frames) and rounds each bin to complex64 afterwards, so its float32 error is relative per value.

import { audioWasm } from './wasm.js'
import { ConfigError, nonNegativeNumber, positiveInt, positiveNumber, resolveConfig } from '../config.js'

/** Settings of the log-mel spectrogram. Every field changes the output bytes, so all belong in the manifest. */
export interface LogMelConfig {
  /** Sample rate of the input in Hz. Default 22,050. */
  sampleRate: number
  /** FFT size and window length in samples; a power of two. Default 2048 (93 ms at 22,050 Hz). */
  nFft: number
  /** Samples between frame starts. Default 1024, so a 10 s clip at 22,050 Hz has 216 frames. */
  hopLength: number
  /** Number of mel bands. Default 128. */
  nMels: number
  /** Lowest filter edge in Hz. Default 0. */
  fmin: number
  /** Highest filter edge in Hz; null means sampleRate / 2 (librosa's fmax=None). Default null. */
  fmax: number | null
  /** Dynamic range in dB: values below (clip max - topDb) are raised to it, as power_to_db(top_db). Default 80. */
  topDb: number
  /** Power floor before the log, as power_to_db(amin): silence gives 10*log10(amin) dB. Default 1e-10. */
  amin: number
}

/** librosa's defaults for melspectrogram + power_to_db, with hop 1024 and 128 bands. */
export const LOG_MEL_DEFAULTS: LogMelConfig = {
  sampleRate: 22_050,
  nFft: 2048,
  hopLength: 1024,
  nMels: 128,
  fmin: 0,
  fmax: null,
  topDb: 80, // 80 dB floor, as librosa power_to_db(top_db=80)
  amin: 1e-10, // as librosa power_to_db(amin=1e-10)
}

/** A log-mel spectrogram in dB (ref 1.0), frame-major: the value of frame f, band m is data[f * nMels + m]. */
export interface LogMel {
  data: Float32Array
  frames: number
  nMels: number
}

/**
 * Receives the power spectrum |X|^2 of one frame (nFft / 2 + 1 bins, DC first) as it is computed. The array is
 * reused for the next frame: read it, do not keep it.
 */
export type PowerFrameVisitor = (power: Float64Array, frame: number) => void

/** Runs the centred STFT over `samples`, calls `visit` once per frame in order, and returns the frame count. */
export type StftPower = (samples: Float32Array, visit: PowerFrameVisitor) => number

/**
 * A log-mel function for one config. `onPowerFrame`, when given, sees each frame's power spectrum, so other
 * features (see descriptors.ts) can share this FFT instead of running a second one. It reuses its buffers
 * between calls, so `onPowerFrame` must not call the same function again.
 */
export interface LogMelFn {
  (samples: Float32Array, onPowerFrame?: PowerFrameVisitor): LogMel
  /** The resolved config (defaults filled in), for the manifest. */
  readonly config: Readonly<LogMelConfig>
}

/** Mel filter weights, row-major [nMels][nFft / 2 + 1], float32 like librosa.filters.mel's default dtype. */
export interface MelFilterbank {
  weights: Float32Array
  nMels: number
  nBins: number
}

/** Number of frames of a centred STFT over `numSamples` samples: 1 + floor(numSamples / hopLength), as librosa. */
export function logMelFrames(numSamples: number, hopLength: number): number {
  return 1 + Math.floor(numSamples / hopLength)
}

const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n >= 4 && (n & (n - 1)) === 0

/** Resolve and validate a partial LogMelConfig. Throws naming the field and value (unknown keys too). */
export function resolveLogMelConfig(config: Partial<LogMelConfig> = {}): LogMelConfig {
  const resolved = resolveConfig('logMel', LOG_MEL_DEFAULTS, config, {
    sampleRate: positiveNumber,
    nFft: (v) => (isPowerOfTwo(v) ? undefined : 'must be a power of two >= 4'),
    hopLength: positiveInt,
    nMels: positiveInt,
    fmin: nonNegativeNumber,
    fmax: (v) => (v === null ? undefined : positiveNumber(v)),
    topDb: nonNegativeNumber,
    amin: positiveNumber,
  })
  const fmax = resolved.fmax ?? resolved.sampleRate / 2
  if (!(resolved.fmin < fmax && fmax <= resolved.sampleRate / 2)) {
    throw new ConfigError(
      `logMel: fmin = ${resolved.fmin}, fmax = ${fmax}: need fmin < fmax <= sampleRate / 2 (${resolved.sampleRate / 2})`,
    )
  }
  return resolved
}

// Slaney's Auditory Toolbox mel scale (librosa hz_to_mel / mel_to_hz with htk=False): linear below 1 kHz,
// logarithmic above. The arithmetic follows librosa's expression order, which keeps the float32 weights
// bit-identical to librosa's (tested against the fixture).
const F_SP = 200.0 / 3
const MIN_LOG_HZ = 1000.0
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP
const LOG_STEP = Math.log(6.4) / 27.0

const hzToMel = (hz: number): number => (hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP)
const melToHz = (mel: number): number =>
  mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel

/**
 * librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'): triangles between n_mels + 2
 * points evenly spaced in mel, each scaled by 2 / (its width in Hz) so every filter has unit area.
 * Defaults and validation as LogMelConfig (only sampleRate, nFft, nMels, fmin, fmax matter).
 */
export function melFilterbank(config: Partial<LogMelConfig> = {}): MelFilterbank {
  const { sampleRate, nFft, nMels, fmin, fmax: fmaxOrNull } = resolveLogMelConfig(config)
  const fmax = fmaxOrNull ?? sampleRate / 2
  const nBins = nFft / 2 + 1
  // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n * d))
  const binHz = 1.0 / (nFft * (1.0 / sampleRate))
  // np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2): start + i * step, last point exactly stop
  const melLo = hzToMel(fmin)
  const melHi = hzToMel(fmax)
  const step = (melHi - melLo) / (nMels + 1)
  const edgesHz = new Float64Array(nMels + 2)
  for (let i = 0; i < nMels + 2; i++) edgesHz[i] = melToHz(i === nMels + 1 ? melHi : i * step + melLo)

  const weights = new Float32Array(nMels * nBins)
  for (let m = 0; m < nMels; m++) {
    const lowerWidth = edgesHz[m + 1] - edgesHz[m]
    const upperWidth = edgesHz[m + 2] - edgesHz[m + 1]
    const enorm = 2.0 / (edgesHz[m + 2] - edgesHz[m])
    for (let k = 0; k < nBins; k++) {
      const hz = k * binHz
      const lower = -(edgesHz[m] - hz) / lowerWidth
      const upper = (edgesHz[m + 2] - hz) / upperWidth
      // librosa stores the triangle into a float32 array, then multiplies in place by the float64 norm: two
      // roundings, reproduced here so the weights equal librosa's exactly.
      weights[m * nBins + k] = Math.fround(Math.max(0, Math.min(lower, upper))) * enorm
    }
  }
  return { weights, nMels, nBins }
}

/** The STFT kernel in wasm memory: `run` computes a clip's power frames into a buffer it keeps (grown as needed). */
interface StftKernel {
  nBins: number
  /** power frames of `samples`, frame-major, viewed in wasm memory: valid until the next call */
  run(samples: Float32Array): { frames: number; power: Float64Array; pointer: number }
}

function createStftKernel(nFft: number, hopLength: number): StftKernel {
  if (!isPowerOfTwo(nFft)) throw new ConfigError(`stft: nFft = ${nFft}: must be a power of two >= 4`)
  if (positiveInt(hopLength) !== undefined) throw new Error(`stft: hopLength = ${hopLength}: must be a positive integer`)
  const wasm = audioWasm()
  const stft = wasm.tk_stft_new(nFft, hopLength)
  if (stft === 0) throw new Error(`stft: out of memory for nFft ${nFft}`)
  // scipy.signal.get_window('hann', n_fft, fftbins=True): the periodic Hann window, 0.5 - 0.5 cos(2 pi n / N).
  const window = new Float64Array(wasm.memory.buffer, wasm.tk_stft_window(stft), nFft)
  for (let n = 0; n < nFft; n++) window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft)
  const nBins = nFft / 2 + 1
  let capacity = 0
  let input = 0
  let output = 0
  return {
    nBins,
    run(samples) {
      const frames = logMelFrames(samples.length, hopLength)
      if (samples.length > capacity) {
        if (capacity > 0) {
          wasm.tk_free(input)
          wasm.tk_free(output)
        }
        capacity = samples.length
        input = wasm.tk_alloc(4 * capacity)
        output = wasm.tk_alloc(8 * nBins * logMelFrames(capacity, hopLength))
        if (input === 0 || output === 0) throw new Error(`stft: out of memory for ${samples.length} samples`)
      }
      new Float32Array(wasm.memory.buffer, input, samples.length).set(samples)
      wasm.tk_stft_power(stft, input, samples.length, output)
      return { frames, power: new Float64Array(wasm.memory.buffer, output, frames * nBins), pointer: output }
    },
  }
}

/**
 * Centred STFT power frames, as librosa.stft(center=True, pad_mode='constant', window='hann') then |X|^2:
 * frame t is the periodic Hann window times samples [t * hop - nFft / 2, t * hop + nFft / 2), zeros outside
 * the clip. The frames are computed in WebAssembly (native/audio/turnkit-stft.c: Ooura's real FFT in double
 * precision, two frames at once in the lanes of an f64x2, each lane bit for bit the one-frame transform; about
 * 7x fft.js in JavaScript), all of a clip at once, then visited in order.
 */
export function createStftPower({ nFft, hopLength }: Pick<LogMelConfig, 'nFft' | 'hopLength'>): StftPower {
  const kernel = createStftKernel(nFft, hopLength)
  return (samples, visit) => {
    const { frames, power } = kernel.run(samples)
    for (let t = 0; t < frames; t++) visit(power.subarray(t * kernel.nBins, (t + 1) * kernel.nBins), t)
    return frames
  }
}

/**
 * Build a log-mel function for `config` (defaults LOG_MEL_DEFAULTS). Window, FFT tables and the mel filterbank
 * are computed here, once; call the result for every clip. The STFT and the mel projection run in WebAssembly
 * (turnkit-stft.c; the projection walks each bin once, since a bin lies under at most two adjacent triangles), the
 * dB conversion here. Throws on an invalid config, naming the field.
 */
export function createLogMel(config: Partial<LogMelConfig> = {}): LogMelFn {
  const resolved = Object.freeze(resolveLogMelConfig(config))
  const { nMels, topDb, amin } = resolved
  const kernel = createStftKernel(resolved.nFft, resolved.hopLength)
  const { weights, nBins } = melFilterbank(resolved)
  const wasm = audioWasm()
  const weightsAt = wasm.tk_alloc(4 * weights.length)
  new Float32Array(wasm.memory.buffer, weightsAt, weights.length).set(weights)
  const projection = wasm.tk_mel_new(weightsAt, nMels, nBins)
  wasm.tk_free(weightsAt)
  if (projection === 0) throw new Error(`melFilterbank: a bin lies under two bands that are not adjacent, or out of memory`)
  // power_to_db subtracts 10 * log10(max(amin, ref)) with ref = 1.0: 0 dB unless amin > 1.
  const refDb = 10 * Math.log10(Math.max(amin, 1.0))
  let melCapacity = 0
  let melAt = 0

  const logMel = (samples: Float32Array, onPowerFrame?: PowerFrameVisitor): LogMel => {
    const { frames, power, pointer } = kernel.run(samples)
    if (onPowerFrame) for (let t = 0; t < frames; t++) onPowerFrame(power.subarray(t * nBins, (t + 1) * nBins), t)
    if (frames > melCapacity) {
      if (melCapacity > 0) wasm.tk_free(melAt)
      melCapacity = frames
      melAt = wasm.tk_alloc(8 * nMels * frames)
      if (melAt === 0) throw new Error(`log-mel: out of memory for ${frames} frames`)
    }
    wasm.tk_mel_apply(projection, pointer, frames, melAt)
    const melPower = new Float64Array(wasm.memory.buffer, melAt, frames * nMels)
    const data = new Float32Array(frames * nMels)
    let maxDb = -Infinity
    for (let i = 0; i < data.length; i++) {
      // power_to_db: 10 * log10(max(amin, S)) - 10 * log10(max(amin, ref))
      const db = 10 * Math.log10(Math.max(amin, melPower[i]!)) - refDb
      if (db > maxDb) maxDb = db
      data[i] = db
    }
    // top_db is relative to the maximum of the whole clip, not of each frame (power_to_db: log_spec.max()).
    // Clamping the float32 values against the float64 floor equals rounding max(value, floor), since rounding
    // is monotonic.
    const floorDb = maxDb - topDb
    for (let i = 0; i < data.length; i++) if (data[i]! < floorDb) data[i] = floorDb
    return { data, frames, nMels }
  }
  return Object.assign(logMel, { config: resolved })
}

// logMelSpectrogram's functions by resolved config: each holds WebAssembly memory (tables, buffers) that is never
// freed, so building one per call ran out of memory after ~800 calls. A program uses few configs.
const logMelByConfig = new Map<string, LogMelFn>()

/**
 * Log-mel of `samples` (see createLogMel). The function for each config is built on first use and kept, so this
 * may be called for every clip; createLogMel gives one to hold yourself.
 */
export function logMelSpectrogram(samples: Float32Array, config: Partial<LogMelConfig> = {}): LogMel {
  const resolved = resolveLogMelConfig(config)
  const id = JSON.stringify(Object.keys(resolved).sort().map((k) => resolved[k as keyof LogMelConfig]))
  let fn = logMelByConfig.get(id)
  if (fn === undefined) {
    fn = createLogMel(resolved)
    logMelByConfig.set(id, fn)
  }
  return fn(samples)
}
