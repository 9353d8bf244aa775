// TURN (docs/method.md): the alignment stream (Θ_t, Θ_a, grouped codebooks, decoders Ω_t, Ω_a) and
// the localization stream (backbone, query modulation, Θ_v, box head), the total loss of one training step,
// and inference from audio or text. docs/model.md documents the API and the batch format.

import * as tf from '@tensorflow/tfjs-core'
import { seededRandom } from '../random.js'
import { type Backbone, ConvBackbone, type FrozenBackbone, ProjectedFrozenBackbone } from './backbone.js'
import { type CodebookAssignments, GroupedCodebook } from './codebook.js'
import type { TurnConfig } from './config.js'
import { type Dense, frameConv1d, meanPool, ParamStore, type TransformerEncoder } from './layers.js'
import { giouLoss, infoNceLoss, maskedL1Loss, smoothL1Loss, tokenCrossEntropy } from './losses.js'
import { gatherRows, readInts } from './ops.js'

/** Source-domain items (image, text, box). */
export interface SourceBatch {
  /** [B, S, S, 3] float32 RGB in [0, 1], S = imageSize. */
  images: tf.Tensor4D
  /** [B, L] int32 token ids, [PAD]-padded to textLength. */
  tokens: tf.Tensor2D
  /** [B, 4] float32 target boxes [x, y, w, h], top-left corner, normalized to [0, 1]. */
  boxes: tf.Tensor2D
  /** [B, L] float32, 1 = token masked for Ω_t (padding is ignored whatever its mask). */
  textMask: tf.Tensor2D
}

/** Intermediate-domain items (text, audio). */
export interface IntermediateBatch {
  /** [B2, audioFrames, nMels] float32 log-mel in dB (ref 1.0) as the log-mel stage writes it; the model normalizes. */
  logMel: tf.Tensor3D
  /** [B2, L] int32 caption token ids. */
  tokens: tf.Tensor2D
  /** [B2, L] float32, 1 = token masked for Ω_t. */
  textMask: tf.Tensor2D
  /** [B2, audioEncodedFrames] float32, 1 = group of 4 log-mel frames masked for Ω_a. */
  audioMask: tf.Tensor2D
}

export interface TurnBatch {
  source: SourceBatch
  intermediate: IntermediateBatch
}

export const LOSS_TERMS = ['total', 'loc', 'smoothL1', 'giou', 'code', 'reconAudio', 'reconText', 'contrast'] as const
export type LossTerm = (typeof LOSS_TERMS)[number]

export interface TurnLosses {
  /** L = L_loc + λ3·L_code + λ4·(L_recon^a + L_recon^t) + λ5·L_contra (same tensor as terms.total). */
  total: tf.Scalar
  /** Unweighted terms, plus 'loc' = λ1·SmoothL1 + λ2·GIoU and 'total'. */
  terms: Record<LossTerm, tf.Scalar>
  /** Host copies of what went through the codebooks, for updateCodebooks after the gradient step. */
  assignments: CodebookAssignments[]
}

export interface TrainingGradients {
  /** Parameter name -> gradient, for every trainable variable (see trainableParameters). Caller disposes. */
  grads: Record<string, tf.Tensor>
  /** Loss values of this step. */
  losses: Record<LossTerm, number>
  /** Pass to updateCodebooks once the optimizer has applied the gradients. */
  assignments: CodebookAssignments[]
}

/** One micro-batch's share of the whole batch's loss (see TurnModel.trainingGradients). */
export interface BatchPart {
  /** The slice's share of each mean's denominator: source items, text targets, masked audio groups, codebook rows. */
  weights: { source: number; text: number; audio: number; code: number }
  /** ∂L_contra/∂t̄ᵐ and ∂L_contra/∂āᵐ of the whole batch, rows of this slice's intermediate items. */
  contrastGrads: { text: tf.Tensor2D; audio: tf.Tensor2D }
}

/** An encoded text or audio clip. All tensors [B, ...]; caller disposes. */
export interface Encoded {
  /** Mean-pooled encoder output before quantization (t̄ or ā), [B, d]. */
  pooled: tf.Tensor2D
  /** Quantized (ť or ǎ): the localization query, [B, d]. */
  query: tf.Tensor2D
  /** Code index per group, [B, G] int32. */
  codes: tf.Tensor2D
}

