// libsoxr in WebAssembly (wasm/turnkit-audio.wasm, built by scripts/build-wasm.sh from Debian's libsoxr 0.1.3): the
// resampler librosa.load uses by default (res_type 'soxr_hq', through python-soxr), run in-process with the same
// quality recipe, so no process is spawned per clip.
import { audioWasm } from './wasm.js'

/** libsoxr's quality recipes as soxr.h numbers them: HQ is librosa's default (20-bit precision). */
export const SOXR_RECIPES = { hq: 4, vhq: 6 } as const
export type SoxrRecipe = keyof typeof SOXR_RECIPES

/** What the manifest records of the resampler: it changes bytes. */
export const SOXR_BUILD = 'libsoxr 0.1.3 (Debian 0.1.3-4), cr32/cr64 engines with fft4g, wasm32 -O3'

/**
 * Resample mono float32 `samples` from `inRate` to `outRate` Hz with libsoxr's one-shot call (the whole signal,
 * then the flush), as python-soxr's `soxr.resample(x, in_rate, out_rate, quality)` does. Returns a new array of
 * round(length * outRate / inRate) samples. Throws when libsoxr reports an error.
 */
export function resampleSoxr(samples: Float32Array, inRate: number, outRate: number, recipe: SoxrRecipe = 'hq'): Float32Array {
  if (inRate === outRate) return samples.slice()
  const e = audioWasm()
  const input = e.tk_alloc(Math.max(4, samples.length * 4))
  try {
    if (input === 0) throw new Error(`soxr: out of memory for ${samples.length} samples`)
    new Float32Array(e.memory.buffer, input, samples.length).set(samples)
    return resampleSoxrInWasm(input, samples.length, inRate, outRate, recipe)
  } finally {
    e.tk_free(input)
  }
}

/**
 * resampleSoxr of `length` samples that already lie in turnkit-audio.wasm's memory at byte offset `input` (a
 * decoder's output there: no copy out and back in).
 */
export function resampleSoxrInWasm(input: number, length: number, inRate: number, outRate: number, recipe: SoxrRecipe = 'hq'): Float32Array {
  const e = audioWasm()
  if (inRate === outRate) return new Float32Array(e.memory.buffer, input, length).slice()
  const room = Math.ceil((length * outRate) / inRate) + 64
  const output = e.tk_alloc(room * 4)
  try {
    if (output === 0) throw new Error(`soxr: out of memory for ${length} samples`)
    const written = e.tk_resample(inRate, outRate, input, length, output, room, SOXR_RECIPES[recipe])
    if (written < 0) throw new Error(`soxr: resampling ${inRate} -> ${outRate} Hz failed`)
    return new Float32Array(e.memory.buffer, output, written).slice()
  } finally {
    e.tk_free(output)
  }
}
