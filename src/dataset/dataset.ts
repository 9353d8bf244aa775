// A finished dataset, opened for reading: `openDataset(dir)` is the front door of every reader (the trainer,
// evaluation, scoring, inspect, verify, a user's own training loop). It reads the manifest and each part file's
// footer, never a data page, until rows are asked for.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Row } from '../kinds/record.js'
import { parseJsonLines } from '../formats/json.js'
import { LEDGER_FILE } from './layout.js'
import { type Manifest, readManifest } from './manifest.js'
import { openParquet, type ParquetReader, type ReadOptions, withParquet } from './parquet-reader.js'
import { loadSchema, type RecordSchema, schemaHash } from './schema.js'
import { ShardStream, type ShardStreamConfig } from './stream.js'
import { verifyDataset } from './verify.js'
import type { LedgerLine } from './writer.js'

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

/** A dataset directory opened for reading. */
export class Dataset {
  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    /** the record schema the rows follow (schemas/<id>.json) */
    readonly schema: RecordSchema,
    /** every row group, in natural order (parts by file name, row groups in file order) */
    readonly rowGroups: readonly RowGroupRef[],
  ) {}

  /**
   * Read `<dir>/manifest.json` and the footer of every part file. Throws naming the file when the manifest is
   * missing or inconsistent, when a part file is missing, not Parquet, of another schema, or holds another
   * row count than the manifest says; and when the dataset was written with a schema this turnkit does not have.
   */
  static async open(dir: string): Promise<Dataset> {
    const manifest = await readManifest(dir)
    const schema = await loadSchema(manifest.schema.id)
    if (schema.version !== manifest.schema.version || schemaHash(schema) !== manifest.schema.hash) {
      throw new Error(`${dir}: written with schema ${manifest.schema.id} v${manifest.schema.version} (${manifest.schema.hash}); this turnkit has v${schema.version} (${schemaHash(schema)}): read it with the turnkit that wrote it (${manifest.tool.name} ${manifest.tool.version})`)
    }
    const rowGroups: RowGroupRef[] = []
    let firstRow = 0
    for (const [part, entry] of manifest.shards.entries()) {
      const path = join(dir, entry.file)
      const metadata = await withParquet(path, { schema }, async (reader) => reader.metadata)
      if (metadata.rows !== entry.rows) throw new Error(`${path}: ${metadata.rows} rows in the file, the manifest says ${entry.rows}`)
      for (const [rowGroup, rows] of metadata.rowGroupRows.entries()) {
        if (rows === 0) continue // an empty row group holds nothing to read
        rowGroups.push({ part, file: entry.file, rowGroup, firstRow, rows })
        firstRow += rows
      }
    }
    return new Dataset(dir, manifest, schema, rowGroups)
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
      if (!this.schema.fields.some((f) => f.name === column)) throw new Error(`${this.dir}: no column '${column}' in ${this.schema.id} (columns: ${this.schema.fields.map((f) => f.name).join(', ')})`)
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
    const path = join(this.dir, LEDGER_FILE)
    const { values, bad } = parseJsonLines(await readFile(path, 'utf8'))
    if (bad.length > 0) throw new Error(`${path} line ${bad[0]!.line}: ${bad[0]!.message}`)
    return values as LedgerLine[]
  }

  /** Recompute every hash and count (see `verifyDataset`). Returns one message per problem; empty means OK. */
  async verify(): Promise<string[]> {
    return await verifyDataset(this.dir)
  }

  // The row groups `wanted` (indexes into rowGroups; all when null) in natural order, each read with `read`. One
  // part file is open at a time, closed before the next and when the caller stops early.
  private async *readRowGroups(wanted: ReadonlySet<number> | null, read: ReadOptions): AsyncGenerator<{ index: number; rows: Row[] }> {
    let part = -1
    let reader: ParquetReader | undefined
    try {
      for (const [index, ref] of this.rowGroups.entries()) {
        if (wanted !== null && !wanted.has(index)) continue
        if (ref.part !== part) {
          reader?.close()
          reader = await openParquet(join(this.dir, ref.file))
          part = ref.part
        }
        yield { index, rows: await (reader as ParquetReader).readRowGroup(ref.rowGroup, read) }
      }
    } finally {
      reader?.close()
    }
  }
}

/** Open the dataset at `dir` for reading (see `Dataset.open`). */
export async function openDataset(dir: string): Promise<Dataset> {
  return await Dataset.open(dir)
}
