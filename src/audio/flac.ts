// FLAC read in-process by turnkit's decoder in wasm/turnkit-audio.wasm (native/audio/turnkit-flac.c): native FLAC
// streams of 4 to 24 bits and 1 to 8 channels, every frame's CRCs checked, decoded straight to mono float32 as
// librosa.load reads a FLAC through soundfile (int / 2^(bits-1), then the float32 mean of the channels). FLAC is
// lossless, so these are the samples ffmpeg and libsndfile give, bit for bit (test/decode.test.ts). Anything the
// decoder does not take is not read here: `decodeFlac` says why, and the caller hands the file to ffmpeg.
import { audioWasm } from './wasm.js'
import { resampleSoxrInWasm } from './soxr.js'

/** A FLAC stream decoded (up to a limit) and mixed to mono. */
export interface FlacAudio {
  sampleRate: number
  channels: number
  bitsPerSample: number
  /** samples per channel in the stream (STREAMINFO's total), even when fewer were decoded */
  frames: number
  /** mono float32: the first min(frames, limit) samples (decodeFlac), or the window resampled (decodeFlacResampled) */
  samples: Float32Array
}

export type FlacResult = { ok: true; audio: FlacAudio } | { ok: false; reason: string }

/** The decoder's error codes (turnkit-flac.c), in words. */
const REASONS: Record<number, string> = {
  [-1]: 'not a native FLAC stream',
  [-2]: 'a FLAC stream this decoder does not take (no STREAMINFO, an unknown length or more than 24 bits)',
  [-3]: 'a frame this decoder cannot read (lost sync, a reserved code, or a format unlike STREAMINFO)',
  [-4]: 'a CRC mismatch',
  [-5]: 'the stream ends before its STREAMINFO length',
  [-6]: 'out of memory',
}

/** The zero bytes the decoder's bit reader may look ahead past the end (TK_FLAC_PADDING). */
const PADDING = 32

/** Whether `head` (a file's first bytes) starts like a FLAC file: the marker, or an ID3v2 tag that may precede it. */
export const looksLikeFlac = (head: Uint8Array): boolean =>
  head.length >= 4 && ((head[0] === 0x66 && head[1] === 0x4c && head[2] === 0x61 && head[3] === 0x43) || (head[0] === 0x49 && head[1] === 0x44 && head[2] === 0x33))

/**
 * Decode the FLAC file `bytes` to mono float32: the first `limit(sampleRate)` samples (default all).
 * Never throws for bad input: returns `{ ok: false }` with a reason.
 */
export function decodeFlac(bytes: Uint8Array, limit: (sampleRate: number) => number = () => Infinity): FlacResult {
  return withDecodedFlac(bytes, limit, (output, decoded) => new Float32Array(audioWasm().memory.buffer, output, decoded).slice())
}

/**
 * decodeFlac's samples from frame `window(rate).first` to `window(rate).end`, resampled to `outRate` by libsoxr
 * (soxr.ts) where the decoder left them, in the module's memory: what decode.ts needs, without copying the
 * decoded samples out and back in.
 */
export function decodeFlacResampled(bytes: Uint8Array, window: (sampleRate: number) => { first: number; end: number }, outRate: number): FlacResult {
  return withDecodedFlac(
    bytes,
    (rate) => window(rate).end,
    (output, decoded, rate) => {
      const from = Math.min(window(rate).first, decoded)
      return resampleSoxrInWasm(output + 4 * from, decoded - from, rate, outRate)
    },
  )
}

/** Decodes into the module's memory and hands `use` the output's byte offset, its sample count and the rate. */
function withDecodedFlac(bytes: Uint8Array, limit: (sampleRate: number) => number, use: (output: number, decoded: number, sampleRate: number) => Float32Array): FlacResult {
  const e = audioWasm()
  let input = e.tk_alloc(bytes.length + PADDING)
  const info = e.tk_alloc(20)
  let output = 0
  try {
    if (input === 0 || info === 0) return { ok: false, reason: REASONS[-6]! }
    const heap = new Uint8Array(e.memory.buffer)
    heap.set(bytes, input)
    heap.fill(0, input + bytes.length, input + bytes.length + PADDING)
    const header = e.tk_flac_info(input, bytes.length, info)
    if (header < 0) return { ok: false, reason: REASONS[header] ?? `error ${header}` }
    const [sampleRate, channels, bitsPerSample, totalLow, totalHigh] = new Uint32Array(e.memory.buffer, info, 5)
    const frames = totalHigh! * 2 ** 32 + totalLow!
    const wanted = Math.max(0, Math.min(frames, Math.floor(limit(sampleRate!))))
    if (wanted > 2 ** 31 - 1) return { ok: false, reason: `${frames} samples per channel: more than this decoder takes at once` }
    output = e.tk_alloc(Math.max(4, wanted * 4))
    if (output === 0) return { ok: false, reason: REASONS[-6]! }
    let decoded: number
    try {
      decoded = e.tk_flac_decode(input, bytes.length, wanted, output)
    } catch (error) {
      // The decoder checks every read against the end; a trap would be a bug in it, and still this file's alone.
      return { ok: false, reason: `the decoder failed (${error instanceof Error ? error.message : String(error)})` }
    }
    if (decoded < 0) return { ok: false, reason: REASONS[decoded] ?? `error ${decoded}` }
    // The input is not needed any more: give its memory back before `use` allocates (a large file's is large).
    e.tk_free(input)
    input = 0
    const samples = use(output, decoded, sampleRate!)
    return { ok: true, audio: { sampleRate: sampleRate!, channels: channels!, bitsPerSample: bitsPerSample!, frames, samples } }
  } finally {
    if (input !== 0) e.tk_free(input)
    e.tk_free(info)
    if (output !== 0) e.tk_free(output)
  }
}
