// `turnkit report RUN`: a run directory (metrics.jsonl, config.json, eval/<name>/scores.json) -> one offline HTML
// page plus a PNG per chart. The page inlines its CSS and every chart as SVG, so it reads in a browser with
// nothing else; the PNGs beside it are for READMEs, issues and slides.
//
// A metrics.jsonl line reads (training, evaluation):
//   {"stage":"turn","epoch":3,"step":1200,"lr":0.0001,"losses":{"total":1.9,"loc":0.4,...},"samplesPerSec":210,"dataWaitMs":3,"stepMs":150}
//   {"stage":"eval","epoch":3,"step":1200,"dataset":"dev","ciouAt05":0.31,"auc":0.36,"meanCiou":0.33}

import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { basename, join, relative, resolve, sep } from 'node:path'
import { writeFileAtomic } from '../dataset/atomic.js'
import { escapeXml, lineChartSvg, svgToPng, type ChartSeries, type LineChartOptions } from './charts.js'
import type { CiouSummary, ScoreReport } from './score.js'
import { parseJsonLines, readJsonFile } from '../formats/json.js'

/** Training stages that log losses, in the order they run. */
export const TRAINING_STAGES = ['classifier', 'turn'] as const
export type TrainingStage = (typeof TRAINING_STAGES)[number]

/** The TURN stage's loss terms in display order (a term the trainer adds later is shown after these). */
export const TURN_LOSS_TERMS = ['total', 'loc', 'smoothL1', 'giou', 'code', 'reconAudio', 'reconText', 'contrast'] as const

/** One training step line of metrics.jsonl. A loss logged as null (JSON has no NaN) reads as NaN. */
export interface TrainingLine {
  stage: TrainingStage
  epoch: number
  /** global step within the stage */
  step: number
  lr: number
  losses: Record<string, number>
  samplesPerSec: number
  dataWaitMs: number
  stepMs: number
}

/** One evaluation line of metrics.jsonl: scores on a held-out set after an epoch, fractions in [0, 1]. */
export interface EvalLine {
  stage: 'eval'
  epoch: number
  step: number
  dataset: string
  ciouAt05: number
  auc: number
  meanCiou: number
}

/** metrics.jsonl, parsed. */
export interface RunMetrics {
  training: TrainingLine[]
  evals: EvalLine[]
  /** non-empty lines that were not JSON or had another shape, skipped */
  skipped: number
  /** the last line did not parse: the run was killed mid-write or is still running */
  truncatedLast: boolean
}

/** `RUN/eval/<name>/scores.json` as `turnkit eval` writes it. */
export interface EvalScores {
  report: Omit<ScoreReport, 'perItem'>
  baselines: Record<string, CiouSummary>
}

/**
 * Parse metrics.jsonl text. Lines of another shape (a future stage, a note) and unparsable lines are skipped
 * and counted, never thrown on: a killed run leaves half a last line, and the report must still show the rest.
 */
export function parseMetrics(text: string): RunMetrics {
  const { values, lines, bad } = parseJsonLines(text)
  const metrics: RunMetrics = { training: [], evals: [], skipped: bad.length, truncatedLast: false }
  // A line that is not JSON is counted; a torn last line is the expected case of a killed run.
  const lastLine = Math.max(0, ...lines, ...bad.map((b) => b.line))
  metrics.truncatedLast = bad.some((b) => b.line === lastLine)
  for (const value of values) {
    const training = asTrainingLine(value)
    if (training !== undefined) { metrics.training.push(training); continue }
    const evaluation = asEvalLine(value)
    if (evaluation !== undefined) { metrics.evals.push(evaluation); continue }
    metrics.skipped++
  }
  return metrics
}

type JsonRecord = Record<string, unknown>
const isRecord = (v: unknown): v is JsonRecord => typeof v === 'object' && v !== null && !Array.isArray(v)
// JSON cannot hold NaN or Infinity, so a diverged value arrives as null; keep it as NaN so charts leave a gap.
const asNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : v === null ? Number.NaN : undefined)

