import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { tempDir } from './helpers/temp.js'
import { alignWeights, domainExclusivityWeights, drawCounts, loadWeights, saveWeights } from '../src/train/sampling.js'
import { hashSeed, rngFor } from '../src/random.js'

const ratio = (w: Float64Array): number => Math.max(...w) / Math.min(...w)
const sum = (w: ArrayLike<number>): number => Array.from(w).reduce((a, b) => a + b, 0)

describe('domainExclusivityWeights', () => {
  it('makes the largest weight exactly k times the smallest, summing to 1', () => {
    for (const k of [2, 5, 10]) {
      const w = domainExclusivityWeights([3.2, -1.7, 0.4, 12, -8.5, 0], 'intermediate', k)
      assert.ok(Math.abs(ratio(w) - k) < 1e-12, `k ${k}: ${ratio(w)}`)
      assert.ok(Math.abs(sum(w) - 1) < 1e-12)
    }
  })

  it('weights source items with low logits and intermediate items with high logits highest', () => {
    const logits = [-3, -1, 0, 2, 5]
    const source = domainExclusivityWeights(logits, 'source')
    const intermediate = domainExclusivityWeights(logits, 'intermediate')
    assert.deepEqual([...source].map((_, i) => i).sort((a, b) => source[b] - source[a]), [0, 1, 2, 3, 4])
    assert.deepEqual([...intermediate].map((_, i) => i).sort((a, b) => intermediate[b] - intermediate[a]), [4, 3, 2, 1, 0])
  })

  it('gives uniform weights when every logit is the same', () => {
    assert.deepEqual([...domainExclusivityWeights([0.3, 0.3, 0.3, 0.3], 'source')], [0.25, 0.25, 0.25, 0.25])
  })

  it('stays exact for logits far from zero (no overflow in the softmax)', () => {
    const w = domainExclusivityWeights([1000, 1001, 1003], 'intermediate')
    assert.ok(Math.abs(ratio(w) - 5) < 1e-12)
  })

  it('refuses a non-finite logit, naming its index', () => {
    assert.throws(() => domainExclusivityWeights([0, Number.NaN], 'source'), /logit 1 is NaN/)
  })
})

describe('drawCounts', () => {
  it('returns per-item counts summing to the draws, by default one draw per item', () => {
    const w = [0.1, 0.2, 0.3, 0.4]
    assert.equal(sum(drawCounts(w, rngFor(1))), 4)
    assert.equal(sum(drawCounts(w, rngFor(1), 1234)), 1234)
  })

  it('draws the same counts for the same seed and other counts for another seed', () => {
    const w = domainExclusivityWeights(Array.from({ length: 50 }, (_, i) => Math.sin(i)), 'source')
    assert.deepEqual(drawCounts(w, rngFor(9, 0, 'draw')), drawCounts(w, rngFor(9, 0, 'draw')))
    assert.notDeepEqual(drawCounts(w, rngFor(9, 0, 'draw')), drawCounts(w, rngFor(9, 1, 'draw')))
  })

  it('draws items with frequencies proportional to their weights', () => {
    const w = [1, 2, 3, 4, 0, 10]
    const counts = drawCounts(w, rngFor(5), 200_000)
    assert.equal(counts[4], 0)
    for (let i = 0; i < w.length; i++) {
      const expected = (200_000 * w[i]) / 20
      assert.ok(Math.abs(counts[i] - expected) <= 0.03 * expected + 1, `item ${i}: ${counts[i]} vs ${expected}`)
    }
  })
})

describe('weights files', () => {
  it('saves weights keyed by record key and loads them back in the same order', async () => {
    const path = join(await tempDir('weights-'), 'weights.jsonl')
    await saveWeights(path, ['b/2', 'a/1', 'c/3'], [0.5, 0.25, 0.25])
    const loaded = await loadWeights(path)
    assert.deepEqual([...loaded], [['b/2', 0.5], ['a/1', 0.25], ['c/3', 0.25]])
    assert.deepEqual([...alignWeights(loaded, ['a/1', 'b/2', 'c/3'])], [0.25, 0.5, 0.25])
  })

  it('refuses to align weights that miss a key of the dataset, naming it', () => {
    assert.throws(() => alignWeights(new Map([['a', 1]]), ['a', 'b', 'c']), /2 of 3 keys have no weight \(first: 'b'\)/)
  })

  it('refuses a malformed line, naming the file and line', async () => {
    const path = join(await tempDir('weights-'), 'bad.jsonl')
    await writeFile(path, '{"key":"a","weight":1}\n{"key":"b","weight":-1}\n')
    await assert.rejects(loadWeights(path), /bad\.jsonl:2: must be/)
  })
})

describe('hashSeed', () => {
  it('separates parts, so concatenations and types do not collide', () => {
    const hashes = [hashSeed('ab', 'c'), hashSeed('a', 'bc'), hashSeed('abc'), hashSeed(1), hashSeed('1'), hashSeed(1, 2), hashSeed(12)]
    assert.equal(new Set(hashes).size, hashes.length)
  })

  it('is a pure function of its parts', () => {
    assert.equal(hashSeed(7, 3, 'clotho/development/rain.wav', 'crop'), hashSeed(7, 3, 'clotho/development/rain.wav', 'crop'))
  })
})
