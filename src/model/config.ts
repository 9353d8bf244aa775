// TURN's settings: one flat, typed object (so a JSON override, an unknown-key error and a checkpoint mismatch
// can all name a single key) and two presets. `paper` is the appendix of Zhao et al. (NeurIPS 2022, A.2);
// `tiny` keeps every structural choice (216 -> 54 audio frames, grouped codebooks, all decoders) at a size that
// trains at >= 10 steps/s on the wasm backend at batch 16 (bench/model.ts measures it).

import { nonNegativeNumber, positiveInt, positiveNumber, resolveConfig, type Validator } from '../config.js'

export const TURN_PRESETS = ['paper', 'tiny'] as const
export type TurnPreset = (typeof TURN_PRESETS)[number]

export const BACKBONE_KINDS = ['conv', 'frozen'] as const
/** 'conv': the built-in convolutional backbone trained from scratch; 'frozen': a loaded tfjs model (see backbone.ts). */
export type BackboneKind = (typeof BACKBONE_KINDS)[number]

/** Every number of the model. All fields change the weights or the loss, so all are stored in a checkpoint. */
export interface TurnConfig {
  /** Width d of every embedding and transformer. Paper 256. */
  dModel: number
  /** FFN width as a multiple of d in every transformer layer. Paper 4. */
  ffnMultiplier: number
  /** Θ_t: layers and heads of the text encoder. Paper 6, 8. */
  textLayers: number
  textHeads: number
  /** Θ_a: layers and heads of the audio encoder. Paper 6, 8. */
  audioLayers: number
  audioHeads: number
  /** Θ_v: layers and heads of the localization encoder. Paper 3, 4. */
  visualLayers: number
  visualHeads: number
  /** Ω_t: layers and heads of the text mask-predict decoder. Paper 6, 8. */
  textDecoderLayers: number
  textDecoderHeads: number
  /** Ω_a: layers and heads of the audio mask-predict decoder. Paper 6, 8. */
  audioDecoderLayers: number
  audioDecoderHeads: number

  /** Log-mel frames per clip (L_m). Paper 216 (10 s at 22,050 Hz, hop 1024). */
  audioFrames: number
  /** Frames after the convolution stack (L_a); must be audioFrames / 4 (two stride-2 convolutions). Paper 54. */
  audioEncodedFrames: number
  /** Mel bands. Paper 128. */
  nMels: number
  /** Kernel (frames) of each of the two stride-2 audio convolutions; odd. Default 3. */
  audioConvKernel: number
  /** The model feeds (logMel - logMelMeanDb) / logMelStdDb to the network and reconstructs that. Default -40, 20. */
  logMelMeanDb: number
  logMelStdDb: number

  /** Tokens per text (L_t), [PAD]-padded. Paper 30. */
  textLength: number
  /** Token ids are in [0, vocabSize). Paper 30,522 (bert-base-uncased). */
  vocabSize: number
  /** The [PAD] id: attention ignores it, pooling skips it, it is never a reconstruction target. BERT 0. */
  padId: number

  /** Image side in pixels (square input). Paper 384. */
  imageSize: number
  /** Which visual backbone produces the region grid. Default 'conv' (the paper's DETR cannot be downloaded). */
  backbone: BackboneKind
  /** Built-in backbone: side of the first, non-overlapping patch convolution (its stride). Default 4. */
  backbonePatch: number
  /** Built-in backbone: channels per stage; stage 0 is the patch conv, each later stage a 2x2 stride-2 conv
   *  followed by a 3x3 stride-1 residual conv. Paper preset [64, 128, 256, 256]: stride 32, 12x12 regions. */
  backboneChannels: number[]
  /** Frozen backbone: regions R and channels C of its output grid (checked when the model is loaded). */
  frozenRegions: number
  frozenChannels: number

  /** Codebook groups G; d must be divisible by G. Paper 2. */
  codebookGroups: number
  /** Codes in total over all groups (each group has codebookSize / G). Paper 512. */
  codebookSize: number
  /** EMA decay γ of the codebook statistics. Default 0.99 (VQ-VAE). */
  codebookDecay: number
  /** Laplace smoothing ε of the EMA cluster sizes. Default 1e-5. */
  codebookEpsilon: number
  /** A code whose EMA cluster size falls below this is re-initialised from a batch vector. Default 0.01. */
  deadCodeThreshold: number

