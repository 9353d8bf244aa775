// `turnkit demo`: the whole system on a small synthetic world, with nothing downloaded. It writes three corpora
// in their real raw layouts — a grounding corpus (RefCOCO layout: scenes of drawn objects, referring
// expressions, boxes), an audio-retrieval corpus (AudioCaps layout: each object's sound, captions naming it,
// plus the defects real corpora have) and an audio-visual test set (VGG-SS layout: scenes of two objects and
// the sound of one) — prepares them with the real pipelines, trains the `tiny` preset with the real trainer
// (both stages), evaluates zero-resource localization (audio -> box, never trained on audio-image pairs),
// writes the report and prints the scores beside the centre-box and random-box baselines.
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'
import { prepareCorpus } from './corpora.js'
import { progressReporter, silentProgress } from '../etl/progress.js'
import { writeRefCocoFixture } from '../fixtures/grounding.js'
import { writeAudioCapsFixture } from '../fixtures/audio-retrieval.js'
import { demoCaption, demoExpressions, writeDemoTestSet } from '../fixtures/demo-world.js'
import { train } from '../train/trainer.js'
import type { TrainSettings } from '../train/settings.js'
import { evaluateRun, type EvalRunResult } from '../train/eval-run.js'
import { writeReport } from '../train/report.js'
import type { CorpusName } from './corpora.js'
import { verifyDataset } from '../dataset/verify.js'

/** World and training sizes. `full` is the README's demo (under 10 minutes on 2 cores); `small` is for tests. */
export const DEMO_SCALES = {
  full: { images: 160, clips: 48, testItems: 60, devItems: 24, epochs: 75, batch: 16 },
  small: { images: 200, clips: 24, testItems: 30, devItems: 0, epochs: 60, batch: 16 },
} as const
export type DemoScale = keyof typeof DEMO_SCALES

/** Where the demo writes and which world it draws, when not told. */
export const DEMO_DEFAULTS = { out: 'turnkit-demo', seed: 0 } as const

/** Objects per scene in the grounding corpus and the test set: the sounding one and one distractor (see runDemo). */
export const DEMO_OBJECTS = 2

/** The demo's model: the `tiny` preset widened (see the schedule comment in runDemo). */
export const DEMO_MODEL = { dModel: 64, backboneChannels: [16, 32, 64], visualHeads: 4, domainDModel: 16, lambdaContrast: 1, contrastSymmetric: true }

export interface DemoOptions {
  out: string
  tool: { name: string; version: string }
  backend: string
  scale?: DemoScale
  seed?: number
  log?: (line: string) => void
  quiet?: boolean
}

export interface DemoResult {
  run: string
  evaluation: EvalRunResult
  report: string
}

/** One dataset of the demo: the corpus pipeline, its raw folder and its dataset folder. */
export interface DemoDataset {
  corpus: CorpusName
  src: string
  out: string
}

/**
 * Write the demo's synthetic world under `<out>/raw` and return the datasets to prepare from it, into
 * `<out>/datasets/<name>`: the RefCOCO-layout grounding corpus, the AudioCaps-layout corpus (with its defects),
 * the VGG-SS-layout test set and, at full scale, a dev set.
 */
export async function writeDemoWorld(out: string, { scale = 'full', seed = 0 }: { scale?: DemoScale; seed?: number } = {}): Promise<DemoDataset[]> {
  const size = DEMO_SCALES[scale]
  const raw = (name: string): string => join(out, 'raw', name)
  const data = (name: string): string => join(out, 'datasets', name)
  await writeRefCocoFixture(raw('refcoco'), { clips: size.images, seed, width: 384, height: 288, expressions: demoExpressions, objects: DEMO_OBJECTS })
  await writeAudioCapsFixture(raw('audiocaps'), { clips: size.clips, seed, corrupt: true, seconds: 10, caption: demoCaption })
  await writeDemoTestSet(raw('test'), { items: size.testItems, seed: seed + 1, objects: DEMO_OBJECTS })
  if (size.devItems > 0) await writeDemoTestSet(raw('dev'), { items: size.devItems, seed: seed + 2, objects: DEMO_OBJECTS })
  return [
    { corpus: 'refcoco', src: raw('refcoco'), out: data('refcoco') },
    { corpus: 'audiocaps', src: raw('audiocaps'), out: data('audiocaps') },
    { corpus: 'vggss', src: raw('test'), out: data('test') },
    ...(size.devItems > 0 ? [{ corpus: 'vggss' as const, src: raw('dev'), out: data('dev') }] : []),
  ]
}

