// Bench section: items/s of `turnkit prepare vggss` (VGG-SS layout: 640 x 480 JPEG frames with boxes and 10 s
// 44.1 kHz WAVs) with 1 and 2 workers, run as a child process as a user would, timed by the summary's
// processingSec (listing done, from the first item to the last part file written; start-up excluded).
import { rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { writeVggSsFixture } from '../src/fixtures/audio-visual.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const BIN = join(ROOT, 'bin', 'turnkit.js')
const ITEMS = 100

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** The VGG-SS fixture of `items` good items, written once and reused (a `.complete` marker says it is whole). */
async function vggssFixture(items: number): Promise<string> {
  const dir = join(CACHE, `vggss-${items}`)
  if (!existsSync(join(dir, '.complete'))) {
    await rm(dir, { recursive: true, force: true })
    await writeVggSsFixture(dir, { clips: items, seed: 1, seconds: 10, frameSize: [640, 480] })
    await writeFile(join(dir, '.complete'), '')
  }
  return dir
}

/** One `turnkit prepare vggss --json` run; returns its summary. Throws with stderr when it fails. */
function prepare(src: string, workers: number): { rows: number; processingSec: number; peakRssMb: number; version: string } {
  const out = join(CACHE, `out-vggss-${workers}-${process.pid}`)
  spawnSync('rm', ['-rf', out])
  const run = spawnSync(process.execPath, [BIN, 'prepare', 'vggss', '--src', src, '--out', out, '--workers', String(workers), '--json', '--quiet'], { encoding: 'utf8' })
  spawnSync('rm', ['-rf', out])
  if (run.status !== 0) throw new Error(`prepare vggss failed: ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { rows: number; processingSec: number; peakRssMb: number; version: string }
}

/**
 * Items/s of the VGG-SS pipeline (decode 10 s of audio, log-mel, JPEG decode + resize to 384 + encode, boxes)
 * with 1 and 2 workers. Same version from both runs is checked: worker count must never change bytes.
 */
export async function benchAudioVisual(): Promise<Record<string, number | string>> {
  const src = await vggssFixture(ITEMS)
  const one = prepare(src, 1)
  const two = prepare(src, 2)
  if (one.version !== two.version) throw new Error(`vggss: 1 and 2 workers gave different versions (${one.version} vs ${two.version})`)
  if (one.rows !== ITEMS || two.rows !== ITEMS) throw new Error(`vggss: expected ${ITEMS} rows, got ${one.rows} and ${two.rows}`)
  return {
    corpus: 'vggss',
    items: ITEMS,
    frame: '640x480 JPEG, 1-2 boxes',
    audio: '10 s WAV 44.1 kHz mono',
    itemsPerSec1Worker: round(ITEMS / one.processingSec),
    itemsPerSec2Workers: round(ITEMS / two.processingSec),
    processingSec1Worker: one.processingSec,
    processingSec2Workers: two.processingSec,
    peakRssMb2Workers: two.peakRssMb,
  }
}
