// Train-step time of TURN on the active backend (selectBackend: TURNKIT_BACKEND may force one).
// One step = forward + gradients of every loss (trainingGradients) + a plain SGD update + the codebook EMA step;
// the trainer's AdamW adds a few elementwise ops per parameter on top.
// Run alone: node --import tsx bench/model.ts   (prints JSON)
// One case, as bench/reference.ts runs each in a fresh process: node --import tsx bench/model.ts --step '<StepCase JSON>'
//   (prints {"ms": ...})

import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../src/model/backend.js'
import { setMatMulThreads } from '../src/model/wasm-kernels.js'
import { resolveTurnConfig, type TurnConfig, type TurnPreset } from '../src/model/config.js'
import { createTurn } from '../src/model/turn.js'
import { applySgd, disposeBatch, plainSgdStep, syntheticBatch } from '../src/model/synthetic.js'
import { ModelReplicas } from '../src/model/replicas.js'

/** Mean ms per train step of `preset` (with `overrides`) at the given batch sizes, after `warmup` unmeasured steps. */
export async function timeSteps(preset: TurnPreset, sourceSize: number, intermediateSize: number, warmup: number, steps: number, microBatch: number | null = null, overrides: Partial<TurnConfig> = {}, replicas = 1): Promise<number> {
  const config: TurnConfig = resolveTurnConfig(overrides, preset)
  const model = createTurn(config, { seed: 1 })
  const batch = syntheticBatch(config, { sourceSize, intermediateSize, seed: 2 })
  const pool = replicas > 1 ? await ModelReplicas.start(model, replicas) : null
  const step = async (seed: number): Promise<void> =>
    void (pool === null ? plainSgdStep(model, batch, 1e-4, seed, { microBatch }) : applySgd(model, await pool.trainingGradients(batch, { microBatch }), 1e-4, seed))
  for (let i = 0; i < warmup; i++) await step(i)
  const start = performance.now()
  for (let i = 0; i < steps; i++) await step(warmup + i)
  const ms = (performance.now() - start) / steps
  await pool?.close()
  disposeBatch(batch)
  model.dispose()
  return ms
}

/**
 * Figures: backend, tiny ms/step and steps/s at batch 16 + 16, paper ms/step at batch TURNKIT_BENCH_PAPER_BATCH
 * (default 64) + the same intermediate batch, measured over TURNKIT_BENCH_PAPER_STEPS steps (default 1; 0 skips
 * the paper preset) after 1 warm-up step. On wasm and cpu the paper step runs in micro-batches of
 * TURNKIT_BENCH_PAPER_MICRO items (default 4): the whole batch's tape needs about 4 GiB at 8 + 8 already, and the
 * wasm heap cannot grow past 4 GiB (xnn_create_fully_connected fails with out-of-memory, then the module aborts).
 */
export async function benchModel(): Promise<Record<string, number | string>> {
  const { name } = await selectBackend({ log: () => {} })
  const tinyMs = await timeSteps('tiny', 16, 16, 3, 20)
  const out: Record<string, number | string> = {
    'model.backend': name,
    'model.tiny.batch': '16 source + 16 intermediate',
    'model.tiny.trainStepMs': Math.round(tinyMs * 10) / 10,
    'model.tiny.stepsPerSec': Math.round((1000 / tinyMs) * 100) / 100,
  }
  const paperBatch = Number(process.env.TURNKIT_BENCH_PAPER_BATCH ?? 64)
  const paperSteps = Number(process.env.TURNKIT_BENCH_PAPER_STEPS ?? 1)
  const micro = process.env.TURNKIT_BENCH_PAPER_MICRO ?? (name === 'tensorflow' ? '' : '4')
  const microBatch = micro === '' ? null : Number(micro)
  if (paperSteps > 0) {
    const paperMs = await timeSteps('paper', paperBatch, paperBatch, 1, paperSteps, microBatch)
    out['model.paper.batch'] = `${paperBatch} source + ${paperBatch} intermediate, ${paperSteps} steps${microBatch === null ? '' : `, micro-batches of ${microBatch}`}`
    const wasmHeap = (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length
    if (wasmHeap !== undefined) out['model.paper.wasmHeapMb'] = Math.round(wasmHeap / 2 ** 20)
    out['model.paper.trainStepMs'] = Math.round(paperMs)
    out['model.paper.stepsPerSec'] = Math.round((1000 / paperMs) * 1000) / 1000
  }
  return out
}

/** One timed train-step case (bench/reference.ts); threads: the wasm backend's matrix-product threads; replicas: data-parallel replicas (ModelReplicas), each on one thread. */
export interface StepCase {
  preset: TurnPreset
  overrides: Partial<TurnConfig>
  batch: number
  micro: number | null
  steps: number
  threads: number
  replicas?: number
}

/**
 * Mean ms per step of `c` in a process of its own: in one process, a case after others ran slower (the paper
 * 64 + 64 step 20.2 s after the 1-thread cases against 16.4 s alone: memory grown before is never given back).
 */
export function timeStepsInItsOwnProcess(c: StepCase): number {
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--step', JSON.stringify(c)], { encoding: 'utf8', env: process.env })
  if (run.status !== 0) throw new Error(`bench/model.ts --step failed: ${run.stderr}`)
  return (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { ms: number }).ms
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const step = process.argv.indexOf('--step')
  if (step === -1) console.log(JSON.stringify(await benchModel(), null, 2))
  else {
    const c = JSON.parse(process.argv[step + 1]!) as StepCase
    const { name } = await selectBackend({ log: () => {} })
    if (name === 'wasm') setMatMulThreads(c.threads)
    console.log(JSON.stringify({ ms: await timeSteps(c.preset, c.batch, c.batch, 1, c.steps, c.micro, c.overrides, c.replicas ?? 1) }))
  }
}