interface TextDecoderParts {
  positions: tf.Variable
  maskToken: tf.Variable
  encoder: TransformerEncoder
  output: Dense
}

interface AudioDecoderParts {
  input: Dense
  positions: tf.Variable
  maskToken: tf.Variable
  encoder: TransformerEncoder
  output: Dense
}

/** Frames of log-mel per encoded (and reconstructed) audio position: two stride-2 convolutions. */
export const FRAMES_PER_POSITION = 4

export class TurnModel {
  readonly config: TurnConfig
  /** Every parameter by name, trainable or not (codebook codes and EMA state are not). */
  readonly parameters: Map<string, tf.Variable>
  readonly codebook: GroupedCodebook
  private readonly store: ParamStore
  private readonly tokenTable: tf.Variable
  private readonly textPositions: tf.Variable
  private readonly textEncoder: TransformerEncoder
  private readonly audioConv: [Dense, Dense]
  private readonly audioPositions: tf.Variable
  private readonly audioEncoder: TransformerEncoder
  private readonly backbone: Backbone
  private readonly visualEncoder: TransformerEncoder
  private readonly boxHead: [Dense, Dense]
  private readonly textDecoder: TextDecoderParts
  private readonly audioDecoder: AudioDecoderParts

  constructor(config: TurnConfig, { seed = 0, frozenBackbone }: { seed?: number; frozenBackbone?: FrozenBackbone } = {}) {
    this.config = config
    const c = config
    const d = c.dModel
    const ffn = Math.round(c.ffnMultiplier * d)
    const store = new ParamStore(seed)
    this.store = store
    this.parameters = store.variables
    // One token table for Θ_t's and Ω_t's inputs (the same vocabulary in the same space).
    this.tokenTable = store.add('token_embedding/table', [c.vocabSize, d], 'embedding')
    this.textPositions = store.add('text_encoder/positions', [c.textLength, d], 'embedding')
    this.textEncoder = store.encoder('text_encoder', d, c.textLayers, c.textHeads, ffn)
    this.audioConv = [
      store.dense('audio_encoder/conv1', c.audioConvKernel * c.nMels, d),
      store.dense('audio_encoder/conv2', c.audioConvKernel * d, d),
    ]
    this.audioPositions = store.add('audio_encoder/positions', [c.audioEncodedFrames, d], 'embedding')
    this.audioEncoder = store.encoder('audio_encoder', d, c.audioLayers, c.audioHeads, ffn)
    this.codebook = new GroupedCodebook(store, c)
    if (c.backbone === 'frozen') {
      if (frozenBackbone === undefined) throw new Error("model: config.backbone is 'frozen' but no frozenBackbone was given (loadFrozenBackbone)")
      this.backbone = new ProjectedFrozenBackbone(store, c, frozenBackbone)
    } else {
      this.backbone = new ConvBackbone(store, c)
    }
    this.visualEncoder = store.encoder('visual_encoder', d, c.visualLayers, c.visualHeads, ffn)
    this.boxHead = [store.dense('box_head/hidden', d, d), store.dense('box_head/output', d, 4)]
    this.textDecoder = {
      positions: store.add('text_decoder/positions', [c.textLength + 1, d], 'embedding'),
      maskToken: store.add('text_decoder/mask_token', [d], 'embedding'),
      encoder: store.encoder('text_decoder', d, c.textDecoderLayers, c.textDecoderHeads, ffn),
      output: store.dense('text_decoder/output', d, c.vocabSize),
    }
    const groupWidth = FRAMES_PER_POSITION * c.nMels
    this.audioDecoder = {
      input: store.dense('audio_decoder/input', groupWidth, d),
      positions: store.add('audio_decoder/positions', [c.audioEncodedFrames + 1, d], 'embedding'),
      maskToken: store.add('audio_decoder/mask_token', [d], 'embedding'),
      encoder: store.encoder('audio_decoder', d, c.audioDecoderLayers, c.audioDecoderHeads, ffn),
      output: store.dense('audio_decoder/output', d, groupWidth),
    }
  }

  /** Trainable parameters by name (everything but the codebooks), in creation order. */
  get trainableParameters(): Map<string, tf.Variable> {
    return new Map([...this.parameters].filter(([, v]) => v.trainable))
  }

