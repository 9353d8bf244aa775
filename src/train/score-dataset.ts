// `turnkit score`: predictions file + audio-image-boxes dataset -> the literature's cIoU@0.5 / AUC report.
import { readFile } from 'node:fs/promises'
import { readManifest } from '../dataset/manifest.js'
import { type DataOptions, openDataset } from '../dataset/dataset.js'
import { ensureIntact } from '../dataset/verify.js'
import { parsePredictions, scoreItems, type ScoredItem, type ScoreReport } from './score.js'

/** Every item of an evaluation dataset with its ground-truth boxes (only those columns are read). */
export async function readEvaluationItems(dir: string, data: DataOptions = {}): Promise<ScoredItem[]> {
  const dataset = await openDataset(dir, data)
  if (dataset.schema.id !== 'audio-image-boxes') {
    throw new Error(`${dir} holds ${dataset.schema.id} records; scoring needs an audio-image-boxes dataset (vggss, music-solo, flickr-soundnet)`)
  }
  const items: ScoredItem[] = []
  for await (const row of dataset.rows({ columns: ['key', 'corpus', 'label', 'boxes'] })) {
    items.push({ key: row.key as string, corpus: row.corpus as string, label: row.label as string, boxes: (row.boxes as Float32Array[]).map((b) => Array.from(b)) })
  }
  return items
}

/** Score the predictions file at `predsPath` against the dataset at `dir`. Throws naming the file on bad input. */
export async function scoreDataset(
  predsPath: string,
  dir: string,
  { verifyData = true, data = {}, log = (line) => process.stderr.write(`${line}\n`) }: { verifyData?: boolean; data?: DataOptions; log?: (line: string) => void } = {},
): Promise<ScoreReport> {
  if (verifyData) await ensureIntact(dir, (line) => log(`score: ${line}`), data)
  else log('score: --no-verify-data: the dataset is read without checking its part files against the manifest')
  const predictions = parsePredictions(await readFile(predsPath, 'utf8'), predsPath)
  const manifest = await readManifest(dir, data)
  return { ...scoreItems(await readEvaluationItems(dir, data), predictions), dataset: { location: dir, version: manifest.version, rows: manifest.rows } }
}
