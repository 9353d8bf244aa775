// The trainer's reader over one dataset (`Dataset.stream`): rows come off disk one Parquet row group at a time, in an
// order that is a pure function of (seed, epoch), behind a cursor `{ epoch, position }` that is the whole
// resume state. Nothing here holds more than a bounded number of row groups, whatever the dataset size.
//
// Ordering algorithm (what `epochPlan` and `windowOrder` compute; the exact contract resume relies on):
//   1. Blocks: every (shard, row group) of the dataset, shards in manifest order (sorted file names), row groups
//      in file order. A row's global index is its position in that natural order (= record key order).
//   2. Block shuffle: Fisher-Yates over the block list with rngFor(seed, epoch, 'blocks').
//   3. Windows: consecutive runs of `windowBlocks` blocks of the shuffled list (the last may be shorter).
//   4. Items of a window: for each block in shuffled order, each row in file order, its global index repeated
//      counts[index] times (counts default to 1; 0 leaves the row out of the epoch). Then Fisher-Yates over the
//      window's items with rngFor(seed, epoch, 'window', w).
//   5. The epoch is the windows' items concatenated; its length is the sum of the counts. `position` counts the
//      items already emitted in the epoch, so a window's start is the sum of the lengths of the windows before it.
// A shuffle buffer that fills and drains (webdataset's `shuffle(n)`) would make item k depend on every earlier
// read; windows make item k depend only on (seed, epoch, k), so `seek` reads just the window holding k.

import { resolveConfig } from '../config.js'
import type { Dataset, OpenPart, RowGroupRef } from './dataset.js'
import type { Manifest } from './manifest.js'
import { rngFor, shuffleInPlace } from '../random.js'
import type { Row } from '../kinds/record.js'

/** Where a stream stands: `position` items of epoch `epoch` have been emitted. The whole resume state (JSON). */
export interface Cursor {
  epoch: number
  position: number
}

/** Per-item repetition counts of an epoch, indexed by global row index (see `drawCounts` in sampling.ts). */
export type EpochCounts = Uint32Array | ((epoch: number) => Uint32Array)

/** Settings of a ShardStream. All of them but `prefetchWindows` change the order, so record them with the run. */
export interface ShardStreamConfig {
  /** seed of every shuffle (default 0) */
  seed: number
  /** row groups per shuffle window: the bound on rows held, and the reach of the in-window shuffle (default 4) */
  windowBlocks: number
  /** windows read ahead of the one being consumed, asynchronously (default 1; 0 reads on demand) */
  prefetchWindows: number
  /**
   * Per-item counts: one array for every epoch, or a pure function of the epoch (e.g. draws from adaptive
   * weights with rngFor(seed, epoch)). Default null: every item once per epoch.
   */
  counts: EpochCounts | null
}

/** Defaults of `ShardStream.open`. */
export const SHARD_STREAM_DEFAULTS: ShardStreamConfig = { seed: 0, windowBlocks: 4, prefetchWindows: 1, counts: null }

/** One emitted item. `row` may be emitted several times in an epoch (count > 1): treat it as read-only. */
export interface StreamItem {
  row: Row
  /** global row index (natural order: shards by file name, rows by key) */
  index: number
  epoch: number
  /** position of this item in its epoch (0-based) */
  position: number
  /** the cursor after this item: checkpoint it to resume with the next item */
  cursor: Cursor
}

/** Reader counters, for tests and the bench. */
export interface StreamStats {
  /** row groups loaded or being loaded and not yet released */
  rowGroupsHeld: number
  /** the largest rowGroupsHeld seen */
  maxRowGroupsHeld: number
  /** row groups read from disk so far */
  rowGroupReads: number
  /** windows whose loading was started so far (prefetches included) */
  windowLoads: number
}

interface WindowPlan {
  /** block ids (indexes into `blocks`), in shuffled order */
  blocks: number[]
  /** position of the window's first item in the epoch */
  start: number
  /** items in the window: sum of the counts of its rows */
  length: number
}

interface EpochPlan {
  epoch: number
  counts: Uint32Array | null
  windows: WindowPlan[]
  length: number
}

interface LoadedWindow {
  order: Uint32Array
  rows: Map<number, Row[]>
}

interface WindowEntry {
  blocks: number
  /** the part files its blocks are in (acquired when the window's load starts, released when it is) */
  parts: number[]
  promise: Promise<LoadedWindow>
  /** the read finished (either way): its row groups are in memory or gone, not in flight */
  settled: boolean
  /** released before its read started: skip the read */
  released: boolean
}

