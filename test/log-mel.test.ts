import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  LOG_MEL_DEFAULTS,
  createLogMel,
  createStftPower,
  logMelFrames,
  logMelSpectrogram,
  melFilterbank,
  type LogMelConfig,
} from '../src/audio/log-mel.js'

// Written by scripts/librosa-reference.py (librosa 0.11); see that script for the signals.
interface FixtureSignal {
  name: string
  config: LogMelConfig
  numSamples: number
  samples: string
  frames: number
  nMels: number
  logMel: string
  spectralFlatnessMean: number
}
interface FixtureFilterbank {
  config: LogMelConfig
  nMels: number
  nBins: number
  bands: { firstBin: number; weights: string }[]
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/librosa-log-mel.json', import.meta.url), 'utf8')) as {
  signals: FixtureSignal[]
  melFilterbanks: FixtureFilterbank[]
}
// Base64 little-endian float32; copied so the Float32Array is aligned (Buffer.from may return a pooled slice).
const float32 = (base64: string): Float32Array => new Float32Array(Uint8Array.from(Buffer.from(base64, 'base64')).buffer)

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
  return max
}

// Deterministic uniform noise in [-1, 1) from a 32-bit LCG (Numerical Recipes constants).
const lcgNoise = (seed: number, length: number): Float32Array => {
  const out = new Float32Array(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state / 2 ** 31 - 1
  }
  return out
}

describe('logMelFrames', () => {
  it('counts 1 + floor(samples / hop) centred frames, 216 for 10 s at 22,050 Hz', () => {
    assert.deepEqual([logMelFrames(220_500, 1024), logMelFrames(0, 1024), logMelFrames(1023, 1024), logMelFrames(1024, 1024)], [216, 1, 1, 2])
  })
})

describe('logMelSpectrogram', () => {
  it('gives 216 frames of 128 bands for a 10 s clip at the defaults', () => {
    const { frames, nMels, data } = logMelSpectrogram(new Float32Array(220_500))
    assert.deepEqual({ frames, nMels, length: data.length }, { frames: 216, nMels: 128, length: 216 * 128 })
  })

  for (const signal of fixture.signals) {
    it(`matches librosa power_to_db(melspectrogram) within 1e-4 dB on ${signal.name}`, () => {
      const expected = float32(signal.logMel)
      const out = createLogMel(signal.config)(float32(signal.samples))
      assert.deepEqual({ frames: out.frames, nMels: out.nMels }, { frames: signal.frames, nMels: signal.nMels })
      const error = maxAbsDiff(out.data, expected)
      assert.ok(error < 1e-4, `max abs error ${error} dB`) // measured 3.8e-6 to 7.6e-6 dB: float32 rounding
    })
  }

  it('raises exactly the values librosa raises to the floor, 80 dB below the clip maximum', () => {
    const signal = fixture.signals.find((s) => s.name === 'silence-gaps-3s')
    assert.ok(signal)
    const { data } = createLogMel(signal.config)(float32(signal.samples))
    const expected = float32(signal.logMel)
    const floorOf = (a: Float32Array) => a.reduce((m, v) => Math.min(m, v), Infinity)
    const atFloor = (a: Float32Array) => {
      const floor = floorOf(a)
      return a.filter((v) => v === floor).length
    }
    const max = data.reduce((m, v) => Math.max(m, v), -Infinity)
    assert.ok(Math.abs(max - floorOf(data) - 80) < 1e-5)
    assert.equal(atFloor(data), atFloor(expected)) // 7141 of 65 x 128 values
  })

  it('gives 10 * log10(amin) = -100 dB everywhere for digital silence, since the floor lies below it', () => {
    const { data } = logMelSpectrogram(new Float32Array(5000))
    assert.deepEqual(new Set(data), new Set([-100]))
  })

  it('is what createLogMel returns for the same config', () => {
    const samples = lcgNoise(7, 9000)
    assert.deepEqual(logMelSpectrogram(samples, { nMels: 40 }), createLogMel({ nMels: 40 })(samples))
  })

  it('shows each frame power spectrum to onPowerFrame once, in order, with nFft / 2 + 1 bins', () => {
    const seen: [number, number][] = []
    createLogMel({ nFft: 512, hopLength: 256, nMels: 32 })(lcgNoise(1, 1000), (power, frame) => seen.push([frame, power.length]))
    assert.deepEqual(seen, [0, 1, 2, 3].map((f) => [f, 257]))
  })
})

