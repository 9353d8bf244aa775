// What `turnkit view` reads from a dataset, and how, so that a dataset of any size is browsed in bounded memory:
//
// - Pages of rows are read lazily: a page's rows are found by their global index (rows are numbered across part
//   files in manifest order), grouped by row group, and each row group is read with only the page's columns (no
//   image, no log-mel, no token ids), one row group at a time. A small LRU keeps the last few row-group reads and
//   the last two opened part files; nothing else of the rows stays in memory.
// - Filters, key search and sorting run on a compact index built once, in the background, by reading only the
//   columns key, split, corpus and the label column (label / category): per row its key string and three
//   dictionary codes (4 bytes each); the row's group and position follow from its index (a binary search over
//   the row groups' first rows). A numeric sort column is read the first time it is asked for (that column alone,
//   one pass) and kept as a Float64Array (8 bytes per row).
// - With predictions, the index pass also reads `boxes`; every item is scored once with the scorer of
//   `turnkit score` (train/score.ts scoreItems), and the per-item cIoU kept as one more Float64Array.
// - Every read of a part file goes through one queue, so the background index and sort passes interleave with
//   page reads row group by row group, and a part file is never read by two requests at once.
// - Check before trust, part by part: a local part file's sha256 is computed the first time it is opened and
//   compared with the manifest's; a damaged part is never read (parquet-wasm may abort the process on corrupt
//   pages), and the page says which file it is. The index pass opens every part, so when it is done every part
//   has been checked. A remote part is hashed by the part cache when it arrives. The ledger is checked at start.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { type DataOptions, type Dataset, type OpenPart, openDataset } from '../dataset/dataset.js'
import { sha256Bytes, sha256File } from '../dataset/hash.js'
import { LEDGER_FILE } from '../dataset/layout.js'
import type { LedgerLine } from '../dataset/writer.js'
import type { FieldDef } from '../dataset/schema.js'
import type { Row } from '../kinds/record.js'
import { loadVocab, type Vocab } from '../text/vocab.js'
import { CORPUS_PROTOCOL, parsePredictions, scoreItems, type ScoredItem, type ScoreReport } from '../train/score.js'

/** How many rows one page may hold. */
export const MAX_PAGE_ROWS = 500
/** Row groups whose projected rows are kept after a read (pages, images, log-mels of neighbouring rows). */
const ROW_GROUP_CACHE = 4
/** Part files kept open between reads. */
const OPEN_PARTS = 2
/** Selections (filtered, sorted index lists) kept for paging through them. */
const SELECTION_CACHE = 8

/** What a page of rows is asked for with (all optional). */
export interface RowQuery {
  offset?: number
  limit?: number
  split?: string
  label?: string
  corpus?: string
  /** a substring of the key (case-sensitive, as keys are) */
  q?: string
  /** a numeric column (or `ciou` with predictions) */
  sort?: string
  order?: 'asc' | 'desc'
}

/** A query the viewer refuses (an unknown sort column, a negative offset): the server answers 400. */
export class QueryError extends Error {}

/** The compact index: one entry per row, in natural (key) order. */
interface RowIndex {
  keys: string[]
  split: Uint32Array
  corpus: Uint32Array
  label: Uint32Array
  /** dictionary of each coded column: code -> value */
  values: { split: string[]; corpus: string[]; label: string[] }
  buildMs: number
}

/** The index's cost, as /api/info reports it. */
export interface IndexStats {
  state: 'building' | 'ready' | 'failed'
  rows: number
  columns: string[]
  buildMs: number | null
  /** estimated heap bytes: key strings (UTF-16 plus a header), three codes per row, the loaded sort columns */
  approxBytes: number | null
  sortColumnsLoaded: string[]
  error?: string
}

/**
 * Whether the dataset matches its manifest: 'running' until every part has been checked (the index pass checks
 * them all), 'damaged' as soon as one part or the ledger does not match (`message` names the files).
 */
