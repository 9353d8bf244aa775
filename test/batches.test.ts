import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import {
  assembleIntermediateBatch,
  assembleSourceBatch,
  intermediateBatchSize,
} from '../src/train/batches.js'
import { cropOrPadFrames } from '../src/train/crop.js'
import { seededRandom } from '../src/random.js'
import type { Row } from '../src/kinds/record.js'

const N_MELS = 4

/** An audio-text row whose log-mel value at [t][m] is t (so a crop's first value names its offset). */
function audioRow(key: string, frames: number, captions = 3): Row {
  const logMel = new Float32Array(frames * N_MELS)
  for (let t = 0; t < frames; t++) logMel.fill(-t, t * N_MELS, (t + 1) * N_MELS)
  return {
    key, frames, n_mels: N_MELS, log_mel: logMel,
    captions: Array.from({ length: captions }, (_, c) => `caption ${c}`),
    token_ids: Array.from({ length: captions }, (_, c) => Int32Array.from([101, 2000 + c, 2100 + c, 102])),
  }
}

async function imageRow(key: string): Promise<Row> {
  const data = Buffer.alloc(40 * 30 * 3, 90)
  const jpeg = await sharp(data, { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer()
  return {
    key, image_jpeg: new Uint8Array(jpeg), width: 40, height: 30, box: Float32Array.from([0.25, 0.25, 0.5, 0.5]),
    expressions: ['left one', 'the red one'], token_ids: [Int32Array.from([101, 2187, 2028, 102]), Int32Array.from([101, 1996, 2417, 2028, 102])],
  }
}

describe('cropOrPadFrames', () => {
  it('takes the first frames in head mode', () => {
    const { logMel, validFrames, offset } = cropOrPadFrames(audioRow('a', 300).log_mel as Float32Array, 300, N_MELS, 216, { kind: 'head' })
    assert.equal(logMel.length, 216 * N_MELS)
    assert.equal(offset, 0)
    assert.equal(logMel[215 * N_MELS], -215)
    assert.equal(validFrames, 216)
  })

  it('takes a window at a random offset in random mode, inside the clip', () => {
    const offsets = new Set<number>()
    for (let seed = 0; seed < 30; seed++) {
      const { logMel, offset } = cropOrPadFrames(audioRow('a', 300).log_mel as Float32Array, 300, N_MELS, 216, { kind: 'random', rng: seededRandom(seed) })
      assert.ok(offset >= 0 && offset <= 84)
      assert.equal(logMel[0], -offset)
      offsets.add(offset)
    }
    assert.ok(offsets.size > 10)
  })

  it('pads a short clip at the end with its minimum dB and says how many frames are its own', () => {
    const { logMel, validFrames, padValue } = cropOrPadFrames(audioRow('a', 100).log_mel as Float32Array, 100, N_MELS, 216, { kind: 'random', rng: seededRandom(1) })
    assert.equal(validFrames, 100)
    assert.equal(padValue, -99)
    assert.equal(logMel[99 * N_MELS], -99)
    assert.ok(logMel.subarray(100 * N_MELS).every((v) => v === -99))
  })
})

describe('assembleIntermediateBatch', () => {
  const rows = [audioRow('clotho/development/a.wav', 300), audioRow('clotho/development/b.wav', 120), audioRow('clotho/development/c.wav', 216)]

  it('builds [B, 216, nMels] log-mels and [B, maxTokens] padded tokens', () => {
    const batch = assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: 0, maxTokens: 8 })
    assert.equal(batch.logMel.length, 3 * 216 * N_MELS)
    assert.equal(batch.tokens.length, 3 * 8)
    assert.deepEqual(batch.keys, rows.map((r) => r.key))
    const c = batch.captionIndex[0]
    assert.deepEqual([...batch.tokens.subarray(0, 8)], [101, 2000 + c, 2100 + c, 102, 0, 0, 0, 0])
  })

  it('is a pure function of (seed, epoch, key): same batch twice, another crop or caption in another epoch', () => {
    const a = assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: 2, maxTokens: 8 })
    const b = assembleIntermediateBatch([...rows].reverse(), { train: true, seed: 1, epoch: 2, maxTokens: 8 })
    assert.deepEqual(a.logMel.subarray(0, 216 * N_MELS), b.logMel.subarray(2 * 216 * N_MELS)) // order does not matter
    const epochs = Array.from({ length: 8 }, (_, e) => assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: e, maxTokens: 8 }))
    assert.ok(new Set(epochs.map((x) => x.captionIndex[0])).size > 1)
    assert.ok(new Set(epochs.map((x) => x.logMel[0])).size > 1)
  })

  it('uses the first frames, caption 0 and no SpecAugment at evaluation', () => {
    const batch = assembleIntermediateBatch(rows, { train: false, seed: 1, epoch: 5, maxTokens: 8 })
    assert.deepEqual([...batch.captionIndex], [0, 0, 0])
    assert.deepEqual(batch.logMel.subarray(0, 216 * N_MELS), cropOrPadFrames(rows[0].log_mel as Float32Array, 300, N_MELS, 216).logMel)
  })

  it('applies SpecAugment in training only when enabled', () => {
    const on = assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: 0, maxTokens: 8, specAugment: { timeMaskWidth: 64, freqMaskWidth: 2 } })
    const off = assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: 0, maxTokens: 8, specAugment: false })
    assert.notDeepEqual(on.logMel, off.logMel)
  })

  it('refuses a caption with more tokens than the model takes, naming the key', () => {
    assert.throws(() => assembleIntermediateBatch(rows, { train: true, seed: 1, epoch: 0, maxTokens: 3 }), /'clotho\/development\/a\.wav' has 4 tokens, the model takes 3/)
  })
})

describe('assembleSourceBatch', () => {
  it('builds [B, size, size, 3] images, [B, 4] boxes and padded tokens, one expression per item and epoch', async () => {
    const rows = [await imageRow('refcoco/train/1'), await imageRow('refcoco/train/2')]
    const batch = await assembleSourceBatch(rows, { size: 32, augment: true, seed: 3, epoch: 0, maxTokens: 6 })
    assert.equal(batch.images.length, 2 * 32 * 32 * 3)
    assert.equal(batch.boxes.length, 8)
    assert.ok(batch.boxes.every((v) => v >= 0 && v <= 1))
    const again = await assembleSourceBatch(rows, { size: 32, augment: true, seed: 3, epoch: 0, maxTokens: 6 })
    assert.deepEqual(again, batch)
    const e = batch.expressionIndex[0]
    const ids = rows[0].token_ids as Int32Array[]
    assert.deepEqual([...batch.tokens.subarray(0, ids[e].length)], [...ids[e]])
  })

  it('letterboxes and uses expression 0 when not augmenting', async () => {
    const batch = await assembleSourceBatch([await imageRow('refcoco/val/1')], { size: 40, augment: false, seed: 3, epoch: 0, maxTokens: 6 })
    assert.deepEqual([...batch.expressionIndex], [0])
    assert.deepEqual([...batch.boxes], [0.25, 0.25 * 0.75 + 0.125, 0.5, 0.5 * 0.75].map((v) => Math.fround(v))) // 40 x 30 -> offsetY 5 px
  })
})

describe('intermediateBatchSize', () => {
  it('balances the intermediate batch to the corpus sizes, at least 1', () => {
    assert.equal(intermediateBatchSize(64, 120_000, 19_195), 10)
    assert.equal(intermediateBatchSize(64, 1000, 3000), 192)
    assert.equal(intermediateBatchSize(64, 1_000_000, 10), 1)
  })
})

