// `turnkit train`: TURN's two training stages on prepared datasets, in a run directory that says exactly which
// data and settings produced each checkpoint.
//   stage 1: the domain classifier Φ on source and intermediate texts (2 epochs, lr 1e-4), whose logits give the
//            adaptive-sampling weights of Eq. 12-13 (saved in the run, keyed by record key);
//   stage 2: TURN on source + intermediate batches (weighted draws), AdamW with warm-up and cosine annealing,
//            checkpoints every epoch and every --checkpoint-steps, `best/` on the dev set.
// Every random choice is a pure function of (seed, epoch, step, record key), and the checkpoint holds the model,
// the optimizer moments, the codebook EMA state, the step and the reader cursors: a run killed at any moment
// and resumed takes exactly the steps an uninterrupted run takes (bit-exact on the cpu backend).
import * as tf from '@tensorflow/tfjs-core'
import { appendFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { resolveTurnConfig, maskRatioAt, type TurnConfig, type TurnPreset } from '../model/config.js'
import { createTurn, reconstructionMasks, type TurnModel, type LossTerm } from '../model/turn.js'
import { saveTurn, loadTurn } from '../model/checkpoint.js'
import { writeTfjsArtifacts, readNamedTensors } from '../model/checkpoint-io.js'
import { DomainClassifier } from '../model/domain-classifier.js'
import { writeFileAtomic } from '../dataset/atomic.js'
import { checkDatasetDir } from './compat.js'
import { openDataset } from '../dataset/dataset.js'
import type { Cursor } from '../dataset/stream.js'
import { domainExclusivityWeights, saveWeights } from './sampling.js'
import { hashSeed, rngFor, shuffleInPlace } from '../random.js'
import { AdamW, learningRateAt } from './optimizer.js'
import { BatchProducer } from './batch-producer.js'
import { applyVocabMap, buildVocabMap, loadVocabMap, saveVocabMap, type VocabMap } from './vocab-map.js'
import { evaluateModel } from './evaluate.js'
import type { Manifest } from '../dataset/manifest.js'

/** Training settings: defaults are the paper's (appendix A.2.3). Stored in RUN/config.json. */
export interface TrainSettings {
  preset: TurnPreset
  /** Overrides of the preset's model numbers (a JSON config); unknown keys are an error. */
  model: Record<string, unknown>
  epochs: number
  classifierEpochs: number
  /** b_s; the intermediate batch is balanced to the corpus sizes unless `intermediateBatch` is set. */
  sourceBatch: number
  intermediateBatch: number | null
  /** Items of each domain per forward/backward pass; the step's gradient is the sum over slices and equals the
   *  whole batch's (TurnModel.trainingGradients). null = the whole batch at once. Memory follows the slice. */
  microBatch: number | null
  seed: number
  peakLr: number
  classifierLr: number
  weightDecay: number
  /** Global gradient-norm clip; 0 = off. */
  clipNorm: number
  adaptiveSampling: boolean
  /** Largest / smallest sampling weight (Eq. 12-13). */
  samplingK: number
  /** Extra checkpoint every N steps (0 = only at epoch ends). */
  checkpointSteps: number
  /** Stop the run after this many non-finite losses in a row. */
  maxNonFinite: number
  /** Stop stage 2 after this many steps (smoke runs, tests); null = the full schedule. The schedule itself does not change. */
  maxSteps: number | null
  specAugment: boolean
  augment: boolean
}

export const TRAIN_DEFAULTS: TrainSettings = {
  preset: 'paper',
  model: {},
  epochs: 30,
  classifierEpochs: 2,
  sourceBatch: 64,
  intermediateBatch: null,
  microBatch: null,
  seed: 0,
  peakLr: 1e-4,
  classifierLr: 1e-4,
  weightDecay: 1e-5,
  clipNorm: 0,
  adaptiveSampling: true,
  samplingK: 5,
  checkpointSteps: 0,
  maxNonFinite: 5,
  maxSteps: null,
  specAugment: true,
  augment: true,
}

export interface TrainDatasets {
  source: string
  intermediate: string
  /** An audio-image-boxes dataset to pick `best/` on (the paper uses a Flickr-SoundNet subset); optional. */
  dev: string | null
}

/** RUN/config.json. */
export interface RunConfig {
  format: 'turnkit-run/1'
  model: TurnConfig
  train: TrainSettings
  datasets: Record<'source' | 'intermediate' | 'dev', { dir: string; version: string; pipeline: string; rows: number } | null>
  /** Token ids of the datasets: their tokenizer vocabulary hash, and whether the run maps them to a compact vocabulary. */
  vocabulary: { hash: string; compact: boolean; size: number }
  backend: string
  tool: { name: string; version: string }
}

/** RUN/checkpoints/<name>/state.json: what, besides weights, a resumed run needs. */
interface TrainState {
  step: number
  cursors: { source: Cursor; intermediate: Cursor }
  nonFiniteStreak: number
  best: { step: number; ciouAt05: number; auc: number } | null
}

export interface TrainJob {
  runDir: string
  datasets: TrainDatasets
  settings: Partial<TrainSettings>
  backend: string
  tool: { name: string; version: string }
  log?: (line: string) => void
  /** Called after every stage-2 step with its metrics (tests, progress). */
  onStep?: (metrics: StepMetrics) => void
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

const CHECKPOINTS = 'checkpoints'
const AUDIO_SAMPLE_RATE = 22_050 // TURN's log-mel settings (method.md, Inputs): the model expects them
const AUDIO_HOP = 1024

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T
const settingOf = (m: Manifest, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], m.pipeline.settings)

/** Token ids of every item of a dataset, by global row index (for the classifier and the vocabulary map). */
async function readTexts(dir: string): Promise<{ keys: string[]; texts: Int32Array[][] }> {
  const dataset = await openDataset(dir)
  const keys: string[] = []
  const texts: Int32Array[][] = []
  for await (const row of dataset.rows({ columns: ['key', 'token_ids'] })) {
    keys.push(row.key as string)
    texts.push(row.token_ids as Int32Array[])
  }
  return { keys, texts }
}

/** Pad or cut one id sequence into row `r` of a [B, L] array (ids already mapped). */
function putTokens(into: Int32Array, r: number, length: number, ids: ArrayLike<number>): void {
  for (let i = 0; i < Math.min(length, ids.length); i++) into[r * length + i] = ids[i]!
}

/**
 * Stage 1: train Φ to tell source text from intermediate text, then turn its logits into per-item sampling
 * weights (each item's logit is the mean over its texts). Writes RUN/weights-{source,intermediate}.jsonl.
 */
async function trainDomainClassifier(
  run: string,
  config: TurnConfig,
  settings: TrainSettings,
  texts: { source: { keys: string[]; texts: Int32Array[][] }; intermediate: { keys: string[]; texts: Int32Array[][] } },
  vocab: VocabMap | null,
  log: (line: string) => void,
): Promise<void> {
  const classifier = new DomainClassifier(config, { seed: settings.seed })
  const optimizer = new AdamW({ peakLr: settings.classifierLr, weightDecay: settings.weightDecay })
  const L = config.textLength
  const batch = Math.max(1, Math.min(settings.sourceBatch, texts.source.keys.length, texts.intermediate.keys.length))
  const tokensOf = (domain: 'source' | 'intermediate', indices: number[], epoch: number): tf.Tensor2D => {
    const out = new Int32Array(indices.length * L)
    indices.forEach((item, r) => {
      const options = texts[domain].texts[item]!
      const pickText = options[Math.floor(rngFor(settings.seed, epoch, texts[domain].keys[item]!, 'classifier-text')() * options.length)]!
      putTokens(out, r, L, vocab ? applyVocabMap(vocab, Int32Array.from(pickText)) : pickText)
    })
    return tf.tensor2d(out, [indices.length, L], 'int32')
  }
  const steps = Math.ceil(Math.max(texts.source.keys.length, texts.intermediate.keys.length) / batch)
  const metrics: string[] = []
  for (let epoch = 0; epoch < settings.classifierEpochs; epoch++) {
    const order = {
      source: shuffleInPlace(texts.source.keys.map((_, i) => i), rngFor(settings.seed, epoch, 'classifier-order', 'source')),
      intermediate: shuffleInPlace(texts.intermediate.keys.map((_, i) => i), rngFor(settings.seed, epoch, 'classifier-order', 'intermediate')),
    }
    for (let s = 0; s < steps; s++) {
      // Both domains every step; the smaller one cycles (balanced classes).
      const take = (list: number[]): number[] => Array.from({ length: batch }, (_, i) => list[(s * batch + i) % list.length]!)
      const sourceTokens = tokensOf('source', take(order.source), epoch)
      const intermediateTokens = tokensOf('intermediate', take(order.intermediate), epoch)
      const { value, grads } = tf.variableGrads(() => classifier.loss(sourceTokens, intermediateTokens), classifier.trainableVariables)
      const loss = value.dataSync()[0]!
      // variableGrads keys gradients by tfjs variable name; the optimizer keys its moments by parameter name.
      const byName = Object.fromEntries([...classifier.parameters].flatMap(([name, v]) => (grads[v.name] ? [[name, grads[v.name]!]] : [])))
      optimizer.apply(classifier.parameters, byName, settings.classifierLr)
      tf.dispose([value, sourceTokens, intermediateTokens, ...Object.values(grads)])
      metrics.push(JSON.stringify({ stage: 'classifier', epoch, step: epoch * steps + s, lr: settings.classifierLr, losses: { ext: loss } }))
    }
    log(`train: domain classifier epoch ${epoch + 1}/${settings.classifierEpochs}, L_ext ${JSON.parse(metrics.at(-1)!).losses.ext.toFixed(4)}`)
  }
  await appendFile(join(run, 'metrics.jsonl'), metrics.map((m) => m + '\n').join(''))
  // Logits per item: the mean over all its texts, computed in chunks of up to 256 texts.
  const itemLogits = (domain: 'source' | 'intermediate'): Float64Array => {
    const all = texts[domain].texts
    const out = new Float64Array(all.length)
    for (let start = 0; start < all.length; ) {
      let end = start
      let count = 0
      while (end < all.length && (count === 0 || count + all[end]!.length <= 256)) count += all[end++]!.length
      const t = new Int32Array(count * L)
      let r = 0
      for (let item = start; item < end; item++) for (const ids of all[item]!) putTokens(t, r++, L, vocab ? applyVocabMap(vocab, Int32Array.from(ids)) : ids)
      const logits = tf.tidy(() => classifier.logits(tf.tensor2d(t, [count, L], 'int32')).dataSync())
      r = 0
      for (let item = start; item < end; item++) {
        let sum = 0
        for (let k = 0; k < all[item]!.length; k++) sum += logits[r++]!
        out[item] = sum / all[item]!.length
      }
      start = end
    }
    return out
  }
  for (const domain of ['source', 'intermediate'] as const) {
    const weights = domainExclusivityWeights(itemLogits(domain), domain, settings.samplingK)
    await saveWeights(join(run, `weights-${domain}.jsonl`), texts[domain].keys, weights)
    const max = Math.max(...weights)
    const min = Math.min(...weights)
    log(`train: ${domain} sampling weights written (${weights.length} items, max/min ${(max / min).toFixed(3)})`)
  }
  optimizer.dispose()
  classifier.dispose()
}

/** The checkpoint names in RUN/checkpoints, oldest first. */
async function checkpointNames(run: string): Promise<string[]> {
  const dir = join(run, CHECKPOINTS)
  if (!existsSync(dir)) return []
  return (await readdir(dir)).filter((n) => /^step-\d{8}$/.test(n)).sort()
}

/**
 * Write a checkpoint directory (model, optimizer moments, state) under a temporary name and rename it into
 * place, then point RUN/checkpoints/latest.json at it: a reader never sees half a checkpoint.
 */
async function writeCheckpoint(run: string, model: TurnModel, optimizer: AdamW, state: TrainState): Promise<string> {
  const name = `step-${String(state.step).padStart(8, '0')}`
  const final = join(run, CHECKPOINTS, name)
  const tmp = join(run, CHECKPOINTS, `.tmp-${name}-${process.pid}`)
  await rm(tmp, { recursive: true, force: true })
  await saveTurn(model, join(tmp, 'model'))
  const { step, tensors } = optimizer.state()
  await writeTfjsArtifacts(join(tmp, 'optimizer'), tensors, { format: 'turnkit-adamw', userDefinedMetadata: { step, config: optimizer.config } })
  await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n')
  await rm(final, { recursive: true, force: true })
  await rename(tmp, final)
  await writeFileAtomic(join(run, CHECKPOINTS, 'latest.json'), JSON.stringify({ checkpoint: name, step: state.step }) + '\n')
  // Keep the two newest (and `best/` separately): a crash while writing one leaves the other.
  const names = await checkpointNames(run)
  for (const old of names.slice(0, -2)) await rm(join(run, CHECKPOINTS, old), { recursive: true, force: true })
  return final
}

async function loadCheckpoint(run: string, config: TurnConfig): Promise<{ model: TurnModel; optimizer: AdamW; state: TrainState } | null> {
  const latestPath = join(run, CHECKPOINTS, 'latest.json')
  if (!existsSync(latestPath)) return null
  const { checkpoint } = await readJson<{ checkpoint: string }>(latestPath)
  const dir = join(run, CHECKPOINTS, checkpoint)
  const model = await loadTurn(join(dir, 'model'), { config })
  const { json, tensors } = await readNamedTensors(join(dir, 'optimizer'))
  const meta = json.userDefinedMetadata as { step: number; config: Partial<import('./optimizer.js').AdamWConfig> }
  const optimizer = new AdamW(meta.config)
  optimizer.load({ step: meta.step, tensors: tensors as Record<string, tf.Tensor> })
  tf.dispose(Object.values(tensors))
  return { model, optimizer, state: await readJson<TrainState>(join(dir, 'state.json')) }
}

/** Keep only the metrics lines of the `step` steps a checkpoint holds: a resumed run replays the ones after it. */
async function truncateMetrics(run: string, step: number): Promise<void> {
  const path = join(run, 'metrics.jsonl')
  if (!existsSync(path)) return
  const kept = (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false
      try {
        const m = JSON.parse(line) as { stage?: string; step?: number }
        // A turn line's step is 0-based (steps done before it); an eval line's is the steps done when it ran.
        return m.stage === 'classifier' || (m.stage === 'eval' ? (m.step ?? 0) <= step : (m.step ?? 0) < step)
      } catch {
        return false // the torn last line of a killed run
      }
    })
  await writeFileAtomic(path, kept.map((l) => l + '\n').join(''))
}