/**
 * A deterministic, resumable, bounded-memory reader of one dataset directory (see the ordering algorithm at the
 * top of this file). Open with `ShardStream.open`; consume with `next()` (crosses epochs), `take(n)`, or
 * `for await` (the rest of the current epoch, or the next epoch when the current one is finished).
 * Not reentrant: await each `next()` before calling it again.
 */
export class ShardStream {
  /** the dataset's location */
  readonly location: string
  readonly manifest: Manifest
  readonly config: ShardStreamConfig
  /** every (part file, row group) in natural order */
  readonly blocks: readonly RowGroupRef[]
  /** rows in the dataset */
  readonly rows: number
  private readonly dataset: Dataset
  // Part files in use by some held window, opened once (a remote one fetched into the cache) and released when
  // no window holds them: a window's parts are fetched as soon as its load is planned, ahead of its read.
  private readonly parts = new Map<number, { users: number; open: Promise<OpenPart> }>()
  private readonly releasing = new Set<Promise<unknown>>()
  private current: Cursor = { epoch: 0, position: 0 }
  private readonly plans = new Map<number, EpochPlan>()
  private readonly windows = new Map<string, WindowEntry>()
  private readonly counters: StreamStats = { rowGroupsHeld: 0, maxRowGroupsHeld: 0, rowGroupReads: 0, windowLoads: 0 }
  // Window reads run one after another: parquet-wasm's memory only grows, so overlapping reads would raise its
  // peak, and a shard handle must not be freed while a read borrows it.
  private readChain: Promise<unknown> = Promise.resolve()

  private constructor(dataset: Dataset, config: ShardStreamConfig) {
    this.location = dataset.location
    this.dataset = dataset
    this.manifest = dataset.manifest
    this.config = config
    this.blocks = dataset.rowGroups
    this.rows = dataset.manifest.rows
  }

  /**
   * A stream over `dataset` (use `dataset.stream(config)`). Opens no part file until a window needs it. Throws on a
   * bad setting (ConfigError naming it).
   */
  static async open(dataset: Dataset, config: Partial<ShardStreamConfig> = {}): Promise<ShardStream> {
    const resolved = resolveConfig('ShardStream', SHARD_STREAM_DEFAULTS, config, {
      seed: (v) => (Number.isInteger(v) ? undefined : 'must be an integer'),
      windowBlocks: (v) => (Number.isInteger(v) && v > 0 ? undefined : 'must be a positive integer'),
      prefetchWindows: (v) => (Number.isInteger(v) && v >= 0 ? undefined : 'must be an integer >= 0'),
    })
    const stream = new ShardStream(dataset, resolved)
    if (resolved.counts instanceof Uint32Array) stream.checkCounts(resolved.counts, 'counts')
    return stream
  }

  /** The cursor of the next item to emit. */
  get cursor(): Cursor {
    return { ...this.current }
  }

  /** A snapshot of the reader counters. */
  get stats(): StreamStats {
    return { ...this.counters }
  }

  /** Items in epoch `epoch`: the sum of its counts (the row count when counts are not given). */
  epochLength(epoch: number): number {
    return this.plan(epoch).length
  }

