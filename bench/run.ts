// `npm run bench`: throughput and memory figures, written as JSON to bench/results/latest.json (and printed).
// Sections: the AudioCaps pipeline end to end (10 s 44.1 kHz WAV and M4A clips, 1 and 2 workers, two corpus
// sizes to show memory stays flat), log-mel ms per clip, shard encode MB/s, the reader, corpora and datasets in an
// S3-compatible store (storage.ts), the model, and turnkit against the Python / PyTorch a user would otherwise write
// (reference.ts; skipped, saying so, without .venv-reference).
// Usage: npm run bench [-- --only logmel,shards,audio,grounding,audio-visual,reader,storage,model,view,reference,scale] [--clips N]
// (scale, the 20,000-clip partitioned run of scale.ts, runs only when named)
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { createLogMel } from '../src/audio/log-mel.js'
import { describeClip } from '../src/audio/descriptors.js'
import { encodeShard } from '../src/dataset/parquet-writer.js'
import { loadSchema } from '../src/dataset/schema.js'
import { seededRandom } from '../src/random.js'
import { benchGrounding } from './grounding.js'
import { benchAudioVisual } from './audio-visual.js'
import { benchReader } from './reader.js'
import { benchStorage } from './storage.js'
import { benchReference } from './reference.js'
import { benchScale } from './scale.js'
import { benchView } from './view.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const BIN = join(ROOT, 'bin', 'turnkit.js')

type Figures = Record<string, number | string | boolean | null>

async function fixture(name: string, clips: number, extension: '.wav' | '.m4a'): Promise<string> {
  const dir = join(CACHE, `${name}-${clips}`)
  if (!existsSync(join(dir, '.complete'))) {
    await rm(dir, { recursive: true, force: true })
    await writeAudioCapsFixture(dir, { clips, seed: 1, seconds: 10, extension })
    await writeFile(join(dir, '.complete'), '')
  }
  return dir
}

/** Run `turnkit prepare` in a child process, as a user would; clips/s from wall time, peak RSS from the child. */
function preparePipeline(src: string, workers: number, clips: number, shardRows = 1000): Figures {
  const out = join(CACHE, `out-${workers}-${Date.now()}`)
  const started = performance.now()
  const args = [BIN, 'prepare', 'audiocaps', '--src', src, '--out', out, '--workers', String(workers), '--shard-rows', String(shardRows), '--json', '--quiet']
  const run = spawnSync(process.execPath, args, { encoding: 'utf8' })
  const seconds = (performance.now() - started) / 1000
  if (run.status !== 0) throw new Error(`prepare failed: ${run.stderr}`)
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { rows: number; peakRssMb: number; version: string; processingSec: number }
  spawnSync('rm', ['-rf', out])
  return {
    clips, workers, shardRows,
    wallSeconds: round(seconds),
    clipsPerSecWall: round(clips / seconds), // includes process and worker start-up (about 1-1.5 s)
    processingSeconds: summary.processingSec,
    clipsPerSec: round(clips / summary.processingSec), // listing done, from first item to last part file written
    rows: summary.rows, peakRssMb: summary.peakRssMb, version: summary.version,
  }
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

function benchLogMel(): Figures {
  const sr = 22_050
  const samples = new Float32Array(sr * 10).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / sr) + 0.01 * Math.sin(i * 12.9898))
  const logMel = createLogMel()
  for (let i = 0; i < 5; i++) logMel(samples)
  const n = 50
  let t = performance.now()
  for (let i = 0; i < n; i++) logMel(samples)
  const logMelMs = (performance.now() - t) / n
  t = performance.now()
  for (let i = 0; i < n; i++) describeClip(samples, logMel)
  const withDescriptorsMs = (performance.now() - t) / n
  return { clipSeconds: 10, logMelMsPerClip: round(logMelMs), logMelAndDescriptorsMsPerClip: round(withDescriptorsMs) }
}

