// A run directory, owned here: which files it holds, how each is written (atomically) and read back. The
// trainer, evaluation and the report go through this module; none of them spells a run file's name.
//   RUN/config.json                 resolved model config, training settings, each dataset's dir + version
//   RUN/metrics.jsonl               one line per step (and per classifier step, per evaluation)
//   RUN/weights-{source,intermediate}.jsonl   adaptive-sampling weights by record key
//   RUN/vocab-map.json              (small models) the compact vocabulary
//   RUN/overlap.json                source ids shared by the training datasets and --dev (a leak check)
//   RUN/checkpoints/step-NNNNNNNN/  model, optimizer moments, state.json, datasets.json; checkpoints/latest.json
//                                   names the newest
//   RUN/best/                       the model with the best dev score (or the last one), best.json says which,
//                                   datasets.json which data made it (so a checkpoint copied alone still says)
//   RUN/eval/<name>/                an evaluation's predictions, scores and overlays
import * as tf from '@tensorflow/tfjs-core'
import { appendFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { TurnConfig } from '../model/config.js'
import type { TurnModel } from '../model/turn.js'
import { loadTurn, saveTurn } from '../model/checkpoint.js'
import { readNamedTensors, writeTfjsArtifacts } from '../model/checkpoint-io.js'
import { writeFileAtomic } from '../dataset/atomic.js'
import type { Cursor } from '../dataset/stream.js'
import { parseJsonLines, readJsonFile } from '../formats/json.js'
import { AdamW, type AdamWConfig } from './optimizer.js'
import type { TrainSettings } from './settings.js'
import { loadVocabMap, saveVocabMap, type VocabMap } from './vocab-map.js'

/** A dataset a run reads, as RUN/config.json records it. */
export interface DatasetRef {
  dir: string
  version: string
  pipeline: string
  rows: number
  /** its part files as the manifest listed them when training started (absent in runs made before lineage) */
  shards?: { file: string; rows: number; bytes: number; sha256: string }[]
}

/** The datasets a run trained on (config.json `datasets`, and datasets.json beside every model it saves). */
export type RunDatasets = RunConfig['datasets']

/** The file beside a saved model (a checkpoint, best/) that names the data that made it. */
export const DATASETS_FILE = 'datasets.json'

/** RUN/config.json. */
export interface RunConfig {
  format: 'turnkit-run/1'
  model: TurnConfig
  train: TrainSettings
  datasets: { source: DatasetRef; intermediate: DatasetRef; dev: DatasetRef | null }
  /** Token ids of the datasets: their tokenizer vocabulary hash, and whether the run maps them to a compact vocabulary. */
  vocabulary: { hash: string; compact: boolean; size: number }
  backend: string
  tool: { name: string; version: string }
}

/** The best dev score so far and the step it was reached at. */
export interface BestScore {
  step: number
  ciouAt05: number
  auc: number
}

/** RUN/checkpoints/<name>/state.json: what, besides weights, a resumed run needs. */
export interface TrainState {
  step: number
  cursors: { source: Cursor; intermediate: Cursor }
  nonFiniteStreak: number
  best: BestScore | null
}

/** What a checkpoint restores. */
export interface Checkpoint {
  model: TurnModel
  optimizer: AdamW
  state: TrainState
}

const CHECKPOINTS = 'checkpoints'
const readJson = async <T>(path: string): Promise<T> => (await readJsonFile(path)) as T

/** One run directory. */
export class RunDir {
  constructor(readonly dir: string) {}

  get configPath(): string {
    return join(this.dir, 'config.json')
  }

  get metricsPath(): string {
    return join(this.dir, 'metrics.jsonl')
  }

  /** The weights file of a domain's adaptive sampling. */
  weightsPath(domain: 'source' | 'intermediate'): string {
    return join(this.dir, `weights-${domain}.jsonl`)
  }

  /** RUN/overlap.json: source ids shared between the training datasets and --dev, found when the run started. */
  get overlapPath(): string {
    return join(this.dir, 'overlap.json')
  }

  /** Where evaluation `name` writes its predictions, scores and overlays (and its overlap.json). */
  evalDir(name: string): string {
    return join(this.dir, 'eval', name)
  }

  /**
   * Remove what creating the run wrote: the whole folder when it did not exist before (`existed` false), else
   * only the run's own files in it. For a run that failed before its first checkpoint.
   */
  async removeCreated(existed: boolean): Promise<void> {
    if (!existed) {
      await rm(this.dir, { recursive: true, force: true })
      return
    }
    for (const name of ['config.json', 'overlap.json', 'metrics.jsonl', 'weights-source.jsonl', 'weights-intermediate.jsonl', 'vocab-map.json', CHECKPOINTS, 'best']) {
      await rm(join(this.dir, name), { recursive: true, force: true })
    }
  }

  /** Whether the run was created (its config is written). */
  exists(): boolean {
    return existsSync(this.configPath)
  }

  async readConfig(): Promise<RunConfig> {
    if (!this.exists()) throw new Error(`${this.dir} is not a turnkit run (no config.json): start one with turnkit train --source ... --out ${this.dir}`)
    return await readJson<RunConfig>(this.configPath)
  }

  async writeConfig(config: RunConfig): Promise<void> {
    await writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + '\n')
  }

  /** The compact vocabulary of a small model's run, or null when the run uses the tokenizer's ids. */
  async readVocabMap(config: RunConfig): Promise<VocabMap | null> {
    return config.vocabulary.compact ? await loadVocabMap(join(this.dir, 'vocab-map.json')) : null
  }

  async writeVocabMap(vocab: VocabMap): Promise<void> {
    await saveVocabMap(join(this.dir, 'vocab-map.json'), vocab)
  }

  /** Whether stage 1 finished: both weights files are there. */
  hasSamplingWeights(): boolean {
    return existsSync(this.weightsPath('source')) && existsSync(this.weightsPath('intermediate'))
  }

  /** Append metrics lines (objects, one JSON line each). */
  async appendMetrics(lines: readonly object[]): Promise<void> {
    if (lines.length > 0) await appendFile(this.metricsPath, lines.map((m) => JSON.stringify(m) + '\n').join(''))
  }

  /**
   * Keep only the metrics lines of the `step` steps a checkpoint holds (classifier lines always): a resumed run
   * replays the ones after it. `step` -1 drops the classifier lines too (stage 1 is redone). A torn last line of a
   * killed run is dropped.
   */
  async truncateMetrics(step: number): Promise<void> {
    if (!existsSync(this.metricsPath)) return
    const { values } = parseJsonLines(await readFile(this.metricsPath, 'utf8'))
    const kept = (values as { stage?: string; step?: number }[]).filter((m) =>
      // A turn line's step is 0-based (steps done before it); an eval line's is the steps done when it ran.
      m.stage === 'classifier' ? step >= 0 : m.stage === 'eval' ? (m.step ?? 0) <= step : (m.step ?? 0) < step,
    )
    await writeFileAtomic(this.metricsPath, kept.map((m) => JSON.stringify(m) + '\n').join(''))
  }

  /** The checkpoint names in RUN/checkpoints, oldest first. */
  async checkpointNames(): Promise<string[]> {
    const dir = join(this.dir, CHECKPOINTS)
    if (!existsSync(dir)) return []
    return (await readdir(dir)).filter((n) => /^step-\d{8}$/.test(n)).sort()
  }

  /** The file naming the newest complete checkpoint. */
  get latestPath(): string {
    return join(this.dir, CHECKPOINTS, 'latest.json')
  }

  /**
   * Write a checkpoint directory (model, optimizer moments, state) under a temporary name and rename it into
   * place, then point checkpoints/latest.json at it: a reader never sees half a checkpoint. Keeps the two newest.
   */
  async writeCheckpoint(model: TurnModel, optimizer: AdamW, state: TrainState, datasets: RunDatasets): Promise<string> {
    const name = `step-${String(state.step).padStart(8, '0')}`
    const final = join(this.dir, CHECKPOINTS, name)
    const tmp = join(this.dir, CHECKPOINTS, `.tmp-${name}-${process.pid}`)
    await rm(tmp, { recursive: true, force: true })
    await saveTurn(model, join(tmp, 'model'))
    const { step, tensors } = optimizer.state()
    await writeTfjsArtifacts(join(tmp, 'optimizer'), tensors, { format: 'turnkit-adamw', userDefinedMetadata: { step, config: optimizer.config } })
    await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n')
    await writeFileAtomic(join(tmp, DATASETS_FILE), JSON.stringify(datasets, null, 2) + '\n')
    await rm(final, { recursive: true, force: true })
    await rename(tmp, final)
    await writeFileAtomic(this.latestPath, JSON.stringify({ checkpoint: name, step: state.step }) + '\n')
    // Keep the two newest (and `best/` separately): a crash while writing one leaves the other.
    for (const old of (await this.checkpointNames()).slice(0, -2)) await rm(join(this.dir, CHECKPOINTS, old), { recursive: true, force: true })
    return final
  }

  /** Whether a complete checkpoint exists. */
  hasCheckpoint(): boolean {
    return existsSync(this.latestPath)
  }

  /** The newest checkpoint, restored for `config`, or null when the run has none yet. */
  async loadCheckpoint(config: TurnConfig): Promise<Checkpoint | null> {
    if (!this.hasCheckpoint()) return null
    const { checkpoint } = await readJson<{ checkpoint: string }>(this.latestPath)
    const dir = join(this.dir, CHECKPOINTS, checkpoint)
    const model = await loadTurn(join(dir, 'model'), { config })
    const { json, tensors } = await readNamedTensors(join(dir, 'optimizer'))
    const meta = json.userDefinedMetadata as { step: number; config: Partial<AdamWConfig> }
    const optimizer = new AdamW(meta.config)
    optimizer.load({ step: meta.step, tensors: tensors as Record<string, tf.Tensor> })
    tf.dispose(Object.values(tensors))
    return { model, optimizer, state: await readJson<TrainState>(join(dir, 'state.json')) }
  }

  /** Whether RUN/best holds a model. */
  hasBest(): boolean {
    return existsSync(join(this.dir, 'best', 'model', 'model.json'))
  }

  /** RUN/best: the model of the best dev score (or the final one when there is no dev set), written atomically. */
  async writeBest(model: TurnModel, best: BestScore | null, datasets: RunDatasets): Promise<void> {
    const tmp = join(this.dir, `.tmp-best-${process.pid}`)
    await rm(tmp, { recursive: true, force: true })
    await saveTurn(model, join(tmp, 'model'))
    await writeFile(join(tmp, 'best.json'), JSON.stringify(best ?? { chosenBy: 'last step (no --dev dataset)' }) + '\n')
    await writeFile(join(tmp, DATASETS_FILE), JSON.stringify(datasets, null, 2) + '\n')
    await rm(join(this.dir, 'best'), { recursive: true, force: true })
    await rename(tmp, join(this.dir, 'best'))
  }

  /** RUN/best's model and the run's config, for evaluation. Throws when the run has no best model yet. */
  async loadBest(): Promise<{ model: TurnModel; config: RunConfig }> {
    const config = await this.readConfig()
    if (!this.hasBest()) throw new Error(`${this.dir} has no best/ model yet: train it first (turnkit train ... --out ${this.dir})`)
    return { model: await loadTurn(join(this.dir, 'best', 'model'), { config: config.model }), config }
  }
}