function asTrainingLine(v: unknown): TrainingLine | undefined {
  if (!isRecord(v) || !(TRAINING_STAGES as readonly unknown[]).includes(v.stage) || !isRecord(v.losses)) return undefined
  const required = ['epoch', 'step', 'lr'].map((k) => asNumber(v[k]))
  if (required.some((n) => n === undefined)) return undefined
  // Classifier lines carry no timings (the stage is short and not timed per step): those read as NaN, a gap.
  const timings = ['samplesPerSec', 'dataWaitMs', 'stepMs'].map((k) => (v[k] === undefined ? Number.NaN : asNumber(v[k])))
  if (timings.some((n) => n === undefined)) return undefined
  const numbers = [...required, ...timings]
  const losses: Record<string, number> = {}
  for (const [term, value] of Object.entries(v.losses)) {
    const n = asNumber(value)
    if (n === undefined) return undefined
    losses[term] = n
  }
  const [epoch, step, lr, samplesPerSec, dataWaitMs, stepMs] = numbers as number[]
  return { stage: v.stage as TrainingStage, epoch: epoch!, step: step!, lr: lr!, losses, samplesPerSec: samplesPerSec!, dataWaitMs: dataWaitMs!, stepMs: stepMs! }
}

function asEvalLine(v: unknown): EvalLine | undefined {
  if (!isRecord(v) || v.stage !== 'eval' || typeof v.dataset !== 'string') return undefined
  const numbers = ['epoch', 'step', 'ciouAt05', 'auc', 'meanCiou'].map((k) => asNumber(v[k]))
  if (numbers.some((n) => n === undefined)) return undefined
  const [epoch, step, ciouAt05, auc, meanCiou] = numbers as number[]
  return { stage: 'eval', epoch: epoch!, step: step!, dataset: v.dataset, ciouAt05: ciouAt05!, auc: auc!, meanCiou: meanCiou! }
}

/**
 * Moving average over `window` values: trailing (each value and the `window - 1` before it) or, with `centred`,
 * the window around each value, shrunk at the ends. Non-finite values are left out of each mean (NaN where a
 * whole window is non-finite), so one diverged step does not blank the smoothed curve.
 */
export function movingAverage(values: readonly number[], window: number, { centred = false }: { centred?: boolean } = {}): number[] {
  // Prefix sums of finite values and of their count: every window mean is then two subtractions.
  const sums = [0]
  const counts = [0]
  for (const v of values) {
    const finite = Number.isFinite(v)
    sums.push(sums[sums.length - 1]! + (finite ? v : 0))
    counts.push(counts[counts.length - 1]! + (finite ? 1 : 0))
  }
  const before = centred ? Math.floor((window - 1) / 2) : window - 1
  const after = centred ? window - 1 - before : 0
  return values.map((_, i) => {
    const lo = Math.max(0, i - before)
    const hi = Math.min(values.length, i + after + 1)
    const count = counts[hi]! - counts[lo]!
    return count === 0 ? Number.NaN : (sums[hi]! - sums[lo]!) / count
  })
}

// About a tenth of the curve, at most 200 steps: visibly smoother than the raw line without lagging it badly.
const smoothingWindow = (n: number): number => Math.min(200, Math.max(1, Math.round(n / 10)))

/** Options of `writeReport`. */
export interface ReportOptions {
  /** output directory; default `<runDir>/report` */
  out?: string
}

/**
 * Write the training report of `runDir`: `<out>/index.html` and one PNG per chart (loss-<term>.png per TURN
 * loss term with its moving average, loss-classifier.png, lr.png, samples-per-sec.png, data-wait-ms.png,
 * dev-scores.png), each only when the run logged its data. Reads metrics.jsonl (required), config.json and
 * eval/<name>/scores.json (optional). Every file is written atomically. Returns the paths written.
 * Throws naming the file when metrics.jsonl is missing or config.json / scores.json is not JSON.
 */
