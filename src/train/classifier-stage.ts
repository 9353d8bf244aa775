// Stage 1 of TURN's training: the domain classifier Φ learns to tell source text from intermediate text, and
// its logits become each item's adaptive-sampling weight (Eq. 12-13, k = 5), saved in the run by record key.
import * as tf from '@tensorflow/tfjs-core'
import type { TurnConfig } from '../model/config.js'
import { DomainClassifier } from '../model/domain-classifier.js'
import { type DataOptions, openDataset } from '../dataset/dataset.js'
import { rngFor, shuffleInPlace } from '../random.js'
import { AdamW } from './optimizer.js'
import type { RunDir } from './run-dir.js'
import { domainExclusivityWeights, saveWeights } from './sampling.js'
import type { TrainSettings } from './settings.js'
import { applyVocabMap, type VocabMap } from './vocab-map.js'

/** Every item's texts (token id sequences) and keys, by global row index. */
export interface DatasetTexts {
  keys: string[]
  texts: Int32Array[][]
}

/** Token ids of every item of a dataset, by global row index (for the classifier and the vocabulary map). */
export async function readTexts(dir: string, data: DataOptions = {}): Promise<DatasetTexts> {
  const dataset = await openDataset(dir, data)
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
export async function trainDomainClassifier(
  run: RunDir,
  config: TurnConfig,
  settings: TrainSettings,
  texts: { source: DatasetTexts; intermediate: DatasetTexts },
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
  const metrics: { stage: 'classifier'; epoch: number; step: number; lr: number; losses: { ext: number } }[] = []
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
      metrics.push({ stage: 'classifier', epoch, step: epoch * steps + s, lr: settings.classifierLr, losses: { ext: loss } })
    }
    log(`train: domain classifier epoch ${epoch + 1}/${settings.classifierEpochs}, L_ext ${metrics.at(-1)!.losses.ext.toFixed(4)}`)
  }
  await run.appendMetrics(metrics)
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
    await saveWeights(run.weightsPath(domain), texts[domain].keys, weights)
    const max = Math.max(...weights)
    const min = Math.min(...weights)
    log(`train: ${domain} sampling weights written (${weights.length} items, max/min ${(max / min).toFixed(3)})`)
  }
  optimizer.dispose()
  classifier.dispose()
}