  /** The trainable tf.Variables, for optimizer.minimize(f, false, varList) or tf.variableGrads(f, varList). */
  get trainableVariables(): tf.Variable[] {
    return [...this.trainableParameters.values()]
  }

  /** [B, L] ids -> per-token states [B, L, d], pooled t̄ [B, d], keep mask [B, L] (0 at [PAD]). */
  private textStates(tokens: tf.Tensor2D): { states: tf.Tensor3D; pooled: tf.Tensor2D; keep: tf.Tensor2D } {
    const [b, l] = tokens.shape
    this.checkLength('tokens', l, this.config.textLength)
    const keep = tf.cast(tf.notEqual(tokens, this.config.padId), 'float32') as tf.Tensor2D
    const embedded = tf.reshape(gatherRows(this.tokenTable as tf.Tensor2D, readInts(tokens)), [b, l, this.config.dModel])
    const states = this.textEncoder.apply(tf.add(embedded, this.textPositions) as tf.Tensor3D, keep)
    return { states, pooled: meanPool(states, keep), keep }
  }

  private normalizedLogMel(logMel: tf.Tensor3D): tf.Tensor3D {
    const [, frames, bands] = logMel.shape
    this.checkLength('logMel frames', frames, this.config.audioFrames)
    this.checkLength('logMel bands', bands, this.config.nMels)
    return tf.div(tf.sub(logMel, this.config.logMelMeanDb), this.config.logMelStdDb) as tf.Tensor3D
  }

  /** Normalized log-mel [B, 216, nMels] -> ā [B, d]: two stride-2 convolutions (216 -> 108 -> 54), Θ_a, mean. */
  private audioPooled(normalized: tf.Tensor3D): tf.Tensor2D {
    const k = this.config.audioConvKernel
    const [conv1, conv2] = this.audioConv
    const x = tf.relu(frameConv1d(tf.relu(frameConv1d(normalized, conv1, k, 2)) as tf.Tensor3D, conv2, k, 2)) as tf.Tensor3D
    const states = this.audioEncoder.apply(tf.add(x, this.audioPositions) as tf.Tensor3D)
    return meanPool(states, null)
  }

  /** Localization stream: boxes [B, 4] from images and queries q [B, d]. */
  private localize(images: tf.Tensor4D, query: tf.Tensor2D): tf.Tensor2D {
    const [, h, w] = images.shape
    if (h !== this.config.imageSize || w !== this.config.imageSize) {
      throw new Error(`model: images are ${h}x${w}, config.imageSize is ${this.config.imageSize}`)
    }
    const regions = this.backbone.apply(images)
    // v̂_i = (v_i ⊙ q) / ||v_i ⊙ q||₂
    const modulated = tf.mul(regions, tf.expandDims(query, 1))
    const unit = tf.div(modulated, tf.sqrt(tf.add(tf.sum(tf.square(modulated), 2, true), 1e-12))) as tf.Tensor3D
    const pooled = meanPool(this.visualEncoder.apply(unit), null)
    const [hidden, output] = this.boxHead
    return tf.sigmoid(output.apply(tf.relu(hidden.apply(pooled)))) as tf.Tensor2D
  }

  /**
   * Ω_t: the condition vector is prepended to the token sequence as a memory token (position 0), masked tokens
   * are replaced by a learned [MASK] vector, and the logits of the masked non-pad positions are returned with
   * their target ids. Eq. 5's T̃ = Ω_t(q, masked T).
   */
  private decodeText(condition: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D): { logits: tf.Tensor2D; targets: Int32Array } {
    const [b, l] = tokens.shape
    const d = this.config.dModel
    const ids = readInts(tokens)
    const masked = mask.dataSync()
    const keep = tf.cast(tf.notEqual(tokens, this.config.padId), 'float32') as tf.Tensor2D
    const m = tf.expandDims(tf.mul(mask, keep), 2)
    const embedded = tf.reshape(gatherRows(this.tokenTable as tf.Tensor2D, ids), [b, l, d])
    const input = tf.add(tf.mul(embedded, tf.sub(1, m)), tf.mul(m, this.textDecoder.maskToken))
    const sequence = tf.add(tf.concat([tf.expandDims(condition, 1), input], 1), this.textDecoder.positions) as tf.Tensor3D
    const states = this.textDecoder.encoder.apply(sequence, tf.concat([tf.ones([b, 1]), keep], 1) as tf.Tensor2D)
    const flat = tf.reshape(tf.slice(states, [0, 1, 0], [b, l, d]), [b * l, d]) as tf.Tensor2D
    const rows = maskedTargetRows(ids, masked, this.config.padId)
    const positions = Int32Array.from(rows)
    const targets = Int32Array.from(rows, (i) => ids[i] as number)
    return { logits: this.textDecoder.output.apply(gatherRows(flat, positions)) as tf.Tensor2D, targets }
  }

