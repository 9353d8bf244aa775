// wasm/turnkit-audio.wasm, loaded once per thread: libsoxr (soxr.ts), the STFT power kernel (log-mel.ts) and the
// FLAC decoder (flac.ts), built by scripts/build-wasm.sh from Debian's libsoxr source and native/audio/.
// WebAssembly's floats are IEEE without fast-math, so every machine computes the same bits.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../config.js'

/** What the module exports (C names, pointers as byte offsets into `memory`). */
export interface AudioWasm {
  memory: WebAssembly.Memory
  _initialize(): void
  tk_alloc(bytes: number): number
  tk_free(pointer: number): void
  tk_resample(inRate: number, outRate: number, input: number, inputLength: number, output: number, outputLength: number, recipe: number): number
  tk_stft_new(nFft: number, hopLength: number): number
  tk_stft_window(stft: number): number
  tk_stft_power(stft: number, samples: number, length: number, power: number): number
  tk_mel_new(weights: number, mels: number, bins: number): number
  tk_mel_apply(mel: number, power: number, frames: number, out: number): void
  tk_flac_info(input: number, length: number, info: number): number
  tk_flac_decode(input: number, length: number, frames: number, out: number): number
}

let loaded: AudioWasm | undefined

/** The module's exports, instantiated on first use. */
export function audioWasm(): AudioWasm {
  if (loaded !== undefined) return loaded
  const bytes = readFileSync(join(packageRoot(), 'wasm', 'turnkit-audio.wasm'))
  let exports: AudioWasm | undefined
  const view = (): DataView => new DataView((exports as AudioWasm).memory.buffer)
  // The WASI calls libc links in; nothing here makes them while working (no files, no clock, no environment).
  const ENOSYS = 52
  const wasi = {
    environ_get: () => 0,
    environ_sizes_get: (count: number, size: number) => {
      view().setUint32(count, 0, true)
      view().setUint32(size, 0, true)
      return 0
    },
    clock_time_get: () => ENOSYS,
    fd_close: () => ENOSYS,
    fd_seek: () => ENOSYS,
    fd_write: () => ENOSYS,
    proc_exit: (code: number) => {
      throw new Error(`turnkit-audio.wasm exited with ${code}`)
    },
  }
  exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { wasi_snapshot_preview1: wasi }).exports as unknown as AudioWasm
  exports._initialize()
  loaded = exports
  return exports
}
