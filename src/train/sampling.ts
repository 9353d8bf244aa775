// Adaptive sampling by domain exclusivity (docs/method.md, Eq. 12-13): the domain classifier Φ scores every text, the
// scores become per-item draw probabilities (largest / smallest = k exactly), and each epoch draws its items
// from them: item i appears counts[i] times in the epoch (ShardStream's `counts`).

import { readJsonLines } from '../formats/json.js'
import { writeFileAtomic } from '../dataset/atomic.js'

/** Which domain a text belongs to: source (image, text, box) or intermediate (text, audio). */
export const DOMAINS = ['source', 'intermediate'] as const
export type Domain = (typeof DOMAINS)[number]

/** k of the method: the largest weight of a domain is exactly k times its smallest. */
export const EXCLUSIVITY_K = 5

/**
 * Draw probabilities of one domain's items from their classifier logits Φ(t_i) (Eq. 12-13):
 * source `w_i = softmax_i(−Φ_i/τ)`, intermediate `w_i = softmax_i(+Φ_i/τ)`, `τ = (max Φ − min Φ) / ln k`.
 * Φ > 0 means "looks like source text", so source items that look intermediate (low Φ: sounding objects) and
 * intermediate items that look source (high Φ) get the high weights. With that τ, max w / min w = k exactly.
 * All-equal logits (τ = 0) give uniform weights. Returns a Float64Array summing to 1.
 * Throws on an empty list, a non-finite logit, or k <= 1.
 */
export function domainExclusivityWeights(logits: Float64Array | Float32Array | readonly number[], domain: Domain, k = EXCLUSIVITY_K): Float64Array {
  const n = logits.length
  if (n === 0) throw new Error('domainExclusivityWeights: no logits')
  if (!(k > 1) || !Number.isFinite(k)) throw new Error(`domainExclusivityWeights: k = ${k} must be a finite number > 1`)
  if (!DOMAINS.includes(domain)) throw new Error(`domainExclusivityWeights: domain '${String(domain)}' must be one of ${DOMAINS.join(', ')}`)
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    const v = logits[i]
    if (!Number.isFinite(v)) throw new Error(`domainExclusivityWeights: logit ${i} is ${v}`)
    if (v < min) min = v
    if (v > max) max = v
  }
  const weights = new Float64Array(n)
  if (max === min) return weights.fill(1 / n)
  const tau = (max - min) / Math.log(k)
  // Shift by the extreme that gets the largest weight so every exponent is <= 0 (no overflow): the softmax is
  // unchanged, and the extremes give exp(0) = 1 and exp(−ln k) = 1/k, so their ratio is k up to rounding.
  const sign = domain === 'source' ? -1 : 1
  const top = domain === 'source' ? min : max
  let sum = 0
  for (let i = 0; i < n; i++) {
    weights[i] = Math.exp((sign * (logits[i] - top)) / tau)
    sum += weights[i]
  }
  for (let i = 0; i < n; i++) weights[i] /= sum
  return weights
}

/** Vose's alias table of a discrete distribution: draw i with probability weights[i] / sum in O(1). */
export interface AliasTable {
  /** probability of keeping column i (scaled to [0, 1]) */
  prob: Float64Array
  /** the other outcome of column i */
  alias: Uint32Array
}

/** Build Vose's alias table (O(n)). Throws on no weights, a negative or non-finite weight, or a zero sum. */
export function aliasTable(weights: Float64Array | Float32Array | readonly number[]): AliasTable {
  const n = weights.length
  if (n === 0) throw new Error('aliasTable: no weights')
  let sum = 0
  for (let i = 0; i < n; i++) {
    const w = weights[i]
    if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`aliasTable: weight ${i} is ${w}; weights must be finite and >= 0`)
    sum += w
  }
  if (sum === 0) throw new Error('aliasTable: weights sum to 0')
  const scaled = new Float64Array(n)
  for (let i = 0; i < n; i++) scaled[i] = (weights[i] * n) / sum
  const prob = new Float64Array(n)
  const alias = new Uint32Array(n)
  const small: number[] = []
  const large: number[] = []
  for (let i = n - 1; i >= 0; i--) (scaled[i] < 1 ? small : large).push(i)
  while (small.length > 0 && large.length > 0) {
    const s = small.pop() as number
    const l = large.pop() as number
    prob[s] = scaled[s]
    alias[s] = l
    scaled[l] = scaled[l] + scaled[s] - 1
    ;(scaled[l] < 1 ? small : large).push(l)
  }
  // What remains is 1 up to rounding error (Vose's numerically stable variant).
  for (const i of large) prob[i] = 1
  for (const i of small) prob[i] = 1
  return { prob, alias }
}

