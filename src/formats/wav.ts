// RIFF WAVE: integer PCM (8-bit unsigned, 16, 24, 32-bit signed) and IEEE float (32, 64-bit), plain or
// WAVE_FORMAT_EXTENSIBLE, read in-process and mixed down to mono as librosa.load does (soundfile's float
// conversion, then librosa.to_mono's mean of the channels, both in float32). Anything else (another codec,
// RF64, a header that does not add up, a data chunk longer than the file) is not read here: `readWav` says why,
// and the caller hands the file to ffmpeg, which judges it in its own words.

/** A WAV read in full (or up to `maxFrames`) and mixed to mono. */
export interface WavAudio {
  sampleRate: number
  channels: number
  /** frames in the file's data chunk (all of them, even when fewer were read) */
  frames: number
  /** mono float32, at most maxFrames frames */
  samples: Float32Array
  /** where the data chunk's samples start, and bytes per frame: what a caller needs to read only a prefix */
  dataOffset: number
  blockAlign: number
}

export type WavResult = { ok: true; audio: WavAudio } | { ok: false; reason: string }

const FORMAT_PCM = 1
const FORMAT_FLOAT = 3
const FORMAT_EXTENSIBLE = 0xfffe

/**
 * Read `bytes` as RIFF WAVE. `streamed`: a data chunk whose size is 0xFFFFFFFF or 0 runs to the end of the bytes
 * (what ffmpeg writes to a pipe, which it cannot seek back into); otherwise such a size is not read here.
 * `maxFrames` stops reading after that many frames (the clip policy's head). `fileSize`: `bytes` is the head of
 * a file of this size (default: all of it); the data chunk is judged against the file, and at most the frames
 * `bytes` holds are read.
 */
export function readWav(bytes: Uint8Array, { maxFrames = Infinity, streamed = false, fileSize = bytes.length }: { maxFrames?: number; streamed?: boolean; fileSize?: number } = {}): WavResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const tag = (at: number): string => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!)
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return { ok: false, reason: 'not a RIFF WAVE file' }
  let at = 12
  let format: { code: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | undefined
  while (at + 8 <= bytes.length) {
    const id = tag(at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) return { ok: false, reason: 'fmt chunk cut short (or past the head read)' }
      let code = view.getUint16(body, true)
      const channels = view.getUint16(body + 2, true)
      const sampleRate = view.getUint32(body + 4, true)
      const blockAlign = view.getUint16(body + 12, true)
      const bits = view.getUint16(body + 14, true)
      if (code === FORMAT_EXTENSIBLE) {
        if (size < 40) return { ok: false, reason: 'extensible fmt chunk cut short' }
        code = view.getUint16(body + 24, true) // the sub-format GUID starts with the format code
        const validBits = view.getUint16(body + 18, true)
        if (validBits !== 0 && validBits !== bits) return { ok: false, reason: `${validBits} valid bits in ${bits}-bit containers` }
      }
      format = { code, channels, sampleRate, bits, blockAlign }
    } else if (id === 'data') {
      if (format === undefined) return { ok: false, reason: 'data before fmt' }
      const { code, channels, sampleRate, bits, blockAlign } = format
      const supported = (code === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) || (code === FORMAT_FLOAT && (bits === 32 || bits === 64))
      if (!supported) return { ok: false, reason: `format ${code} with ${bits}-bit samples` }
      if (channels < 1 || sampleRate < 1 || blockAlign !== channels * (bits / 8)) return { ok: false, reason: 'inconsistent fmt chunk' }
      const open = streamed && (size === 0xffffffff || size === 0)
      const length = open ? fileSize - body : size
      if (body + length > fileSize) return { ok: false, reason: `data chunk of ${size} bytes, ${fileSize - body} in the file` }
      const frames = Math.floor(length / blockAlign)
      const read = Math.max(0, Math.min(frames, maxFrames, Math.floor((bytes.length - body) / blockAlign)))
      return { ok: true, audio: { sampleRate, channels, frames, samples: mixToMono(view, body, read, channels, code, bits), dataOffset: body, blockAlign } }
    }
    at = body + size + (size & 1) // chunks are padded to an even size
  }
  return { ok: false, reason: format === undefined ? 'no fmt chunk' : 'no data chunk' }
}

