import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import sharp from 'sharp'
import { lineChartSvg, niceTicks, svgToPng } from '../src/train/charts.js'
import { movingAverage, parseMetrics, writeReport } from '../src/train/report.js'
import { tempDir } from './helpers/temp.js'
import { progressReporter } from '../src/etl/progress.js'

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

const turnLine = (step: number, total: number | null): string =>
  JSON.stringify({
    stage: 'turn', epoch: Math.floor(step / 10), step, lr: 1e-4, samplesPerSec: 200 + step, dataWaitMs: 2, stepMs: 100,
    losses: { total, loc: 0.5, smoothL1: 0.2, giou: 0.3, code: 0.1, reconAudio: 0.4, reconText: 0.4, contrast: 1.1 },
  })

async function syntheticRun(): Promise<string> {
  const run = await tempDir('report-')
  const lines = [
    JSON.stringify({ stage: 'classifier', epoch: 0, step: 1, lr: 1e-3, losses: { ext: 2.3 }, samplesPerSec: 500, dataWaitMs: 1, stepMs: 20 }),
    JSON.stringify({ stage: 'classifier', epoch: 0, step: 2, lr: 1e-3, losses: { ext: 2.1 }, samplesPerSec: 510, dataWaitMs: 1, stepMs: 20 }),
    turnLine(1, 3.0),
    turnLine(2, 2.5),
    turnLine(3, null), // a diverged step: JSON has no NaN
    turnLine(4, 2.0),
    JSON.stringify({ stage: 'eval', epoch: 0, step: 4, dataset: 'dev', ciouAt05: 0.25, auc: 0.3, meanCiou: 0.28 }),
    JSON.stringify({ note: 'resumed' }), // another shape: skipped
    '{"stage": "turn", "epoch": 0, "st', // killed mid-write
  ]
  await writeFile(join(run, 'metrics.jsonl'), lines.join('\n'))
  const config = {
    model: { preset: 'tiny' },
    datasets: { source: { dir: 'data/<script>alert("x")</script>', version: 'v1-abc' }, intermediate: { dir: 'data/grounding', version: 'v1-def' } },
    backend: 'cpu & "wasm"',
  }
  await writeFile(join(run, 'config.json'), JSON.stringify(config))
  await mkdir(join(run, 'eval', 'vggss'), { recursive: true })
  const summary = (items: number, x: number): object => ({ items, ciouAt05: x, auc: x + 0.05, meanCiou: x + 0.02 })
  const scores = {
    report: { protocol: { vggss: 'union' }, overall: summary(3, 0.333), perClass: { 'dog <barking>': summary(2, 0.5), guitar: summary(1, 0) }, missing: [], unknown: [] },
    baselines: { centre: summary(3, 0.1), random: summary(3, 0.05) },
  }
  await writeFile(join(run, 'eval', 'vggss', 'scores.json'), JSON.stringify(scores))
  return run
}

describe('parseMetrics', () => {
  it('keeps training and eval lines and skips other shapes and a truncated last line', () => {
    const text = [turnLine(1, 3), '{"stage":"eval","epoch":1,"step":9,"dataset":"dev","ciouAt05":0.2,"auc":0.3,"meanCiou":0.25}', '{"other":1}', '{"stage":"tu'].join('\n')
    const m = parseMetrics(text)
    assert.deepEqual({ training: m.training.length, evals: m.evals, skipped: m.skipped, truncatedLast: m.truncatedLast }, {
      training: 1,
      evals: [{ stage: 'eval', epoch: 1, step: 9, dataset: 'dev', ciouAt05: 0.2, auc: 0.3, meanCiou: 0.25 }],
      skipped: 2,
      truncatedLast: true,
    })
  })

  it('reads a null loss as NaN', () => {
    assert.ok(Number.isNaN(parseMetrics(turnLine(1, null)).training[0]!.losses.total))
  })
})

describe('movingAverage', () => {
  it('averages the trailing window and leaves non-finite values out', () => {
    assert.deepEqual(movingAverage([1, 3, Number.NaN, 5, 7], 2), [1, 2, 3, 5, 6])
  })

  it('centres the window when asked, shrinking it at the ends', () => {
    assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 3, { centred: true }), [1.5, 2, 3, 4, 4.5])
  })
})

describe('lineChartSvg', () => {
  it('breaks a line at NaN and Infinity instead of writing them', () => {
    const svg = lineChartSvg({ title: 't', series: [{ name: 'a', points: [[0, 1], [1, Number.NaN], [2, 2], [3, Infinity], [4, 3]] }], xLabel: 'x', yLabel: 'y' })
    assert.doesNotMatch(svg, /NaN|Infinity/)
    const path = /<path d="(M[^"]*)" stroke="#0072b2"/.exec(svg)
    assert.ok(path !== null, 'series path present')
    assert.equal(path[1]!.match(/M/g)!.length, 3) // three one-point runs
  })

  it('keeps an empty series in the legend and says when there is no data at all', async () => {
    const one = lineChartSvg({ title: 't', series: [{ name: 'a', points: [[0, 1], [1, 2]] }, { name: 'b', points: [] }], xLabel: 'x', yLabel: 'y', text: 'font' })
    assert.match(one, />b \(no data\)</)
    assert.equal(one.match(/stroke="#d55e00"/g), null) // no line for the empty series
    const none = lineChartSvg({ title: 't', series: [{ name: 'b', points: [] }], xLabel: 'x', yLabel: 'y', text: 'font' })
    assert.match(none, />no data</)
    const png = await svgToPng(none)
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE)
  })

  it('renders the same bytes twice', async () => {
    const svg = lineChartSvg({ title: 'same', series: [{ name: 'a', points: [[0, 0.5], [10, 0.25]] }], xLabel: 'step', yLabel: 'loss', logY: true })
    assert.deepEqual(await svgToPng(svg), await svgToPng(svg))
  })
})

