// `turnkit score`: predictions file + audio-image-boxes dataset -> the literature's cIoU@0.5 / AUC report.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readManifest } from '../dataset/manifest.js'
import { openShard } from '../dataset/parquet-reader.js'
import { loadSchema } from '../dataset/schema.js'
import { parsePredictions, scoreItems, type ScoredItem, type ScoreReport } from './score.js'

/** Every item of an evaluation dataset with its ground-truth boxes, read one row group at a time. */
export async function readEvaluationItems(dir: string): Promise<ScoredItem[]> {
  const manifest = await readManifest(dir)
  if (manifest.schema.id !== 'audio-image-boxes') {
    throw new Error(`${dir} holds ${manifest.schema.id} records; scoring needs an audio-image-boxes dataset (vggss, music-solo, flickr-soundnet)`)
  }
  const schema = await loadSchema(manifest.schema.id)
  const items: ScoredItem[] = []
  for (const shard of manifest.shards) {
    const file = await openShard(join(dir, shard.file), schema)
    for (let g = 0; g < file.metadata.rowGroups; g++) {
      for (const row of await file.readRowGroup(g)) {
        items.push({ key: row.key as string, corpus: row.corpus as string, label: row.label as string, boxes: (row.boxes as Float32Array[]).map((b) => Array.from(b)) })
      }
    }
    file.close()
  }
  return items
}

/** Score the predictions file at `predsPath` against the dataset at `dir`. Throws naming the file on bad input. */
export async function scoreDataset(predsPath: string, dir: string): Promise<ScoreReport> {
  const predictions = parsePredictions(await readFile(predsPath, 'utf8'), predsPath)
  return scoreItems(await readEvaluationItems(dir), predictions)
}
