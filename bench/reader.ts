// Reader bench: samples/s the training data side delivers (ShardStream + batch assembly), to set against what the
// model consumes per second (bench/model.ts). Intermediate: an AudioCaps dataset of 10 s clips built with the real
// CLI (`turnkit fixtures audiocaps` then `turnkit prepare`), read with SpecAugment and random crops on.
// Source: a RefCOCO dataset built the same way (`turnkit fixtures refcoco`, `prepare refcoco`), read with image
// augmentation on. Where the refcoco corpus is not registered (older trees), synthetic rows shaped as the image
// stage stores them (JPEG, shortest edge 384) are augmented instead, without the Parquet read, and the figures
// say so.
// Usage: node --import tsx bench/reader.ts [clips] [images]   (also called by bench/run.ts when wired in)
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { seededRandom } from '../src/random.js'
import { assembleIntermediateBatch, assembleSourceBatch } from '../src/train/batches.js'
import { openDataset } from '../src/dataset/dataset.js'
import type { Row } from '../src/kinds/record.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const BIN = join(ROOT, 'bin', 'turnkit.js')

const round = (x: number, digits = 1): number => Number(x.toFixed(digits))

/**
 * A dataset of `corpus` made with the real CLI (`fixtures` then `prepare`, 2 workers); cached under bench/.cache.
 * Throws the CLI's stderr when either step fails.
 */
function cliDataset(corpus: string, items: number, fixtureArgs: string[] = []): string {
  const src = join(CACHE, `reader-${corpus}-src-${items}`)
  const out = join(CACHE, `reader-${corpus}-ds-${items}`)
  if (existsSync(join(out, 'manifest.json'))) return out
  const run = (args: string[]): void => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`turnkit ${args.join(' ')} failed: ${r.stderr}`)
  }
  spawnSync('rm', ['-rf', src, out])
  run(['fixtures', corpus, '--out', src, '--clips', String(items), '--seed', '1', ...fixtureArgs])
  run(['prepare', corpus, '--src', src, '--out', out, '--workers', '2', '--quiet', '--json'])
  return out
}

/** Samples/s of the intermediate side: stream + crop + SpecAugment + caption + tokens, batch by batch. */
async function benchIntermediate(dir: string, batch: number, epochs: number): Promise<Record<string, number>> {
  const stream = await (await openDataset(dir)).stream({ seed: 1, windowBlocks: 4, prefetchWindows: 1 })
  const items = stream.epochLength(0) * epochs
  let waitMs = 0
  let assembleMs = 0
  let done = 0
  const started = performance.now()
  while (done < items) {
    const n = Math.min(batch, items - done)
    let t = performance.now()
    const rows = await stream.take(n)
    waitMs += performance.now() - t
    t = performance.now()
    assembleIntermediateBatch(rows.map((r) => r.row), { train: true, seed: 1, epoch: rows.map((r) => r.epoch), maxTokens: 30 })
    assembleMs += performance.now() - t
    done += n
  }
  const seconds = (performance.now() - started) / 1000
  const stats = stream.stats
  await stream.close()
  return {
    intermediateSamples: items,
    intermediateSamplesPerSec: round(items / seconds),
    intermediateReadMsPerSample: round(waitMs / items, 3),
    intermediateAssembleMsPerSample: round(assembleMs / items, 3),
    intermediateMaxRowGroupsHeld: stats.maxRowGroupsHeld,
    intermediateRowGroupReads: stats.rowGroupReads,
  }
}

/** Synthetic image-text-box rows: a 512 x 384 JPEG (shortest edge 384, as stored) with smooth noise. */
async function imageRows(count: number): Promise<Row[]> {
  const random = seededRandom(5)
  const rows: Row[] = []
  for (let i = 0; i < count; i++) {
    const small = Buffer.from(Array.from({ length: 16 * 12 * 3 }, () => Math.floor(random() * 256)))
    const jpeg = await sharp(small, { raw: { width: 16, height: 12, channels: 3 } }).resize(512, 384).jpeg({ quality: 90 }).toBuffer()
    rows.push({
      key: `synthetic/${i}`, image_jpeg: new Uint8Array(jpeg), width: 512, height: 384,
      box: Float32Array.from([0.3, 0.25, 0.35, 0.4]), expressions: ['the thing'], token_ids: [Int32Array.from([101, 1996, 2518, 102])],
    })
  }
  return rows
}