export async function writeReport(runDir: string, { out = join(runDir, 'report') }: ReportOptions = {}): Promise<{ html: string; pngs: string[] }> {
  const metricsPath = join(runDir, 'metrics.jsonl')
  const metricsText = await readFile(metricsPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`report: ${metricsPath} not found: not a training run directory, or training has not started`)
    throw error
  })
  const metrics = parseMetrics(metricsText)
  const config = await readJsonIfExists(join(runDir, 'config.json'))
  const evaluations = await readEvaluations(runDir)

  await mkdir(out, { recursive: true })
  const charts = buildCharts(metrics)
  const pngs: string[] = []
  for (const chart of charts) {
    const path = join(out, chart.file)
    await writeFileAtomic(path, await svgToPng(lineChartSvg(chart.options)))
    pngs.push(path)
  }
  const contactSheets = await Promise.all(evaluations.map(async (e) => {
    const sheet = join(runDir, 'eval', e.name, 'vis', 'contact-sheet.png')
    return (await exists(sheet)) ? relative(out, sheet).split(sep).join('/') : undefined
  }))
  const html = join(out, 'index.html')
  await writeFileAtomic(html, renderHtml({ runName: basename(resolve(runDir)), metrics, config, evaluations, charts, contactSheets }))
  return { html, pngs }
}

interface Chart {
  file: string
  section: 'losses' | 'schedule' | 'dev'
  options: LineChartOptions
}

// File names come from loss-term keys the trainer chose; keep them to a safe alphabet.
const safeName = (name: string): string => name.replace(/[^A-Za-z0-9_-]+/g, '_') || 'unnamed'

function buildCharts(metrics: RunMetrics): Chart[] {
  const charts: Chart[] = []
  const byStage = (stage: TrainingStage): TrainingLine[] => metrics.training.filter((l) => l.stage === stage)
  const turn = byStage('turn')
  const classifier = byStage('classifier')

  for (const term of lossTerms(turn)) {
    const points = turn.map((l) => [l.step, l.losses[term] ?? Number.NaN] as [number, number])
    charts.push({ file: `loss-${safeName(term)}.png`, section: 'losses', options: { title: `TURN loss: ${term}`, series: withSmoothing(term, points), xLabel: 'step (TURN stage)', yLabel: 'loss' } })
  }
  if (classifier.length > 0) {
    const series = lossTerms(classifier).flatMap((term) => withSmoothing(term, classifier.map((l) => [l.step, l.losses[term] ?? Number.NaN] as [number, number])))
    charts.push({ file: 'loss-classifier.png', section: 'losses', options: { title: 'Classifier loss', series, xLabel: 'step (classifier stage)', yLabel: 'loss' } })
  }
  const perStage = (pick: (l: TrainingLine) => number): ChartSeries[] =>
    TRAINING_STAGES.map((stage) => ({ name: stage, points: byStage(stage).map((l) => [l.step, pick(l)] as [number, number]) })).filter((s) => s.points.length > 0)
  if (metrics.training.length > 0) {
    charts.push({ file: 'lr.png', section: 'schedule', options: { title: 'Learning rate', series: perStage((l) => l.lr), xLabel: 'step within stage', yLabel: 'learning rate' } })
    charts.push({ file: 'samples-per-sec.png', section: 'schedule', options: { title: 'Throughput', series: perStage((l) => l.samplesPerSec), xLabel: 'step within stage', yLabel: 'samples / s' } })
    // The first TURN step waits for the batch worker to start (seconds), which would flatten every later step
    // to the axis: it is left out of the chart and named in its title.
    const firstTurn = turn[0]
    const waits = turn.slice(1).map((l) => [l.step, l.dataWaitMs] as [number, number])
    const title = firstTurn === undefined ? 'Data wait per step' : `Data wait per step (step ${firstTurn.step}, worker start-up: ${num(firstTurn.dataWaitMs)} ms, left out)`
    if (waits.length > 0) charts.push({ file: 'data-wait-ms.png', section: 'schedule', options: { title, series: [{ name: 'turn', points: waits }], xLabel: 'step (TURN stage)', yLabel: 'ms waiting for data' } })
  }
  if (metrics.evals.length > 0) {
    const datasets = [...new Set(metrics.evals.map((e) => e.dataset))].sort()
    const series = datasets.flatMap((d) => {
      const lines = metrics.evals.filter((e) => e.dataset === d)
      const suffix = datasets.length > 1 ? ` (${d})` : ''
      return [
        { name: `cIoU@0.5${suffix}`, points: lines.map((e) => [e.epoch, e.ciouAt05] as [number, number]) },
        { name: `AUC${suffix}`, points: lines.map((e) => [e.epoch, e.auc] as [number, number]) },
      ]
    })
    charts.push({ file: 'dev-scores.png', section: 'dev', options: { title: `Held-out localization (${datasets.join(', ')})`, series, xLabel: 'epoch', yLabel: 'fraction' } })
  }
  return charts
}

