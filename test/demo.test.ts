// `turnkit demo --small` end to end: world -> datasets -> both training stages -> zero-resource evaluation ->
// report, through the real command. It asserts that every part is there and consistent; whether the
// model beats the baselines at this scale is reported by the demo, not asserted (see the README).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'

describe('turnkit demo --small', () => {
  it('prepares the world, trains, evaluates against the baselines and writes the report and overlays', async () => {
    const out = join(await tempDir(), 'demo')
    const run = await runCli(['demo', '--small', '--out', out])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /audiocaps -> .*: 31 inputs = 24 rows \+ 7 rejects/)
    assert.match(run.stdout, /baseline: centre/)
    assert.match(run.stdout, /zero-resource cIoU@0\.5 \d+\.\d \(centre box \d+\.\d\)/)
    const scores = JSON.parse(await readFile(join(out, 'run', 'eval', 'test', 'scores.json'), 'utf8')) as { report: { overall: { items: number } }; perItem: unknown[] }
    assert.equal(scores.report.overall.items, 30)
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