export interface Verification {
  state: 'running' | 'ok' | 'damaged' | 'skipped'
  message?: string
  /** parts checked so far, of `parts` */
  checked?: number
  parts?: number
  seconds?: number
}

/** A part file or the ledger does not match the manifest: its rows are not shown. */
export class DamagedError extends Error {}

/** Scores of the predictions file, without the per-item list (that is served by page). */
export interface ScoresSummary {
  /** the predictions file's name */
  predsPath: string
  protocol: ScoreReport['protocol']
  overall: ScoreReport['overall']
  perClass: ScoreReport['perClass']
  missing: string[]
  unknown: string[]
}

export interface ViewerDataOptions {
  location: string
  predsPath?: string
  data?: DataOptions
  /** check each local part's sha256 before its first read, and the ledger (default true) */
  verifyData?: boolean
  log?: (line: string) => void
}

const NUMERIC = new Set(['int32', 'int64', 'float32', 'float64'])

/** The column a schema names a row's class by: `label`, else `category`, else none. */
export function labelColumnOf(fields: readonly FieldDef[]): string | null {
  for (const name of ['label', 'category']) if (fields.some((f) => f.name === name && f.type === 'utf8')) return name
  return null
}

/** The column holding a row's texts: `captions`, else `expressions`, else none. */
export function textColumnOf(fields: readonly FieldDef[]): string | null {
  for (const name of ['captions', 'expressions']) if (fields.some((f) => f.name === name && f.type === 'list<utf8>')) return name
  return null
}

/** Numeric scalar columns: what a page may be sorted by. */
export function sortableColumnsOf(fields: readonly FieldDef[]): string[] {
  return fields.filter((f) => NUMERIC.has(f.type)).map((f) => f.name)
}

// Columns a page of the table never reads: the stored image, the log-mel, token ids (served one row at a time).
const isHeavy = (f: FieldDef): boolean => f.type === 'binary' || (f.shape !== undefined && f.shape.length > 1) || f.type.startsWith('list<list<int')

/** A JSON-able copy of a row value: typed arrays become arrays, int64 a number (or a string past 2^53). */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return { bytes: value.length }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number | bigint>, jsonValue)
  if (Array.isArray(value)) return value.map(jsonValue)
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  return value
}

/** Runs reads one after another. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve()
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task)
    this.tail = result.catch(() => undefined)
    return result
  }
}

/** A dataset as the viewer serves it. Open with `ViewerData.open`, `close()` when done. */
export class ViewerData {
  readonly labelColumn: string | null
  readonly textColumn: string | null
  readonly sortable: string[]
  readonly summaryColumns: string[]
  readonly verification: Verification
  scores: ScoresSummary | null = null
  private readonly queue = new Queue()
  private readonly parts = new Map<number, OpenPart>()
  private readonly groupCache = new Map<string, Row[]>()
  private readonly selections = new Map<string, Uint32Array>()
  private readonly sortColumns = new Map<string, Promise<Float64Array>>()
  private readonly firstRows: Int32Array
  private indexState: IndexStats
  private ciou: Float64Array | null = null
  private vocab: Vocab | null | undefined
  private ledger: Promise<LedgerLine[]> | null = null
  private readonly checkedParts = new Set<number>()
  private readonly damaged: string[] = []
  private readonly started = performance.now()
  private closed = false
  /** resolves when the index (and, with predictions, the scores) is built; rejects with the read error */
  readonly index: Promise<RowIndex>

