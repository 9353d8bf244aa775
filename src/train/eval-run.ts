// `turnkit eval`: the best checkpoint of a run predicts one box per item of an evaluation dataset from its audio
// (zero-resource: the model never saw an audio-image pair); predictions, scores, baselines and overlays go to
// RUN/eval/<name>/.
import { mkdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { writeFileAtomic } from '../dataset/atomic.js'
import { readManifest } from '../dataset/manifest.js'
import type { DataOptions } from '../dataset/cache.js'
import { ensureIntact } from '../dataset/verify.js'
import { evaluateModel } from './evaluate.js'
import { checkSourceIdLeaks } from './leaks.js'
import { RunDir } from './run-dir.js'
import { formatScoreTable, type CiouSummary, type ScoreReport } from './score.js'
import { writeOverlays } from './overlays.js'

export interface EvalRunResult {
  dir: string
  report: ScoreReport
  baselines: { centre: CiouSummary; random: CiouSummary }
  table: string
  overlays: string[]
}

/**
 * Evaluate RUN/best on `dataDir`. Writes preds.jsonl (the `turnkit score` format), scores.json, scores.txt and,
 * with `vis`, overlays of the best, worst and a seeded random sample plus a contact sheet under `vis`.
 */
export async function evaluateRun(
  run: string,
  dataDir: string,
  { name, vis, verifyData = true, data = {}, log = (line) => process.stderr.write(`${line}\n`) }: { name?: string; vis?: string | undefined; verifyData?: boolean; data?: DataOptions; log?: (line: string) => void } = {},
): Promise<EvalRunResult> {
  if (verifyData) await ensureIntact(dataDir, (line) => log(`eval: ${line}`), data)
  else log('eval: --no-verify-data: the dataset is read without checking its part files against the manifest')
  const manifest = await readManifest(dataDir, data)
  const evalName = name ?? manifest.pipeline.name ?? basename(dataDir)
  const runDir = new RunDir(run)
  const { model, config } = await runDir.loadBest()
  const dir = runDir.evalDir(evalName)
  await mkdir(dir, { recursive: true })
  try {
    // An evaluation item whose source (video, image) was in the training data does not measure zero-resource
    // localization: say so next to the scores.
    const trainedOnDirs = Object.values(config.datasets).flatMap((ref) => (ref === null || ref.dir === dataDir ? [] : [ref.dir]))
    const leaks = await checkSourceIdLeaks(trainedOnDirs, dataDir, data, (line) => log(`eval: ${line}`))
    await writeFileAtomic(join(dir, 'overlap.json'), JSON.stringify(leaks, null, 2) + '\n')
    const { report, baselines, items, images } = await evaluateModel(model, dataDir, { keepImages: vis !== undefined, data })
    await writeFileAtomic(join(dir, 'preds.jsonl'), items.map((i) => JSON.stringify({ key: i.key, box: i.box.map((v) => Number(v.toFixed(6))) }) + '\n').join(''))
    const { perItem, ...summary } = report
    // The scores name the data they are of, and the data the model was trained on (turnkit lineage reads both).
    const trainedOn = Object.fromEntries(Object.entries(config.datasets).flatMap(([role, ref]) => (ref === null ? [] : [[role, { dir: ref.dir, version: ref.version }]])))
    await writeFileAtomic(join(dir, 'scores.json'), JSON.stringify({ dataset: { dir: dataDir, version: manifest.version }, trainedOn, report: summary, baselines, perItem }, null, 2) + '\n')
    const table = formatScoreTable({ ...report, dataset: { location: dataDir, version: manifest.version, rows: manifest.rows } }, baselines)
    await writeFileAtomic(join(dir, 'scores.txt'), table)
    let overlays: string[] = []
    if (vis !== undefined) {
      const ciouByKey = new Map(perItem.map((p) => [p.key, p.ciou]))
      overlays = await writeOverlays(
        vis,
        items.map((i) => ({ key: i.key, label: i.label, ciou: ciouByKey.get(i.key) ?? 0, jpeg: images.get(i.key)!, gtBoxes: i.boxes, predBox: i.box })),
      )
    }
    return { dir, report, baselines, table, overlays }
  } finally {
    model.dispose()
  }
}