function lossTerms(lines: readonly TrainingLine[]): string[] {
  const seen = new Set(lines.flatMap((l) => Object.keys(l.losses)))
  const known = TURN_LOSS_TERMS.filter((t) => seen.has(t))
  return [...known, ...[...seen].filter((t) => !(TURN_LOSS_TERMS as readonly string[]).includes(t)).sort()]
}

function withSmoothing(name: string, points: [number, number][]): ChartSeries[] {
  const window = smoothingWindow(points.length)
  if (window < 2) return [{ name, points }]
  // Centred, so the smoothed curve does not lag the raw one it is drawn over.
  const smooth = movingAverage(points.map(([, y]) => y), window, { centred: true })
  return [{ name, points }, { name: `${name}, moving average of ${window}`, points: points.map(([x], i) => [x, smooth[i]!]) }]
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

async function readJsonIfExists(path: string): Promise<unknown> {
  return (await exists(path)) ? await readJsonFile(path, `report: ${path}`) : undefined
}

async function readEvaluations(runDir: string): Promise<{ name: string; scores: EvalScores }[]> {
  const dir = join(runDir, 'eval')
  const names = await readdir(dir, { withFileTypes: true }).then(
    (entries) => entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(),
    (error: NodeJS.ErrnoException) => { if (error.code === 'ENOENT') return [] as string[]; throw error },
  )
  const found: { name: string; scores: EvalScores }[] = []
  for (const name of names) {
    const path = join(dir, name, 'scores.json')
    const value = await readJsonIfExists(path)
    if (value === undefined) continue // an evaluation that has not finished writing its scores yet
    if (!isRecord(value) || !isRecord(value.report) || !isSummary(value.report.overall)) {
      throw new Error(`report: ${path}: expected {"report": {"overall": {items, ciouAt05, auc, meanCiou}, ...}, "baselines": {...}}`)
    }
    found.push({ name, scores: { ...value, baselines: isRecord(value.baselines) ? value.baselines : {} } as unknown as EvalScores })
  }
  return found
}

const isSummary = (v: unknown): v is CiouSummary =>
  isRecord(v) && ['items', 'ciouAt05', 'auc', 'meanCiou'].every((k) => typeof v[k] === 'number')

// ---------------------------------------------------------------------------------------------------------------
// HTML

const esc = escapeXml
const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–')
const num = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return '–'
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(3)
  return String(Number(x.toPrecision(4)))
}

