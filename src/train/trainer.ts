// `turnkit train`: TURN's two training stages on prepared datasets, in a run directory (run-dir.ts) that says
// exactly which data and settings produced each checkpoint.
//   stage 1: the domain classifier Φ and the adaptive-sampling weights (classifier-stage.ts);
//   stage 2: TURN on source + intermediate batches (weighted draws), AdamW with warm-up and cosine annealing.
// Stage 2 is a loop over steps (`fitTurn`) that knows nothing of files: checkpointing, evaluation on the dev set
// and metrics are callbacks, as tfjs-layers' `fitDataset` takes `onBatchEnd` / `onEpochEnd`.
// Every random choice is a pure function of (seed, epoch, step, record key), and the checkpoint holds the model,
// the optimizer moments, the codebook EMA state, the step and the reader cursors: a run killed at any moment
// and resumed takes exactly the steps an uninterrupted run takes (bit-exact on the cpu backend).
import * as tf from '@tensorflow/tfjs-core'
import { mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { ensureIntact } from '../dataset/verify.js'
import { writeFileAtomic } from '../dataset/atomic.js'
import { resolveLocation } from '../dataset/storage.js'
import type { DataSettings } from '../dataset/cache.js'
import { resolveTurnConfig, maskRatioAt, type TurnConfig } from '../model/config.js'
import { createTurn, reconstructionMasks, type TurnModel, type LossTerm, type TurnBatch } from '../model/turn.js'
import { ModelReplicas } from '../model/replicas.js'
import { getMatMulThreads, setMatMulThreads } from '../model/wasm-kernels.js'
import type { Manifest } from '../dataset/manifest.js'
import { hashSeed } from '../random.js'
import { checkDatasetDir } from './compat.js'
import { readTexts, trainDomainClassifier, type DatasetTexts } from './classifier-stage.js'
import { AdamW, learningRateAt } from './optimizer.js'
import { BatchProducer } from './batch-producer.js'
import type { MixedBatch } from './batches.js'
import { applyVocabMap, buildVocabMap, type VocabMap } from './vocab-map.js'
import { evaluateModel } from './evaluate.js'
import { checkSourceIdLeaks } from './leaks.js'
import { resolveTrainSettings, type TrainSettings } from './settings.js'
import { RunDir, type BestScore, type DatasetRef, type RunConfig, type TrainState } from './run-dir.js'

export interface TrainDatasets {
  source: string
  intermediate: string
  /** An audio-image-boxes dataset to pick `best/` on (the paper uses a Flickr-SoundNet subset); optional. */
  dev: string | null
}

/** A new run: where it goes, what it reads, how it trains. */
export interface NewRunJob {
  runDir: string
  datasets: TrainDatasets
  settings: Partial<TrainSettings>
}

/** Continue a run from its last checkpoint: everything else comes from RUN/config.json. */
export interface ResumeJob {
  resume: string
}

/** What `train` is asked to do: start a run or resume one, on a backend, with optional callbacks. */
export type TrainJob = (NewRunJob | ResumeJob) & {
  backend: string
  tool: { name: string; version: string }
  log?: (line: string) => void
  /** Called after every stage-2 step with its metrics (tests, progress). */
  onStep?: (metrics: StepMetrics) => void
  /** Check every dataset's part files against its manifest before training (default true). */
  verifyData?: boolean
  /** How s3:// and http(s):// datasets are reached and cached; machine facts, not part of the run's config */
  data?: DataSettings
}

export interface StepMetrics {
  stage: 'turn'
  epoch: number
  step: number
  lr: number
  losses: Record<LossTerm, number>
  samplesPerSec: number
  dataWaitMs: number
  stepMs: number
  skipped?: boolean
}

/** What the step loop calls back, in this order within a step; the loop itself touches no file. */
export interface FitCallbacks {
  /** after every step, with its metrics */
  onStepEnd(metrics: StepMetrics): Promise<void>
  /** after the last step of an epoch (0-based), before that step's checkpoint */
  onEpochEnd(epoch: number): Promise<void>
  /** when a checkpoint is due: every epoch end, every checkpointSteps steps, and the last step */
  onCheckpoint(): Promise<void>
}

const AUDIO_SAMPLE_RATE = 22_050 // TURN's log-mel settings (docs/method.md, Inputs): the model expects them
const AUDIO_HOP = 1024
const BERT_VOCAB = 30_522

const settingOf = (m: Manifest, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], m.pipeline.settings)

