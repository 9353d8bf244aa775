// Grounding bench: images/s of `turnkit prepare refcoco` on a RefCOCO fixture of 640x480 JPEGs, 1 and 2 workers,
// run as a child process as a user would. Each row is one full image preparation (decode, resize to a 384 short
// edge, JPEG encode), so rows/s is images/s; the fixture refers to 2 objects per image, as RefCOCO does.
// Exported for bench/run.ts; `node --import tsx bench/grounding.ts` runs it alone.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { writeRefCocoFixture } from '../src/fixtures/grounding.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const BIN = join(ROOT, 'bin', 'turnkit.js')

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** A cached RefCOCO fixture of `images` 640x480 JPEGs (2 refs each). */
async function refcocoFixture(images: number): Promise<string> {
  const dir = join(CACHE, `refcoco-textured-${images}`)
  if (!existsSync(join(dir, '.complete'))) {
    await rm(dir, { recursive: true, force: true })
    await writeRefCocoFixture(dir, { clips: images, seed: 1, width: 640, height: 480, texture: true })
    await writeFile(join(dir, '.complete'), '')
  }
  return dir
}

/** One `turnkit prepare refcoco` run; rows/s from the runner's processingSec (listing done to last part written). */
function prepareRefCoco(src: string, workers: number): { rows: number; processingSec: number; wallSec: number; peakRssMb: number } {
  const out = join(CACHE, `refcoco-out-${workers}-${process.pid}`)
  spawnSync('rm', ['-rf', out])
  const started = performance.now()
  const run = spawnSync(process.execPath, [BIN, 'prepare', 'refcoco', '--src', src, '--out', out, '--workers', String(workers), '--json', '--quiet'], { encoding: 'utf8' })
  const wallSec = (performance.now() - started) / 1000
  spawnSync('rm', ['-rf', out])
  if (run.status !== 0) throw new Error(`prepare refcoco failed: ${run.stderr}`)
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { rows: number; processingSec: number; peakRssMb: number }
  return { rows: summary.rows, processingSec: summary.processingSec, wallSec, peakRssMb: summary.peakRssMb }
}

/**
 * Images/s of the RefCOCO pipeline on `images` 640x480 JPEGs (default 300, i.e. 600 refs), 1 and 2 workers.
 * Target: >= 100 images/s with 2 workers on 2 cores.
 */
export async function benchGrounding(images = 300): Promise<Record<string, number | string>> {
  await mkdir(CACHE, { recursive: true })
  const src = await refcocoFixture(images)
  const figures: Record<string, number | string> = { imageSize: '640x480', storedShortEdge: 384, images }
  for (const workers of [1, 2]) {
    const r = prepareRefCoco(src, workers)
    figures[`refs`] = r.rows
    figures[`imagesPerSec${workers}w`] = round(r.rows / r.processingSec)
    figures[`processingSec${workers}w`] = r.processingSec
    figures[`wallSec${workers}w`] = round(r.wallSec) // includes process start, listing and worker start-up
    figures[`peakRssMb${workers}w`] = r.peakRssMb
  }
  return figures
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(JSON.stringify(await benchGrounding(), null, 2) + '\n')
}