/** Run the demo into `out`. Throws when a prepared dataset fails verification. */
export async function runDemo({ out, tool, backend, scale = 'full', seed = DEMO_DEFAULTS.seed, log = (l) => process.stdout.write(l + '\n'), quiet = false }: DemoOptions): Promise<DemoResult> {
  const size = DEMO_SCALES[scale]
  const at = (p: string): string => relative(process.cwd(), p) || '.'
  const data = (name: string): string => join(out, 'datasets', name)
  const started = performance.now()
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`

  log(`demo: 1/5 writing the synthetic world to ${at(join(out, 'raw'))}`)
  const plan = await writeDemoWorld(out, { scale, seed })

  log(`demo: 2/5 preparing datasets with the real pipelines (${elapsed()})`)
  for (const { corpus, src, out: dataset } of plan) {
    const summary = await prepareCorpus(corpus, { src, out: dataset, workers: availableParallelism(), tool, progress: quiet ? silentProgress : progressReporter(process.stderr) })
    const problems = await verifyDataset(dataset)
    if (problems.length > 0) throw new Error(`demo: ${dataset} failed verification: ${problems.join('; ')}`)
    const rejects = Object.entries(summary.rejects.byCode).map(([c, n]) => `${c} ${n}`).join(', ')
    log(`demo:   ${corpus} -> ${at(dataset)}: ${summary.inputs} inputs = ${summary.rows} rows + ${summary.rejects.total} rejects${rejects ? ` (${rejects}; see rejects.jsonl)` : ''}, verified, ${summary.manifest!.version.slice(0, 19)}…`)
  }

  const run = join(out, 'run')
  log(`demo: 3/5 training TURN (tiny preset widened to d 64, ${size.epochs} epochs, ${backend} backend): stage 1 domain classifier, stage 2 TURN (${elapsed()})`)
  // Demo world and schedule (measured, README "Limits"): with a 64 px backbone trained from scratch (the paper's
  // is a pre-trained DETR), the query-conditioned choice between TWO objects is learned from ~750 steps at d 64
  // and lr 5e-4 (faster than 1e-3 or 2.5e-4); among three it is not learned in minutes, nor at d 16 at all.
  // A contrast weight of 1 (paper 0.1), symmetric, makes an object's sound and its name land on the same codes
  // more often, which is what lets the audio query use what text taught. No image augmentation: it slows the
  // start. A fixed intermediate batch of b_s: balanced to these corpus sizes it would be 2, too few negatives for
  // InfoNCE.
  const settings: Partial<TrainSettings> = {
    preset: 'tiny',
    model: DEMO_MODEL,
    epochs: size.epochs,
    sourceBatch: size.batch,
    intermediateBatch: size.batch,
    seed,
    checkpointSteps: 0,
    peakLr: 5e-4,
    weightDecay: 1e-5,
    augment: false,
  }
  let lastLog = performance.now()
  await train({
    runDir: run,
    datasets: { source: data('refcoco'), intermediate: data('audiocaps'), dev: size.devItems > 0 ? data('dev') : null },
    settings,
    backend,
    tool,
    log: (line) => log(`demo:   ${line}`),
    onStep: (m) => {
      if (!quiet && performance.now() - lastLog > 10_000) {
        lastLog = performance.now()
        log(`demo:   step ${m.step}, epoch ${m.epoch + 1}, loss ${m.losses.total.toFixed(3)} (loc ${m.losses.loc.toFixed(3)}, contrast ${m.losses.contrast.toFixed(3)}), ${m.samplesPerSec} samples/s`)
      }
    },
  })

  log(`demo: 4/5 zero-resource evaluation on the audio-visual test set (audio -> box) (${elapsed()})`)
  const evaluation = await evaluateRun(run, data('test'), { name: 'test', vis: join(run, 'eval', 'test'), log: (line) => log(`demo:   ${line}`) })
  log(`demo: 5/5 writing the report (${elapsed()})`)
  const report = await writeReport(run)
  log('')
  log(evaluation.table.trimEnd())
  log('')
  const { ciouAt05, auc } = evaluation.report.overall
  const centre = evaluation.baselines.centre
  log(`demo: zero-resource cIoU@0.5 ${(100 * ciouAt05).toFixed(1)} (centre box ${(100 * centre.ciouAt05).toFixed(1)}), AUC ${(100 * auc).toFixed(1)} (centre box ${(100 * centre.auc).toFixed(1)})`)
  log(`demo: overlays ${at(join(run, 'eval', 'test', 'vis'))}/contact-sheet.png, report ${at(report.html)}, done in ${elapsed()}`)
  return { run, evaluation, report: report.html }
}
