import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { tempDir } from './helpers/temp.js'
import { DatasetWriter } from '../src/dataset/writer.js'
import { loadSchema } from '../src/dataset/schema.js'
import type { Cursor, ShardStream, StreamItem } from '../src/dataset/stream.js'
import { openDataset } from '../src/dataset/dataset.js'
import { domainExclusivityWeights, drawCounts } from '../src/train/sampling.js'
import { rngFor } from '../src/random.js'
import type { Row } from '../src/kinds/record.js'

/**
 * A tiny audio-text dataset written with the real shard writer and manifest: `rows` rows split over `shards`
 * part files, `rowGroupRows` rows per row group. Row i has key `k/00000i`, a 2 x 3 log-mel filled with i.
 */
async function tinyDataset(rows: number, { shards = 3, rowGroupRows = 4 } = {}): Promise<string> {
  const dir = await tempDir('stream-')
  const schema = await loadSchema('audio-text')
  const all: Row[] = Array.from({ length: rows }, (_, i) => ({
    key: `k/${String(i).padStart(6, '0')}`,
    corpus: 'clotho',
    split: 'development',
    source_path: `development/${i}.wav`,
    duration_sec: 1,
    num_samples: 22_050,
    frames: 2,
    n_mels: 3,
    log_mel: new Float32Array(6).fill(i),
    captions: [`caption ${i}`],
    token_ids: [Int32Array.from([101, 1000 + i, 102])],
    rms_dbfs: -20,
    peak: 0.5,
    spectral_flatness: 0.1,
    silent: false,
    source_ids: [],
  }))
  await DatasetWriter.write(dir, { pipeline: 'test', schema, settings: { audio: { nMels: 3 } }, rows: all, shardRows: Math.ceil(rows / shards), rowGroupRows, tool: { name: 'turnkit', version: 'test' } })
  return dir
}