/** Resolve settings, check the datasets against the model and write RUN/config.json (or check it on resume). */
async function prepareRun(job: TrainJob): Promise<{ config: RunConfig; vocab: VocabMap | null; texts: Awaited<ReturnType<typeof readTexts>>[] | null }> {
  const run = job.runDir
  const configPath = join(run, 'config.json')
  if (existsSync(configPath)) {
    const config = await readJson<RunConfig>(configPath)
    const vocab = config.vocabulary.compact ? await loadVocabMap(join(run, 'vocab-map.json')) : null
    return { config, vocab, texts: null }
  }
  const settings: TrainSettings = { ...TRAIN_DEFAULTS, ...job.settings }
  for (const key of Object.keys(job.settings)) if (!(key in TRAIN_DEFAULTS)) throw new Error(`train: unknown setting '${key}'`)
  let model = resolveTurnConfig(settings.model, settings.preset)
  const source = await checkDatasetDir(job.datasets.source, { schemaId: 'image-text-box', maxTokens: model.textLength })
  const vocabHash = String(settingOf(source, 'text', 'vocabHash'))
  const intermediate = await checkDatasetDir(job.datasets.intermediate, {
    schemaId: 'audio-text', sampleRate: AUDIO_SAMPLE_RATE, hopLength: AUDIO_HOP, nMels: model.nMels, maxTokens: model.textLength, vocabHash,
  })
  const dev = job.datasets.dev === null ? null : await checkDatasetDir(job.datasets.dev, { schemaId: 'audio-image-boxes', sampleRate: AUDIO_SAMPLE_RATE, hopLength: AUDIO_HOP, nMels: model.nMels })
  const texts = [await readTexts(job.datasets.source), await readTexts(job.datasets.intermediate)]
  const BERT_VOCAB = 30_522
  let vocab: VocabMap | null = null
  if (model.vocabSize < BERT_VOCAB) {
    // A small model: map the ids the training data uses onto a compact vocabulary (vocab-map.ts).
    vocab = buildVocabMap(texts.flatMap((t) => t.texts.flat()))
    model = resolveTurnConfig({ ...settings.model, vocabSize: vocab.original.length }, settings.preset)
  }
  const describe = (dir: string, m: Manifest) => ({ dir: resolve(dir), version: m.version, pipeline: m.pipeline.name, rows: m.rows })
  const config: RunConfig = {
    format: 'turnkit-run/1',
    model,
    train: settings,
    datasets: {
      source: describe(job.datasets.source, source),
      intermediate: describe(job.datasets.intermediate, intermediate),
      dev: job.datasets.dev === null || dev === null ? null : describe(job.datasets.dev, dev),
    },
    vocabulary: { hash: vocabHash, compact: vocab !== null, size: model.vocabSize },
    backend: job.backend,
    tool: job.tool,
  }
  await mkdir(run, { recursive: true })
  if (vocab) await saveVocabMap(join(run, 'vocab-map.json'), vocab)
  await writeFileAtomic(configPath, JSON.stringify(config, null, 2) + '\n')
  return { config, vocab, texts }
}