describe('createStftPower', () => {
  it('equals |DFT|^2 of each centred, zero-padded, periodic-Hann-windowed frame', () => {
    for (const nFft of [4, 8, 16, 64]) {
      const hop = nFft / 4 + 1
      const samples = lcgNoise(nFft, 3 * nFft + 5)
      const got: number[][] = []
      createStftPower({ nFft, hopLength: hop })(samples, (power) => got.push([...power]))
      const expected: number[][] = []
      for (let t = 0; t < logMelFrames(samples.length, hop); t++) {
        const frame = Array.from({ length: nFft }, (_, n) => {
          const i = t * hop - nFft / 2 + n
          const x = i >= 0 && i < samples.length ? samples[i] : 0
          return x * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft))
        })
        expected.push(
          Array.from({ length: nFft / 2 + 1 }, (_, k) => {
            let re = 0
            let im = 0
            for (let n = 0; n < nFft; n++) {
              re += frame[n] * Math.cos((2 * Math.PI * k * n) / nFft)
              im -= frame[n] * Math.sin((2 * Math.PI * k * n) / nFft)
            }
            return re * re + im * im
          }),
        )
      }
      assert.equal(got.length, expected.length)
      const worst = Math.max(...got.flatMap((row, t) => row.map((p, k) => Math.abs(p - expected[t][k]))))
      assert.ok(worst < 1e-12, `nFft ${nFft}: max abs error ${worst}`)
    }
  })
})

describe('melFilterbank', () => {
  for (const expected of fixture.melFilterbanks) {
    const { sampleRate, nFft, nMels, fmin, fmax } = expected.config
    it(`equals librosa.filters.mel bit for bit (sr ${sampleRate}, n_fft ${nFft}, ${nMels} mels, ${fmin}-${fmax ?? sampleRate / 2} Hz)`, () => {
      const dense = new Float32Array(expected.nMels * expected.nBins)
      expected.bands.forEach(({ firstBin, weights }, m) => dense.set(float32(weights), m * expected.nBins + firstBin))
      const got = melFilterbank(expected.config)
      assert.deepEqual({ nMels: got.nMels, nBins: got.nBins }, { nMels: expected.nMels, nBins: expected.nBins })
      assert.equal(maxAbsDiff(got.weights, dense), 0)
    })
  }

  it('has non-negative weights and at least one non-zero weight in every band', () => {
    const { weights, nMels, nBins } = melFilterbank()
    assert.ok(weights.every((w) => w >= 0))
    for (let m = 0; m < nMels; m++) assert.ok(weights.subarray(m * nBins, (m + 1) * nBins).some((w) => w > 0), `band ${m}`)
  })

  it('puts every FFT bin under at most two adjacent bands, whose peaks rise with the band index', () => {
    const { weights, nMels, nBins } = melFilterbank()
    for (let k = 0; k < nBins; k++) {
      const bands = [...Array(nMels).keys()].filter((m) => weights[m * nBins + k] > 0)
      assert.ok(bands.length <= 2 && (bands.length < 2 || bands[1] === bands[0] + 1), `bin ${k}: bands ${bands}`)
    }
    const peakBin = (m: number) => {
      const row = weights.subarray(m * nBins, (m + 1) * nBins)
      return row.indexOf(Math.max(...row))
    }
    for (let m = 1; m < nMels; m++) assert.ok(peakBin(m) >= peakBin(m - 1), `band ${m}`)
  })

  it('gives every band unit area in Hz (Slaney norm), up to the sampling of narrow bands by 10.8 Hz bins', () => {
    const { weights, nMels, nBins } = melFilterbank()
    const binHz = LOG_MEL_DEFAULTS.sampleRate / LOG_MEL_DEFAULTS.nFft
    for (let m = 0; m < nMels; m++) {
      const area = weights.subarray(m * nBins, (m + 1) * nBins).reduce((s, w) => s + w, 0) * binHz
      // Bands below ~1 kHz span ~5 bins, so the sampled area wobbles by a few %; wide bands (m >= 64) do not.
      assert.ok(Math.abs(area - 1) < (m < 64 ? 0.05 : 0.005), `band ${m}: area ${area}`)
    }
  })
})

describe('createLogMel', () => {
  it('rejects an unknown setting, naming it', () => {
    assert.throws(() => createLogMel({ nfft: 1024 } as Partial<LogMelConfig>), /logMel: unknown setting 'nfft'/)
  })

  it('rejects an nFft that is not a power of two', () => {
    assert.throws(() => createLogMel({ nFft: 1000 }), /logMel: nFft = 1000: must be a power of two/)
  })

  it('rejects an fmax above the Nyquist frequency', () => {
    assert.throws(() => createLogMel({ fmax: 16_000 }), /fmax = 16000: need fmin < fmax <= sampleRate \/ 2/)
  })

  it('exposes the resolved config, defaults filled in', () => {
    assert.deepEqual(createLogMel({ nMels: 64 }).config, { ...LOG_MEL_DEFAULTS, nMels: 64 })
  })
})