/** One draw from an alias table with `random` (floats in [0, 1)): uses one float for column and coin. */
export function drawAlias(table: AliasTable, random: () => number): number {
  const n = table.prob.length
  const u = random() * n
  const column = Math.min(n - 1, Math.floor(u))
  return u - column < table.prob[column] ? column : table.alias[column]
}

/**
 * Multinomial counts: `draws` independent draws (with replacement) of items with probability proportional to
 * `weights`, via an alias table. Returns a Uint32Array of per-item counts summing to `draws` (default: the item
 * count, so a weighted epoch has as many items as an unweighted one). Deterministic for the same `random`
 * state (use rngFor(seed, epoch, 'draw')). Throws what `aliasTable` throws, or on a negative `draws`.
 */
export function drawCounts(weights: Float64Array | Float32Array | readonly number[], random: () => number, draws = weights.length): Uint32Array {
  if (!Number.isInteger(draws) || draws < 0) throw new Error(`drawCounts: draws = ${draws} must be an integer >= 0`)
  const table = aliasTable(weights)
  const counts = new Uint32Array(weights.length)
  for (let d = 0; d < draws; d++) counts[drawAlias(table, random)] += 1
  return counts
}

// A weights file has one JSON line per item, in the order given (the stream's global index order):
//   {"key":"clotho/development/rain.wav","weight":0.000123}
/**
 * Save per-item weights keyed by record key as JSON lines, atomically (a crashed run never leaves half a file).
 * Throws when keys and weights differ in length or a key repeats.
 */
export async function saveWeights(path: string, keys: readonly string[], weights: Float64Array | Float32Array | readonly number[]): Promise<void> {
  if (keys.length !== weights.length) throw new Error(`saveWeights: ${keys.length} keys but ${weights.length} weights`)
  const seen = new Set<string>()
  const lines: string[] = []
  for (let i = 0; i < keys.length; i++) {
    if (seen.has(keys[i])) throw new Error(`saveWeights: key '${keys[i]}' appears twice`)
    seen.add(keys[i])
    lines.push(JSON.stringify({ key: keys[i], weight: weights[i] }))
  }
  await writeFileAtomic(path, lines.length === 0 ? '' : `${lines.join('\n')}\n`)
}

/**
 * Read a weights file written by `saveWeights`. Returns a Map from record key to weight, in file order.
 * Throws naming the file and line on a malformed line, a non-finite or negative weight, or a repeated key.
 */
export async function loadWeights(path: string): Promise<Map<string, number>> {
  const { values, lines, bad } = await readJsonLines(path)
  if (bad.length > 0) throw new Error(`loadWeights: ${path}:${bad[0]!.line}: not JSON`)
  const out = new Map<string, number>()
  for (const [i, value] of values.entries()) {
    const { key, weight } = (value ?? {}) as { key?: unknown; weight?: unknown }
    if (typeof key !== 'string' || typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new Error(`loadWeights: ${path}:${lines[i]}: must be {"key": string, "weight": number >= 0}`)
    }
    if (out.has(key)) throw new Error(`loadWeights: ${path}:${lines[i]}: key '${key}' appears twice`)
    out.set(key, weight)
  }
  return out
}

/**
 * Weights aligned with `keys` (e.g. `ShardStream.keys()`), from a loaded weights map. Throws naming the first
 * missing key and how many are missing: weights computed on another dataset version must not be used silently.
 */
export function alignWeights(weights: ReadonlyMap<string, number>, keys: readonly string[]): Float64Array {
  const out = new Float64Array(keys.length)
  let missing = 0
  let first: string | undefined
  for (let i = 0; i < keys.length; i++) {
    const w = weights.get(keys[i])
    if (w === undefined) {
      missing += 1
      first ??= keys[i]
    } else {
      out[i] = w
    }
  }
  if (missing > 0) throw new Error(`alignWeights: ${missing} of ${keys.length} keys have no weight (first: '${first}')`)
  return out
}