/** Run (or resume) training in `job.runDir`. Resolves when the schedule (or maxSteps) is done. */
export async function train(job: TrainJob): Promise<{ run: string; steps: number; best: TrainState['best'] }> {
  const log = job.log ?? ((line: string) => process.stderr.write(line + '\n'))
  const run = job.runDir
  const { config: runConfig, vocab, texts: scanned } = await prepareRun(job)
  const { model: modelConfig, train: settings } = runConfig
  if (runConfig.backend !== job.backend) log(`train: this run started on the '${runConfig.backend}' backend and continues on '${job.backend}': losses may differ in the last digits`)

  // Stage 1: the domain classifier and the sampling weights (redone whole if the run died inside it: it is short).
  const weightsDone = existsSync(join(run, 'weights-source.jsonl')) && existsSync(join(run, 'weights-intermediate.jsonl'))
  if (settings.adaptiveSampling && !weightsDone) {
    const [source, intermediate] = scanned ?? [await readTexts(runConfig.datasets.source!.dir), await readTexts(runConfig.datasets.intermediate!.dir)]
    await truncateMetrics(run, -1)
    await trainDomainClassifier(run, modelConfig, settings, { source: source!, intermediate: intermediate! }, vocab, log)
  }

  // Stage 2.
  const restored = await loadCheckpoint(run, modelConfig)
  const model = restored?.model ?? createTurn(modelConfig, { seed: settings.seed })
  const optimizer = restored?.optimizer ?? new AdamW({ peakLr: settings.peakLr, weightDecay: settings.weightDecay, clipNorm: settings.clipNorm })
  const state: TrainState = restored?.state ?? { step: 0, cursors: { source: { epoch: 0, position: 0 }, intermediate: { epoch: 0, position: 0 } }, nonFiniteStreak: 0, best: null }
  await truncateMetrics(run, state.step)
  if (restored) log(`train: resumed from step ${state.step}`)

  const sourceRows = runConfig.datasets.source!.rows
  const stepsPerEpoch = Math.max(1, Math.ceil(sourceRows / settings.sourceBatch))
  const scheduledSteps = settings.epochs * stepsPerEpoch
  const lastStep = settings.maxSteps === null ? scheduledSteps : Math.min(scheduledSteps, settings.maxSteps)
  const producer = new BatchProducer({
    sourceDir: runConfig.datasets.source!.dir,
    intermediateDir: runConfig.datasets.intermediate!.dir,
    weights: settings.adaptiveSampling ? { source: join(run, 'weights-source.jsonl'), intermediate: join(run, 'weights-intermediate.jsonl') } : { source: null, intermediate: null },
    cursors: state.cursors,
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
  const params = model.trainableParameters
  try {
    while (state.step < lastStep) {
      const started = performance.now()
      const batch = await producer.next()
      const dataWaitMs = performance.now() - started
      const step = state.step
      const epoch = Math.floor(step / stepsPerEpoch)
      const s = batch.source
      const m = batch.intermediate
      const sourceIds = vocab ? applyVocabMap(vocab, s.tokens) : s.tokens
      const intermediateIds = vocab ? applyVocabMap(vocab, m.tokens) : m.tokens
      const bs = s.keys.length
      const bm = m.keys.length
      const images = tf.tensor4d(s.images, [bs, s.size, s.size, 3])
      const sourceTokens = tf.tensor2d(sourceIds, [bs, s.maxTokens], 'int32')
      const boxes = tf.tensor2d(s.boxes, [bs, 4])
      const logMel = tf.tensor3d(m.logMel, [bm, m.frames, m.nMels])
      const intermediateTokens = tf.tensor2d(intermediateIds, [bm, m.maxTokens], 'int32')
      const masks = reconstructionMasks(modelConfig, { sourceTokens, intermediateTokens, ratio: maskRatioAt(modelConfig, step / scheduledSteps), seed: hashSeed(settings.seed, step, 'masks') })
      const { grads, losses, assignments } = model.trainingGradients({
        source: { images, tokens: sourceTokens, boxes, textMask: masks.sourceTextMask },
        intermediate: { logMel, tokens: intermediateTokens, textMask: masks.intermediateTextMask, audioMask: masks.audioMask },
      }, { microBatch: settings.microBatch ?? null })
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
      tf.dispose([images, sourceTokens, boxes, logMel, intermediateTokens, masks.sourceTextMask, masks.intermediateTextMask, masks.audioMask, ...Object.values(grads)])
      state.step = step + 1
      state.cursors = batch.cursors
      const stepMs = performance.now() - started
      const metrics: StepMetrics = { stage: 'turn', epoch, step, lr, losses, samplesPerSec: Number((((bs + bm) * 1000) / stepMs).toFixed(2)), dataWaitMs: Number(dataWaitMs.toFixed(2)), stepMs: Number(stepMs.toFixed(2)), ...(finite ? {} : { skipped: true }) }
      await appendFile(join(run, 'metrics.jsonl'), JSON.stringify(metrics) + '\n')
      job.onStep?.(metrics)
      if (state.nonFiniteStreak >= settings.maxNonFinite) {
        const latest = join(run, CHECKPOINTS, 'latest.json')
        const where = existsSync(latest) ? `the last good checkpoint is named in ${latest}` : 'no checkpoint was written yet'
        throw new Error(`train: ${state.nonFiniteStreak} non-finite losses in a row at step ${step}: lower --lr, set --clip-norm, or check the data (${where})`)
      }
      const epochEnd = state.step % stepsPerEpoch === 0
      if (epochEnd || state.step === lastStep || (settings.checkpointSteps > 0 && state.step % settings.checkpointSteps === 0)) {
        if (epochEnd && runConfig.datasets.dev !== null) {
          const { report } = await evaluateModel(model, runConfig.datasets.dev.dir)
          const line = { stage: 'eval', epoch, step: state.step, dataset: 'dev', ciouAt05: report.overall.ciouAt05, auc: report.overall.auc, meanCiou: report.overall.meanCiou }
          await appendFile(join(run, 'metrics.jsonl'), JSON.stringify(line) + '\n')
          log(`train: epoch ${epoch + 1} dev cIoU@0.5 ${(100 * line.ciouAt05).toFixed(1)} AUC ${(100 * line.auc).toFixed(1)}`)
          const better = state.best === null || line.ciouAt05 > state.best.ciouAt05 || (line.ciouAt05 === state.best.ciouAt05 && line.auc > state.best.auc)
          if (better) {
            state.best = { step: state.step, ciouAt05: line.ciouAt05, auc: line.auc }
            await writeBest(run, model, state.best)
          }
        }
        await writeCheckpoint(run, model, optimizer, state)
        if (epochEnd) log(`train: epoch ${epoch + 1}/${settings.epochs} done (step ${state.step}), loss ${losses.total.toFixed(4)}`)
      }
    }
    if (runConfig.datasets.dev === null && !existsSync(join(run, 'best', 'model', 'model.json'))) {
      // Without a dev set the last checkpoint stands in for the best one (documented): say so in best/best.json.
      await writeBest(run, model, null)
    }
  } finally {
    await producer.close()
    optimizer.dispose()
    model.dispose()
  }
  return { run, steps: state.step, best: state.best }
}

/** RUN/best: the model of the best dev score (or the final one when there is no dev set), written atomically. */
async function writeBest(run: string, model: TurnModel, best: TrainState['best']): Promise<void> {
  const tmp = join(run, `.tmp-best-${process.pid}`)
  await rm(tmp, { recursive: true, force: true })
  await saveTurn(model, join(tmp, 'model'))
  await writeFile(join(tmp, 'best.json'), JSON.stringify(best ?? { chosenBy: 'last step (no --dev dataset)' }) + '\n')
  await rm(join(run, 'best'), { recursive: true, force: true })
  await rename(tmp, join(run, 'best'))
}

/** Load RUN/best (or a checkpoint dir) with the run's vocabulary map, for evaluation. */
export async function loadRunModel(run: string): Promise<{ model: TurnModel; config: RunConfig }> {
  const config = await readJson<RunConfig>(join(run, 'config.json'))
  const dir = join(run, 'best', 'model')
  if (!existsSync(join(dir, 'model.json'))) throw new Error(`${run} has no best/ model yet: train it first (turnkit train ... --out ${run})`)
  return { model: await loadTurn(dir, { config: config.model }), config }
}