  /** Commitment weight β. Paper 0.25. */
  beta: number
  /** InfoNCE temperature τ_c. Paper 0.1. */
  contrastTemperature: number
  /** InfoNCE direction: text -> audio as in the paper, or the mean of both directions. Default false. */
  contrastSymmetric: boolean
  /** SmoothL1 switch point (PyTorch's beta). Default 1. */
  smoothL1Beta: number
  /** λ1..λ5 of L = λ1·SmoothL1 + λ2·GIoU + λ3·L_code + λ4·(L_recon^a + L_recon^t) + λ5·L_contra. Paper 1, 1, 1, 0.1, 0.1. */
  lambdaSmoothL1: number
  lambdaGiou: number
  lambdaCode: number
  lambdaRecon: number
  lambdaContrast: number
  /** Mask ratio of the reconstruction, rising linearly over training. Paper 0.5 -> 1. */
  maskRatioStart: number
  maskRatioEnd: number

  /** Domain classifier Φ: width, layers and heads of its text encoder. Default d, 1, heads of Θ_t. */
  domainDModel: number
  domainLayers: number
  domainHeads: number
}

/** The appendix of the paper (A.2.1, A.2.2, A.2.3). */
export const PAPER_CONFIG: TurnConfig = {
  dModel: 256,
  ffnMultiplier: 4,
  textLayers: 6,
  textHeads: 8,
  audioLayers: 6,
  audioHeads: 8,
  visualLayers: 3,
  visualHeads: 4,
  textDecoderLayers: 6,
  textDecoderHeads: 8,
  audioDecoderLayers: 6,
  audioDecoderHeads: 8,
  audioFrames: 216,
  audioEncodedFrames: 54,
  nMels: 128,
  audioConvKernel: 3,
  logMelMeanDb: -40,
  logMelStdDb: 20,
  textLength: 30,
  vocabSize: 30_522,
  padId: 0,
  imageSize: 384,
  backbone: 'conv',
  backbonePatch: 4,
  backboneChannels: [64, 128, 256, 256],
  frozenRegions: 144, // DETR R50 at 384x384: stride 32 -> 12x12
  frozenChannels: 256,
  codebookGroups: 2,
  codebookSize: 512,
  codebookDecay: 0.99,
  codebookEpsilon: 1e-5,
  deadCodeThreshold: 0.01,
  beta: 0.25,
  contrastTemperature: 0.1,
  contrastSymmetric: false,
  smoothL1Beta: 1,
  lambdaSmoothL1: 1,
  lambdaGiou: 1,
  lambdaCode: 1,
  lambdaRecon: 0.1,
  lambdaContrast: 0.1,
  maskRatioStart: 0.5,
  maskRatioEnd: 1,
  domainDModel: 256,
  domainLayers: 1,
  domainHeads: 8,
}

/** The paper's structure at a size for tests and CPU demos (measured in bench/model.ts). */
export const TINY_CONFIG: TurnConfig = {
  ...PAPER_CONFIG,
  dModel: 16, // 16 rather than 32: >= 10 train steps/s at batch 16 + 16 on wasm, 2 cores (bench/model.ts)
  ffnMultiplier: 4,
  textLayers: 1,
  textHeads: 2,
  audioLayers: 1,
  audioHeads: 2,
  visualLayers: 1,
  visualHeads: 2,
  textDecoderLayers: 1,
  textDecoderHeads: 2,
  audioDecoderLayers: 1,
  audioDecoderHeads: 2,
  nMels: 128, // the datasets' TURN default, so one prepared corpus serves both presets
  vocabSize: 1_000,
  imageSize: 64,
  backboneChannels: [8, 16, 16], // stride 16: 4x4 regions (attention cost grows with regions²)
  frozenRegions: 16,
  frozenChannels: 32,
  codebookSize: 32,
  domainDModel: 16,
  domainHeads: 2,
}

export const TURN_CONFIGS: Record<TurnPreset, TurnConfig> = { paper: PAPER_CONFIG, tiny: TINY_CONFIG }

const divides = (d: number, n: number): boolean => Number.isInteger(n) && n > 0 && d % n === 0
const ratio = (v: unknown): string | undefined =>
  typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'must be a number in [0, 1]'
const boolean = (v: unknown): string | undefined => (typeof v === 'boolean' ? undefined : 'must be true or false')

/**
 * `preset` with `overrides` merged on (a parsed JSON object). Throws naming the key for an unknown key, a
 * value of the wrong type, or a combination the model cannot build (heads not dividing d, for example).
 */
