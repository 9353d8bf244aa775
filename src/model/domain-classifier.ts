// The auxiliary domain classifier Φ of TURN's adaptive sampling: a small text classifier, separate from the
// model (its own parameters, trained first, 2 epochs), telling source text (positive) from intermediate text.
// Architecture (not given by the paper; ours): token embedding + learned positions -> one pre-LN encoder layer
// (domainLayers) -> masked mean pool -> linear -> one logit.

import * as tf from '@tensorflow/tfjs-core'
import type { TurnConfig } from './config.js'
import { type Dense, meanPool, ParamStore, type TransformerEncoder } from './layers.js'
import { domainLoss } from './losses.js'
import { gatherRows, readInts } from './ops.js'

export class DomainClassifier {
  readonly parameters: Map<string, tf.Variable>
  private readonly store: ParamStore
  private readonly table: tf.Variable
  private readonly positions: tf.Variable
  private readonly encoder: TransformerEncoder
  private readonly head: Dense

  constructor(readonly config: TurnConfig, { seed = 0 }: { seed?: number } = {}) {
    const d = config.domainDModel
    this.store = new ParamStore(seed)
    this.parameters = this.store.variables
    this.table = this.store.add('domain/token_embedding', [config.vocabSize, d], 'embedding')
    this.positions = this.store.add('domain/positions', [config.textLength, d], 'embedding')
    this.encoder = this.store.encoder('domain/encoder', d, config.domainLayers, config.domainHeads, Math.round(config.ffnMultiplier * d))
    this.head = this.store.dense('domain/head', d, 1)
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.parameters.values()]
  }

  /** Φ(t) for token ids [B, L]: [B] logits, positive = looks like source text. */
  logits(tokens: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const [b, l] = tokens.shape
      const keep = tf.cast(tf.notEqual(tokens, this.config.padId), 'float32') as tf.Tensor2D
      const embedded = tf.reshape(gatherRows(this.table as tf.Tensor2D, readInts(tokens)), [b, l, this.config.domainDModel])
      const states = this.encoder.apply(tf.add(embedded, this.positions) as tf.Tensor3D, keep)
      return tf.reshape(this.head.apply(meanPool(states, keep)), [b]) as tf.Tensor1D
    })
  }

  /** L_ext on one batch of each domain (losses.ts: domainLoss). Use inside tf.variableGrads. */
  loss(sourceTokens: tf.Tensor2D, intermediateTokens: tf.Tensor2D): tf.Scalar {
    return domainLoss(this.logits(sourceTokens), this.logits(intermediateTokens))
  }

  dispose(): void {
    this.store.dispose()
  }
}
