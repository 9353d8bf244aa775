// Sound-source localization scoring with the public protocol of the literature (the evaluation code released
// with "Localizing Visual Sounds the Hard Way", used by TURN and most later papers): binary masks on a 224x224
// grid, boxes rasterised with integer truncation (`int(v * 224)`, `mask[ymin:ymax, xmin:xmax] = 1`), per-item
// cIoU = Σ(P·G) / (ΣG + Σ(P·[G = 0])), cIoU@0.5 = fraction of items with cIoU >= 0.5, AUC = trapezoidal area
// under (t, fraction of items with cIoU >= t) for t = 0, 0.05, ..., 1.
import { parseJsonLines } from '../formats/json.js'

/** Side of the evaluation grid, pixels (the literature's 224). */
export const MASK_SIZE = 224

/** How an item's boxes become its ground-truth map. */
export const GROUND_TRUTH_PROTOCOLS = ['union', 'consensus', 'normbox'] as const
export type GroundTruthProtocol = (typeof GROUND_TRUTH_PROTOCOLS)[number]

/** Ground-truth convention of each evaluation corpus (docs/method.md, "Evaluation"). */
export const CORPUS_PROTOCOL: Readonly<Record<string, GroundTruthProtocol>> = {
  vggss: 'union', // VGG-SS: union of all boxes of the item (c = 1)
  'flickr-soundnet': 'consensus', // Flickr-SoundNet: min(Σ_j m_j / 2, 1) over annotators
  'music-solo': 'normbox', // MUSIC-Solo: the normalized [x, y, w, h] boxes, union
}

/** Annotator consensus divisor for Flickr-SoundNet (c = 2). */
export const CONSENSUS_C = 2

// Stored boxes are float32: x + w may land a hair below an exact grid line (0.5 -> 0.49999997), which integer
// truncation would move by a whole pixel. The literature's boxes are exact decimals, so nudge before truncating.
const GRID_EPSILON = 1e-4

const toGrid = (v: number, size: number): number => Math.min(size, Math.max(0, Math.floor(Math.min(1, Math.max(0, v)) * size + GRID_EPSILON)))

/**
 * Add a normalized [x, y, w, h] box to `map` (size x size, row-major) as `weight` on mask[ymin:ymax, xmin:xmax],
 * with the public code's `int(clip(v, 0, 1) * 224)` on each corner.
 */
export function addBox(map: Float32Array, box: readonly number[], size = MASK_SIZE, weight = 1): void {
  const [x, y, w, h] = box as [number, number, number, number]
  const x0 = toGrid(x, size)
  const y0 = toGrid(y, size)
  const x1 = toGrid(x + w, size)
  const y1 = toGrid(y + h, size)
  for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) map[r * size + c]! += weight
}

/** Binary mask of one predicted box. */
export function predictionMask(box: readonly number[], size = MASK_SIZE): Float32Array {
  const map = new Float32Array(size * size)
  addBox(map, box, size)
  return map
}

/**
 * Ground-truth map of an item: `union` and `normbox` set every covered cell to 1; `consensus` sums each
 * annotator's mask, divides by c = 2 and caps at 1 (so one annotator alone gives 0.5).
 */
export function groundTruthMap(boxes: readonly (readonly number[])[], protocol: GroundTruthProtocol, size = MASK_SIZE): Float32Array {
  const map = new Float32Array(size * size)
  for (const box of boxes) {
    const one = new Float32Array(size * size)
    addBox(one, box, size)
    for (let i = 0; i < map.length; i++) map[i]! += one[i]!
  }
  const divisor = protocol === 'consensus' ? CONSENSUS_C : 1
  for (let i = 0; i < map.length; i++) map[i] = Math.min(map[i]! / divisor, 1)
  return map
}

/** cIoU = Σ(P·G) / (ΣG + Σ(P·[G = 0])); 0 when the denominator is 0 (no ground truth and no prediction). */
export function ciou(prediction: Float32Array, groundTruth: Float32Array): number {
  let intersection = 0
  let truth = 0
  let falsePositive = 0
  for (let i = 0; i < prediction.length; i++) {
    const p = prediction[i]!
    const g = groundTruth[i]!
    intersection += p * g
    truth += g
    if (g === 0) falsePositive += p
  }
  const denominator = truth + falsePositive
  return denominator === 0 ? 0 : intersection / denominator
}

/** The 21 thresholds 0, 0.05, ..., 1 of the AUC, computed as i * 0.05 like the public code. */
export const AUC_THRESHOLDS = Array.from({ length: 21 }, (_, i) => 0.05 * i)

export interface CiouSummary {
  items: number
  /** Fraction of items with cIoU >= 0.5, in [0, 1]. */
  ciouAt05: number
  /** Trapezoidal area under (t, fraction with cIoU >= t), t in AUC_THRESHOLDS; in [0, 1]. */
  auc: number
  meanCiou: number
}

/** cIoU@0.5, AUC and mean cIoU over per-item cIoUs. */
export function summarizeCiou(values: readonly number[]): CiouSummary {
  const n = values.length
  if (n === 0) return { items: 0, ciouAt05: 0, auc: 0, meanCiou: 0 }
  const fractionAtLeast = (t: number): number => values.filter((v) => v >= t).length / n
  const curve = AUC_THRESHOLDS.map(fractionAtLeast)
  let auc = 0
  for (let i = 1; i < curve.length; i++) auc += ((AUC_THRESHOLDS[i]! - AUC_THRESHOLDS[i - 1]!) * (curve[i]! + curve[i - 1]!)) / 2
  return { items: n, ciouAt05: fractionAtLeast(0.5), auc, meanCiou: values.reduce((a, b) => a + b, 0) / n }
}