async function epochIndices(stream: ShardStream): Promise<number[]> {
  const out: number[] = []
  for await (const item of stream) out.push(item.index)
  return out
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

describe('ShardStream', () => {
  it('visits every item of an epoch exactly once, each row matching its global index', async () => {
    const dir = await tinyDataset(50)
    const dataset = await openDataset(dir)
    const stream = await dataset.stream({ seed: 7, windowBlocks: 3 })
    const keys = await dataset.keys()
    const items: StreamItem[] = []
    for await (const item of stream) items.push(item)
    await stream.close()
    assert.deepEqual(items.map((i) => i.index).sort((a, b) => a - b), range(50))
    assert.deepEqual(items.map((i) => i.row.key), items.map((i) => keys[i.index]))
    assert.deepEqual(items.map((i) => i.position), range(50))
  })

  it('lists every key in global index order by reading only the key column', async () => {
    const dir = await tinyDataset(11)
    const dataset = await openDataset(dir)
    const stream = await dataset.stream()
    assert.deepEqual(await dataset.keys(), range(11).map((i) => `k/${String(i).padStart(6, '0')}`))
    assert.equal(stream.stats.rowGroupReads, 0) // keys() never loads whole row groups
    await stream.close()
  })

  it('gives the same order for the same seed and epoch, and another order for another epoch or seed', async () => {
    const dir = await tinyDataset(40)
    const a = await (await openDataset(dir)).stream({ seed: 3 })
    const b = await (await openDataset(dir)).stream({ seed: 3 })
    const c = await (await openDataset(dir)).stream({ seed: 4 })
    const a0 = await epochIndices(a)
    const a1 = await epochIndices(a) // the stream moves on to epoch 1
    assert.deepEqual(await epochIndices(b), a0)
    assert.notDeepEqual(a1, a0)
    assert.notDeepEqual(await epochIndices(c), a0)
    for (const s of [a, b, c]) await s.close()
  })

  it('continues exactly from a saved cursor in the middle of an epoch, loading only the window that holds it', async () => {
    const dir = await tinyDataset(60)
    const whole = await (await openDataset(dir)).stream({ seed: 11, windowBlocks: 2 })
    const epoch0 = await whole.take(60)
    const epoch1 = await whole.take(60)
    await whole.close()
    const saved: Cursor = epoch0[36].cursor // as checkpointed after consuming item 36
    const resumed = await (await openDataset(dir)).stream({ seed: 11, windowBlocks: 2, prefetchWindows: 0 })
    resumed.seek(saved)
    const first = await resumed.next()
    assert.equal(resumed.stats.windowLoads, 1)
    assert.ok(resumed.stats.rowGroupReads <= 2)
    const rest = [first, ...(await resumed.take(60 - 37 - 1))]
    assert.deepEqual(rest.map((i) => i.index), epoch0.slice(37).map((i) => i.index))
    assert.deepEqual(rest.map((i) => i.position), range(23).map((p) => p + 37))
    // and on into the next epoch, unchanged by the interruption
    assert.deepEqual((await resumed.take(60)).map((i) => i.index), epoch1.map((i) => i.index))
    await resumed.close()
  })

  it('holds at most windowBlocks x (1 + prefetchWindows) row groups at a time', async () => {
    const dir = await tinyDataset(100, { rowGroupRows: 3 }) // 34+ row groups
    const stream = await (await openDataset(dir)).stream({ seed: 1, windowBlocks: 3, prefetchWindows: 1 })
    assert.ok(stream.blocks.length >= 30)
    let count = 0
    for await (const item of stream) count += item.row.frames === 2 ? 1 : 0
    await stream.take(10) // across the epoch boundary too
    assert.equal(count, 100)
    assert.ok(stream.stats.maxRowGroupsHeld <= 6, `held ${stream.stats.maxRowGroupsHeld}`)
    assert.ok(stream.stats.maxRowGroupsHeld >= 4) // the prefetch did run ahead
    await stream.close()
  })

  it('repeats an item as often as its count says and skips items with count 0', async () => {
    const dir = await tinyDataset(12)
    const counts = Uint32Array.from(range(12).map((i) => i % 3)) // 0, 1, 2, 0, 1, 2, ...
    const stream = await (await openDataset(dir)).stream({ seed: 5, counts })
    assert.equal(stream.epochLength(0), 12)
    const seen = new Uint32Array(12)
    for (const index of await epochIndices(stream)) seen[index] += 1
    assert.deepEqual([...seen], [...counts])
    await stream.close()
  })

  it('draws items over many batches with frequencies that follow the adaptive weights (max/min close to k = 5)', async () => {
    const dir = await tinyDataset(10, { shards: 2, rowGroupRows: 2 })
    const logits = range(10).map((i) => -2 + (4 * i) / 9) // Φ of source texts
    const weights = domainExclusivityWeights(logits, 'source', 5)
    const seed = 21
    const stream = await (await openDataset(dir)).stream({ seed, counts: (epoch) => drawCounts(weights, rngFor(seed, epoch, 'draw'), 1000) })
    const seen = new Float64Array(10)
    for (let batch = 0; batch < 400; batch++) for (const item of await stream.take(50)) seen[item.index] += 1 // 20,000 draws
    await stream.close()
    const total = seen.reduce((a, b) => a + b, 0)
    assert.equal(total, 20_000)
    const ratio = Math.max(...seen) / Math.min(...seen)
    assert.ok(Math.abs(ratio - 5) < 0.5, `max/min frequency ${ratio.toFixed(3)}`)
    assert.ok(seen[0] === Math.max(...seen) && seen[9] === Math.min(...seen)) // low Φ drawn most
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(seen[i] / total - weights[i]) < 0.1 * weights[i], `item ${i}`)
  })

  it('refuses a cursor past the end of its epoch, naming the position', async () => {
    const dir = await tinyDataset(5)
    const stream = await (await openDataset(dir)).stream()
    assert.throws(() => stream.seek({ epoch: 0, position: 6 }), /position 6 is past the end of epoch 0 \(5 items\)/)
    await stream.close()
  })

  it('refuses counts of the wrong length, naming both sizes', async () => {
    const dir = await tinyDataset(5)
    await assert.rejects((await openDataset(dir)).stream({ counts: new Uint32Array(4) }), /counts has 4 entries, .* has 5 rows/)
  })
})
