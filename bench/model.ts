// Train-step time of TURN on the active backend (selectBackend: TURNKIT_BACKEND may force one).
// One step = forward + gradients of every loss (trainingGradients) + a plain SGD update + the codebook EMA step;
// the trainer's AdamW adds a few elementwise ops per parameter on top.
// Run alone: node --import tsx bench/model.ts   (prints JSON)

import { fileURLToPath } from 'node:url'
import { selectBackend } from '../src/model/backend.js'
import { resolveTurnConfig, type TurnConfig, type TurnPreset } from '../src/model/config.js'
import { createTurn, type TurnModel } from '../src/model/turn.js'
import { disposeBatch, plainSgdStep, syntheticBatch } from '../src/model/synthetic.js'

const step = (model: TurnModel, batch: ReturnType<typeof syntheticBatch>, seed: number): void => void plainSgdStep(model, batch, 1e-4, seed)

/** Mean ms per train step of `preset` at the given batch sizes, after `warmup` unmeasured steps. */
async function timeSteps(preset: TurnPreset, sourceSize: number, intermediateSize: number, warmup: number, steps: number): Promise<number> {
  const config: TurnConfig = resolveTurnConfig({}, preset)
  const model = createTurn(config, { seed: 1 })
  const batch = syntheticBatch(config, { sourceSize, intermediateSize, seed: 2 })
  for (let i = 0; i < warmup; i++) step(model, batch, i)
  const start = performance.now()
  for (let i = 0; i < steps; i++) step(model, batch, warmup + i)
  const ms = (performance.now() - start) / steps
  disposeBatch(batch)
  model.dispose()
  return ms
}

/**
 * Figures: backend, tiny ms/step and steps/s at batch 16 + 16, paper ms/step at batch TURNKIT_BENCH_PAPER_BATCH
 * + the same intermediate batch (measured over TURNKIT_BENCH_PAPER_STEPS steps, default 2, after 1 warm-up
 * step; 0 skips the paper preset). The paper batch defaults to 64 on 'tensorflow' and to 2 on wasm and cpu:
 * on wasm, 64 + 64 and 8 + 8 abort inside the wasm module (heap exhaustion suspected, not yet diagnosed).
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
  const paperBatch = Number(process.env.TURNKIT_BENCH_PAPER_BATCH ?? (name === 'tensorflow' ? 64 : 2))
  const paperSteps = Number(process.env.TURNKIT_BENCH_PAPER_STEPS ?? 2)
  if (paperSteps > 0) {
    const paperMs = await timeSteps('paper', paperBatch, paperBatch, 1, paperSteps)
    out['model.paper.batch'] = `${paperBatch} source + ${paperBatch} intermediate, ${paperSteps} steps`
    out['model.paper.trainStepMs'] = Math.round(paperMs)
    out['model.paper.stepsPerSec'] = Math.round((1000 / paperMs) * 1000) / 1000
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchModel(), null, 2))
}