/** One line of a predictions file: `{"key": "...", "box": [x, y, w, h]}`, normalized to the item's image. */
export interface Prediction {
  key: string
  box: [number, number, number, number]
}

/** An evaluation item as the scorer needs it (from an audio-image-boxes dataset). */
export interface ScoredItem {
  key: string
  corpus: string
  label: string
  boxes: readonly (readonly number[])[]
}

export interface ScoreReport {
  protocol: Record<string, GroundTruthProtocol>
  overall: CiouSummary
  perClass: Record<string, CiouSummary>
  /** Items with no prediction: scored as cIoU 0. */
  missing: string[]
  /** Predictions whose key is not in the dataset: ignored. */
  unknown: string[]
  perItem: { key: string; label: string; ciou: number }[]
  /** the evaluated dataset, when scored from one (`scoreDataset`): which data these scores are of */
  dataset?: { location: string; version: string; rows: number }
}

/**
 * Parse a predictions file (JSON lines). Throws naming `source` and the line for malformed lines, a box that
 * is not four finite numbers, or a key given twice.
 */
export function parsePredictions(text: string, source: string): Map<string, Prediction['box']> {
  const predictions = new Map<string, Prediction['box']>()
  const { values, lines, bad } = parseJsonLines(text)
  if (bad.length > 0) throw new Error(`${source} line ${bad[0]!.line}: not JSON; each line must be {"key": "...", "box": [x, y, w, h]}`)
  for (const [i, value] of values.entries()) {
    const { key, box } = (value ?? {}) as { key?: unknown; box?: unknown }
    if (typeof key !== 'string' || !Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`${source} line ${lines[i]}: expected {"key": string, "box": [x, y, w, h] of 4 finite numbers, normalized}`)
    }
    if (predictions.has(key)) throw new Error(`${source} line ${lines[i]}: key ${key} predicted twice`)
    predictions.set(key, box as Prediction['box'])
  }
  return predictions
}

/** Score predictions against items: per-item cIoU with the corpus' ground-truth protocol, overall and per class. */
export function scoreItems(items: readonly ScoredItem[], predictions: ReadonlyMap<string, readonly number[]>): ScoreReport {
  const perItem: ScoreReport['perItem'] = []
  const missing: string[] = []
  const protocol: Record<string, GroundTruthProtocol> = {}
  for (const item of items) {
    const p = CORPUS_PROTOCOL[item.corpus]
    if (p === undefined) throw new Error(`score: corpus ${item.corpus} has no ground-truth protocol (known: ${Object.keys(CORPUS_PROTOCOL).join(', ')})`)
    protocol[item.corpus] = p
    const box = predictions.get(item.key)
    if (box === undefined) missing.push(item.key)
    const value = box === undefined ? 0 : ciou(predictionMask(box), groundTruthMap(item.boxes, p))
    perItem.push({ key: item.key, label: item.label, ciou: value })
  }
  const keys = new Set(items.map((i) => i.key))
  const byClass = new Map<string, number[]>()
  for (const { label, ciou: v } of perItem) byClass.set(label, [...(byClass.get(label) ?? []), v])
  return {
    protocol,
    overall: summarizeCiou(perItem.map((p) => p.ciou)),
    perClass: Object.fromEntries([...byClass.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, values]) => [label, summarizeCiou(values)])),
    missing,
    unknown: [...predictions.keys()].filter((k) => !keys.has(k)),
    perItem,
  }
}

/** The report as a text table (percentages, as papers print them). */
export function formatScoreTable(report: ScoreReport, baselines: Record<string, CiouSummary> = {}): string {
  const pct = (x: number): string => (100 * x).toFixed(1).padStart(6)
  const row = (name: string, s: CiouSummary): string => `${name.padEnd(28)} ${String(s.items).padStart(6)} ${pct(s.ciouAt05)} ${pct(s.auc)} ${pct(s.meanCiou)}`
  const lines = report.dataset ? [`dataset ${report.dataset.location}, version ${report.dataset.version} (${report.dataset.rows} rows)`] : []
  lines.push(`${'set'.padEnd(28)} ${'items'.padStart(6)} ${'cIoU@.5'.padStart(6)} ${'AUC'.padStart(6)} ${'mean'.padStart(6)}`)
  lines.push(row('overall', report.overall))
  for (const [name, s] of Object.entries(baselines)) lines.push(row(`baseline: ${name}`, s))
  for (const [label, s] of Object.entries(report.perClass)) lines.push(row(`  ${label}`, s))
  if (report.missing.length > 0) lines.push(`${report.missing.length} items had no prediction and count as cIoU 0: ${report.missing.slice(0, 5).join(', ')}${report.missing.length > 5 ? ', ...' : ''}`)
  if (report.unknown.length > 0) lines.push(`${report.unknown.length} predictions name keys not in the dataset (ignored): ${report.unknown.slice(0, 5).join(', ')}`)
  return lines.join('\n') + '\n'
}
