// The leak check a run does on its own data: the same source item (a YouTube id, an image id) in a training
// dataset and in the dataset it is chosen or scored on. Zero-resource localization means something only if no
// evaluation clip or frame was seen in training, and AudioCaps, VGGSound and VGG-SS are all cut from YouTube.
// Only source ids are compared here (two columns, cheap); `turnkit overlap --by audio,image` looks at content.
import { findOverlap, type OverlapReport } from '../dataset/overlap.js'
import type { DataOptions } from '../dataset/cache.js'

/** Shared source ids between `train` (locations) and `test`; logs one line per dataset pair that shares any. */
export async function checkSourceIdLeaks(train: readonly string[], test: string, data: DataOptions, log: (line: string) => void): Promise<OverlapReport> {
  const report = await findOverlap([...train.map((location) => ({ location, role: 'train' as const })), { location: test, role: 'test' as const }], { ...data, by: ['source-id'] })
  const shared = report.counts.filter((c) => c.leak && c.pairs > 0)
  if (shared.length === 0) log(`no source id of ${test} is in the training data (${train.join(', ')})`)
  for (const c of shared) log(`LEAK: ${c.bRows} items of ${c.b} share a source id with ${c.aRows} of ${c.a}, a training dataset (turnkit overlap lists them)`)
  return report
}
