// A finished dataset, opened for reading: `openDataset(location)` is the front door of every reader (the trainer,
// evaluation, scoring, inspect, verify, a user's own training loop). The location is a folder, an s3:// prefix or
// an https:// URL (storage.ts). It reads the manifest and checks each part file (a local one's footer, a remote
// one's size), never a data page, until rows are asked for. A remote part is read through the local PartCache
// (cache.ts), which checks its size and sha256 against the manifest before a row of it is used.
import type { Row } from '../kinds/record.js'
import { parseJsonLines } from '../formats/json.js'
import { type CachedPart, type DataOptions, PartCache } from './cache.js'
import { LEDGER_FILE } from './layout.js'
import { type Manifest, readManifest } from './manifest.js'
import { openParquet, type ParquetReader, type ReadOptions } from './parquet-reader.js'
import { loadSchema, type RecordSchema, schemaHash } from './schema.js'
import { openStore, resolveLocation, StoreError, type Store } from './storage.js'
import { ShardStream, type ShardStreamConfig } from './stream.js'
import { verifyDataset, type VerifyOptions } from './verify.js'
import type { LedgerLine } from './writer.js'

export type { DataOptions }

/** One row group of one part file: the unit a reader loads. */
export interface RowGroupRef {
  /** index into manifest.shards */
  part: number
  file: string
  /** row group index inside the part file */
  rowGroup: number
  /** global index of its first row: rows are numbered across part files in manifest order (= key order) */
  firstRow: number
  rows: number
}

/** Which rows `rows()` yields, and how. */
export interface RowsOptions extends ReadOptions {
  /** only these row groups, as indexes into `dataset.rowGroups` (yielded in ascending order) */
  rowGroups?: readonly number[]
  /** only the rows with these keys: the key column is read first, then just the row groups that hold them */
  keys?: Iterable<string>
}

/** A part file opened for reading; `release` it when done (closes it, unpins a cached copy). */
export interface OpenPart {
  reader: ParquetReader
  release(): Promise<void>
}

/** A dataset opened for reading. */
export class Dataset {
  private constructor(
    /** where it is: an absolute folder, `s3://bucket/prefix` or an http(s) URL */
    readonly location: string,
    readonly store: Store,
    readonly manifest: Manifest,
    /** the record schema the rows follow (schemas/<id>.json) */
    readonly schema: RecordSchema,
    /** every row group, in natural order (parts by file name, row groups in file order) */
    readonly rowGroups: readonly RowGroupRef[],
    private readonly options: DataOptions,
    private partCache: PartCache | null,
  ) {}

