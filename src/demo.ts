// `turnkit demo`: the main job on an embedded default, with nothing downloaded. Today it generates AudioCaps
// and Clotho corpora in their real layouts (Clotho with the defects real corpora have), prepares both with the
// real pipelines, verifies them and prints what a user would check. Training and evaluation join it as they land.
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'
import { CORPORA, type CorpusName } from './etl/corpora.js'
import type { PrepareSummary } from './etl/prepare.js'
import { prepareCorpus } from './etl/prepare-corpus.js'
import { progressReporter } from './etl/progress.js'
import { verifyDataset } from './shards/manifest.js'

export interface DemoOptions {
  out: string
  tool: { name: string; version: string }
  log?: (line: string) => void
}

/** Run the demo into `out`; returns the prepared datasets' summaries. Throws when a step fails verification. */
export async function runDemo({ out, tool, log = (l) => process.stdout.write(l + '\n') }: DemoOptions): Promise<Record<string, PrepareSummary>> {
  const summaries: Record<string, PrepareSummary> = {}
  const plan: { corpus: CorpusName; clips: number; corrupt: boolean }[] = [
    { corpus: 'audiocaps', clips: 16, corrupt: false },
    { corpus: 'clotho', clips: 16, corrupt: true },
  ]
  for (const { corpus, clips, corrupt } of plan) {
    const src = join(out, 'raw', corpus)
    const dataset = join(out, 'datasets', corpus)
    log(`demo: writing a ${corpus} corpus (${clips} clips${corrupt ? ' + defective inputs' : ''}) to ${relative(process.cwd(), src)}`)
    const expected = await CORPORA[corpus].writeFixture(src, { clips, seed: 1, corrupt })
    const summary = await prepareCorpus(corpus, { src, out: dataset, workers: availableParallelism(), tool, progress: progressReporter(process.stderr) })
    const problems = await verifyDataset(dataset)
    if (problems.length > 0) throw new Error(`demo: ${dataset} failed verification: ${problems.join('; ')}`)
    if (summary.inputs !== expected.inputs) throw new Error(`demo: ${corpus} listed ${summary.inputs} inputs, the fixture has ${expected.inputs}`)
    const rejects = Object.entries(summary.rejects.byCode).map(([c, n]) => `${c} ${n}`).join(', ')
    log(`demo: ${corpus}: ${summary.inputs} inputs = ${summary.rows} rows + ${summary.rejects.total} rejects${rejects ? ` (${rejects})` : ''}`)
    log(`demo: ${corpus}: version ${summary.manifest!.version}, verified; ledger ${relative(process.cwd(), join(dataset, 'rejects.jsonl'))}`)
    summaries[corpus] = summary
  }
  log(`demo: done. Inspect a dataset with: npx turnkit inspect ${relative(process.cwd(), join(out, 'datasets', 'clotho'))}`)
  return summaries
}
