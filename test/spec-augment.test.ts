import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applySpecAugment, specAugment, specAugmentMasks } from '../src/audio/spec-augment.js'

const keys = ['clotho/development/rain.wav', 'audiocaps/train/91139', 'clotho/evaluation/bird.wav']

describe('specAugmentMasks', () => {
  it('draws identical masks for the same seed, epoch and record key', () => {
    for (const key of keys) {
      assert.deepEqual(specAugmentMasks(216, 128, { seed: 3, epoch: 4, key }), specAugmentMasks(216, 128, { seed: 3, epoch: 4, key }))
    }
  })

  it('draws different masks in different epochs', () => {
    for (const key of keys) {
      assert.notDeepEqual(specAugmentMasks(216, 128, { seed: 3, epoch: 4, key }), specAugmentMasks(216, 128, { seed: 3, epoch: 5, key }))
    }
  })

  it('draws different masks for different keys in the same epoch', () => {
    assert.notDeepEqual(specAugmentMasks(216, 128, { seed: 3, epoch: 4, key: keys[0] }), specAugmentMasks(216, 128, { seed: 3, epoch: 4, key: keys[1] }))
  })

  it('draws 2 time masks shorter than 64 frames and 2 frequency masks shorter than 8 bands, inside the spectrogram', () => {
    for (let epoch = 0; epoch < 200; epoch++) {
      const { timeMasks, freqMasks } = specAugmentMasks(216, 128, { seed: 1, epoch, key: 'k' })
      assert.equal(timeMasks.length, 2)
      assert.equal(freqMasks.length, 2)
      for (const [start, length] of timeMasks) assert.ok(length >= 0 && length < 64 && start >= 0 && start + length <= 216)
      for (const [start, length] of freqMasks) assert.ok(length >= 0 && length < 8 && start >= 0 && start + length <= 128)
    }
  })

  it('draws one time mask per 64-frame stride when asked to', () => {
    const { timeMasks } = specAugmentMasks(216, 128, { seed: 1, epoch: 0, key: 'k' }, { timeMasks: { perFrames: 64 } })
    assert.equal(timeMasks.length, 4)
  })
})

describe('applySpecAugment', () => {
  it('fills exactly the masked frames and bands and leaves the input untouched', () => {
    const frames = 6
    const nMels = 4
    const input = Float32Array.from({ length: frames * nMels }, (_, i) => i)
    const out = applySpecAugment(input, frames, nMels, { timeMasks: [[1, 2]], freqMasks: [[3, 1]] }, -1)
    const expected = Float32Array.from(input, (v, i) => {
      const t = Math.floor(i / nMels)
      const m = i % nMels
      return t === 1 || t === 2 || m === 3 ? -1 : v
    })
    assert.deepEqual(out, expected)
    assert.deepEqual(input, Float32Array.from({ length: frames * nMels }, (_, i) => i))
  })

  it('fills with the clip mean by default', () => {
    const input = new Float32Array(216 * 8).fill(-40)
    input.fill(-20, 0, 108 * 8) // mean -30
    const out = specAugment(input, 216, 8, { seed: 0, epoch: 0, key: 'x' }, { freqMasks: 0 })
    const masked = specAugmentMasks(216, 8, { seed: 0, epoch: 0, key: 'x' }, { freqMasks: 0 }).timeMasks
    const [start, length] = masked.find(([, l]) => l > 0) ?? [0, 0]
    if (length > 0) assert.equal(out[start * 8], -30)
  })
})