/** Frames from `at` converted as soundfile's float32 read does, then the float32 mean of the channels. */
function mixToMono(view: DataView, at: number, frames: number, channels: number, code: number, bits: number): Float32Array {
  const bytesPer = bits / 8
  const typed = typedSamples(view, at, frames * channels, code, bits)
  if (typed !== null) {
    // The common case, aligned 16-bit or float32 little-endian samples: a typed view instead of a DataView call per sample.
    const out = new Float32Array(frames)
    const scale = code === FORMAT_FLOAT ? 1 : 1 / 32768
    if (channels === 1) {
      for (let f = 0; f < frames; f++) out[f] = typed[f]! * scale
      return out
    }
    if (code === FORMAT_PCM) {
      // 16-bit samples are multiples of 2^-15 below 1: their float32 sums are exact, so sum the integers.
      const divisor = 32768 * channels
      for (let f = 0, i = 0; f < frames; f++) {
        let sum = typed[i++]!
        for (let c = 1; c < channels; c++) sum += typed[i++]!
        out[f] = sum / divisor
      }
      return out
    }
    if (channels === 2) {
      // The stereo case unrolled: the float32 sum, then the halving (exact), rounded to float32 by the store.
      for (let f = 0, i = 0; f < frames; f++, i += 2) out[f] = Math.fround(typed[i]! + typed[i + 1]!) / 2
      return out
    }
    for (let f = 0, i = 0; f < frames; f++) {
      let sum = typed[i++]!
      for (let c = 1; c < channels; c++) sum = Math.fround(sum + typed[i++]!)
      out[f] = Math.fround(sum / channels)
    }
    return out
  }
  const sample = sampleReader(view, code, bits)
  const out = new Float32Array(frames)
  if (channels === 1) {
    for (let f = 0; f < frames; f++) out[f] = sample(at + f * bytesPer)
    return out
  }
  const stride = channels * bytesPer
  for (let f = 0; f < frames; f++) {
    const base = at + f * stride
    // numpy's mean over the channel axis: float32 sums channel by channel, then one float32 division.
    let sum = sample(base)
    for (let c = 1; c < channels; c++) sum = Math.fround(sum + sample(base + c * bytesPer))
    out[f] = Math.fround(sum / channels)
  }
  return out
}

/**
 * Int16 or Float32 samples as a typed array (the machine little-endian, as every one Node runs on): viewed in
 * place when aligned, else copied once to an aligned buffer (a copy costs a fraction of reading each sample
 * through the DataView; decode.ts asks ffmpeg for a header after which its samples are aligned).
 */
function typedSamples(view: DataView, at: number, count: number, code: number, bits: number): Int16Array | Float32Array | null {
  const bytesPer = code === FORMAT_PCM && bits === 16 ? 2 : code === FORMAT_FLOAT && bits === 32 ? 4 : 0
  if (bytesPer === 0) return null
  let buffer: ArrayBufferLike = view.buffer
  let offset = view.byteOffset + at
  if (offset % bytesPer !== 0) {
    buffer = new Uint8Array(view.buffer, offset, count * bytesPer).slice().buffer
    offset = 0
  }
  return bytesPer === 2 ? new Int16Array(buffer, offset, count) : new Float32Array(buffer, offset, count)
}

/** One sample at a byte offset, as float32 in [-1, 1): integers scaled by 2^-(bits-1) (exact), floats as stored. */
function sampleReader(view: DataView, code: number, bits: number): (at: number) => number {
  if (code === FORMAT_FLOAT) return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => Math.fround(view.getFloat64(at, true))
  switch (bits) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128
    case 16:
      return (at) => view.getInt16(at, true) / 32768
    case 24:
      return (at) => Math.fround(((view.getUint8(at + 2) << 24) | (view.getUint8(at + 1) << 16) | (view.getUint8(at) << 8)) / 2147483648)
    default:
      return (at) => Math.fround(view.getInt32(at, true) / 2147483648)
  }
}