  /**
   * Ω_a at the 54-position level: each position is a group of 4 log-mel frames (216 = 54 x 4), embedded by a
   * linear map of its 4·nMels values or replaced by a learned [MASK] vector; the condition is prepended as a memory
   * token; the output is the reconstruction of every group, [B, 54, 4·nMels] (normalized log-mel).
   */
  private decodeAudio(condition: tf.Tensor2D, groups: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
    const [b, positions] = mask.shape
    this.checkLength('audioMask positions', positions, this.config.audioEncodedFrames)
    const m = tf.expandDims(mask, 2)
    const embedded = this.audioDecoder.input.apply(groups)
    const input = tf.add(tf.mul(embedded, tf.sub(1, m)), tf.mul(m, this.audioDecoder.maskToken))
    const sequence = tf.add(tf.concat([tf.expandDims(condition, 1), input], 1), this.audioDecoder.positions) as tf.Tensor3D
    const states = this.audioDecoder.encoder.apply(sequence)
    const d = this.config.dModel
    return this.audioDecoder.output.apply(tf.slice(states, [0, 1, 0], [b, positions, d])) as tf.Tensor3D
  }

  /**
   * Every loss term of one training step. Call inside tf.variableGrads / optimizer.minimize (return .total) or
   * inside tf.tidy; the returned tensors belong to that scope. Reads token ids and masks to the host (for the
   * embedding gathers) and copies the codebook inputs out (assignments).
   *
   * With `part` (trainingGradients' micro-batches), `batch` is one slice of a larger batch: every mean is scaled
   * by the slice's share of its denominator, and the contrast term is replaced by the surrogate
   * Σ t̄ᵐ·∂L_contra/∂t̄ᵐ + Σ āᵐ·∂L_contra/∂āᵐ whose gradient is the slice's share of the whole batch's InfoNCE
   * gradient (GradCache, Gao et al. 2021). Its value is not the loss: trainingGradients reports the real one.
   */
  computeLosses(batch: TurnBatch, part?: BatchPart): TurnLosses {
    const c = this.config
    const { source, intermediate } = batch
    const bs = source.tokens.shape[0]
    const bm = intermediate.tokens.shape[0]
    // Source and intermediate texts through Θ_t as one batch (fewer, larger kernels).
    const text = this.textStates(tf.concat([source.tokens, intermediate.tokens], 0) as tf.Tensor2D)
    const textPooledM = tf.slice(text.pooled, [bs, 0], [bm, c.dModel]) as tf.Tensor2D
    const normalized = this.normalizedLogMel(intermediate.logMel)
    const audioM = this.audioPooled(normalized)
    // One codebook pass over [t̄^s; t̄^m; ā^m]: the same Ψ_g quantize text and audio.
    const pooled = tf.concat([text.pooled, audioM], 0) as tf.Tensor2D
    const { quantized, commitment, indices } = this.codebook.quantize(pooled)
    const assignments = [GroupedCodebook.assignments(pooled, indices)]
    const d = c.dModel
    const tS = tf.slice(quantized, [0, 0], [bs, d]) as tf.Tensor2D
    const tM = tf.slice(quantized, [bs, 0], [bm, d]) as tf.Tensor2D
    const aM = tf.slice(quantized, [bs + bm, 0], [bm, d]) as tf.Tensor2D

    const boxes = this.localize(source.images, tS)
    const w = part?.weights ?? { source: 1, text: 1, audio: 1, code: 1 }
    const smoothL1 = tf.mul(w.source, smoothL1Loss(boxes, source.boxes, c.smoothL1Beta)) as tf.Scalar
    const giou = tf.mul(w.source, giouLoss(boxes, source.boxes)) as tf.Scalar
    const loc = tf.add(tf.mul(c.lambdaSmoothL1, smoothL1), tf.mul(c.lambdaGiou, giou)) as tf.Scalar

    // T̃^s = Ω_t(ť^s, masked T^s) and T̃^m = Ω_t(ǎ^m, masked T^m), as one batch through Ω_t.
    const decoded = this.decodeText(
      tf.concat([tS, aM], 0) as tf.Tensor2D,
      tf.concat([source.tokens, intermediate.tokens], 0) as tf.Tensor2D,
      tf.concat([source.textMask, intermediate.textMask], 0) as tf.Tensor2D,
    )
    const reconText = tf.mul(w.text, tokenCrossEntropy(decoded.logits, decoded.targets)) as tf.Scalar
    // Ã = Ω_a(ť^m, masked A^m), L1 on the masked groups of 4 frames.
    const groups = tf.reshape(normalized, [bm, c.audioEncodedFrames, FRAMES_PER_POSITION * c.nMels]) as tf.Tensor3D
    const reconAudio = tf.mul(w.audio, maskedL1Loss(this.decodeAudio(tM, groups, intermediate.audioMask), groups, intermediate.audioMask)) as tf.Scalar
    const contrast =
      part === undefined
        ? infoNceLoss(textPooledM, audioM, c.contrastTemperature, c.contrastSymmetric)
        : (tf.add(tf.sum(tf.mul(textPooledM, part.contrastGrads.text)), tf.sum(tf.mul(audioM, part.contrastGrads.audio))) as tf.Scalar)
    const code = tf.mul(w.code * c.beta, commitment) as tf.Scalar

    const total = tf.addN([
      loc,
      tf.mul(c.lambdaCode, code),
      tf.mul(c.lambdaRecon, tf.add(reconAudio, reconText)),
      tf.mul(c.lambdaContrast, contrast),
    ]) as tf.Scalar
    return { total, terms: { total, loc, smoothL1, giou, code, reconAudio, reconText, contrast }, assignments }
  }