/**
 * Resolve settings, check the datasets against the model and write RUN/config.json. Returns the config, the
 * compact vocabulary of a small model, and the datasets' texts (read once, for the vocabulary and stage 1).
 * Throws a ConfigError on a bad setting, and naming the dataset and setting when one does not fit the model.
 */
async function createRun(run: RunDir, job: NewRunJob & Pick<TrainJob, 'backend' | 'tool' | 'data' | 'log'>): Promise<{ config: RunConfig; vocab: VocabMap | null; texts: [DatasetTexts, DatasetTexts] }> {
  const settings = resolveTrainSettings(job.settings)
  const data = job.data ?? {}
  let model = resolveTurnConfig(settings.model, settings.preset)
  const source = await checkDatasetDir(job.datasets.source, { schemaId: 'image-text-box', maxTokens: model.textLength }, data)
  const vocabHash = String(settingOf(source, 'text', 'vocabHash'))
  const intermediate = await checkDatasetDir(job.datasets.intermediate, {
    schemaId: 'audio-text', sampleRate: AUDIO_SAMPLE_RATE, hopLength: AUDIO_HOP, nMels: model.nMels, maxTokens: model.textLength, vocabHash,
  }, data)
  const dev = job.datasets.dev === null ? null : await checkDatasetDir(job.datasets.dev, { schemaId: 'audio-image-boxes', sampleRate: AUDIO_SAMPLE_RATE, hopLength: AUDIO_HOP, nMels: model.nMels }, data)
  const texts: [DatasetTexts, DatasetTexts] = [await readTexts(job.datasets.source, data), await readTexts(job.datasets.intermediate, data)]
  let vocab: VocabMap | null = null
  if (model.vocabSize < BERT_VOCAB) {
    // A small model: map the ids the training data uses onto a compact vocabulary (vocab-map.ts).
    vocab = buildVocabMap(texts.flatMap((t) => t.texts.flat()))
    model = resolveTurnConfig({ ...settings.model, vocabSize: vocab.original.length }, settings.preset)
  }
  const ref = (dir: string, m: Manifest): DatasetRef => ({
    dir: resolveLocation(dir), version: m.version, pipeline: m.pipeline.name, rows: m.rows,
    shards: m.shards.map(({ file, rows, bytes, sha256 }) => ({ file, rows, bytes, sha256 })),
  })
  const config: RunConfig = {
    format: 'turnkit-run/1',
    model,
    train: settings,
    datasets: {
      source: ref(job.datasets.source, source),
      intermediate: ref(job.datasets.intermediate, intermediate),
      dev: job.datasets.dev === null || dev === null ? null : ref(job.datasets.dev, dev),
    },
    vocabulary: { hash: vocabHash, compact: vocab !== null, size: model.vocabSize },
    backend: job.backend,
    tool: job.tool,
  }
  await mkdir(run.dir, { recursive: true })
  if (vocab) await run.writeVocabMap(vocab)
  if (job.datasets.dev !== null) {
    // The dev set chooses best/: an item of it seen in training would flatter that choice.
    const leaks = await checkSourceIdLeaks([job.datasets.source, job.datasets.intermediate], job.datasets.dev, data, (line) => job.log?.(`train: ${line}`))
    await writeFileAtomic(run.overlapPath, JSON.stringify(leaks, null, 2) + '\n')
  }
  await run.writeConfig(config)
  return { config, vocab, texts }
}

/**
 * One step's batch as the model's tensors: images, tokens (through the compact vocabulary when the run has one),
 * boxes, log-mels, and the reconstruction masks of this step (ratio rising over the schedule, drawn from
 * (seed, step)). `tensors` lists everything to dispose after the step.
 */
