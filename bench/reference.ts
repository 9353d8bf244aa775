// turnkit against the Python a user would otherwise write, side by side in one run (bench/python/): the ETL of
// 10 s AudioCaps clips in WAV, FLAC and M4A with 1 and 2 workers / processes, log-mel alone, and (when
// bench/python/turn_step.py is there) a TURN train step against a PyTorch model of the same shapes and parameter
// count. Runs are interleaved (turnkit, Python, turnkit, ...) and the median of each is kept: these machines are
// shared and noisy, so only ratios measured in one run mean anything.
// The reference lives in .venv-reference/ (scripts/setup-python-reference.sh) or $TURNKIT_PYTHON; without it this
// section says so and is skipped.
// Run alone: node --import tsx bench/reference.ts [clips] [--train-only]   (prints JSON)
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { writeAudioCapsFixture } from '../src/fixtures/audio-retrieval.js'
import { createLogMel } from '../src/audio/log-mel.js'
import { selectBackend } from '../src/model/backend.js'
import { DEMO_MODEL } from '../src/cli/demo.js'
import type { TurnConfig, TurnPreset } from '../src/model/config.js'
import { timeStepsInItsOwnProcess } from './model.js'
import { turnConfigReport } from './python/turn-config.js'
import { buildDist, installedArgs } from './installed.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CACHE = join(ROOT, 'bench', '.cache')
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The reference interpreter, or null when it is not set up. */
export function referencePython(): string | null {
  const python = process.env.TURNKIT_PYTHON ?? join(ROOT, '.venv-reference', 'bin', 'python')
  if (!existsSync(python)) return null
  const probe = spawnSync(python, ['-c', 'import librosa, pyarrow, soundfile, soxr'], { encoding: 'utf8' })
  return probe.status === 0 ? python : null
}

/** One thread per Python process, as the issue's reference; ffmpeg on PATH for audioread's fallback (M4A). */
function pythonEnv(): NodeJS.ProcessEnv {
  const ffmpeg = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path
  const one = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', NUMBA_NUM_THREADS: '1' }
  return { ...process.env, ...one, PATH: `${dirname(ffmpeg)}:${process.env.PATH ?? ''}` }
}

async function corpus(format: 'wav' | 'flac' | 'm4a', clips: number): Promise<string> {
  const dir = join(CACHE, `reference-audiocaps-${format}-${clips}`)
  if (!existsSync(join(dir, '.complete'))) {
    await rm(dir, { recursive: true, force: true })
    await writeAudioCapsFixture(dir, { clips, seed: 1, seconds: 10, extension: `.${format}` })
    await writeFile(join(dir, '.complete'), '')
  }
  return dir
}

interface EtlRun {
  clipsPerSec: number
  cpuMsPerClip: number
}

function turnkitEtl(src: string, workers: number): EtlRun {
  const out = join(CACHE, `reference-out-${process.pid}`)
  const r = spawnSync(process.execPath, installedArgs(['prepare', 'audiocaps', '--src', src, '--out', out, '--workers', String(workers), '--json', '--quiet']), { encoding: 'utf8' })
  spawnSync('rm', ['-rf', out])
  if (r.status !== 0) throw new Error(`turnkit prepare failed: ${r.stderr}`)
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { inputs: number; processingSec: number; cpuSec: number }
  return { clipsPerSec: s.inputs / s.processingSec, cpuMsPerClip: (1000 * s.cpuSec) / s.inputs }
}

function pythonEtl(python: string, src: string, processes: number): EtlRun {
  const out = join(CACHE, `reference-py-${process.pid}`)
  const r = spawnSync(python, [join(ROOT, 'bench', 'python', 'etl.py'), src, out, String(processes)], { encoding: 'utf8', env: pythonEnv() })
  spawnSync('rm', ['-rf', out])
  if (r.status !== 0) throw new Error(`bench/python/etl.py failed: ${r.stderr}`)
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { clips_per_sec: number; cpu_ms_per_clip: number }
  return { clipsPerSec: s.clips_per_sec, cpuMsPerClip: s.cpu_ms_per_clip }
}

/** turnkit's log-mel of the 10 s signal bench/python/logmel.py uses: median ms of 5 runs of 50. */
function turnkitLogMelMs(): number {
  const sr = 22_050
  const samples = new Float32Array(sr * 10).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / sr) + 0.01 * Math.sin(i * 12.9898))
  const logMel = createLogMel()
  for (let i = 0; i < 5; i++) logMel(samples)
  const runs: number[] = []
  for (let r = 0; r < 5; r++) {
    const t = performance.now()
    for (let i = 0; i < 50; i++) logMel(samples)
    runs.push((performance.now() - t) / 50)
  }
  return median(runs)
}

/** The train steps compared: the model, the batch (source + intermediate), micro-batches, steps timed after one warm-up. */
const TRAIN_CASES: { name: string; preset: TurnPreset; overrides: Partial<TurnConfig>; batch: number; micro: number | null; steps: number }[] = [
  { name: 'tiny', preset: 'tiny', overrides: {}, batch: 16, micro: null, steps: 20 },
  { name: 'demo', preset: 'tiny', overrides: DEMO_MODEL, batch: 16, micro: null, steps: 10 },
  { name: 'paper4', preset: 'paper', overrides: {}, batch: 4, micro: null, steps: 3 },
  // The whole 64 + 64 step's tape outgrows wasm's 4 GiB heap (docs/model.md): turnkit runs it in micro-batches.
  { name: 'paper64', preset: 'paper', overrides: {}, batch: 64, micro: 4, steps: Number(process.env.TURNKIT_BENCH_PAPER_STEPS ?? 1) },
]