  private constructor(
    readonly dataset: Dataset,
    private readonly predictions: Map<string, readonly number[]> | null,
    private readonly options: ViewerDataOptions,
  ) {
    const fields = dataset.schema.fields
    this.labelColumn = labelColumnOf(fields)
    this.textColumn = textColumnOf(fields)
    this.sortable = [...sortableColumnsOf(fields), ...(predictions ? ['ciou'] : [])]
    this.summaryColumns = fields.filter((f) => !isHeavy(f)).map((f) => f.name)
    this.firstRows = Int32Array.from(dataset.rowGroups, (g) => g.firstRow)
    this.indexState = { state: 'building', rows: dataset.size, columns: this.indexColumns(), buildMs: null, approxBytes: null, sortColumnsLoaded: [] }
    this.verification = options.verifyData === false ? { state: 'skipped' } : { state: 'running', checked: 0, parts: dataset.manifest.shards.length }
    this.index = this.buildIndex()
    this.index.catch((error: unknown) => {
      this.indexState = { ...this.indexState, state: 'failed', error: (error as Error).message }
      if (!this.closed && !(error instanceof DamagedError)) (options.log ?? (() => {}))(`view: the index could not be built: ${(error as Error).message}`)
    })
    if (options.verifyData !== false) void this.checkLedger()
  }

