// Training settings: one interface, one defaults object (the paper's, appendix A.2.3), checked once. The CLI's
// flags take their defaults from TRAIN_DEFAULTS; RUN/config.json stores the resolved settings.
import { resolveConfig } from '../config.js'
import { TURN_PRESETS, type TurnPreset } from '../model/config.js'

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
  /** Data-parallel replicas of the model, one per core (ModelReplicas: worker threads, each its own backend). The
   *  step's bits are those of the same micro-batches on one thread; without microBatch the batch is cut into
   *  one slice per replica. 1 = this thread only (its large products may still use TURNKIT_MATMUL_THREADS). */
  replicas: number
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
  replicas: 1,
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

const positiveInt = (v: unknown): string | undefined => (Number.isInteger(v) && (v as number) >= 1 ? undefined : 'must be an integer >= 1')
const countOrNull = (v: unknown): string | undefined => (v === null || (Number.isInteger(v) && (v as number) >= 1) ? undefined : 'must be an integer >= 1, or null')
const nonNegative = (v: unknown): string | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'must be a number >= 0')

/** `TRAIN_DEFAULTS` with `overrides` applied. Throws a ConfigError naming an unknown setting or a bad value. */
export function resolveTrainSettings(overrides: Partial<TrainSettings>): TrainSettings {
  return resolveConfig('train', TRAIN_DEFAULTS, overrides, {
    preset: (v) => ((TURN_PRESETS as readonly string[]).includes(v) ? undefined : `must be one of ${TURN_PRESETS.join(', ')}`),
    epochs: positiveInt,
    classifierEpochs: (v) => (Number.isInteger(v) && v >= 0 ? undefined : 'must be an integer >= 0'),
    sourceBatch: positiveInt,
    intermediateBatch: countOrNull,
    microBatch: countOrNull,
    replicas: positiveInt,
    seed: (v) => (Number.isInteger(v) && v >= 0 ? undefined : 'must be an integer >= 0'),
    peakLr: (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'must be a number > 0'),
    classifierLr: (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'must be a number > 0'),
    weightDecay: nonNegative,
    clipNorm: nonNegative,
    samplingK: (v) => (typeof v === 'number' && v >= 1 ? undefined : 'must be a number >= 1'),
    checkpointSteps: (v) => (Number.isInteger(v) && v >= 0 ? undefined : 'must be an integer >= 0'),
    maxNonFinite: positiveInt,
    maxSteps: countOrNull,
  })
}