export function batchTensors(
  batch: MixedBatch,
  { config, vocab, seed, step, scheduledSteps }: { config: TurnConfig; vocab: VocabMap | null; seed: number; step: number; scheduledSteps: number },
): { inputs: TurnBatch; tensors: tf.Tensor[] } {
  const s = batch.source
  const m = batch.intermediate
  const bs = s.keys.length
  const bm = m.keys.length
  const images = tf.tensor4d(s.images, [bs, s.size, s.size, 3])
  const sourceTokens = tf.tensor2d(vocab ? applyVocabMap(vocab, s.tokens) : s.tokens, [bs, s.maxTokens], 'int32')
  const boxes = tf.tensor2d(s.boxes, [bs, 4])
  const logMel = tf.tensor3d(m.logMel, [bm, m.frames, m.nMels])
  const intermediateTokens = tf.tensor2d(vocab ? applyVocabMap(vocab, m.tokens) : m.tokens, [bm, m.maxTokens], 'int32')
  const masks = reconstructionMasks(config, { sourceTokens, intermediateTokens, ratio: maskRatioAt(config, step / scheduledSteps), seed: hashSeed(seed, step, 'masks') })
  return {
    inputs: {
      source: { images, tokens: sourceTokens, boxes, textMask: masks.sourceTextMask },
      intermediate: { logMel, tokens: intermediateTokens, textMask: masks.intermediateTextMask, audioMask: masks.audioMask },
    },
    tensors: [images, sourceTokens, boxes, logMel, intermediateTokens, masks.sourceTextMask, masks.intermediateTextMask, masks.audioMask],
  }
}

/** The schedule of stage 2, from the run's config. */
export function turnSchedule(config: RunConfig): { stepsPerEpoch: number; scheduledSteps: number; lastStep: number } {
  const { train: settings } = config
  const stepsPerEpoch = Math.max(1, Math.ceil(config.datasets.source.rows / settings.sourceBatch))
  const scheduledSteps = settings.epochs * stepsPerEpoch
  const lastStep = settings.maxSteps === null ? scheduledSteps : Math.min(scheduledSteps, settings.maxSteps)
  return { stepsPerEpoch, scheduledSteps, lastStep }
}

/**
 * Stage 2's step loop: from `state.step` to the schedule's last step, each step one batch from `producer`,
 * one gradient step (skipped when a loss is not finite), the codebook EMA update, then the callbacks. Updates
 * `state` in place. Throws after `maxNonFinite` non-finite losses in a row.
 */
export async function fitTurn(
  { model, optimizer, producer, state, config, vocab }: { model: TurnModel; optimizer: AdamW; producer: BatchProducer; state: TrainState; config: RunConfig; vocab: VocabMap | null },
  callbacks: FitCallbacks,
  log: (line: string) => void,
): Promise<void> {
  // Runs stored before replicas existed have no such setting: one thread, as they ran.
  const replicaCount = config.train.replicas ?? 1
  if (replicaCount === 1) return await fitTurnSteps({ model, optimizer, producer, state, config, vocab }, null, callbacks, log)
  const replicas = await ModelReplicas.start(model, replicaCount)
  const threads = getMatMulThreads()
  setMatMulThreads(1) // every core runs a replica: a product split over helper threads would only contend with them
  log(`train: ${replicaCount} replicas of the model (worker threads), one per core`)
  try {
    await fitTurnSteps({ model, optimizer, producer, state, config, vocab }, replicas, callbacks, log)
  } finally {
    setMatMulThreads(threads)
    await replicas.close()
  }
}

