// Storage bench: the same work with corpora and datasets on local disk and in an S3-compatible store (s3rver on
// 127.0.0.1, in its own process, as in test/storage.test.ts). Figures: prepare clips/s with --src/--out on the
// bucket vs local disk; reader samples/s from the bucket with a cold and a warm part cache vs local; and the data
// wait of a tiny-preset training run reading both datasets from the bucket, as a share of step time.
// Run alone: node --import tsx bench/storage.ts [clips]   (prints JSON; bench/run.ts calls it with --only storage)
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { openDataset } from '../src/dataset/dataset.js'
import { PartCache } from '../src/dataset/cache.js'
import { S3_ENV, startS3, uploadDir } from '../test/helpers/servers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const BIN = join(ROOT, 'bin', 'turnkit.js')
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

function turnkit(args: string[], env: NodeJS.ProcessEnv): { seconds: number; stdout: string } {
  const started = performance.now()
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
  if (r.status !== 0) throw new Error(`turnkit ${args.join(' ')} failed: ${r.stderr}`)
  return { seconds: (performance.now() - started) / 1000, stdout: r.stdout }
}

/** Items/s of one full pass of a dataset's stream (rows decoded, nothing assembled: the reader alone). */
async function streamRate(location: string, options: Parameters<typeof openDataset>[1] = {}): Promise<number> {
  const stream = await (await openDataset(location, options)).stream({ seed: 1, windowBlocks: 4, prefetchWindows: 1 })
  const n = stream.epochLength(0)
  const started = performance.now()
  await stream.take(n)
  const seconds = (performance.now() - started) / 1000
  await stream.close()
  return n / seconds
}

export async function benchStorage(clips = 120): Promise<Record<string, number | string>> {
  const src = join(CACHE, `storage-audiocaps-${clips}`)
  if (!existsSync(join(src, '.complete'))) {
    await rm(src, { recursive: true, force: true })
    await writeAudioCapsFixture(src, { clips, seed: 1, seconds: 10, extension: '.wav' })
    await writeFile(join(src, '.complete'), '')
  }
  const refSrc = join(CACHE, 'storage-refcoco-src')
  const work = join(CACHE, `storage-run-${Date.now()}`)
  const s3 = await startS3(['corpora', 'datasets'])
  try {
    const env = { ...S3_ENV, AWS_ENDPOINT_URL: s3.endpoint, TURNKIT_CACHE_DIR: join(work, 'cache-cli') }
    await uploadDir(s3.endpoint, src, 'corpora', 'audiocaps')
    const common = ['--workers', '2', '--shard-rows', '32', '--json', '--quiet', '--max-reject-ratio', '1']
    // Interleaved: local, bucket, local, bucket; the faster of each pair (machines here are shared and noisy).
    const local: number[] = []
    const remote: number[] = []
    let versions = new Set<string>()
    for (let i = 0; i < 2; i++) {
      const l = turnkit(['prepare', 'audiocaps', '--src', src, '--out', join(work, `local-${i}`), ...common], env)
      const r = turnkit(['prepare', 'audiocaps', '--src', 's3://corpora/audiocaps', '--out', `s3://datasets/audiocaps-${i}`, ...common], env)
      local.push((JSON.parse(l.stdout) as { processingSec: number }).processingSec)
      remote.push((JSON.parse(r.stdout) as { processingSec: number }).processingSec)
      versions = new Set([...versions, (JSON.parse(l.stdout) as { version: string }).version, (JSON.parse(r.stdout) as { version: string }).version])
    }
    const localRate = clips / Math.min(...local)
    const remoteRate = clips / Math.min(...remote)

    const dataOptions = { s3Endpoint: s3.endpoint }
    await streamRate(join(work, 'local-1')) // warm-up: JIT and parquet-wasm's heap, not measured
    const readLocal = await streamRate(join(work, 'local-0'))
    const cacheDir = join(work, 'cache-reader')
    const cold = await streamRate('s3://datasets/audiocaps-0', { ...dataOptions, cache: new PartCache(cacheDir, 10e9) })
    const warmCache = new PartCache(cacheDir, 10e9)
    const warm = await streamRate('s3://datasets/audiocaps-0', { ...dataOptions, cache: warmCache })

    // Data wait of the tiny preset with both datasets in the bucket.
    if (!existsSync(join(refSrc, 'instances.json')) && !existsSync(join(refSrc, '.complete'))) {
      turnkit(['fixtures', 'refcoco', '--out', refSrc, '--clips', '64', '--seed', '1'], {})
      await writeFile(join(refSrc, '.complete'), '')
    }
    turnkit(['prepare', 'refcoco', '--src', refSrc, '--out', 's3://datasets/refcoco', '--shard-rows', '32', '--quiet'], env)
    const run = join(work, 'run')
    turnkit(['train', '--source', 's3://datasets/refcoco', '--intermediate', 's3://datasets/audiocaps-0', '--out', run, '--preset', 'tiny', '--epochs', '1', '--batch', '16', '--classifier-epochs', '1', '--max-steps', '10'], { ...env, TURNKIT_CACHE_DIR: join(work, 'cache-train') })
    const steps = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).split('\n').filter((l) => l.includes('"stage":"turn"')).map((l) => JSON.parse(l) as { dataWaitMs: number; stepMs: number })
    const measured = steps.slice(1) // the first step waits for the worker to open the streams and fill its queue
    const waitMs = measured.reduce((s, m) => s + m.dataWaitMs, 0)
    const stepMs = measured.reduce((s, m) => s + m.stepMs, 0)
    return {
      'storage.server': 's3rver 3.7.1 on 127.0.0.1 (its own process)',
      'storage.prepare.clips': clips,
      'storage.prepare.workers': 2,
      'storage.prepare.localClipsPerSec': round(localRate),
      'storage.prepare.s3ClipsPerSec': round(remoteRate),
      'storage.prepare.s3OverLocal': round(remoteRate / localRate),
      'storage.prepare.sameVersion': versions.size === 1 ? 'yes' : `no: ${[...versions].join(', ')}`,
      'storage.reader.localSamplesPerSec': round(readLocal, 1),
      'storage.reader.s3ColdSamplesPerSec': round(cold, 1),
      'storage.reader.s3WarmSamplesPerSec': round(warm, 1),
      'storage.reader.warmDownloads': warmCache.stats.downloads,
      'storage.train.tinySteps': measured.length,
      'storage.train.meanStepMs': round(stepMs / measured.length, 1),
      'storage.train.meanDataWaitMs': round(waitMs / measured.length, 2),
      'storage.train.dataWaitShare': round(waitMs / stepMs, 4),
    }
  } finally {
    await s3.stop()
    await rm(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(JSON.stringify(await benchStorage(Number(process.argv[2] ?? 120)), null, 2) + '\n')
}
