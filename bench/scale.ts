// Corpus-scale behaviour: a generated AudioCaps corpus of 20,000 clips (10 s, 44.1 kHz WAV) prepared in 8 parts
// (--part i/8, one worker each, two parts at a time on this 2-core machine, as a scheduler would place them), then
// merged. Records per part: clips/s and peak RSS; the merge's seconds; the whole run's wall time; and the peak
// RSS of the same work (2,500 clips in one process) on a corpus 8x smaller, to show what the corpus adds. The README's
// VGGSound estimate is computed from these figures.
// Run alone: node --import tsx bench/scale.ts [clips] [parts] [concurrent]   (prints JSON; the corpus is cached in
// bench/.cache, about 0.9 MB per clip)
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { link, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { ROOT, buildDist, installedArgs } from './installed.js'

const CACHE = join(ROOT, 'bench', '.cache')
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** Distinct synthesized clips; the corpus repeats them under new YouTube ids (hard links), see corpus(). */
const DISTINCT_CLIPS = 500

/**
 * An AudioCaps corpus of `clips` clips: DISTINCT_CLIPS synthesized ones (writing 20,000 distinct 10 s tones takes
 * longer than preparing them), each listed again under new ids with its captions and its audio hard-linked. Every
 * clip is decoded, resampled, transformed and written on its own, so the per-clip work is that of distinct audio
 * (identical bytes make no step cheaper); the disk holds 0.45 GB instead of 18.
 */
async function corpus(clips: number): Promise<string> {
  const dir = join(CACHE, `scale-audiocaps-${clips}`)
  if (existsSync(join(dir, '.complete'))) return dir
  await rm(dir, { recursive: true, force: true })
  const base = Math.min(clips, DISTINCT_CLIPS)
  await writeAudioCapsFixture(dir, { clips: base, seed: 11, seconds: 10 })
  if (clips > base) {
    for (const split of ['train', 'val', 'test']) {
      const csv = join(dir, `${split}.csv`)
      const [header, ...rows] = (await readFile(csv, 'utf8')).trimEnd().split('\n')
      const byClip = new Map<string, string[][]>()
      for (const row of rows) {
        const cells = row.split(',')
        byClip.set(cells[1]!, [...(byClip.get(cells[1]!) ?? []), cells])
      }
      const lines = [...rows]
      let captionId = 9_000_000
      // Copies are spread over the splits in the fixture's own proportion: clip i of the base goes to copy i's split.
      const total = Math.round((clips * byClip.size) / base)
      const originals = [...byClip.keys()]
      for (let copy = 0; copy < total - originals.length; copy++) {
        const original = originals[copy % originals.length]!
        const ytid = `x${split[0]}${String(copy).padStart(9, '0')}`
        await link(join(dir, 'audio', split, `${original}.wav`), join(dir, 'audio', split, `${ytid}.wav`))
        for (const cells of byClip.get(original)!) lines.push([String(captionId++), ytid, ...cells.slice(2)].join(','))
      }
      await writeFile(csv, [header, ...lines].join('\n') + '\n')
    }
  }
  await writeFile(join(dir, '.complete'), '')
  return dir
}

interface Summary { inputs: number; rows: number; processingSec: number; cpuSec: number; peakRssMb: number; version: string | null }

/** `turnkit <args> --json` in its own process; its last stdout line parsed. */
async function turnkit(args: string[]): Promise<{ summary: Summary; seconds: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, installedArgs([...args, '--json']), { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t))
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`turnkit ${args.join(' ')} failed (${code}): ${err}`)
  return { summary: JSON.parse(out.trim().split('\n').at(-1)!) as Summary, seconds: (performance.now() - started) / 1000 }
}

/** Prepare `parts` parts of `src`, `concurrent` at a time, one worker each; then merge them. */
async function partitionedRun(src: string, work: string, parts: number, concurrent: number, shardRows: number, onlyParts = parts) {
  const perPart: { part: number; clips: number; clipsPerSec: number; wallSeconds: number; peakRssMb: number }[] = []
  const started = performance.now()
  let next = 0
  const runner = async (): Promise<void> => {
    while (next < onlyParts) {
      const part = next++
      const { summary, seconds } = await turnkit(['prepare', 'audiocaps', '--src', src, '--out', join(work, `part-${part}`), '--part', `${part}/${parts}`, '--workers', '1', '--shard-rows', String(shardRows), '--quiet'])
      // inputs counts the units present in this directory: this part's
      perPart.push({ part, clips: summary.inputs, clipsPerSec: round(summary.inputs / summary.processingSec, 1), wallSeconds: round(seconds, 1), peakRssMb: summary.peakRssMb })
    }
  }
  await Promise.all(Array.from({ length: concurrent }, runner))
  const prepareSeconds = (performance.now() - started) / 1000
  perPart.sort((a, b) => a.part - b.part)
  if (onlyParts < parts) return { perPart, prepareSeconds, merge: null }
  const merge = await turnkit(['merge', ...perPart.map((p) => join(work, `part-${p.part}`)), '--out', join(work, 'dataset')])
  return { perPart, prepareSeconds, merge: { seconds: merge.seconds, version: merge.summary.version, rows: merge.summary.rows } }
}

export async function benchScale(clips = Number(process.env.TURNKIT_BENCH_SCALE_CLIPS ?? 20_000), parts = 8, concurrent = 2): Promise<Record<string, unknown>> {
  buildDist()
  const src = await corpus(clips)
  const small = await corpus(Math.round(clips / 8))
  const work = join(CACHE, `scale-run-${process.pid}`)
  await rm(work, { recursive: true, force: true })
  try {
    const started = performance.now()
    // Ten part files per part (250 inputs each at 20,000 clips): every part gets the same share.
    const shardRows = Math.max(1, Math.round(clips / (parts * 10)))
    const run = await partitionedRun(src, work, parts, concurrent, shardRows)
    const wallSeconds = (performance.now() - started) / 1000
    // The same work per process (one part's share of clips) on a corpus 8x smaller, as one part: a part's memory
    // is its two part files in flight and its share of the listing, so it must barely grow with the corpus.
    const smallRun = await partitionedRun(small, join(work, 'small'), 1, 1, shardRows)
    const rates = run.perPart.map((p) => p.clipsPerSec)
    const rss = run.perPart.map((p) => p.peakRssMb)
    return {
      clips, parts, concurrentParts: concurrent, workersPerPart: 1, shardRows, clipSeconds: 10, format: '16-bit 44.1 kHz WAV',
      perPart: run.perPart,
      clipsPerSecPerPart: { min: Math.min(...rates), max: Math.max(...rates) },
      peakRssMbPerPart: { min: Math.min(...rss), max: Math.max(...rss) },
      peakRssMbSameWorkCorpus8xSmaller: { clips: Math.round(clips / parts), peakRssMb: smallRun.perPart[0]!.peakRssMb, clipsPerSec: smallRun.perPart[0]!.clipsPerSec },
      prepareSeconds: round(run.prepareSeconds, 1),
      mergeSeconds: round(run.merge!.seconds, 1),
      wallSeconds: round(wallSeconds, 1),
      clipsPerSecWhole: round(clips / wallSeconds, 1),
      rows: run.merge!.rows,
      version: run.merge!.version,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [clips, parts, concurrent] = process.argv.slice(2).map(Number)
  process.stdout.write(JSON.stringify(await benchScale(clips || undefined, parts || undefined, concurrent || undefined), null, 2) + '\n')
}
