// Log-mels enter the model at a fixed length (docs/method.md: 216 frames = 10 s at 22,050 Hz, hop 1024). Longer clips
// are cropped (a random window in training, the first frames at evaluation: "first 10 s"), shorter ones padded.

/** TURN's model input length, frames. */
export const AUDIO_FRAMES = 216

/** How to choose the window: a random offset from `rng` (training), or the first frames (evaluation). */
export type CropMode = { kind: 'random'; rng: () => number } | { kind: 'head' }

/** A fixed-length log-mel; its first `validFrames` frames hold audio, the rest padding. */
export interface CroppedLogMel {
  /** [target][nMels] frame-major, dB */
  logMel: Float32Array
  /** first source frame used (0 in head mode and for short clips) */
  offset: number
  /** frames taken from the clip: min(frames, target) */
  validFrames: number
  /** the value padded frames hold */
  padValue: number
}

/**
 * Crop or pad a frame-major log-mel ([frames][nMels], dB) to `target` frames. A clip longer than `target` gives
 * a window starting at floor(rng() · (frames − target + 1)) in 'random' mode (one rng draw) or at 0 in 'head'
 * mode. A shorter clip is copied to the start and padded at the end with its own minimum dB: the stored log-mels
 * are floored at 80 dB below the clip's maximum (librosa power_to_db(top_db=80)), so the clip's minimum is its
 * silence level and padding looks like silence rather than like a loud or absolute constant. `padValue`
 * overrides it. Throws when the array length is not frames x nMels or sizes are not positive integers.
 */
export function cropOrPadFrames(
  logMel: Float32Array,
  frames: number,
  nMels: number,
  target = AUDIO_FRAMES,
  mode: CropMode = { kind: 'head' },
  padValue?: number,
): CroppedLogMel {
  for (const [name, v] of [['frames', frames], ['nMels', nMels], ['target', target]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`cropOrPadFrames: ${name} = ${v} must be a positive integer`)
  }
  if (logMel.length !== frames * nMels) throw new Error(`cropOrPadFrames: ${logMel.length} values, frames ${frames} x nMels ${nMels} needs ${frames * nMels}`)
  const out = new Float32Array(target * nMels)
  if (frames >= target) {
    const offset = mode.kind === 'random' ? Math.min(frames - target, Math.floor(mode.rng() * (frames - target + 1))) : 0
    out.set(logMel.subarray(offset * nMels, (offset + target) * nMels))
    return { logMel: out, offset, validFrames: target, padValue: padValue ?? minimum(logMel) }
  }
  const pad = padValue ?? minimum(logMel)
  out.set(logMel)
  out.fill(pad, frames * nMels)
  return { logMel: out, offset: 0, validFrames: frames, padValue: pad }
}

function minimum(values: Float32Array): number {
  let min = Infinity
  for (let i = 0; i < values.length; i++) if (values[i] < min) min = values[i]
  return min
}