async function benchShards(): Promise<Figures> {
  const schema = await loadSchema('audio-text')
  const random = seededRandom(7)
  const rows = Array.from({ length: 1000 }, (_, i) => ({
    key: `bench/${String(i).padStart(6, '0')}`, corpus: 'audiocaps', split: 'train', source_path: `audio/${i}.wav`,
    duration_sec: 10, num_samples: 220_500, frames: 216, n_mels: 128,
    // Values like real dB log-mels (full float32 mantissas), so zstd meets realistic entropy, not a pattern.
    log_mel: new Float32Array(216 * 128).map(() => -80 + 80 * random()),
    captions: ['a dog barks'], token_ids: [new Int32Array([101, 1037, 3899, 17554, 102])],
    rms_dbfs: -20, peak: 0.5, spectral_flatness: 0.1, silent: false, source_ids: [String(i)],
  }))
  const rawMb = (1000 * 216 * 128 * 4) / 1e6
  await encodeShard(schema, rows.slice(0, 10))
  const t = performance.now()
  const bytes = await encodeShard(schema, rows)
  const seconds = (performance.now() - t) / 1000
  return { rows: 1000, rawLogMelMb: round(rawMb), parquetMb: round(bytes.length / 1e6), encodeSeconds: round(seconds, 3), encodeMbPerSec: round(rawMb / seconds), codec: 'zstd' }
}

/**
 * The model bench in a process of its own: run in this one after the other sections, the paper step took 40 s,
 * against 27.6 s alone (earlier sections grow memory that is never given back, wasm's included), so the figure
 * depended on what ran before it.
 */
function benchModelInItsOwnProcess(): Record<string, number | string> {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'model.ts')], { encoding: 'utf8', env: process.env })
  if (run.status !== 0) throw new Error(`bench/model.ts failed: ${run.stderr}`)
  return JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as Record<string, number | string>
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, clips: { type: 'string' } } })
  const only = new Set((values.only ?? 'logmel,shards,audio,grounding,audio-visual,reader,storage,model,view,reference').split(','))
  const clips = Number(values.clips ?? 200)
  await mkdir(CACHE, { recursive: true })
  const results: Record<string, unknown> = {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version },
  }
  if (only.has('logmel')) results.logMel = benchLogMel()
  if (only.has('shards')) results.shardWrite = await benchShards()
  if (only.has('audio')) {
    const wav = await fixture('audiocaps-wav', clips, '.wav')
    const wavLarge = await fixture('audiocaps-wav', clips * 4, '.wav')
    const m4a = await fixture('audiocaps-m4a', clips, '.m4a')
    // Memory is bounded by the units in flight (two part files' rows), not by the corpus: the same shard size
    // on a corpus 4x larger must show the same peak RSS.
    const unit = Math.max(1, Math.round(clips / 4))
    results.audioPipeline = {
      wav1: preparePipeline(wav, 1, clips),
      wav2: preparePipeline(wav, 2, clips),
      m4a1: preparePipeline(m4a, 1, clips),
      m4a2: preparePipeline(m4a, 2, clips),
      memorySmallCorpus: preparePipeline(wav, 2, clips, unit),
      memoryLargeCorpus: preparePipeline(wavLarge, 2, clips * 4, unit),
    }
  }
  if (only.has('grounding')) results.refcocoPipeline = await benchGrounding()
  if (only.has('audio-visual')) results.vggssPipeline = await benchAudioVisual()
  if (only.has('reader')) results.reader = await benchReader()
  if (only.has('storage')) results.storage = await benchStorage()
  if (only.has('model')) results.model = benchModelInItsOwnProcess()
  if (only.has('view')) results.view = await benchView()
  if (only.has('reference')) results.reference = await benchReference()
  // Not in the default set: it generates a 20,000-clip corpus (18 GB) and takes about ten minutes.
  if (only.has('scale')) results.scale = await benchScale()
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true })
  const text = JSON.stringify(results, null, 2) + '\n'
  await writeFile(join(ROOT, 'bench', 'results', 'latest.json'), text)
  process.stdout.write(text)
}

await main()
