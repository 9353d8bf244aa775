// `turnkit demo --small` end to end: world -> datasets -> both training stages -> zero-resource evaluation ->
// report, through the real command (seed 0, 1,500 training steps: the suite's longest test). It asserts that
// every part is there and consistent, and that the model, never trained on an audio-image pair, finds the
// sounding object clearly more often than the centre box (the margin across seeds is in the README).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

/** cIoU@0.5 points (as a fraction) the zero-resource model must be ahead of the centre box on 30 items. */
const MARGIN = 0.1

describe('turnkit demo --small', () => {
  it('prepares the world, trains, evaluates against the baselines and writes the report and overlays', async () => {
    const out = join(await tempDir(), 'demo')
    const run = await runCli(['demo', '--small', '--out', out])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /audiocaps -> .*: 31 inputs = 24 rows \+ 7 rejects/)
    assert.match(run.stdout, /baseline: centre/)
    assert.match(run.stdout, /zero-resource cIoU@0\.5 \d+\.\d \(centre box \d+\.\d\)/)
    type Scores = { ciouAt05: number; auc: number }
    const scores = JSON.parse(await readFile(join(out, 'run', 'eval', 'test', 'scores.json'), 'utf8')) as {
      report: { overall: Scores & { items: number } }
      baselines: { centre: Scores }
    }
    assert.equal(scores.report.overall.items, 30)
    const { overall } = scores.report
    const centre = scores.baselines.centre
    assert.ok(overall.ciouAt05 >= centre.ciouAt05 + MARGIN, `cIoU@0.5 ${overall.ciouAt05} vs centre box ${centre.ciouAt05}: not ${MARGIN} ahead`)
    assert.ok(overall.auc > centre.auc, `AUC ${overall.auc} vs centre box ${centre.auc}`)
    assert.equal((await readFile(join(out, 'run', 'eval', 'test', 'preds.jsonl'), 'utf8')).trim().split('\n').length, 30)
    for (const file of ['report/index.html', 'report/loss-total.png', 'eval/test/vis/contact-sheet.png', 'best/model/model.json']) {
      assert.ok(existsSync(join(out, 'run', file)), file)
    }
    // The scores the demo printed are what `turnkit score` computes from its predictions file.
    const rescored = await runCli(['score', '--pred', join(out, 'run', 'eval', 'test', 'preds.jsonl'), '--data', join(out, 'datasets', 'test'), '--json'])
    assert.equal(rescored.code, 0, rescored.stderr)
    const again = JSON.parse(rescored.stdout) as { overall: unknown }
    assert.deepEqual(again.overall, (JSON.parse(await readFile(join(out, 'run', 'eval', 'test', 'scores.json'), 'utf8')) as { report: { overall: unknown } }).report.overall)
  })
})