async function fitTurnSteps(
  { model, optimizer, producer, state, config, vocab }: { model: TurnModel; optimizer: AdamW; producer: BatchProducer; state: TrainState; config: RunConfig; vocab: VocabMap | null },
  replicas: ModelReplicas | null,
  callbacks: FitCallbacks,
  log: (line: string) => void,
): Promise<void> {
  const { model: modelConfig, train: settings } = config
  const { stepsPerEpoch, scheduledSteps, lastStep } = turnSchedule(config)
  const params = model.trainableParameters
  while (state.step < lastStep) {
    const started = performance.now()
    const batch = await producer.next()
    const dataWaitMs = performance.now() - started
    const step = state.step
    const epoch = Math.floor(step / stepsPerEpoch)
    const { inputs, tensors } = batchTensors(batch, { config: modelConfig, vocab, seed: settings.seed, step, scheduledSteps })
    const microBatch = settings.microBatch ?? null
    const { grads, losses, assignments } = replicas === null ? model.trainingGradients(inputs, { microBatch }) : await replicas.trainingGradients(inputs, { microBatch })
    const finite = Object.values(losses).every(Number.isFinite)
    const lr = learningRateAt(step, { peakLr: settings.peakLr, warmupSteps: stepsPerEpoch, totalSteps: scheduledSteps })
    if (finite) {
      optimizer.apply(params, grads, lr)
      model.updateCodebooks(assignments, hashSeed(settings.seed, step, 'codebook'))
      state.nonFiniteStreak = 0
    } else {
      state.nonFiniteStreak++
      log(`train: step ${step}: non-finite loss (${JSON.stringify(losses)}); update skipped (${state.nonFiniteStreak} in a row)`)
    }
    tf.dispose([...tensors, ...Object.values(grads)])
    state.step = step + 1
    state.cursors = batch.cursors
    const stepMs = performance.now() - started
    const samples = batch.source.keys.length + batch.intermediate.keys.length
    await callbacks.onStepEnd({
      stage: 'turn', epoch, step, lr, losses,
      samplesPerSec: Number(((samples * 1000) / stepMs).toFixed(2)),
      dataWaitMs: Number(dataWaitMs.toFixed(2)),
      stepMs: Number(stepMs.toFixed(2)),
      ...(finite ? {} : { skipped: true }),
    })
    if (state.nonFiniteStreak >= settings.maxNonFinite) throw new NonFiniteLossError(state.nonFiniteStreak, step)
    const epochEnd = state.step % stepsPerEpoch === 0
    if (epochEnd) await callbacks.onEpochEnd(epoch)
    if (epochEnd || state.step === lastStep || (settings.checkpointSteps > 0 && state.step % settings.checkpointSteps === 0)) {
      await callbacks.onCheckpoint()
      if (epochEnd) log(`train: epoch ${epoch + 1}/${settings.epochs} done (step ${state.step}), loss ${losses.total.toFixed(4)}`)
    }
  }
}

/** Stage 2 stopped: too many non-finite losses in a row. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly streak: number,
    readonly step: number,
  ) {
    super(`train: ${streak} non-finite losses in a row at step ${step}: lower --lr, set --clip-norm, or check the data`)
  }
}

/** Run (or resume) training. Resolves when the schedule (or maxSteps) is done. */
export async function train(job: TrainJob): Promise<{ run: string; steps: number; best: BestScore | null }> {
  const log = job.log ?? ((line: string) => process.stderr.write(line + '\n'))
  const run = new RunDir('resume' in job ? job.resume : job.runDir)
  const existed = existsSync(run.dir)
  const datasets = 'resume' in job ? Object.values((await run.readConfig()).datasets).flatMap((d) => (d === null ? [] : [d.dir])) : [job.datasets.source, job.datasets.intermediate, ...(job.datasets.dev === null ? [] : [job.datasets.dev])]
  // Every part file is checked against its manifest before the first step: a damaged dataset stops the run here,
  // naming the file and the command that rebuilds it, instead of failing deep inside training.
  if (job.verifyData === false) log('train: --no-verify-data: the datasets are read without checking their part files against the manifests')
  else for (const dir of datasets) await ensureIntact(dir, (line) => log(`train: ${line}`), job.data)
  try {
    return await trainRun(job, run, log)
  } catch (error) {
    // A new run that fails before its first checkpoint has nothing to resume: leave no half-made run folder.
    if (!('resume' in job) && !run.hasCheckpoint()) await run.removeCreated(existed)
    throw error
  }
}