  /**
   * Continue from `cursor` (e.g. one saved from `StreamItem.cursor`). Reads nothing itself: the next `next()`
   * loads only the window holding `cursor.position` (plus the prefetch). Windows already held are released
   * unless they are the ones needed next. Throws on a negative or non-integer field or a position past the
   * epoch's end, naming the values.
   */
  seek(cursor: Cursor): void {
    const { epoch, position } = cursor
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(position) || position < 0) {
      throw new Error(`ShardStream.seek: cursor ${JSON.stringify(cursor)} must hold integers >= 0`)
    }
    const length = this.epochLength(epoch)
    if (position > length) throw new Error(`ShardStream.seek: position ${position} is past the end of epoch ${epoch} (${length} items) in ${this.location}`)
    this.current = { epoch, position }
  }

  /**
   * The next item, moving on to the next epoch when the current one is finished. Throws when that epoch has no
   * items (all counts 0) or on a read error, naming the shard.
   */
  async next(): Promise<StreamItem> {
    let { epoch, position } = this.current
    let plan = this.plan(epoch)
    if (position >= plan.length) {
      epoch += 1
      position = 0
      plan = this.plan(epoch)
      if (plan.length === 0) throw new Error(`ShardStream: epoch ${epoch} of ${this.location} has no items (every count is 0)`)
    }
    const w = windowAt(plan, position)
    const window = await this.acquire(plan, w)
    const index = window.order[position - plan.windows[w].start]
    const block = this.blockOf(index)
    const rows = window.rows.get(block) as Row[]
    this.current = { epoch, position: position + 1 }
    return { row: rows[index - this.blocks[block].firstRow], index, epoch, position, cursor: { ...this.current } }
  }

  /** The next `n` items (see `next`), crossing into the next epoch when needed. */
  async take(n: number): Promise<StreamItem[]> {
    const items: StreamItem[] = []
    for (let i = 0; i < n; i++) items.push(await this.next())
    return items
  }

  /** The rest of the current epoch; when it is already finished, the whole next epoch. */
  async *[Symbol.asyncIterator](): AsyncGenerator<StreamItem> {
    if (this.current.position >= this.epochLength(this.current.epoch)) this.current = { epoch: this.current.epoch + 1, position: 0 }
    const epoch = this.current.epoch
    while (this.current.epoch === epoch && this.current.position < this.epochLength(epoch)) yield await this.next()
  }

  /**
   * Release every held window and, once reads in flight have finished, every part file. The stream cannot be
   * read afterwards.
   */
  async close(): Promise<void> {
    for (const key of [...this.windows.keys()]) this.release(key)
    await this.readChain
    await Promise.all([...this.parts.values()].map((p) => p.open.then((o) => o.release(), () => undefined)))
    this.parts.clear()
    await Promise.all([...this.releasing])
  }

  private checkCounts(counts: Uint32Array, what: string): void {
    if (counts.length !== this.rows) throw new Error(`ShardStream: ${what} has ${counts.length} entries, ${this.location} has ${this.rows} rows`)
  }

  // Plans are cheap (block ids and sums), but built from counts that may be drawn per epoch; keep the two most
  // recent so crossing an epoch boundary with prefetch does not redraw.
  private plan(epoch: number): EpochPlan {
    const cached = this.plans.get(epoch)
    if (cached !== undefined) return cached
    const counts = this.countsOf(epoch)
    const order = shuffleInPlace(this.blocks.map((_, i) => i), rngFor(this.config.seed, epoch, 'blocks'))
    const windows: WindowPlan[] = []
    let start = 0
    for (let i = 0; i < order.length; i += this.config.windowBlocks) {
      const blocks = order.slice(i, i + this.config.windowBlocks)
      let length = 0
      for (const b of blocks) {
        const { firstRow, rows } = this.blocks[b]
        if (counts === null) length += rows
        else for (let r = 0; r < rows; r++) length += counts[firstRow + r]
      }
      windows.push({ blocks, start, length })
      start += length
    }
    const plan = { epoch, counts, windows, length: start }
    this.plans.set(epoch, plan)
    for (const key of this.plans.keys()) if (key < epoch - 1 || key > epoch + 1) this.plans.delete(key)
    return plan
  }

  private countsOf(epoch: number): Uint32Array | null {
    const { counts } = this.config
    if (counts === null) return null
    if (counts instanceof Uint32Array) return counts
    const drawn = counts(epoch)
    this.checkCounts(drawn, `counts(${epoch})`)
    return drawn
  }

  /** The global indices of window `w` of `plan`, in emission order (step 4 of the algorithm). */
  private windowOrder(plan: EpochPlan, w: number): Uint32Array {
    const window = plan.windows[w]
    const order = new Uint32Array(window.length)
    let at = 0
    for (const b of window.blocks) {
      const { firstRow, rows } = this.blocks[b]
      for (let r = 0; r < rows; r++) {
        const c = plan.counts === null ? 1 : plan.counts[firstRow + r]
        for (let k = 0; k < c; k++) order[at++] = firstRow + r
      }
    }
    return shuffleInPlace(order, rngFor(this.config.seed, plan.epoch, 'window', w))
  }

  /** Window `w` of `plan`, loaded; starts the prefetch of the windows after it and releases all others. */
  private async acquire(plan: EpochPlan, w: number): Promise<LoadedWindow> {
    const wanted = [[plan.epoch, w], ...this.following(plan, w, this.config.prefetchWindows)]
    const keys = wanted.map(([e, i]) => `${e}:${i}`)
    for (const key of [...this.windows.keys()]) if (!keys.includes(key)) this.release(key)
    for (const [e, i] of wanted) this.load(this.plan(e), i)
    return await (this.windows.get(keys[0]) as WindowEntry).promise
  }

  /** Up to `n` non-empty windows after (plan.epoch, w), continuing into the next epoch. */
  private following(plan: EpochPlan, w: number, n: number): [number, number][] {
    const out: [number, number][] = []
    let p = plan
    let i = w + 1
    while (out.length < n) {
      if (i >= p.windows.length) {
        if (p.epoch > plan.epoch) break // look at most one epoch ahead
        p = this.plan(plan.epoch + 1)
        i = 0
        continue
      }
      if (p.windows[i].length > 0) out.push([p.epoch, i])
      i++
    }
    return out
  }

  private load(plan: EpochPlan, w: number): void {
    const key = `${plan.epoch}:${w}`
    if (this.windows.has(key)) return
    const window = plan.windows[w]
    this.counters.windowLoads += 1
    this.counters.rowGroupsHeld += window.blocks.length
    this.counters.maxRowGroupsHeld = Math.max(this.counters.maxRowGroupsHeld, this.counters.rowGroupsHeld)
    const parts = [...new Set(window.blocks.map((b) => this.blocks[b].part))]
    const entry: WindowEntry = { blocks: window.blocks.length, parts, promise: Promise.resolve({ order: new Uint32Array(0), rows: new Map() }), settled: false, released: false }
    // Fetching starts now, in parallel, ahead of the read (which waits its turn behind earlier windows).
    const opened = new Map(parts.map((part) => [part, this.acquirePart(part)]))
    for (const open of opened.values()) open.catch(() => undefined) // awaited below; not an unhandled rejection meanwhile
    entry.promise = this.readChain.then(async (): Promise<LoadedWindow> => {
      const rows = new Map<number, Row[]>()
      if (entry.released) return { order: new Uint32Array(0), rows } // dropped by a seek before its turn came
      const order = this.windowOrder(plan, w)
      for (const b of window.blocks) {
        const { part, rowGroup } = this.blocks[b]
        this.counters.rowGroupReads += 1
        rows.set(b, await (await (opened.get(part) as Promise<OpenPart>)).reader.readRowGroup(rowGroup))
      }
      return { order, rows }
    })
    const settle = (): void => {
      entry.settled = true
      if (entry.released) for (const part of entry.parts) this.releasePart(part)
    }
    // Marks the promise handled too: a prefetch may fail before anyone awaits it, and Node would then abort the
    // process. The error still reaches the caller that awaits this window.
    this.readChain = entry.promise.then(settle, settle)
    this.windows.set(key, entry)
  }

  private release(key: string): void {
    const entry = this.windows.get(key)
    if (entry === undefined) return
    this.windows.delete(key)
    entry.released = true
    const done = (): void => {
      this.counters.rowGroupsHeld -= entry.blocks
    }
    // Rows in flight still occupy memory until the read settles, so count them as held until then; its part
    // files are released then too (by `settle`), as a read may still borrow them.
    if (entry.settled) {
      done()
      for (const part of entry.parts) this.releasePart(part)
    } else entry.promise.then(done, done)
  }

  private acquirePart(part: number): Promise<OpenPart> {
    let held = this.parts.get(part)
    if (held === undefined) {
      held = { users: 0, open: this.dataset.openPart(part) }
      this.parts.set(part, held)
    }
    held.users += 1
    return held.open
  }

  private releasePart(part: number): void {
    const held = this.parts.get(part)
    if (held === undefined) return
    held.users -= 1
    if (held.users > 0) return
    this.parts.delete(part)
    const done = held.open.then((o) => o.release(), () => undefined).catch(() => undefined)
    this.releasing.add(done)
    void done.finally(() => this.releasing.delete(done))
  }

  /** The block holding global row `index` (binary search over firstRow). */
  private blockOf(index: number): number {
    return lastAtOrBefore(this.blocks.length, (i) => this.blocks[i].firstRow, index)
  }
}

/** The window of `plan` holding `position` (position < plan.length): the last window starting at or before it. */
function windowAt(plan: EpochPlan, position: number): number {
  const lo = lastAtOrBefore(plan.windows.length, (i) => plan.windows[i].start, position)
  // An empty window shares its start with the next one, and the last window starting at or before `position`
  // ends after it (the next one starts after it, or the epoch ends after it), so `lo` is never empty.
  return lo
}

/** Binary search over `n` ascending starts: the last index whose start is <= `value` (0 when none is). */
function lastAtOrBefore(n: number, startOf: (i: number) => number, value: number): number {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (startOf(mid) <= value) lo = mid
    else hi = mid - 1
  }
  return lo
}