  /**
   * Read the manifest at `location` and check every part file: a local one's footer (Parquet, the schema, the
   * row count), a remote one's size. Throws naming the file or object when the manifest is missing or
   * inconsistent, when a part is missing or of another size, not Parquet, of another schema, or holds another
   * row count than the manifest says; and when the dataset was written with a schema this turnkit does not have.
   */
  static async open(location: string, options: DataOptions = {}): Promise<Dataset> {
    const store = openStore(resolveLocation(location), options)
    const manifest = await readManifest(store)
    const schema = await loadSchema(manifest.schema.id)
    if (schema.version !== manifest.schema.version || schemaHash(schema) !== manifest.schema.hash) {
      throw new Error(`${store.location}: written with schema ${manifest.schema.id} v${manifest.schema.version} (${manifest.schema.hash}); this turnkit has v${schema.version} (${schemaHash(schema)}): read it with the turnkit that wrote it (${manifest.tool.name} ${manifest.tool.version})`)
    }
    const layouts: number[][] = []
    if (store.localPath('') !== null) {
      for (const entry of manifest.shards) {
        const path = store.localPath(entry.file) as string
        const reader = await openParquet(path, { schema })
        try {
          if (reader.metadata.rows !== entry.rows) throw new Error(`${path}: ${reader.metadata.rows} rows in the file, the manifest says ${entry.rows}`)
          layouts.push(reader.metadata.rowGroupRows)
        } finally {
          reader.close()
        }
      }
    } else {
      // A remote part is not downloaded until its rows are wanted: its row groups follow from the recorded
      // row-group size (and are checked against its footer when it arrives); here only its presence and size.
      const rowGroupRows = recordedRowGroupRows(manifest)
      await Promise.all(manifest.shards.map(async (entry) => {
        const info = await store.info(entry.file)
        if (info === null) throw new StoreError('not-found', store.describe(entry.file), `${store.describe(entry.file)} does not exist, but the manifest lists it: the dataset is incomplete: rebuild it with the prepare command that wrote it`)
        if (info.size !== entry.bytes) throw new StoreError('corrupt', store.describe(entry.file), `${store.describe(entry.file)}: ${info.size} bytes, the manifest says ${entry.bytes}: rebuild it with the prepare command that wrote it`)
        if (info.sha256 !== null && info.sha256 !== entry.sha256) throw new StoreError('corrupt', store.describe(entry.file), `${store.describe(entry.file)}: its recorded sha256 is ${info.sha256}, the manifest says ${entry.sha256}: rebuild it with the prepare command that wrote it`)
      }))
      for (const entry of manifest.shards) layouts.push(rowGroupLayout(entry.rows, rowGroupRows))
    }
    const rowGroups: RowGroupRef[] = []
    let firstRow = 0
    for (const [part, entry] of manifest.shards.entries()) {
      for (const [rowGroup, rows] of layouts[part]!.entries()) {
        if (rows === 0) continue // an empty row group holds nothing to read
        rowGroups.push({ part, file: entry.file, rowGroup, firstRow, rows })
        firstRow += rows
      }
    }
    return new Dataset(store.location, store, manifest, schema, rowGroups, options, options.cache ?? null)
  }

  /** Whether the parts are read through the local cache (an s3:// or http(s):// dataset). */
  get remote(): boolean {
    return this.store.localPath('') === null
  }

  /** The part cache a remote dataset reads through (created on first use); null for a local dataset. */
  get cache(): PartCache | null {
    if (!this.remote) return null
    this.partCache ??= PartCache.open(this.options)
    return this.partCache
  }

  /**
   * Open part `part` (an index into manifest.shards) for reading: a local file in place, a remote one fetched
   * into the cache (size and sha256 checked) and pinned there until released. Throws naming the file or object.
   */
  async openPart(part: number): Promise<OpenPart> {
    const entry = this.manifest.shards[part]
    if (entry === undefined) throw new Error(`${this.location}: no part ${part} (the dataset has ${this.manifest.shards.length})`)
    const local = this.store.localPath(entry.file)
    if (local !== null) {
      const reader = await openParquet(local)
      return { reader, release: async () => reader.close() }
    }
    const cached: CachedPart = await (this.cache as PartCache).fetch(this.store, entry)
    let reader: ParquetReader
    try {
      reader = await openParquet(cached.path, { schema: this.schema, name: this.store.describe(entry.file) })
      const expected = this.rowGroups.filter((g) => g.part === part).map((g) => g.rows)
      const actual = reader.metadata.rowGroupRows.filter((n) => n > 0)
      if (actual.join(',') !== expected.join(',')) {
        reader.close()
        throw new Error(`${this.store.describe(entry.file)}: row groups of ${actual.join(', ')} rows, the manifest's settings give ${expected.join(', ')}: rebuild it with the prepare command that wrote it`)
      }
    } catch (error) {
      await cached.release()
      throw error
    }
    return { reader, release: async () => {
      reader.close()
      await cached.release()
    } }
  }

/** Rows in the dataset. */
  get size(): number {
    return this.manifest.rows
  }