describe('niceTicks', () => {
  it('puts ticks at 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual(niceTicks(0.03, 0.97, 5), { lo: 0, hi: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] })
  })

  it('gives integer data integer ticks', () => {
    assert.deepEqual(niceTicks(1, 3, 5, { integer: true }).ticks, [1, 2, 3])
  })
})

describe('writeReport', () => {
  it('writes index.html with the loss table, escaped config values and the evaluation table', async () => {
    const run = await syntheticRun()
    const { html } = await writeReport(run)
    assert.equal(html, join(run, 'report', 'index.html'))
    const text = await readFile(html, 'utf8')
    assert.match(text, /<table class="losses">/)
    for (const term of ['total', 'smoothL1', 'contrast', 'ext']) assert.match(text, new RegExp(`<tr><td>${term}</td>`))
    assert.match(text, /data\/&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/)
    assert.doesNotMatch(text, /<script>/)
    assert.match(text, /cpu &amp; &quot;wasm&quot;/)
    assert.match(text, /v1-abc/)
    assert.match(text, /<tr class="overall"><td>overall<\/td><td>3<\/td><td>33\.3<\/td>/)
    assert.match(text, /baseline: centre box/)
    assert.match(text, /dog &lt;barking&gt;/)
    assert.match(text, /2 lines skipped \(the last line is cut short/)
    assert.match(text, /<a href="loss-total.png">/)
    assert.match(text, /<svg xmlns/) // charts inlined: the page reads without the PNGs
  })

  it('writes a valid PNG per chart at twice the SVG size', async () => {
    const run = await syntheticRun()
    const { pngs } = await writeReport(run, { out: join(run, 'elsewhere') })
    assert.deepEqual(pngs.map((p) => basename(p)), [
      'loss-total.png', 'loss-loc.png', 'loss-smoothL1.png', 'loss-giou.png', 'loss-code.png', 'loss-reconAudio.png', 'loss-reconText.png',
      'loss-contrast.png', 'loss-classifier.png', 'lr.png', 'samples-per-sec.png', 'data-wait-ms.png', 'dev-scores.png',
    ])
    for (const path of pngs) {
      const bytes = await readFile(path)
      assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, path)
      const { width, height, format } = await sharp(bytes).metadata()
      assert.deepEqual({ width, height, format }, { width: 1280, height: 640, format: 'png' })
    }
  })

  it('throws naming metrics.jsonl when the directory is not a run', async () => {
    const dir = await tempDir('not-a-run-')
    await assert.rejects(writeReport(dir), /metrics\.jsonl not found/)
  })
})

describe('the report as a person reads it', () => {
  it('reads classifier lines as the trainer writes them (no timings) and charts their loss', async () => {
    const run = await tempDir('report-')
    const classifier = [0, 1, 2].map((step) => JSON.stringify({ stage: 'classifier', epoch: 0, step, lr: 1e-4, losses: { ext: 0.7 - step / 10 } }))
    const metrics = parseMetrics(classifier.join('\n') + '\n')
    assert.deepEqual([metrics.training.length, metrics.skipped], [3, 0])
    await writeFile(join(run, 'metrics.jsonl'), [...classifier, turnLine(0, 3), turnLine(1, 2)].join('\n') + '\n')
    const { html, pngs } = await writeReport(run)
    assert.ok(pngs.some((p) => basename(p) === 'loss-classifier.png'))
    assert.doesNotMatch(await readFile(html, 'utf8'), /skipped/)
  })

  it("leaves the first TURN step's data wait (the worker's start-up) out of the chart, saying so", async () => {
    const run = await tempDir('report-')
    const slowStart = JSON.stringify({ ...JSON.parse(turnLine(0, 3)), dataWaitMs: 4000 })
    await writeFile(join(run, 'metrics.jsonl'), [slowStart, turnLine(1, 2), turnLine(2, 1.5)].join('\n') + '\n')
    const html = await readFile((await writeReport(run)).html, 'utf8')
    assert.match(html, /Data wait per step \(step 0, worker start-up: 4000 ms, left out\)/)
  })

  it('shows no row for a dataset the run did not have', async () => {
    const run = await tempDir('report-')
    await writeFile(join(run, 'metrics.jsonl'), turnLine(0, 3) + '\n')
    await writeFile(join(run, 'config.json'), JSON.stringify({ backend: 'cpu', datasets: { source: { dir: 's', version: 'v' }, intermediate: { dir: 'i', version: 'w' }, dev: null } }))
    const html = await readFile((await writeReport(run)).html, 'utf8')
    assert.match(html, /dataset: source/)
    assert.doesNotMatch(html, /dataset: dev|>null</)
  })
})

describe('progressReporter', () => {
  it('clears to the end of the line on every redraw, so a shorter line leaves nothing behind', () => {
    const written: string[] = []
    const stream = { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream
    const progress = progressReporter(stream)
    progress.start(3, 'prepare clotho')
    progress.tick(false)
    progress.done()
    assert.ok(written.length > 0 && written.every((line) => line.includes('\x1b[K')), JSON.stringify(written))
  })
})