  /**
   * Gradients of the total loss for every trainable parameter (by name) and the loss values, in one call.
   * The optimizer (AdamW, the trainer's) applies the grads; then call updateCodebooks(assignments, seed).
   *
   * `microBatch` bounds the items of each domain that go through the network at once: the batch is cut into
   * ceil(max(B, B2) / microBatch) slices (at most min(B, B2)), each slice's gradient is taken on its own and the
   * gradients are summed. Every term but InfoNCE is a mean over items, tokens or frames and is split exactly by
   * weighting; InfoNCE needs the whole batch's negatives, so a first pass without a tape computes t̄ᵐ, āᵐ of
   * every intermediate item and the loss's gradient to them, and each slice back-propagates its share
   * (GradCache). The result equals the whole-batch gradient up to float rounding (test/model-microbatch.test.ts);
   * it costs one extra forward pass of Θ_t and Θ_a over the intermediate batch, and memory follows the slice, not
   * the batch: how the paper's batch of 64 fits the wasm backend's 4 GiB heap.
   */
  trainingGradients(batch: TurnBatch, { microBatch }: { microBatch?: number | null } = {}): TrainingGradients {
    const plan = this.planSlices(batch, microBatch ?? null)
    if (plan === null) return this.sliceGradients(batch, undefined)
    const cache = this.contrastCache(plan.slices.map((slice) => this.pooledIntermediate(slice)))
    const step = new GradientSum(this.config)
    plan.slices.forEach((slice, k) => {
      const part = plan.part(k, cache)
      const out = this.sliceGradients(slice, part)
      tf.dispose([part.contrastGrads.text, part.contrastGrads.audio])
      step.add(out)
    })
    const result = step.finish(cache.contrast)
    tf.dispose([cache.text, cache.audio])
    plan.dispose()
    return result
  }

