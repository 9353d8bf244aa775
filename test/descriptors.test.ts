import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  RMS_DBFS_FLOOR,
  SILENT_PEAK,
  clipDescriptors,
  createClipDescriptors,
  describeClip,
  descriptorFraming,
  spectralFlatnessMeter,
} from '../src/audio/descriptors.js'
import { createLogMel, type LogMelConfig } from '../src/audio/log-mel.js'

const SR = 22_050

// Deterministic uniform noise in [-1, 1) from a 32-bit LCG (Numerical Recipes constants).
const lcgNoise = (seed: number, length: number, amplitude = 1): Float32Array => {
  const out = new Float32Array(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = amplitude * (state / 2 ** 31 - 1)
  }
  return out
}
// 441 Hz has exactly 50 samples per period at 22,050 Hz, so 1 s holds whole periods; cos(0) = 1 is the peak.
const cosine = (amplitude: number, seconds = 1): Float32Array =>
  Float32Array.from({ length: Math.round(SR * seconds) }, (_, n) => amplitude * Math.cos((2 * Math.PI * 441 * n) / SR))

describe('clipDescriptors', () => {
  it('gives a full-scale sine an RMS of -3.01 dBFS and a peak of 1', () => {
    const { rmsDbfs, peak, silent } = clipDescriptors(cosine(1), SR)
    assert.ok(Math.abs(rmsDbfs - 20 * Math.log10(Math.SQRT1_2)) < 1e-4, `rmsDbfs ${rmsDbfs}`)
    assert.deepEqual({ peak, silent }, { peak: 1, silent: false })
  })

  it('marks digital silence as silent, with the RMS floor, peak 0 and flatness 1 as librosa', () => {
    assert.deepEqual(clipDescriptors(new Float32Array(SR), SR), {
      rmsDbfs: RMS_DBFS_FLOOR,
      peak: 0,
      spectralFlatness: 1,
      silent: true,
    })
  })

  it('describes an empty clip like silence instead of returning NaN', () => {
    assert.deepEqual(clipDescriptors(new Float32Array(0), SR), { rmsDbfs: -120, peak: 0, spectralFlatness: 1, silent: true })
  })

  it('calls a clip silent when its peak is just below 1e-4 and not when it is just above', () => {
    const quiet = clipDescriptors(cosine(0.99 * SILENT_PEAK), SR)
    const audible = clipDescriptors(cosine(1.01 * SILENT_PEAK), SR)
    assert.deepEqual([quiet.silent, audible.silent], [true, false])
  })

  it('finds white noise flat (about exp(-Euler gamma) = 0.56) and a sine far from flat', () => {
    const noise = clipDescriptors(lcgNoise(42, 5 * SR, 0.5), SR).spectralFlatness
    const sine = clipDescriptors(cosine(0.5, 5), SR).spectralFlatness
    assert.ok(Math.abs(noise - 0.5615) < 0.02, `noise flatness ${noise}`)
    assert.ok(sine < 0.01, `sine flatness ${sine}`)
  })

  it('does not depend on the level of the signal', () => {
    const loud = clipDescriptors(lcgNoise(3, SR, 0.5), SR).spectralFlatness
    const soft = clipDescriptors(lcgNoise(3, SR, 0.005), SR).spectralFlatness
    assert.ok(Math.abs(loud - soft) < 1e-9)
  })

  it('rejects a sample rate that is not a positive number', () => {
    assert.throws(() => clipDescriptors(new Float32Array(10), 0), /clipDescriptors: sampleRate = 0: must be a positive number/)
  })
})

describe('descriptorFraming', () => {
  it('uses the log-mel framing at 22,050 Hz and about 93 ms frames at other rates', () => {
    assert.deepEqual([22_050, 44_100, 16_000, 8000].map(descriptorFraming), [
      { nFft: 2048, hopLength: 1024 },
      { nFft: 4096, hopLength: 2048 },
      { nFft: 2048, hopLength: 1024 },
      { nFft: 1024, hopLength: 512 },
    ])
  })
})

describe('describeClip', () => {
  it('returns the log-mel of createLogMel and the descriptors of clipDescriptors from one FFT pass', () => {
    const samples = lcgNoise(9, 2 * SR, 0.3)
    const logMel = createLogMel()
    assert.deepEqual(describeClip(samples, logMel), { logMel: logMel(samples), descriptors: createClipDescriptors(SR)(samples) })
  })

  // librosa.feature.spectral_flatness(y, n_fft, hop_length).mean(), from scripts/librosa-reference.py
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/librosa-log-mel.json', import.meta.url), 'utf8')) as {
    signals: { name: string; config: LogMelConfig; samples: string; spectralFlatnessMean: number }[]
  }
  for (const signal of fixture.signals) {
    it(`matches the mean of librosa spectral_flatness within 1e-5 relative on ${signal.name}`, () => {
      const samples = new Float32Array(Uint8Array.from(Buffer.from(signal.samples, 'base64')).buffer)
      const { spectralFlatness } = describeClip(samples, createLogMel(signal.config)).descriptors
      const relative = Math.abs(spectralFlatness / signal.spectralFlatnessMean - 1)
      assert.ok(relative < 1e-5, `${spectralFlatness} vs ${signal.spectralFlatnessMean}`) // measured <= 5.2e-7
    })
  }
})

describe('spectralFlatnessMeter', () => {
  it('averages the per-frame flatness and is NaN before any frame', () => {
    const meter = spectralFlatnessMeter()
    const before = meter.mean()
    meter.add(Float64Array.from([1, 1, 1, 1]), 0) // flat: 1
    meter.add(Float64Array.from([4, 1e-10, 1e-10, 1e-10]), 1) // geometric mean 4e-7.5, arithmetic ~1
    const expected = (1 + (4 * 1e-30) ** 0.25 / ((4 + 3e-10) / 4)) / 2
    assert.ok(Number.isNaN(before))
    assert.ok(Math.abs(meter.mean() - expected) < 1e-12)
  })
})