  /**
   * Yield rows in natural (key) order, one row group in memory at a time, with only `columns` decoded. Each
   * part file is closed before the next is opened, and when the loop breaks. Throws naming the file on a read
   * error, and naming the column when `columns` has one the schema lacks.
   */
  async *rows(options: RowsOptions = {}): AsyncGenerator<Row> {
    const { keys, rowGroups: only, ...read } = options
    for (const column of read.columns ?? []) {
      if (!this.schema.fields.some((f) => f.name === column)) throw new Error(`${this.location}: no column '${column}' in ${this.schema.id} (columns: ${this.schema.fields.map((f) => f.name).join(', ')})`)
    }
    let wanted = only === undefined ? null : new Set(only)
    const keySet = keys === undefined ? null : new Set(keys)
    if (keySet !== null) {
      // Rows are sorted by key, but part files record no key ranges: read the key column to find the groups.
      const holding = new Set<number>()
      for await (const { index, rows } of this.readRowGroups(wanted, { columns: [this.schema.sortKey] })) {
        if (rows.some((row) => keySet.has(row[this.schema.sortKey] as string))) holding.add(index)
      }
      wanted = holding
    }
    for await (const { rows } of this.readRowGroups(wanted, read)) {
      for (const row of rows) if (keySet === null || keySet.has(row[this.schema.sortKey] as string)) yield row
    }
  }

  /** Every record key, in natural order (only the key column is read). */
  async keys(): Promise<string[]> {
    const keys: string[] = []
    for await (const row of this.rows({ columns: [this.schema.sortKey] })) keys.push(row[this.schema.sortKey] as string)
    return keys
  }

  /**
   * A deterministic, resumable, bounded-memory stream over the rows (see stream.ts): the order is a pure
   * function of (seed, epoch), and its cursor is the whole resume state. Close it when done.
   */
  async stream(config: Partial<ShardStreamConfig> = {}): Promise<ShardStream> {
    return await ShardStream.open(this, config)
  }

  /** The rejects ledger, line by line. Throws naming the file when a line is not JSON. */
  async rejects(): Promise<LedgerLine[]> {
    const { values, bad } = parseJsonLines(new TextDecoder().decode(await this.store.read(LEDGER_FILE)))
    if (bad.length > 0) throw new Error(`${this.store.describe(LEDGER_FILE)} line ${bad[0]!.line}: ${bad[0]!.message}`)
    return values as LedgerLine[]
  }

  /** Recompute every hash and count (see `verifyDataset`). Returns one message per problem; empty means OK. */
  async verify(options: Omit<VerifyOptions, keyof DataOptions> = {}): Promise<string[]> {
    return await verifyDataset(this.location, { ...this.options, ...(this.partCache ? { cache: this.partCache } : {}), ...options })
  }

  // The row groups `wanted` (indexes into rowGroups; all when null) in natural order, each read with `read`. One
  // part file is open at a time, closed before the next and when the caller stops early.
  private async *readRowGroups(wanted: ReadonlySet<number> | null, read: ReadOptions): AsyncGenerator<{ index: number; rows: Row[] }> {
    let part = -1
    let open: OpenPart | undefined
    try {
      for (const [index, ref] of this.rowGroups.entries()) {
        if (wanted !== null && !wanted.has(index)) continue
        if (ref.part !== part) {
          await open?.release()
          open = undefined
          open = await this.openPart(ref.part)
          part = ref.part
        }
        yield { index, rows: await (open as OpenPart).reader.readRowGroup(ref.rowGroup, read) }
      }
    } finally {
      await open?.release()
    }
  }
}

/** Open the dataset at `location` (a folder, s3://bucket/prefix or an http(s) URL) for reading (see `Dataset.open`). */
export async function openDataset(location: string, options: DataOptions = {}): Promise<Dataset> {
  return await Dataset.open(location, options)
}

/** The row-group size a dataset was written with (settings.shards.rowGroupRows). Throws when it is not recorded. */
function recordedRowGroupRows(manifest: Manifest): number {
  const shards = manifest.pipeline.settings.shards
  const n = shards !== null && typeof shards === 'object' && !Array.isArray(shards) ? (shards as Record<string, unknown>).rowGroupRows : undefined
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new Error(`manifest: settings.shards.rowGroupRows is not recorded: rebuild the dataset with this turnkit to read it remotely`)
  return n
}

/** Rows per row group of a part of `rows` rows written `rowGroupRows` at a time (the writer fills each but the last). */
function rowGroupLayout(rows: number, rowGroupRows: number): number[] {
  const out: number[] = []
  for (let left = rows; left > 0; left -= rowGroupRows) out.push(Math.min(left, rowGroupRows))
  return out
}