/** Samples/s of the source side from a dataset: stream + expression + image augmentation, for canvas `size`. */
async function benchSourceStream(dir: string, size: number, batch: number, epochs: number): Promise<number> {
  const stream = await (await openDataset(dir)).stream({ seed: 1, windowBlocks: 4, prefetchWindows: 1 })
  const items = stream.epochLength(0) * epochs
  let done = 0
  const started = performance.now()
  while (done < items) {
    const rows = await stream.take(Math.min(batch, items - done))
    await assembleSourceBatch(rows.map((r) => r.row), { size, augment: true, seed: 1, epoch: rows.map((r) => r.epoch), maxTokens: 30 })
    done += rows.length
  }
  await stream.close()
  return round(items / ((performance.now() - started) / 1000))
}

/** Samples/s of the source side's image work (decode, scale, crop/translate, box), for canvas `size`. */
async function benchSource(rows: Row[], size: number, batch: number, rounds: number): Promise<number> {
  let done = 0
  const started = performance.now()
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < rows.length; i += batch) {
      const part = rows.slice(i, i + batch)
      await assembleSourceBatch(part, { size, augment: true, seed: 1, epoch: r, maxTokens: 30 })
      done += part.length
    }
  }
  return round(done / ((performance.now() - started) / 1000))
}

/**
 * Reader figures: intermediate samples/s (10 s AudioCaps clips from the CLI, SpecAugment on) and source samples/s
 * (RefCOCO fixture images from the CLI, augmentation on, at 384 and 64 px canvases), on the machine's cores
 * with sharp limited to 2 threads. Builds the datasets on first use (cached in bench/.cache).
 */
export async function benchReader(clips = 256, images = 128): Promise<Record<string, number | string>> {
  const audio = cliDataset('audiocaps', clips, ['--seconds', '10'])
  let imageDir: string | null = null
  let imageNote = 'refcoco fixture via the CLI'
  try {
    imageDir = cliDataset('refcoco', images)
  } catch (error) {
    imageNote = `synthetic JPEG 512x384 rows (refcoco dataset unavailable: ${(error as Error).message.split('\n')[0]})`
  }
  const previous = sharp.concurrency()
  sharp.concurrency(2) // the bench's 2-core budget for libvips threads
  try {
    const intermediate = await benchIntermediate(audio, 32, 3)
    const figures: Record<string, number | string> = { cores: cpus().length, audioClips: clips, clipSeconds: 10, ...intermediate, sourceRows: imageNote }
    if (imageDir !== null) {
      await benchSourceStream(imageDir, 384, 8, 1) // warm-up: sharp's first calls set up libvips
      const manifest = JSON.parse(await readFile(join(imageDir, 'manifest.json'), 'utf8')) as { rows: number }
      figures.sourceItems = manifest.rows
      figures.sourceSamplesPerSec384 = await benchSourceStream(imageDir, 384, 16, 2)
      figures.sourceSamplesPerSec64 = await benchSourceStream(imageDir, 64, 16, 2)
    } else {
      const rows = await imageRows(64)
      await benchSource(rows.slice(0, 8), 384, 8, 1)
      figures.sourceSamplesPerSec384 = await benchSource(rows, 384, 16, 2)
      figures.sourceSamplesPerSec64 = await benchSource(rows, 64, 16, 2)
    }
    return figures
  } finally {
    sharp.concurrency(previous)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchReader(Number(process.argv[2] ?? 256), Number(process.argv[3] ?? 128))
  console.log(JSON.stringify(figures, null, 2))
  await writeFile(join(CACHE, 'reader-latest.json'), `${JSON.stringify(figures, null, 2)}\n`).catch(() => undefined)
  if (process.env.BENCH_CLEAN === '1') await rm(CACHE, { recursive: true, force: true })
}