interface HtmlInput {
  runName: string
  metrics: RunMetrics
  config: unknown
  evaluations: { name: string; scores: EvalScores }[]
  charts: Chart[]
  contactSheets: (string | undefined)[]
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 2rem auto; max-width: 1340px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.note { color: #666; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid #e6e6e6; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #bbb; }
tr.baseline td { color: #666; font-style: italic; } tr.overall td { font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: 12px; color: #666; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: .8rem; overflow: auto; font-size: 12px; }
img.sheet { max-width: 100%; border: 1px solid #ddd; }
`

function renderHtml({ runName, metrics, config, evaluations, charts, contactSheets }: HtmlInput): string {
  const title = `turnkit training report: ${runName}`
  const parts: string[] = []
  parts.push('<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<title>${esc(title)}</title>`, `<style>${CSS}</style>`, '</head>', '<body>')
  parts.push(`<h1>${esc(title)}</h1>`)
  parts.push(`<p class="note">${metricsNote(metrics)}</p>`)
  parts.push(runSection(config))
  parts.push('<h2>Summary</h2>', summaryTables(metrics))
  for (const [i, { name, scores }] of evaluations.entries()) parts.push(evaluationSection(name, scores, contactSheets[i]))
  const sections: [Chart['section'], string][] = [['losses', 'Losses'], ['schedule', 'Learning rate and throughput'], ['dev', 'Held-out scores during training']]
  for (const [section, heading] of sections) {
    const list = charts.filter((c) => c.section === section)
    if (list.length === 0) continue
    parts.push(`<h2>${esc(heading)}</h2>`, '<div class="charts">')
    for (const chart of list) {
      parts.push(`<figure>${lineChartSvg({ ...chart.options, text: 'font' })}<figcaption><a href="${esc(chart.file)}">${esc(chart.file)}</a></figcaption></figure>`)
    }
    parts.push('</div>')
  }
  if (config !== undefined) parts.push('<h2>Configuration</h2>', `<details><summary>config.json</summary><pre>${esc(JSON.stringify(config, null, 2))}</pre></details>`)
  parts.push('</body>', '</html>')
  return parts.join('\n') + '\n'
}

function metricsNote(m: RunMetrics): string {
  const counts = TRAINING_STAGES.map((s) => `${m.training.filter((l) => l.stage === s).length} ${s} steps`).join(', ')
  const skipped = m.skipped === 0 ? '' : `; ${m.skipped} line${m.skipped === 1 ? '' : 's'} skipped${m.truncatedLast ? ' (the last line is cut short: the run was stopped mid-write or is still running)' : ''}`
  return esc(`metrics.jsonl: ${counts}, ${m.evals.length} evaluations logged${skipped}.`)
}

function runSection(config: unknown): string {
  if (!isRecord(config)) return '<p class="note">No config.json in the run directory.</p>'
  const rows: string[] = []
  if (config.backend !== undefined) rows.push(`<tr><td>backend</td><td colspan="2">${esc(display(config.backend))}</td></tr>`)
  if (isRecord(config.datasets)) {
    for (const [name, ref] of Object.entries(config.datasets)) {
      if (ref === null || ref === undefined) continue // an optional dataset the run did not have (no --dev)
      const dir = isRecord(ref) ? display(ref.dir) : display(ref)
      const version = isRecord(ref) ? display(ref.version) : ''
      rows.push(`<tr><td>dataset: ${esc(name)}</td><td>${esc(dir)}</td><td>${esc(version)}</td></tr>`)
    }
  }
  if (rows.length === 0) return ''
  return ['<h2>Run</h2>', '<table>', '<thead><tr><th></th><th>directory / value</th><th>version</th></tr></thead>', '<tbody>', ...rows, '</tbody>', '</table>'].join('\n')
}

const display = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v))