/**
 * turnkit's train step on the active tfjs backend against bench/python/turn_step.py, the same model in PyTorch
 * (same parameters, module by module), thread for thread: turnkit with 1 and 2 threads for its matrix products
 * (wasm: setMatMulThreads; the rest of a wasm step runs on one thread), each case in a process of its own, against
 * PyTorch with 1 and 2 threads. The PyTorch side always runs the whole batch at once (it has the memory).
 */
async function benchTrainSteps(python: string): Promise<Record<string, number | string>> {
  const { name: backend } = await selectBackend({ log: () => {} })
  const out: Record<string, number | string> = { 'reference.train.backend': backend }
  for (const c of TRAIN_CASES) {
    if (c.steps <= 0) continue
    const key = `reference.train.${c.name}`
    const config = join(CACHE, `turn-config-${c.name}.json`)
    await writeFile(config, JSON.stringify(await turnConfigReport(c.preset, c.overrides)))
    out[`${key}.batch`] = `${c.batch} + ${c.batch}${c.micro === null ? '' : ` (turnkit in micro-batches of ${c.micro})`}`
    for (const threads of [1, 2]) {
      const ours = timeStepsInItsOwnProcess({ preset: c.preset, overrides: c.overrides, batch: c.batch, micro: c.micro, steps: c.steps, threads })
      const args = [join(ROOT, 'bench', 'python', 'turn_step.py'), '--config', config, '--source', String(c.batch), '--intermediate', String(c.batch), '--warmup', '1', '--steps', String(Math.max(2, c.steps)), '--threads', String(threads)]
      const r = spawnSync(python, args, { encoding: 'utf8', env: pythonEnv() })
      if (r.status !== 0) throw new Error(`bench/python/turn_step.py failed: ${r.stderr}`)
      const torchMs = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms_per_step: number }).ms_per_step
      out[`${key}.turnkit${threads}ThreadMs`] = round(ours, 1)
      out[`${key}.torch${threads}ThreadMs`] = round(torchMs, 1)
      out[`${key}.slowdown${threads}Thread`] = round(ours / torchMs)
      if (threads === 2) {
        // The other way to use both cores: two data-parallel replicas of the model, each on one thread.
        const replicas = timeStepsInItsOwnProcess({ preset: c.preset, overrides: c.overrides, batch: c.batch, micro: c.micro, steps: c.steps, threads: 1, replicas: 2 })
        out[`${key}.turnkit2ReplicasMs`] = round(replicas, 1)
        out[`${key}.slowdown2Replicas`] = round(replicas / torchMs)
      }
    }
  }
  return out
}

export async function benchReference(clips = 120, rounds = 3): Promise<Record<string, number | string>> {
  const python = referencePython()
  if (python === null) return { 'reference.skipped': 'no Python reference: run scripts/setup-python-reference.sh (or set TURNKIT_PYTHON)' }
  buildDist()
  const out: Record<string, number | string> = { 'reference.turnkit': 'the compiled package (dist/), as installed', 'reference.python': spawnSync(python, ['-c', 'import librosa, pyarrow, sys; print(f"Python {sys.version.split()[0]}, librosa {librosa.__version__}, pyarrow {pyarrow.__version__}")'], { encoding: 'utf8' }).stdout.trim() }
  for (const format of ['wav', 'flac', 'm4a'] as const) {
    const src = await corpus(format, clips)
    for (const workers of [1, 2]) {
      const ours: EtlRun[] = []
      const theirs: EtlRun[] = []
      for (let r = 0; r < rounds; r++) {
        ours.push(turnkitEtl(src, workers))
        theirs.push(pythonEtl(python, src, workers))
      }
      const key = `reference.etl.${format}.${workers}`
      const [a, b] = [median(ours.map((o) => o.clipsPerSec)), median(theirs.map((o) => o.clipsPerSec))]
      const [ca, cb] = [median(ours.map((o) => o.cpuMsPerClip)), median(theirs.map((o) => o.cpuMsPerClip))]
      out[`${key}.turnkitClipsPerSec`] = round(a, 1)
      out[`${key}.pythonClipsPerSec`] = round(b, 1)
      out[`${key}.speedRatio`] = round(a / b)
      out[`${key}.turnkitCpuMsPerClip`] = round(ca, 1)
      out[`${key}.pythonCpuMsPerClip`] = round(cb, 1)
      out[`${key}.cpuRatio`] = round(ca / cb)
    }
  }
  const ours: number[] = []
  const theirs: number[] = []
  for (let r = 0; r < rounds; r++) {
    ours.push(turnkitLogMelMs())
    const py = spawnSync(python, [join(ROOT, 'bench', 'python', 'logmel.py')], { encoding: 'utf8', env: pythonEnv() })
    if (py.status !== 0) throw new Error(`bench/python/logmel.py failed: ${py.stderr}`)
    theirs.push((JSON.parse(py.stdout) as { ms_per_clip: number }).ms_per_clip)
  }
  out['reference.logMel.turnkitMs'] = round(median(ours), 3)
  out['reference.logMel.librosaMs'] = round(median(theirs), 3)
  out['reference.logMel.speedRatio'] = round(median(theirs) / median(ours))
  const torch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' })
  if (torch.status === 0) Object.assign(out, await benchTrainSteps(python))
  else out['reference.train.skipped'] = 'no torch in the reference environment'
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const python = referencePython()
  const result = process.argv.includes('--train-only') && python !== null ? await benchTrainSteps(python) : await benchReference(Number(process.argv[2] ?? 120))
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}