  /**
   * The micro-batches of a step (trainingGradients): ceil(max(B, B2) / microBatch) slices and at least `atLeast`
   * (ModelReplicas: one per replica), at most min(B, B2); null for one. With each slice's share of the whole
   * batch's means. Caller disposes the plan.
   */
  planSlices(batch: TurnBatch, microBatch: number | null, atLeast = 1): SlicePlan | null {
    const bs = batch.source.tokens.shape[0]
    const bm = batch.intermediate.tokens.shape[0]
    const parts = Math.min(bs, bm, Math.max(atLeast, microBatch == null ? 1 : Math.ceil(Math.max(bs, bm) / microBatch)))
    if (parts <= 1) return null
    const cut = (n: number, k: number): [number, number] => [Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)]
    const slices = Array.from({ length: parts }, (_, k) => sliceBatch(batch, cut(bs, k), cut(bm, k)))
    const c = this.config
    // Denominators of the whole batch's means, to weight each slice's.
    const targets = (b: TurnBatch): number => countTextTargets(b.source.tokens, b.source.textMask, c.padId) + countTextTargets(b.intermediate.tokens, b.intermediate.textMask, c.padId)
    const allTargets = targets(batch)
    const allAudio = Math.max(1, tf.tidy(() => tf.sum(batch.intermediate.audioMask).dataSync()[0] as number))
    const weights = slices.map((slice, k) => {
      const [m0, m1] = cut(bm, k)
      const sliceS = slice.source.tokens.shape[0]
      const sliceM = m1 - m0
      return {
        source: sliceS / bs,
        text: allTargets === 0 ? 0 : targets(slice) / allTargets,
        audio: tf.tidy(() => tf.sum(slice.intermediate.audioMask).dataSync()[0] as number) / allAudio,
        code: (sliceS + 2 * sliceM) / (bs + 2 * bm),
      }
    })
    return {
      slices,
      part: (k, cache) => {
        const [m0, m1] = cut(bm, k)
        return { weights: weights[k]!, contrastGrads: { text: tf.slice(cache.text, m0, m1 - m0) as tf.Tensor2D, audio: tf.slice(cache.audio, m0, m1 - m0) as tf.Tensor2D } }
      },
      dispose: () => tf.dispose(slices.flatMap((s) => [...Object.values(s.source), ...Object.values(s.intermediate)])),
    }
  }

  /** Pass 1 of a micro-batched step, no tape: t̄ᵐ and āᵐ of a slice's intermediate items. Caller disposes. */
  pooledIntermediate(slice: TurnBatch): [tf.Tensor2D, tf.Tensor2D] {
    return tf.tidy(() => [this.textStates(slice.intermediate.tokens).pooled, this.audioPooled(this.normalizedLogMel(slice.intermediate.logMel))])
  }

  /** The whole batch's InfoNCE from every slice's pass 1 (in slice order) and its gradient to t̄ᵐ and āᵐ; disposes `pooled`. */
  contrastCache(pooled: [tf.Tensor2D, tf.Tensor2D][]): ContrastCache {
    const c = this.config
    const contrastOf = (t: tf.Tensor, a: tf.Tensor): tf.Scalar => infoNceLoss(t as tf.Tensor2D, a as tf.Tensor2D, c.contrastTemperature, c.contrastSymmetric)
    const [contrast, text, audio] = tf.tidy(() => {
      const t = tf.concat(pooled.map(([x]) => x), 0)
      const a = tf.concat(pooled.map(([, x]) => x), 0)
      const [gt, ga] = tf.grads(contrastOf)([t, a])
      return [contrastOf(t, a), gt!, ga!]
    })
    tf.dispose(pooled.flat())
    const value = contrast.dataSync()[0] as number
    contrast.dispose()
    return { contrast: value, text: text as tf.Tensor2D, audio: audio as tf.Tensor2D }
  }

  /** Gradients and loss values of one slice (or, without `part`, of the whole batch). */
  sliceGradients(batch: TurnBatch, part: BatchPart | undefined): TrainingGradients {
    let losses = {} as Record<LossTerm, number>
    let assignments: CodebookAssignments[] = []
    const named = [...this.trainableParameters]
    const { value, grads } = tf.variableGrads(() => {
      const out = this.computeLosses(batch, part)
      losses = Object.fromEntries(LOSS_TERMS.map((k) => [k, out.terms[k].dataSync()[0] as number])) as Record<LossTerm, number>
      assignments = out.assignments
      return out.total
    }, named.map(([, v]) => v))
    value.dispose()
    const byName: Record<string, tf.Tensor> = {}
    for (const [name, variable] of named) {
      const grad = grads[variable.name]
      if (grad !== undefined) byName[name] = grad
    }
    return { grads: byName, losses, assignments }
  }

  /** The EMA step of every codebook from one or more steps' assignments; `seed` (e.g. base seed + step) picks dead-code replacements. */
  updateCodebooks(assignments: CodebookAssignments[], seed: number): void {
    this.codebook.update(assignments, seed)
  }

  /** Θ_t + pooling + codebooks for [B, L] token ids. Caller disposes the result. */
  encodeText(tokens: tf.Tensor2D): Encoded {
    return tf.tidy(() => {
      const { pooled } = this.textStates(tokens)
      const { quantized, indices } = this.codebook.quantize(pooled)
      return { pooled, query: quantized, codes: indices }
    })
  }

  /** Conv stack + Θ_a + pooling + codebooks for log-mel [B, audioFrames, nMels] in dB. Caller disposes the result. */
  encodeAudio(logMel: tf.Tensor3D): Encoded {
    return tf.tidy(() => {
      const pooled = this.audioPooled(this.normalizedLogMel(logMel))
      const { quantized, indices } = this.codebook.quantize(pooled)
      return { pooled, query: quantized, codes: indices }
    })
  }

  /** Boxes [B, 4] ([x, y, w, h], normalized) for images queried by audio (inference) or by text. Caller disposes. */
  predictBoxes(images: tf.Tensor4D, query: { audio: tf.Tensor3D } | { tokens: tf.Tensor2D }): tf.Tensor2D {
    return tf.tidy(() => {
      const encoded = 'audio' in query ? this.encodeAudio(query.audio) : this.encodeText(query.tokens)
      return this.localize(images, encoded.query)
    })
  }

  /** Disposes every variable. */
  dispose(): void {
    this.store.dispose()
  }

  private checkLength(what: string, got: number, expected: number): void {
    if (got !== expected) throw new Error(`model: ${what} = ${got}, config expects ${expected}`)
  }
}