function summaryTables(m: RunMetrics): string {
  const out: string[] = []
  for (const stage of TRAINING_STAGES) {
    const lines = m.training.filter((l) => l.stage === stage)
    if (lines.length === 0) continue
    const last = lines[lines.length - 1]!
    const window = smoothingWindow(lines.length)
    out.push(`<h3>${esc(stage === 'turn' ? 'TURN stage' : 'Classifier stage')}: ${lines.length} steps logged, last step ${esc(num(last.step))}, epoch ${esc(num(last.epoch))}</h3>`)
    out.push('<table class="losses">', `<thead><tr><th>loss term</th><th>last</th><th>final (mean of last ${window})</th><th>best (moving average)</th><th>at step</th></tr></thead>`, '<tbody>')
    for (const term of lossTerms(lines)) {
      const values = lines.map((l) => l.losses[term] ?? Number.NaN)
      const smooth = movingAverage(values, window)
      let best = -1
      smooth.forEach((v, i) => { if (Number.isFinite(v) && (best < 0 || v < smooth[best]!)) best = i })
      out.push(`<tr><td>${esc(term)}</td><td>${num(values[values.length - 1])}</td><td>${num(smooth[smooth.length - 1])}</td><td>${best < 0 ? '–' : num(smooth[best])}</td><td>${best < 0 ? '–' : num(lines[best]!.step)}</td></tr>`)
    }
    out.push('</tbody>', '</table>')
    const mean = (pick: (l: TrainingLine) => number): number => {
      const v = lines.map(pick).filter(Number.isFinite)
      return v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length
    }
    const waitShare = mean((l) => l.dataWaitMs) / mean((l) => l.stepMs)
    out.push('<table>', '<tbody>',
      `<tr><td>learning rate, last</td><td>${num(last.lr)}</td></tr>`,
      `<tr><td>samples / s, mean</td><td>${num(mean((l) => l.samplesPerSec))}</td></tr>`,
      `<tr><td>data wait ms / step, mean</td><td>${num(mean((l) => l.dataWaitMs))}</td></tr>`,
      `<tr><td>step ms, mean</td><td>${num(mean((l) => l.stepMs))}</td></tr>`,
      `<tr><td>share of step time waiting for data</td><td>${Number.isFinite(waitShare) ? `${pct(waitShare)} %` : '–'}</td></tr>`,
      '</tbody>', '</table>')
  }
  const datasets = [...new Set(m.evals.map((e) => e.dataset))].sort()
  if (datasets.length > 0) {
    out.push('<h3>Held-out scores during training</h3>', '<table>', '<thead><tr><th>dataset</th><th>evaluations</th><th>last cIoU@0.5 %</th><th>last AUC %</th><th>best cIoU@0.5 %</th><th>at epoch</th><th>best AUC %</th></tr></thead>', '<tbody>')
    for (const d of datasets) {
      const lines = m.evals.filter((e) => e.dataset === d)
      const last = lines[lines.length - 1]!
      const best = lines.reduce((a, b) => (b.ciouAt05 > a.ciouAt05 ? b : a))
      const bestAuc = Math.max(...lines.map((e) => e.auc))
      out.push(`<tr><td>${esc(d)}</td><td>${lines.length}</td><td>${pct(last.ciouAt05)}</td><td>${pct(last.auc)}</td><td>${pct(best.ciouAt05)}</td><td>${num(best.epoch)}</td><td>${pct(bestAuc)}</td></tr>`)
    }
    out.push('</tbody>', '</table>')
  }
  return out.length === 0 ? '<p class="note">No training steps logged yet.</p>' : out.join('\n')
}

function evaluationSection(name: string, { report, baselines }: EvalScores, contactSheet: string | undefined): string {
  const row = (label: string, s: CiouSummary, cls: string): string =>
    `<tr class="${cls}"><td>${esc(label)}</td><td>${s.items}</td><td>${pct(s.ciouAt05)}</td><td>${pct(s.auc)}</td><td>${pct(s.meanCiou)}</td></tr>`
  const out = [`<h2>Evaluation: ${esc(name)}</h2>`]
  if (isRecord(report.protocol)) {
    const protocols = Object.entries(report.protocol).map(([corpus, p]) => `${corpus}: ${String(p)}`).join(', ')
    if (protocols !== '') out.push(`<p class="note">Ground truth per corpus: ${esc(protocols)}. Percentages; cIoU@0.5 is the share of items with cIoU ≥ 0.5.</p>`)
  }
  out.push('<table class="eval">', '<thead><tr><th>set</th><th>items</th><th>cIoU@0.5 %</th><th>AUC %</th><th>mean cIoU %</th></tr></thead>', '<tbody>')
  out.push(row('overall', report.overall, 'overall'))
  for (const [b, s] of Object.entries(baselines)) if (isSummary(s)) out.push(row(`baseline: ${b} box`, s, 'baseline'))
  if (isRecord(report.perClass)) for (const [label, s] of Object.entries(report.perClass)) if (isSummary(s)) out.push(row(label === '' ? '(no class)' : label, s, 'class'))
  out.push('</tbody>', '</table>')
  const missing = Array.isArray(report.missing) ? report.missing : []
  if (missing.length > 0) out.push(`<p class="note">${esc(`${missing.length} ${missing.length === 1 ? 'item has' : 'items have'} no prediction and count${missing.length === 1 ? 's' : ''} as cIoU 0: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`)}</p>`)
  if (contactSheet !== undefined) out.push(`<p><a href="${esc(contactSheet)}"><img class="sheet" src="${esc(contactSheet)}" alt="${esc(`overlays of ${name}: best, worst and random items`)}"></a></p>`)
  return out.join('\n')
}