  /**
   * Open the dataset at `location` (a folder, s3:// or http(s)://) and, with `predsPath`, its predictions file.
   * Starts building the index in the background. Throws naming the file when the dataset cannot be opened, or
   * when predictions are given for a dataset that is not audio-image-boxes, or are malformed.
   */
  static async open(options: ViewerDataOptions): Promise<ViewerData> {
    const dataset = await openDataset(options.location, options.data ?? {})
    let predictions: Map<string, readonly number[]> | null = null
    if (options.predsPath !== undefined) {
      if (dataset.schema.id !== 'audio-image-boxes') throw new Error(`${options.location} holds ${dataset.schema.id} records; predictions are scored against an audio-image-boxes dataset (vggss, music-solo, flickr-soundnet)`)
      let text: string
      try {
        text = await readFile(options.predsPath, 'utf8')
      } catch (error) {
        throw new Error(`${options.predsPath}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
      }
      predictions = parsePredictions(text, options.predsPath)
    }
    return new ViewerData(dataset, predictions, options)
  }

  get size(): number {
    return this.dataset.size
  }

  get hasPredictions(): boolean {
    return this.predictions !== null
  }

  /** Resolves when the index (and the scores) are built; rejects with the read error. */
  async ready(): Promise<void> {
    await this.index
  }

  get indexStats(): IndexStats {
    return { ...this.indexState, sortColumnsLoaded: [...this.sortColumns.keys()] }
  }

  /** Release every open part file and cached read. Reads after this throw. */
  async close(): Promise<void> {
    this.closed = true
    await this.queue.run(async () => {
      for (const part of this.parts.values()) await part.release()
      this.parts.clear()
      this.groupCache.clear()
    })
  }

  /** Rows per value of split, corpus and label (from the index). */
  async facets(): Promise<{ split: Record<string, number>; corpus: Record<string, number>; label: Record<string, number> | null; labelColumn: string | null }> {
    const index = await this.index
    const count = (codes: Uint32Array, values: string[]): Record<string, number> => {
      const n = new Array<number>(values.length).fill(0)
      for (const c of codes) n[c]!++
      return Object.fromEntries(values.map((v, i) => [v, n[i]!] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    }
    return {
      split: count(index.split, index.values.split),
      corpus: count(index.corpus, index.values.corpus),
      label: this.labelColumn === null ? null : count(index.label, index.values.label),
      labelColumn: this.labelColumn,
    }
  }

  /**
   * One page of rows, each the summary columns plus `index` (and `ciou`, `pred` with predictions). `total` is
   * the number of rows the filters select. Throws QueryError on an invalid query.
   */
  async page(query: RowQuery): Promise<{ total: number; offset: number; limit: number; rows: Record<string, unknown>[] }> {
    const offset = query.offset ?? 0
    const limit = query.limit ?? 50
    if (!Number.isInteger(offset) || offset < 0) throw new QueryError(`offset must be an integer >= 0, got ${offset}`)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) throw new QueryError(`limit must be an integer from 1 to ${MAX_PAGE_ROWS}, got ${limit}`)
    if (query.sort !== undefined && !this.sortable.includes(query.sort)) throw new QueryError(`cannot sort by '${query.sort}' (numeric columns: ${this.sortable.join(', ') || 'none'})`)
    if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') throw new QueryError(`order must be asc or desc, got '${String(query.order)}'`)
    let indices: ArrayLike<number>
    let total: number
    const filtered = query.split !== undefined || query.label !== undefined || query.corpus !== undefined || (query.q ?? '') !== '' || query.sort !== undefined
    if (!filtered) {
      // Natural order needs no index: the page is rows [offset, offset + limit).
      total = this.size
      const end = Math.min(total, offset + limit)
      indices = Array.from({ length: Math.max(0, end - offset) }, (_, i) => offset + i)
    } else {
      const selection = await this.select(query)
      total = selection.length
      indices = selection.subarray(Math.min(offset, total), Math.min(total, offset + limit))
    }
    const rows = await this.readRows(Array.from(indices), this.summaryColumns)
    if (this.predictions) await this.index // the cIoU of each row
    return {
      total,
      offset,
      limit,
      rows: rows.map(({ index, row }) => ({ index, ...this.jsonRow(row), ...this.predictionOf(index, row) })),
    }
  }

  /** One row in full (without the image and log-mel bytes, which `image` and `logMel` serve), tokens decoded. */
  async row(index: number): Promise<Record<string, unknown> | null> {
    if (!this.inRange(index)) return null
    const columns = this.dataset.schema.fields.filter((f) => f.type !== 'binary' && f.name !== 'log_mel').map((f) => f.name)
    const [found] = await this.readRows([index], columns)
    const row = found!.row
    const out: Record<string, unknown> = { index, ...this.jsonRow(row) }
    const group = this.dataset.rowGroups[this.groupOf(index)]!
    out._location = { file: group.file, rowGroup: group.rowGroup, position: index - group.firstRow }
    if (Array.isArray(row.token_ids)) {
      const vocab = this.vocabulary()
      out._tokens = (row.token_ids as Int32Array[]).map((ids) => Array.from(ids, (id) => (vocab === null ? null : (vocab.tokens[id] ?? null))))
      out._vocab = vocab === null ? 'the dataset was tokenized with a vocabulary other than bert-base-uncased: ids only' : vocab.source
    }
    if (this.predictions) {
      await this.index
      Object.assign(out, this.predictionOf(index, row))
      out._protocol = CORPUS_PROTOCOL[row.corpus as string] ?? null
    }
    return out
  }

  /** The stored JPEG of row `index`; null when the row or the schema has none. */
  async image(index: number): Promise<Uint8Array | null> {
    if (!this.inRange(index) || !this.dataset.schema.fields.some((f) => f.name === 'image_jpeg')) return null
    const [found] = await this.readRows([index], ['image_jpeg'])
    return (found!.row.image_jpeg as Uint8Array | null) ?? null
  }

  /** The log-mel of row `index`, frame-major, with its shape; null when the schema has none. */
  async logMel(index: number): Promise<{ frames: number; nMels: number; values: Float32Array } | null> {
    if (!this.inRange(index) || !this.dataset.schema.fields.some((f) => f.name === 'log_mel')) return null
    const [found] = await this.readRows([index], ['frames', 'n_mels', 'log_mel'])
    const row = found!.row
    return { frames: row.frames as number, nMels: row.n_mels as number, values: row.log_mel as Float32Array }
  }

  /** The rejects ledger grouped by reason code (largest group first), each group's lines in key order. */
  async rejects(limitPerGroup = 1000): Promise<{ total: number; groups: { code: string; count: number; truncated: boolean; lines: LedgerLine[] }[] }> {
    this.ledger ??= this.dataset.rejects()
    const lines = await this.ledger
    const byCode = new Map<string, LedgerLine[]>()
    for (const line of lines) {
      const group = byCode.get(line.code)
      if (group === undefined) byCode.set(line.code, [line])
      else group.push(line)
    }
    const groups = [...byCode.entries()]
      .sort(([a, x], [b, y]) => y.length - x.length || (a < b ? -1 : 1))
      .map(([code, all]) => ({ code, count: all.length, truncated: all.length > limitPerGroup, lines: all.slice(0, limitPerGroup) }))
    return { total: lines.length, groups }
  }

  // ---- internals ----

  private indexColumns(): string[] {
    const names = this.dataset.schema.fields.map((f) => f.name)
    const cols = [this.dataset.schema.sortKey, 'split', 'corpus', this.labelColumn].filter((c): c is string => c !== null && names.includes(c))
    return this.predictions ? [...new Set([...cols, 'corpus', 'label', 'boxes'])] : cols
  }

  private inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.size
  }

  private vocabulary(): Vocab | null {
    if (this.vocab === undefined) {
      const text = this.dataset.manifest.pipeline.settings.text
      const hash = text !== null && typeof text === 'object' && !Array.isArray(text) ? (text as Record<string, unknown>).vocabHash : undefined
      const vocab = loadVocab()
      this.vocab = hash === undefined || hash === vocab.hash ? vocab : null
    }
    return this.vocab
  }

  private jsonRow(row: Row): Record<string, unknown> {
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonValue(v)]))
  }

  private predictionOf(index: number, row: Row): Record<string, unknown> {
    if (this.predictions === null) return {}
    const box = this.predictions.get(row[this.dataset.schema.sortKey] as string)
    return { ciou: this.ciou?.[index] ?? null, pred: box === undefined ? null : [...box] }
  }

  /** Index of the row group holding global row `index` (binary search over first rows). */
  private groupOf(index: number): number {
    let lo = 0
    let hi = this.firstRows.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.firstRows[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Rows at `indices` (any order, returned in that order) with `columns`, one row-group read per group. */
  private async readRows(indices: readonly number[], columns: readonly string[]): Promise<{ index: number; row: Row }[]> {
    const byGroup = new Map<number, number[]>()
    for (const index of indices) {
      const g = this.groupOf(index)
      const group = byGroup.get(g)
      if (group === undefined) byGroup.set(g, [index])
      else group.push(index)
    }
    const found = new Map<number, Row>()
    for (const g of [...byGroup.keys()].sort((a, b) => a - b)) {
      const rows = await this.readGroup(g, columns, true)
      const first = this.dataset.rowGroups[g]!.firstRow
      for (const index of byGroup.get(g)!) found.set(index, rows[index - first]!)
    }
    return indices.map((index) => ({ index, row: found.get(index)! }))
  }

  /** Rows of row group `g` (an index into dataset.rowGroups) with only `columns`, through the queue. */
  private async readGroup(g: number, columns: readonly string[], cache: boolean): Promise<Row[]> {
    const key = `${g}|${columns.join(',')}`
    const hit = this.groupCache.get(key)
    if (hit !== undefined) {
      this.groupCache.delete(key)
      this.groupCache.set(key, hit)
      return hit
    }
    return await this.queue.run(async () => {
      if (this.closed) throw new Error(`${this.dataset.location}: the viewer is closed`)
      const again = this.groupCache.get(key)
      if (again !== undefined) return again
      const ref = this.dataset.rowGroups[g]!
      const part = await this.openPart(ref.part)
      const rows = await part.reader.readRowGroup(ref.rowGroup, { columns })
      if (cache) {
        this.groupCache.set(key, rows)
        while (this.groupCache.size > ROW_GROUP_CACHE) this.groupCache.delete(this.groupCache.keys().next().value as string)
      }
      return rows
    })
  }

  // Called inside the queue only.
  private async openPart(part: number): Promise<OpenPart> {
    const open = this.parts.get(part)
    if (open !== undefined) {
      this.parts.delete(part)
      this.parts.set(part, open)
      return open
    }
    await this.checkPart(part)
    const opened = await this.dataset.openPart(part)
    this.parts.set(part, opened)
    while (this.parts.size > OPEN_PARTS) {
      const [oldest, handle] = this.parts.entries().next().value as [number, OpenPart]
      this.parts.delete(oldest)
      await handle.release()
    }
    return opened
  }

  private async buildIndex(): Promise<RowIndex> {
    await Promise.resolve() // let the constructor finish before the first read is queued
    const started = performance.now()
    const n = this.size
    const keyColumn = this.dataset.schema.sortKey
    const columns = this.indexColumns()
    const index: RowIndex = { keys: new Array<string>(n), split: new Uint32Array(n), corpus: new Uint32Array(n), label: new Uint32Array(n), values: { split: [], corpus: [], label: [] }, buildMs: 0 }
    const codes = { split: new Map<string, number>(), corpus: new Map<string, number>(), label: new Map<string, number>() }
    const code = (which: 'split' | 'corpus' | 'label', value: unknown): number => {
      const v = typeof value === 'string' ? value : ''
      let c = codes[which].get(v)
      if (c === undefined) {
        c = index.values[which].length
        codes[which].set(v, c)
        index.values[which].push(v)
      }
      return c
    }
    const items: ScoredItem[] = []
    let keyChars = 0
    for (let g = 0; g < this.dataset.rowGroups.length; g++) {
      const rows = await this.readGroup(g, columns, false)
      const first = this.dataset.rowGroups[g]!.firstRow
      for (const [i, row] of rows.entries()) {
        const key = row[keyColumn] as string
        index.keys[first + i] = key
        keyChars += key.length
        index.split[first + i] = code('split', row.split)
        index.corpus[first + i] = code('corpus', row.corpus)
        if (this.labelColumn !== null) index.label[first + i] = code('label', row[this.labelColumn])
        if (this.predictions) items.push({ key, corpus: row.corpus as string, label: row.label as string, boxes: (row.boxes as Float32Array[]).map((b) => Array.from(b)) })
      }
    }
    if (this.predictions) {
      const report = scoreItems(items, this.predictions)
      this.ciou = Float64Array.from(report.perItem, (p) => p.ciou)
      const { protocol, overall, perClass, missing, unknown } = report
      this.scores = { predsPath: basename(this.options.predsPath!), protocol, overall, perClass, missing, unknown }
    }
    index.buildMs = performance.now() - started
    // A V8 string costs a 12-16 byte header plus its characters (1 byte each when Latin-1, else 2); 8 bytes for
    // the array slot; three 4-byte codes.
    const approxBytes = keyChars * 2 + n * (16 + 8 + 12) + (this.ciou ? 8 * n : 0)
    this.indexState = { ...this.indexState, state: 'ready', buildMs: Math.round(index.buildMs), approxBytes }
    return index
  }

  /** A numeric column of every row, read once (that column alone) and kept. */
  private sortColumn(name: string): Promise<Float64Array> {
    if (name === 'ciou') return this.index.then(() => this.ciou!)
    let column = this.sortColumns.get(name)
    if (column === undefined) {
      column = (async () => {
        const values = new Float64Array(this.size)
        for (let g = 0; g < this.dataset.rowGroups.length; g++) {
          const rows = await this.readGroup(g, [name], false)
          const first = this.dataset.rowGroups[g]!.firstRow
          for (const [i, row] of rows.entries()) {
            const v = row[name]
            values[first + i] = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN
          }
        }
        return values
      })()
      this.sortColumns.set(name, column)
      column.catch(() => this.sortColumns.delete(name))
    }
    return column
  }

  /** Global indices of the rows a query selects, in its order (cached for paging). */
  private async select(query: RowQuery): Promise<Uint32Array> {
    const cacheKey = JSON.stringify([query.split, query.label, query.corpus, query.q ?? '', query.sort, query.order ?? 'asc'])
    const cached = this.selections.get(cacheKey)
    if (cached !== undefined) return cached
    const index = await this.index
    const want = (which: 'split' | 'corpus' | 'label', value: string | undefined): number | null => {
      if (value === undefined) return null
      const c = index.values[which].indexOf(value)
      return c === -1 ? -2 : c // -2: a value no row has
    }
    const split = want('split', query.split)
    const corpus = want('corpus', query.corpus)
    const label = this.labelColumn === null ? (query.label === undefined ? null : -2) : want('label', query.label)
    const q = query.q ?? ''
    const picked: number[] = []
    for (let i = 0; i < this.size; i++) {
      if (split !== null && index.split[i] !== split) continue
      if (corpus !== null && index.corpus[i] !== corpus) continue
      if (label !== null && index.label[i] !== label) continue
      if (q !== '' && !index.keys[i]!.includes(q)) continue
      picked.push(i)
    }
    let selection = Uint32Array.from(picked)
    if (query.sort !== undefined) {
      const values = await this.sortColumn(query.sort)
      const sign = query.order === 'desc' ? -1 : 1
      // NaN last in either order; ties keep key order.
      selection = selection.sort((a, b) => {
        const x = values[a]!
        const y = values[b]!
        if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? a - b : 1) : -1
        return x === y ? a - b : sign * (x - y)
      })
    }
    this.selections.set(cacheKey, selection)
    while (this.selections.size > SELECTION_CACHE) this.selections.delete(this.selections.keys().next().value as string)
    return selection
  }

  /**
   * Before part `part` is first read: a local file's sha256 against the manifest (a remote part is checked by
   * the cache). Throws DamagedError naming the file, every time it is asked again.
   */
  private async checkPart(part: number): Promise<void> {
    if (this.options.verifyData === false || this.checkedParts.has(part)) return
    const entry = this.dataset.manifest.shards[part]!
    const local = this.dataset.store.localPath(entry.file)
    const bad = this.damaged.find((d) => d.startsWith(`${entry.file}:`))
    if (bad !== undefined) throw new DamagedError(bad)
    if (local !== null) {
      const sha = await sha256File(local)
      if (sha !== entry.sha256) {
        this.markDamaged(`${entry.file}: sha256 ${sha}, the manifest says ${entry.sha256}: no row of it is shown; rebuild it with the prepare command that wrote it (it keeps the good parts)`)
        throw new DamagedError(this.damaged.at(-1)!)
      }
    }
    this.checkedParts.add(part)
    this.verification.checked = this.checkedParts.size
    if (this.checkedParts.size === this.dataset.manifest.shards.length && this.verification.state === 'running') {
      this.verification.state = 'ok'
      this.verification.seconds = Number(((performance.now() - this.started) / 1000).toFixed(2))
    }
  }

  /** The ledger's sha256 and line count against the manifest. */
  private async checkLedger(): Promise<void> {
    const { sha256, lines } = this.dataset.manifest.ledger
    try {
      const bytes = await this.dataset.store.read(LEDGER_FILE)
      const count = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0)
      if (sha256Bytes(bytes) !== sha256) this.markDamaged(`${LEDGER_FILE}: sha256 ${sha256Bytes(bytes)}, the manifest says ${sha256}`)
      else if (count !== lines) this.markDamaged(`${LEDGER_FILE}: ${count} lines, the manifest says ${lines}`)
    } catch (error) {
      this.markDamaged(`${LEDGER_FILE}: ${(error as Error).message}`)
    }
    if (this.dataset.manifest.shards.length === 0 && this.verification.state === 'running') this.verification.state = 'ok'
  }

  private markDamaged(message: string): void {
    this.damaged.push(message)
    Object.assign(this.verification, { state: 'damaged', message: this.damaged.join('; '), seconds: Number(((performance.now() - this.started) / 1000).toFixed(2)) })
    if (!this.closed) (this.options.log ?? (() => {}))(`view: damaged: ${message}`)
  }
}