/** The micro-batches of one step and their shares (TurnModel.planSlices). */
export interface SlicePlan {
  slices: TurnBatch[]
  /** Slice k's share, with its rows of the contrast gradient (new tensors: caller disposes them). */
  part(k: number, cache: ContrastCache): BatchPart
  dispose(): void
}

/** The whole batch's InfoNCE value and its gradient to t̄ᵐ and āᵐ (GradCache's cache). Caller disposes the tensors. */
export interface ContrastCache {
  contrast: number
  text: tf.Tensor2D
  audio: tf.Tensor2D
}

/**
 * The sum of the slices' gradients and loss values, added in slice order (so every way of computing the slices
 * gives the same bits), and the step's result.
 */
export class GradientSum {
  private readonly grads: Record<string, tf.Tensor> = {}
  private readonly sums = Object.fromEntries(LOSS_TERMS.map((k) => [k, 0])) as Record<LossTerm, number>
  private readonly assignments: CodebookAssignments[] = []
  constructor(private readonly config: TurnConfig) {}

  /** Adds the next slice's result (and disposes its gradients). */
  add(out: TrainingGradients): void {
    for (const [name, grad] of Object.entries(out.grads)) {
      const before = this.grads[name]
      this.grads[name] = before === undefined ? grad : tf.add(before, grad)
      if (before !== undefined) tf.dispose([before, grad])
    }
    for (const term of LOSS_TERMS) this.sums[term] += out.losses[term]
    this.assignments.push(...out.assignments)
  }

  /** The step's gradients, with the real InfoNCE value and the total it gives. */
  finish(contrast: number): TrainingGradients {
    const c = this.config
    const sums = this.sums
    sums.contrast = contrast
    sums.total = sums.loc + c.lambdaCode * sums.code + c.lambdaRecon * (sums.reconAudio + sums.reconText) + c.lambdaContrast * sums.contrast
    return { grads: this.grads, losses: sums, assignments: this.assignments }
  }
}