/** Stage 1 (when not done yet) and stage 2 of `job` in `run`. */
async function trainRun(job: TrainJob, run: RunDir, log: (line: string) => void): Promise<{ run: string; steps: number; best: BestScore | null }> {
  const created = 'resume' in job ? null : await createRun(run, { ...job, log })
  const runConfig = created?.config ?? (await run.readConfig())
  const vocab = created ? created.vocab : await run.readVocabMap(runConfig)
  const { model: modelConfig, train: settings } = runConfig
  if (runConfig.backend !== job.backend) log(`train: this run started on the '${runConfig.backend}' backend and continues on '${job.backend}': losses may differ in the last digits`)

  // Stage 1: the domain classifier and the sampling weights (redone whole if the run died inside it: it is short).
  if (settings.adaptiveSampling && !run.hasSamplingWeights()) {
    const [source, intermediate] = created?.texts ?? [await readTexts(runConfig.datasets.source.dir, job.data), await readTexts(runConfig.datasets.intermediate.dir, job.data)]
    await run.truncateMetrics(-1)
    await trainDomainClassifier(run, modelConfig, settings, { source, intermediate }, vocab, log)
  }

  // Stage 2.
  const restored = await run.loadCheckpoint(modelConfig)
  const model = restored?.model ?? createTurn(modelConfig, { seed: settings.seed })
  const optimizer = restored?.optimizer ?? new AdamW({ peakLr: settings.peakLr, weightDecay: settings.weightDecay, clipNorm: settings.clipNorm })
  const state: TrainState = restored?.state ?? { step: 0, cursors: { source: { epoch: 0, position: 0 }, intermediate: { epoch: 0, position: 0 } }, nonFiniteStreak: 0, best: null }
  await run.truncateMetrics(state.step)
  if (restored) log(`train: resumed from step ${state.step}`)

  const producer = new BatchProducer({
    sourceDir: runConfig.datasets.source.dir,
    intermediateDir: runConfig.datasets.intermediate.dir,
    weights: settings.adaptiveSampling ? { source: run.weightsPath('source'), intermediate: run.weightsPath('intermediate') } : { source: null, intermediate: null },
    cursors: state.cursors,
    data: job.data ?? {},
    batches: {
      sourceBatch: settings.sourceBatch,
      ...(settings.intermediateBatch === null ? {} : { intermediateBatch: settings.intermediateBatch }),
      seed: settings.seed,
      train: true,
      size: modelConfig.imageSize,
      maxTokens: modelConfig.textLength,
      frames: modelConfig.audioFrames,
      augment: settings.augment,
      specAugment: settings.specAugment ? {} : false,
    },
  })
  const dev = runConfig.datasets.dev
  const callbacks: FitCallbacks = {
    async onStepEnd(metrics) {
      await run.appendMetrics([metrics])
      job.onStep?.(metrics)
    },
    async onEpochEnd(epoch) {
      if (dev === null) return
      const { report } = await evaluateModel(model, dev.dir, { data: job.data ?? {} })
      const line = { stage: 'eval', epoch, step: state.step, dataset: 'dev', ciouAt05: report.overall.ciouAt05, auc: report.overall.auc, meanCiou: report.overall.meanCiou }
      await run.appendMetrics([line])
      log(`train: epoch ${epoch + 1} dev cIoU@0.5 ${(100 * line.ciouAt05).toFixed(1)} AUC ${(100 * line.auc).toFixed(1)}`)
      const better = state.best === null || line.ciouAt05 > state.best.ciouAt05 || (line.ciouAt05 === state.best.ciouAt05 && line.auc > state.best.auc)
      if (better) {
        state.best = { step: state.step, ciouAt05: line.ciouAt05, auc: line.auc }
        await run.writeBest(model, state.best, runConfig.datasets)
      }
    },
    async onCheckpoint() {
      await run.writeCheckpoint(model, optimizer, state, runConfig.datasets)
    },
  }
  try {
    try {
      await fitTurn({ model, optimizer, producer, state, config: runConfig, vocab }, callbacks, log)
    } catch (error) {
      if (!(error instanceof NonFiniteLossError)) throw error
      const where = run.hasCheckpoint() ? `the last good checkpoint is named in ${run.latestPath}` : 'no checkpoint was written yet'
      throw new Error(`${error.message} (${where})`, { cause: error })
    }
    // Without a dev set the last checkpoint stands in for the best one (documented): say so in best/best.json.
    if (dev === null && !run.hasBest()) await run.writeBest(model, null, runConfig.datasets)
  } finally {
    await producer.close()
    optimizer.dispose()
    model.dispose()
  }
  return { run: run.dir, steps: state.step, best: state.best }
}