export function resolveTurnConfig(overrides: Record<string, unknown> = {}, preset: TurnPreset = 'paper'): TurnConfig {
  const base = TURN_CONFIGS[preset]
  if (base === undefined) throw new Error(`model config: unknown preset '${preset}' (known: ${TURN_PRESETS.join(', ')})`)
  const validators: Validator<TurnConfig> = {}
  const v = validators as Record<string, (value: unknown) => string | undefined>
  for (const key of Object.keys(base) as (keyof TurnConfig)[]) {
    if (typeof base[key] === 'number') v[key] = Number.isInteger(base[key]) && !key.startsWith('logMel') ? positiveInt : positiveNumber
  }
  // Numbers that may be fractional or zero.
  for (const key of ['codebookDecay', 'maskRatioStart', 'maskRatioEnd']) v[key] = ratio
  for (const key of ['codebookEpsilon', 'deadCodeThreshold', 'beta', 'smoothL1Beta', 'lambdaSmoothL1', 'lambdaGiou',
    'lambdaCode', 'lambdaRecon', 'lambdaContrast', 'ffnMultiplier', 'contrastTemperature']) {
    v[key] = key === 'contrastTemperature' || key === 'smoothL1Beta' || key === 'ffnMultiplier' ? positiveNumber : nonNegativeNumber
  }
  v.padId = (x) => (Number.isInteger(x) && (x as number) >= 0 ? undefined : 'must be an integer >= 0')
  v.logMelMeanDb = (x) => (typeof x === 'number' && Number.isFinite(x) ? undefined : 'must be a finite number')
  v.contrastSymmetric = boolean
  v.backbone = (x) => (BACKBONE_KINDS.includes(x as BackboneKind) ? undefined : `must be one of ${BACKBONE_KINDS.join(', ')}`)
  v.backboneChannels = (x) =>
    Array.isArray(x) && x.length > 0 && x.every((c) => Number.isInteger(c) && c > 0) ? undefined : 'must be a non-empty list of positive integers'
  const config = resolveConfig('model config', base, overrides as Partial<TurnConfig>, validators)
  checkStructure(config)
  return config
}

function checkStructure(c: TurnConfig): void {
  const fail = (message: string): never => {
    throw new Error(`model config: ${message}`)
  }
  for (const [layers, heads] of [['textLayers', 'textHeads'], ['audioLayers', 'audioHeads'], ['visualLayers', 'visualHeads'],
    ['textDecoderLayers', 'textDecoderHeads'], ['audioDecoderLayers', 'audioDecoderHeads']] as const) {
    if (!divides(c.dModel, c[heads])) fail(`${heads} = ${c[heads]} must divide dModel = ${c.dModel} (${layers} = ${c[layers]})`)
  }
  if (!divides(c.domainDModel, c.domainHeads)) fail(`domainHeads = ${c.domainHeads} must divide domainDModel = ${c.domainDModel}`)
  if (c.audioFrames !== 4 * c.audioEncodedFrames) {
    fail(`audioFrames = ${c.audioFrames} must be 4 x audioEncodedFrames = ${c.audioEncodedFrames} (two stride-2 convolutions)`)
  }
  if (c.audioConvKernel % 2 !== 1) fail(`audioConvKernel = ${c.audioConvKernel} must be odd`)
  if (!divides(c.dModel, c.codebookGroups)) fail(`codebookGroups = ${c.codebookGroups} must divide dModel = ${c.dModel}`)
  if (c.codebookSize % c.codebookGroups !== 0) fail(`codebookGroups = ${c.codebookGroups} must divide codebookSize = ${c.codebookSize}`)
  if (c.padId >= c.vocabSize) fail(`padId = ${c.padId} must be < vocabSize = ${c.vocabSize}`)
  if (c.maskRatioStart > c.maskRatioEnd) fail(`maskRatioStart = ${c.maskRatioStart} must be <= maskRatioEnd = ${c.maskRatioEnd}`)
  const stride = c.backbonePatch * 2 ** (c.backboneChannels.length - 1)
  if (c.backbone === 'conv' && c.imageSize % stride !== 0) {
    fail(`imageSize = ${c.imageSize} must be a multiple of the backbone stride ${stride} (backbonePatch x 2^(stages - 1))`)
  }
}

/** Keys whose values differ between two configs, sorted (compared as JSON, so arrays compare by content). */
export function configDifferences(a: TurnConfig, b: TurnConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  const rec = (x: TurnConfig): Record<string, unknown> => x as unknown as Record<string, unknown>
  return [...keys].filter((k) => JSON.stringify(rec(a)[k]) !== JSON.stringify(rec(b)[k])).sort()
}

/** Mask ratio at `progress` in [0, 1] of training: linear from maskRatioStart to maskRatioEnd. */
export function maskRatioAt(config: TurnConfig, progress: number): number {
  const p = Math.min(1, Math.max(0, progress))
  return config.maskRatioStart + (config.maskRatioEnd - config.maskRatioStart) * p
}