/** A TURN model with parameters drawn from `seed`. config.backbone 'frozen' needs `frozenBackbone`. */
export function createTurn(config: TurnConfig, options: { seed?: number; frozenBackbone?: FrozenBackbone } = {}): TurnModel {
  return new TurnModel(config, options)
}

export interface ReconstructionMasks {
  /** [Bs, L] float32. */
  sourceTextMask: tf.Tensor2D
  /** [B2, L] float32. */
  intermediateTextMask: tf.Tensor2D
  /** [B2, audioEncodedFrames] float32. */
  audioMask: tf.Tensor2D
}

/**
 * Masks for one step at mask ratio `ratio` (maskRatioAt), drawn from `seed`: per text, round(ratio · n) of its n
 * non-pad tokens (at least 1); per clip, round(ratio · 54) of the 54 frame groups (at least 1), as mask-predict.
 * Caller disposes. Supplying masks (rather than drawing them inside the model) lets a resumed run replay a step.
 */
export function reconstructionMasks(
  config: TurnConfig,
  { sourceTokens, intermediateTokens, ratio, seed }: { sourceTokens: tf.Tensor2D; intermediateTokens: tf.Tensor2D; ratio: number; seed: number },
): ReconstructionMasks {
  const random = seededRandom(seed)
  const choose = (candidates: number[], count: number, into: Float32Array, offset: number): void => {
    // Partial Fisher-Yates: the first `count` of a seeded shuffle.
    const pool = [...candidates]
    for (let i = 0; i < count && i < pool.length; i++) {
      const j = i + Math.floor(random() * (pool.length - i))
      ;[pool[i], pool[j]] = [pool[j] as number, pool[i] as number]
      into[offset + (pool[i] as number)] = 1
    }
  }
  const textMask = (tokens: tf.Tensor2D): tf.Tensor2D => {
    const [b, l] = tokens.shape
    const ids = readInts(tokens)
    const mask = new Float32Array(b * l)
    for (let r = 0; r < b; r++) {
      const candidates: number[] = []
      for (let i = 0; i < l; i++) if (ids[r * l + i] !== config.padId) candidates.push(i)
      choose(candidates, Math.max(1, Math.round(ratio * candidates.length)), mask, r * l)
    }
    return tf.tensor2d(mask, [b, l])
  }
  const b2 = intermediateTokens.shape[0]
  const p = config.audioEncodedFrames
  const audio = new Float32Array(b2 * p)
  const all = Array.from({ length: p }, (_, i) => i)
  for (let r = 0; r < b2; r++) choose(all, Math.max(1, Math.round(ratio * p)), audio, r * p)
  return {
    sourceTextMask: textMask(sourceTokens),
    intermediateTextMask: textMask(intermediateTokens),
    audioMask: tf.tensor2d(audio, [b2, p]),
  }
}

/** Rows [s0, s1) of the source batch and [m0, m1) of the intermediate batch, as new tensors. Caller disposes. */
function sliceBatch(batch: TurnBatch, [s0, s1]: [number, number], [m0, m1]: [number, number]): TurnBatch {
  const rows = <T extends tf.Tensor>(x: T, from: number, to: number): T => tf.slice(x, from, to - from) as T
  const { source: s, intermediate: m } = batch
  return {
    source: { images: rows(s.images, s0, s1), tokens: rows(s.tokens, s0, s1), boxes: rows(s.boxes, s0, s1), textMask: rows(s.textMask, s0, s1) },
    intermediate: { logMel: rows(m.logMel, m0, m1), tokens: rows(m.tokens, m0, m1), textMask: rows(m.textMask, m0, m1), audioMask: rows(m.audioMask, m0, m1) },
  }
}

/** Flat positions of the masked non-pad tokens: the targets Ω_t is scored on (L_recon^t). */
function maskedTargetRows(ids: ArrayLike<number>, masked: ArrayLike<number>, padId: number): number[] {
  const rows: number[] = []
  for (let i = 0; i < ids.length; i++) if ((masked[i] as number) > 0.5 && ids[i] !== padId) rows.push(i)
  return rows
}

/** How many targets L_recon^t has for these tokens and mask (the denominator of its mean). */
const countTextTargets = (tokens: tf.Tensor2D, mask: tf.Tensor2D, padId: number): number => maskedTargetRows(readInts(tokens), mask.dataSync(), padId).length
